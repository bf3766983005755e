//! Images as the face networks see them, and face-api's input preparation
//! (`dom/NetInput.ts` `toBatchTensor`, `ops/padToSquare.ts`, `ops/normalize.ts`):
//! zero-padding to a square, TensorFlow's legacy bilinear resize (no corner alignment, no
//! half-pixel centres), per-channel mean subtraction and division by 255.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::geometry::PixelRect;

/// An RGB image, channel values 0–255 as `f32`, rows top to bottom, HWC.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Frame {
    /// A black frame.
    pub fn zeros(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0.0; width * height * 3],
        }
    }

    /// From interleaved 8-bit RGB; `None` if the length is not `width · height · 3`.
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Option<Self> {
        (rgb.len() == width * height * 3).then(|| Self {
            width,
            height,
            data: rgb.iter().map(|&v| v as f32).collect(),
        })
    }

    /// Back to 8-bit RGB (rounded, clamped).
    pub fn to_rgb8(&self) -> Vec<u8> {
        self.data
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    fn at(&self, x: usize, y: usize, c: usize) -> f32 {
        self.data[(y * self.width + x) * 3 + c]
    }

    /// The frame with `border` black pixels added on every side.
    pub fn with_border(&self, border: usize) -> Self {
        let mut out = Self::zeros(self.width + 2 * border, self.height + 2 * border);
        self.paste_into(&mut out, border, border);
        out
    }

    fn paste_into(&self, out: &mut Frame, left: usize, top: usize) {
        for y in 0..self.height {
            let src = &self.data[y * self.width * 3..(y + 1) * self.width * 3];
            let at = ((y + top) * out.width + left) * 3;
            out.data[at..at + src.len()].copy_from_slice(src);
        }
    }

    /// `padToSquare`: zeros along the shorter side. `centred`: `round(diff / 2)` rows or
    /// columns go after the image and the rest before (an odd extra one goes after);
    /// otherwise all of it goes after (bottom/right).
    pub fn pad_to_square(&self, centred: bool) -> Self {
        let side = self.width.max(self.height);
        if self.width == self.height {
            return self.clone();
        }
        let diff = side - self.width.min(self.height);
        // JavaScript's Math.round rounds .5 up.
        let after = if centred { diff.div_ceil(2) } else { diff };
        let before = diff - after;
        let mut out = Self::zeros(side, side);
        if self.width < self.height {
            self.paste_into(&mut out, before, 0);
        } else {
            self.paste_into(&mut out, 0, before);
        }
        out
    }

    /// `tf.image.resizeBilinear(x, [h, w], alignCorners = false, halfPixelCenters = false)`:
    /// source coordinate `dst · in / out`, taps `floor` and `min(floor + 1, in − 1)`,
    /// interpolated along x first, in `f32` as TensorFlow computes it.
    pub fn resize_bilinear(&self, width: usize, height: usize) -> Self {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let taps = |dst: usize, scale: f32, len: usize| {
            let src = dst as f32 * scale;
            let lo = (src.floor() as usize).min(len - 1);
            (lo, (lo + 1).min(len - 1), src - lo as f32)
        };
        let columns: Vec<_> = (0..width).map(|x| taps(x, sx, self.width)).collect();
        let mut out = Self::zeros(width, height);
        for y in 0..height {
            let (top, bottom, dy) = taps(y, sy, self.height);
            for (x, &(left, right, dx)) in columns.iter().enumerate() {
                for c in 0..3 {
                    let tl = self.at(left, top, c);
                    let tr = self.at(right, top, c);
                    let bl = self.at(left, bottom, c);
                    let br = self.at(right, bottom, c);
                    let upper = tl + (tr - tl) * dx;
                    let lower = bl + (br - bl) * dx;
                    out.data[(y * width + x) * 3 + c] = upper + (lower - upper) * dy;
                }
            }
        }
        out
    }

    /// The pixels of `rect` (already clipped to the frame).
    pub fn crop(&self, rect: PixelRect) -> Self {
        let mut out = Self::zeros(rect.width, rect.height);
        for y in 0..rect.height {
            let at = ((rect.y + y) * self.width + rect.x) * 3;
            out.data[y * rect.width * 3..(y + 1) * rect.width * 3]
                .copy_from_slice(&self.data[at..at + rect.width * 3]);
        }
        out
    }

    /// The mirror image (left ↔ right).
    pub fn flip_horizontal(&self) -> Self {
        let mut out = Self::zeros(self.width, self.height);
        for y in 0..self.height {
            for x in 0..self.width {
                let from = (y * self.width + self.width - 1 - x) * 3;
                let to = (y * self.width + x) * 3;
                out.data[to..to + 3].copy_from_slice(&self.data[from..from + 3]);
            }
        }
        out
    }
}

/// `toBatchTensor(size, centred)` followed by `normalize(x, mean).div(255)`: each frame
/// padded to a square, resized to `size`², mean-subtracted and scaled, stacked as
/// `[N, 3, size, size]`.
pub fn batch_tensor<B: Backend>(
    frames: &[Frame],
    size: usize,
    centred: bool,
    mean_rgb: [f32; 3],
    device: &B::Device,
) -> Tensor<B, 4> {
    let plane = size * size;
    let mut data = vec![0f32; frames.len() * 3 * plane];
    for (n, frame) in frames.iter().enumerate() {
        let square = frame.pad_to_square(centred).resize_bilinear(size, size);
        for (i, px) in square.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                data[(n * 3 + c) * plane + i] = (px[c] - mean_rgb[c]) / 255.0;
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [frames.len(), 3, size, size]), device)
}

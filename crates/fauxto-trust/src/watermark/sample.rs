//! Chip means anywhere: a summed-area table of the luma (Crow, "Summed-area tables for
//! texture mapping", SIGGRAPH 1984) read with bilinear interpolation, which gives the exact
//! mean of the piecewise-constant image over any axis-aligned box, at fractional corners.
//! Resized and rotated images put the chips at fractional positions and pitches; this is
//! what lets the detector read them without resampling the image.
//!
//! A second table counts clipped pixels (any channel near 0 or 255): a brightening gain or
//! a contrast increase clips them channel by channel, which moves their chip's mean luma by
//! an amount the tone curve alone does not explain, so the detector can read such an image
//! again with those chips weighted down.

use std::sync::OnceLock;

use image::{Rgb, RgbImage};

use super::luma::Plane;

/// Chip means at or below this luma, or at or above [`CLIP_HIGH`], are treated as erasures:
/// a brightness or contrast change clips them, and they no longer carry their phase.
pub const CLIP_LOW: f32 = 2.0;
/// See [`CLIP_LOW`].
pub const CLIP_HIGH: f32 = 252.0;

/// A pixel with any channel at or above this, or at or below [`SHADOW`], counts as clipped:
/// after a brightening gain and JPEG 75, a channel clipped at 255 reads from about 250 up.
pub const HIGHLIGHT: u8 = 250;
/// See [`HIGHLIGHT`].
pub const SHADOW: u8 = 5;

/// Whether pixel `p` counts as clipped (see [`HIGHLIGHT`]).
pub fn is_clipped(p: &Rgb<u8>) -> bool {
    p.0.iter().any(|&c| c >= HIGHLIGHT || c <= SHADOW)
}

/// A box may stick out of the image by this much (rounding of the box's own corners).
const EDGE_SLACK: f64 = 0.01;

/// The luma plane's summed-area table, and optionally that of its clipped pixels.
pub struct Sampler<'i> {
    width: usize,
    height: usize,
    /// `(height + 1) x (width + 1)`: entry (y, x) is the sum of luma over [0, x) x [0, y).
    table: Vec<f64>,
    /// The image whose clipped pixels are counted, when given.
    image: Option<&'i RgbImage>,
    /// The summed-area table of the clipped pixels, made on first use (most detections
    /// never need it); None when the image has none or no image was given.
    clipped: OnceLock<Option<Vec<f64>>>,
}

/// The summed-area table of `values` laid out `width` x `height`, row-major.
fn summed_area(width: usize, height: usize, values: impl Iterator<Item = f64>) -> Vec<f64> {
    let stride = width + 1;
    let mut table = vec![0f64; (height + 1) * stride];
    let mut values = values;
    for y in 0..height {
        let mut row = 0f64;
        for x in 0..width {
            row += values.next().expect("one value per pixel");
            table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row;
        }
    }
    table
}

impl<'i> Sampler<'i> {
    pub fn new(plane: &Plane) -> Self {
        let (w, h) = (plane.width, plane.height);
        Sampler {
            width: w,
            height: h,
            table: summed_area(w, h, plane.data.iter().map(|&v| v as f64)),
            image: None,
            clipped: OnceLock::new(),
        }
    }

    /// A sampler of `plane` (the luma of `img`) that also knows where `img`'s clipped
    /// pixels are.
    pub fn with_clipped(plane: &Plane, img: &'i RgbImage) -> Self {
        assert_eq!(
            (plane.width, plane.height),
            (img.width() as usize, img.height() as usize)
        );
        Sampler {
            image: Some(img),
            ..Self::new(plane)
        }
    }

    /// The clipped pixels' summed-area table, made on the first call.
    fn clipped(&self) -> Option<&[f64]> {
        self.clipped
            .get_or_init(|| {
                let img = self.image?;
                img.pixels().any(is_clipped).then(|| {
                    let counts = img.pixels().map(|p| f64::from(u8::from(is_clipped(p))));
                    summed_area(self.width, self.height, counts)
                })
            })
            .as_deref()
    }

    /// Whether the image has clipped pixels (and they are counted).
    pub fn has_clipped(&self) -> bool {
        self.clipped().is_some()
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The integral of the luma over [0, x) x [0, y), for real x and y (clamped to the
    /// image): the table interpolated bilinearly, exact for a piecewise-constant image.
    #[inline]
    pub fn integral(&self, x: f64, y: f64) -> f64 {
        let xa = Self::cell(x, self.width);
        self.row_pair(&self.table, Self::cell(y, self.height), xa, xa)
            .0
    }

    /// Whether the box [x0, x1) x [y0, y1) lies inside the image.
    pub fn inside(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
        x0 >= -EDGE_SLACK
            && y0 >= -EDGE_SLACK
            && x1 <= self.width as f64 + EDGE_SLACK
            && y1 <= self.height as f64 + EDGE_SLACK
    }

    /// The mean luma of a box from its integral (`d - b - c + a` of its corners' integrals)
    /// and `1 / area`, or None when it is clipped (see [`CLIP_LOW`]).
    #[inline]
    pub fn mean_of(integral: f64, inv_area: f64) -> Option<f32> {
        let mean = (integral * inv_area) as f32;
        (mean > CLIP_LOW && mean < CLIP_HIGH).then_some(mean)
    }

    /// Where a real coordinate falls in the table: the cell and the fraction into it
    /// (clamped to the image, so non-negative, and truncation is the floor).
    #[inline]
    fn cell(v: f64, size: usize) -> (usize, f64) {
        let v = v.clamp(0.0, size as f64 - 1e-9);
        let i = v as usize;
        (i, v - i as f64)
    }

    /// The integral at row `y` (cell and fraction) for the columns `xa` and `xb`.
    #[inline]
    fn row_pair(
        &self,
        t: &[f64],
        (y0, fy): (usize, f64),
        xa: (usize, f64),
        xb: (usize, f64),
    ) -> (f64, f64) {
        let stride = self.width + 1;
        let at = |(x0, fx): (usize, f64)| {
            let i = y0 * stride + x0;
            let top = t[i] + (t[i + 1] - t[i]) * fx;
            let bottom = t[i + stride] + (t[i + stride + 1] - t[i + stride]) * fx;
            top + (bottom - top) * fy
        };
        (at(xa), at(xb))
    }

    /// The integral of table `t` (the luma's or the clipped pixels') over the square of
    /// half-side `half` centred on (cx, cy).
    #[inline]
    fn box_integral(&self, t: &[f64], cx: f64, cy: f64, half: f64) -> f64 {
        // Each edge's cell found once for the two corners on it.
        let (xa, xb) = (
            Self::cell(cx - half, self.width),
            Self::cell(cx + half, self.width),
        );
        let (a, b) = self.row_pair(t, Self::cell(cy - half, self.height), xa, xb);
        let (c, d) = self.row_pair(t, Self::cell(cy + half, self.height), xa, xb);
        d - b - c + a
    }

    /// The mean luma of the square of half-side `half` centred on (cx, cy), or None when the
    /// square leaves the image or is clipped.
    #[inline]
    pub fn box_mean(&self, cx: f64, cy: f64, half: f64) -> Option<f32> {
        if !self.inside(cx - half, cy - half, cx + half, cy + half) {
            return None;
        }
        let integral = self.box_integral(&self.table, cx, cy, half);
        Self::mean_of(integral, 0.25 / (half * half))
    }

    /// The share of the square of half-side `half` centred on (cx, cy) covered by clipped
    /// pixels (0 when they were not counted).
    pub fn box_clipped_share(&self, cx: f64, cy: f64, half: f64) -> f32 {
        let Some(t) = self.clipped() else {
            return 0.0;
        };
        let integral = self.box_integral(t, cx, cy, half);
        (integral * 0.25 / (half * half)).clamp(0.0, 1.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(w: usize, h: usize) -> Plane {
        let data = (0..w * h)
            .map(|i| ((i * 37 + (i / w) * 11) % 200) as f32 + 20.0)
            .collect();
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// The mean of the box by brute force: each pixel weighted by its overlap with the box.
    fn brute(p: &Plane, x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
        let mut s = 0.0;
        for y in 0..p.height {
            let oy = (y1.min(y as f64 + 1.0) - y0.max(y as f64)).max(0.0);
            for x in 0..p.width {
                let ox = (x1.min(x as f64 + 1.0) - x0.max(x as f64)).max(0.0);
                s += ox * oy * p.at(x, y) as f64;
            }
        }
        s / ((x1 - x0) * (y1 - y0))
    }

    #[test]
    fn box_means_at_fractional_corners_are_exact_area_means() {
        let p = plane(23, 17);
        let s = Sampler::new(&p);
        for &(cx, cy, half) in &[
            (4.0, 4.0, 2.0),
            (10.3, 7.7, 2.6),
            (11.5, 8.5, 0.25),
            (3.01, 13.9, 3.0),
        ] {
            let m = s.box_mean(cx, cy, half).unwrap() as f64;
            let b = brute(&p, cx - half, cy - half, cx + half, cy + half);
            assert!((m - b).abs() < 1e-3, "{cx} {cy} {half}: {m} vs {b}");
        }
        assert!(s.box_mean(1.0, 5.0, 2.0).is_none(), "leaves the image");
        assert!(s.box_mean(21.5, 5.0, 1.0).is_some());
    }

    #[test]
    fn clipped_shares_are_exact_area_shares() {
        // Pixels with a channel at 255 (or 0) in a checker of 3x3 blocks, the rest grey.
        let img = image::RgbImage::from_fn(23, 17, |x, y| match ((x / 3) + (y / 3)) % 3 {
            0 => image::Rgb([255, 200, 180]),
            1 => image::Rgb([30, 0, 90]),
            _ => image::Rgb([120, 130, 140]),
        });
        let p = super::super::luma::luma(&img);
        let s = Sampler::with_clipped(&p, &img);
        assert!(s.has_clipped());
        let mask = Plane {
            width: 23,
            height: 17,
            data: img
                .pixels()
                .map(|q| f32::from(u8::from(is_clipped(q))))
                .collect(),
        };
        for &(cx, cy, half) in &[(4.0, 4.0, 2.0), (10.3, 7.7, 2.6), (11.5, 8.5, 0.25)] {
            let share = s.box_clipped_share(cx, cy, half) as f64;
            let b = brute(&mask, cx - half, cy - half, cx + half, cy + half);
            assert!((share - b).abs() < 1e-4, "{cx} {cy} {half}: {share} vs {b}");
        }
        let grey = image::RgbImage::from_pixel(8, 8, image::Rgb([120, 130, 140]));
        let s = Sampler::with_clipped(&super::super::luma::luma(&grey), &grey);
        assert!(!s.has_clipped());
        assert_eq!(s.box_clipped_share(4.0, 4.0, 2.0), 0.0);
    }

    #[test]
    fn clipped_boxes_are_erasures() {
        let p = Plane {
            width: 8,
            height: 8,
            data: vec![255.0; 64],
        };
        assert!(Sampler::new(&p).box_mean(4.0, 4.0, 2.0).is_none());
    }
}

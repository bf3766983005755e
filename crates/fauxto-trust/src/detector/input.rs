//! What the detector's network sees: the image and its neighbouring-pixel residual.
//!
//! A generator builds its image by up-sampling: every 2x2 block of the output comes from one
//! position of a coarser map, so pixels inside a block are tied together in a way camera
//! pixels are not. Tan et al.'s neighbouring pixel relationships (NPR, CVPR 2024) expose that
//! tie directly: the image minus its nearest-neighbour down-and-up-sampled copy, i.e. each
//! pixel minus the top-left pixel of its 2x2 block. The network gets the image (colour and
//! content, which survive blur and JPEG) and the residual (the up-sampling trace, which is
//! finest) as six channels.

use std::borrow::Borrow;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use image::RgbImage;

/// Channels of the network's input: RGB and the residual of each.
pub const INPUT_CHANNELS: usize = 6;

/// The residual's scale: neighbouring differences are small next to the image's range.
const RESIDUAL_GAIN: f32 = 4.0;

/// One image's input planes, `[INPUT_CHANNELS, H, W]` row-major: RGB in [-1, 1], then
/// `RESIDUAL_GAIN` times each channel minus the top-left pixel of its 2x2 block.
pub fn planes(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let mut out = vec![0f32; INPUT_CHANNELS * w * h];
    let (colour, residual) = out.split_at_mut(3 * w * h);
    for y in 0..h {
        for x in 0..w {
            let (ax, ay) = (x & !1, y & !1);
            for c in 0..3 {
                let v = raw[(y * w + x) * 3 + c] as f32 / 127.5 - 1.0;
                let anchor = raw[(ay * w + ax) * 3 + c] as f32 / 127.5 - 1.0;
                colour[(c * h + y) * w + x] = v;
                residual[(c * h + y) * w + x] = RESIDUAL_GAIN * (v - anchor);
            }
        }
    }
    out
}

/// A batch `[N, INPUT_CHANNELS, H, W]` of images of one size. Panics on mixed sizes or an
/// empty slice (callers group images by size).
pub fn batch<B: Backend, I: Borrow<RgbImage>>(images: &[I], device: &B::Device) -> Tensor<B, 4> {
    assert!(!images.is_empty(), "an empty batch");
    let (w, h) = images[0].borrow().dimensions();
    assert!(
        images.iter().all(|i| i.borrow().dimensions() == (w, h)),
        "a batch holds images of one size"
    );
    let data: Vec<f32> = images.iter().flat_map(|i| planes(i.borrow())).collect();
    let shape = [images.len(), INPUT_CHANNELS, h as usize, w as usize];
    Tensor::from_data(TensorData::new(data, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_residual_is_zero_on_upsampled_images_and_not_on_others() {
        // A nearest-neighbour 2x up-sampling: constant 2x2 blocks.
        let blocky = RgbImage::from_fn(8, 6, |x, y| {
            image::Rgb([
                (x / 2 * 30) as u8,
                (y / 2 * 40) as u8,
                ((x / 2 + y / 2) * 9) as u8,
            ])
        });
        let p = planes(&blocky);
        assert!(p[3 * 48..].iter().all(|&v| v == 0.0));
        assert!((p[0] - -1.0).abs() < 1e-6);
        // A pixel that differs from its block's anchor.
        let mut img = blocky.clone();
        img.put_pixel(3, 1, image::Rgb([255, 0, 0]));
        let p = planes(&img);
        let r = |c: usize, x: usize, y: usize| p[((3 + c) * 6 + y) * 8 + x];
        assert!((r(0, 3, 1) - 4.0 * (2.0 - 30.0 / 127.5)).abs() < 1e-5);
        assert_eq!(r(0, 2, 0), 0.0, "the anchor itself");
        assert_eq!(r(0, 4, 1), 0.0, "the next block");
    }
}

//! The luma plane the watermark lives in (ITU-R BT.601 weights), and PSNR.

use image::RgbImage;

/// A single-channel float image, row-major.
#[derive(Clone, Debug)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }
}

/// Y = 0.299 R + 0.587 G + 0.114 B, in 0..=255.
pub fn luma(img: &RgbImage) -> Plane {
    let data = img
        .pixels()
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect();
    Plane {
        width: img.width() as usize,
        height: img.height() as usize,
        data,
    }
}

/// Peak signal-to-noise ratio in dB of `b` against `a` over all three channels (peak 255);
/// infinite for identical images.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let n = a.as_raw().len() as f64;
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    if se == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255f64 * 255.0 / (se / n)).log10()
}

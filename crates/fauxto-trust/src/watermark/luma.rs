//! The luma plane the watermark lives in (ITU-R BT.601 weights), its resampling and PSNR.

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

/// The plane resampled by `factor` (output size rounded) with bilinear interpolation at pixel
/// centres; when shrinking, each output pixel first averages the input over its footprint
/// (a box prefilter), so that shrinking does not alias.
pub fn resample(p: &Plane, factor: f32) -> Plane {
    let width = ((p.width as f32 * factor).round() as usize).max(1);
    let height = ((p.height as f32 * factor).round() as usize).max(1);
    let src = if factor < 1.0 {
        box_blur(p, (0.5 / factor - 0.5).max(0.0))
    } else {
        p.clone()
    };
    let sx = p.width as f32 / width as f32;
    let sy = p.height as f32 / height as f32;
    let mut data = Vec::with_capacity(width * height);
    for y in 0..height {
        let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (p.height - 1) as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(p.height - 1);
        let wy = fy - y0 as f32;
        for x in 0..width {
            let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (p.width - 1) as f32);
            let x0 = fx.floor() as usize;
            let x1 = (x0 + 1).min(p.width - 1);
            let wx = fx - x0 as f32;
            let top = src.at(x0, y0) * (1.0 - wx) + src.at(x1, y0) * wx;
            let bottom = src.at(x0, y1) * (1.0 - wx) + src.at(x1, y1) * wx;
            data.push(top * (1.0 - wy) + bottom * wy);
        }
    }
    Plane {
        width,
        height,
        data,
    }
}

/// A separable box filter of half-width `radius` pixels (fractional edges weighted), edges
/// clamped.
fn box_blur(p: &Plane, radius: f32) -> Plane {
    if radius <= 0.0 {
        return p.clone();
    }
    let full = radius.floor() as isize;
    let frac = radius - full as f32;
    let taps: Vec<(isize, f32)> = (-(full + 1)..=full + 1)
        .map(|d| (d, if d.abs() <= full { 1.0 } else { frac }))
        .filter(|&(_, w)| w > 0.0)
        .collect();
    let norm: f32 = taps.iter().map(|t| t.1).sum();
    let pass = |src: &[f32], w: usize, h: usize, horizontal: bool| -> Vec<f32> {
        let mut out = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for &(d, wt) in &taps {
                    let (sx, sy) = if horizontal {
                        ((x as isize + d).clamp(0, w as isize - 1) as usize, y)
                    } else {
                        (x, (y as isize + d).clamp(0, h as isize - 1) as usize)
                    };
                    acc += wt * src[sy * w + sx];
                }
                out[y * w + x] = acc / norm;
            }
        }
        out
    };
    let h = pass(&p.data, p.width, p.height, true);
    Plane {
        width: p.width,
        height: p.height,
        data: pass(&h, p.width, p.height, false),
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

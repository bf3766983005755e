//! Embedding: every chip's mean luma moved towards the lattice of the bit it carries.
//!
//! Each copy of each tile chip is quantized on its own (so a crop, which loses some copies,
//! leaves the others intact), by distortion-compensated dither modulation (Chen and Wornell,
//! 2001; Eggers et al.'s scalar Costa scheme, IEEE Trans. Signal Processing 51(4), 2003): the
//! mean moves a fraction `alpha` of the way to the nearest point of its coset. `alpha` is the
//! largest that fits the distortion budget (the target PSNR), found by bisection.
//!
//! The move is spread evenly over the chip's pixels (the cheapest way to move a mean), as
//! whole luma steps added to R, G and B alike (hue and saturation unchanged), within what
//! keeps all three in 0..=255; where a pixel cannot move, the others move further, and a chip
//! that cannot reach its lattice point goes to the next one (or, with none in reach, as in
//! saturated colours, stays as it is and is left to the error-correcting code).

use image::RgbImage;

use super::code::{encode, message_bits};
use super::grid::{chip_means, tile_index};
use super::layout::{chip_size, Key, Layout, TILE_CHIPS};
use super::luma::{luma, psnr};
use super::qim::{nearest, STEP};
use super::{Payload, PayloadFormat};

/// The default strength: PSNR of the marked image against the original, in dB.
pub const DEFAULT_PSNR: f64 = 38.5;

/// A watermarked image and what embedding cost.
#[derive(Clone, Debug)]
pub struct Marked {
    pub image: RgbImage,
    /// PSNR of `image` against the original (RGB, peak 255).
    pub psnr: f64,
}

/// An image too small for a mark that the detector could read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {width}x{height} image is too small to carry a readable watermark \
     (it needs at least {} chips of {chip}x{chip} pixels, e.g. 48x48)",
    TILE_CHIPS / 2
)]
pub struct TooSmall {
    pub width: u32,
    pub height: u32,
    pub chip: usize,
}

/// Whether a `width` x `height` image holds enough chips for the detector to synchronise
/// on (half a tile: 48x48 pixels and up for square images).
pub fn readable(width: u32, height: u32) -> bool {
    let chip = chip_size(width as usize, height as usize);
    (width as usize / chip) * (height as usize / chip) >= TILE_CHIPS / 2
}

/// Embeds `payload` under `key` at about `target_psnr` dB (or fainter, when even a full
/// quantization costs less), in the current payload format ([`PayloadFormat::V2`]).
/// Refuses an image too small to be read back.
pub fn embed(
    img: &RgbImage,
    key: &Key,
    payload: Payload,
    target_psnr: f64,
) -> Result<Marked, TooSmall> {
    embed_as(img, key, payload, PayloadFormat::V2, target_psnr)
}

/// [`embed`] in a chosen payload format (V1 to reproduce marks of earlier versions).
pub fn embed_as(
    img: &RgbImage,
    key: &Key,
    payload: Payload,
    format: PayloadFormat,
    target_psnr: f64,
) -> Result<Marked, TooSmall> {
    if !readable(img.width(), img.height()) {
        return Err(TooSmall {
            width: img.width(),
            height: img.height(),
            chip: chip_size(img.width() as usize, img.height() as usize),
        });
    }
    let layout = Layout::new(key);
    let tile = layout.tile(&encode(&message_bits(payload.0, format)));
    let y = luma(img);
    let chip = chip_size(y.width, y.height);
    let grid = chip_means(&y, chip, 0, 0);
    let chips: Vec<ChipPixels> = (0..grid.rows)
        .flat_map(|r| (0..grid.cols).map(move |c| (r, c)))
        .map(|(r, c)| {
            ChipPixels::new(
                img,
                chip,
                r,
                c,
                tile[tile_index(r, c)],
                grid.means[r * grid.cols + c],
            )
        })
        .collect();
    let n = y.data.len().max(1) as f64;
    let budget = 255f64.powi(2) / 10f64.powf(target_psnr / 10.0);
    let mse = |alpha: f32| chips.iter().map(|c| c.cost(alpha)).sum::<f64>() / n;
    let alpha = if mse(1.0) <= budget {
        1.0
    } else {
        let (mut lo, mut hi) = (0f32, 1f32);
        for _ in 0..16 {
            let mid = 0.5 * (lo + hi);
            if mse(mid) <= budget {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    };

    let mut out = img.clone();
    let width = img.width() as usize;
    for c in &chips {
        let (deltas, _) = c.deltas(alpha);
        for (&i, &d) in c.pixels.iter().zip(&deltas) {
            let px = out.get_pixel_mut((i % width) as u32, (i / width) as u32);
            for v in px.0.iter_mut() {
                *v = (*v as i32 + d).clamp(0, 255) as u8;
            }
        }
    }
    let psnr = psnr(img, &out);
    Ok(Marked { image: out, psnr })
}

/// One chip of the image: its pixels, how far each may move, and where its mean should go.
struct ChipPixels {
    /// Pixel indices (row-major in the image).
    pixels: Vec<usize>,
    /// Per pixel, the lowest and highest luma step that keeps R, G and B in 0..=255.
    bounds: Vec<(i32, i32)>,
    /// The range of common moves no pixel's bounds clip: the largest lower and the smallest
    /// upper bound.
    free: (i32, i32),
    /// The mean move that reaches the lattice point (before `alpha`).
    target: f32,
}

impl ChipPixels {
    fn new(
        img: &RgbImage,
        chip: usize,
        r: usize,
        c: usize,
        (dither, bit): (f32, u8),
        mean: f32,
    ) -> Self {
        let width = img.width() as usize;
        let mut pixels = Vec::with_capacity(chip * chip);
        let mut bounds = Vec::with_capacity(chip * chip);
        for dy in 0..chip {
            for dx in 0..chip {
                let (x, y) = (c * chip + dx, r * chip + dy);
                let p = img.get_pixel(x as u32, y as u32).0;
                pixels.push(y * width + x);
                let lo = -(*p.iter().min().unwrap_or(&0) as i32);
                let hi = 255 - *p.iter().max().unwrap_or(&255) as i32;
                bounds.push((lo, hi));
            }
        }
        let area = (chip * chip) as f32;
        let reach = (
            bounds.iter().map(|b| b.0 as f32).sum::<f32>() / area,
            bounds.iter().map(|b| b.1 as f32).sum::<f32>() / area,
        );
        // The nearest lattice point of the coset that the chip can reach.
        let q = nearest(mean, dither, bit);
        let target = [q, q - STEP, q + STEP]
            .into_iter()
            .map(|q| q - mean)
            .filter(|&d| d >= reach.0 && d <= reach.1)
            .min_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(0.0);
        let free = (
            bounds.iter().map(|b| b.0).max().unwrap_or(0),
            bounds.iter().map(|b| b.1).min().unwrap_or(0),
        );
        ChipPixels {
            pixels,
            bounds,
            free,
            target,
        }
    }

    /// The sum of squares of [`deltas`](Self::deltas)`(alpha)`, without building them when
    /// no bound clips the move (most chips: then `k` pixels move `⌊m⌋ + 1` and the rest
    /// `⌊m⌋`). The bisection on the distortion budget calls this for every chip many times.
    fn cost(&self, alpha: f32) -> f64 {
        let n = self.pixels.len();
        let want = alpha * self.target * n as f32;
        let m = want / n as f32;
        if m < self.free.0 as f32 || m > self.free.1 as f32 {
            return self.deltas(alpha).1;
        }
        let base = m.floor();
        let raised = if m > base {
            ((want.round() - base * n as f32).max(0.0) as usize).min(n)
        } else {
            0
        };
        let base = base as f64;
        (n - raised) as f64 * base * base + raised as f64 * (base + 1.0).powi(2)
    }

    /// Whole-step luma moves per pixel whose mean is `alpha * target` as nearly as the bounds
    /// allow, and their sum of squares (each pixel's share of the RGB squared error, per channel).
    fn deltas(&self, alpha: f32) -> (Vec<i32>, f64) {
        let n = self.pixels.len();
        let want = alpha * self.target * n as f32;
        // The common move m such that the clamped moves sum to `want` (bisection; monotone).
        let sum_at = |m: f32| -> f32 {
            self.bounds
                .iter()
                .map(|&(lo, hi)| m.clamp(lo as f32, hi as f32))
                .sum()
        };
        let m0 = want / n as f32;
        let (mut lo, mut hi) = (-255f32, 255f32);
        if self
            .bounds
            .iter()
            .all(|&(lo, hi)| m0 >= lo as f32 && m0 <= hi as f32)
        {
            (lo, hi) = (m0, m0);
        }
        while hi - lo > 1e-3 {
            let mid = 0.5 * (lo + hi);
            if sum_at(mid) < want {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let m = 0.5 * (lo + hi);
        // Round down, then hand the remaining whole steps to the pixels with the largest
        // remainders, so the mean stays as close as integers allow.
        let exact: Vec<f32> = self
            .bounds
            .iter()
            .map(|&(lo, hi)| m.clamp(lo as f32, hi as f32))
            .collect();
        let mut deltas: Vec<i32> = exact.iter().map(|v| v.floor() as i32).collect();
        let missing = (want.round() as i32 - deltas.iter().sum::<i32>()).max(0) as usize;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor()))
        });
        for &i in order
            .iter()
            .filter(|&&i| exact[i] > exact[i].floor())
            .take(missing)
        {
            deltas[i] += 1;
        }
        let se = deltas.iter().map(|&d| (d as f64).powi(2)).sum();
        (deltas, se)
    }
}

#[cfg(test)]
mod tests {
    use super::ChipPixels;

    /// A chip of `n` pixels whose bounds come from pseudo-random pixel values.
    fn chip(n: usize, seed: u64, target: f32) -> ChipPixels {
        let mut state = seed;
        let bounds: Vec<(i32, i32)> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                // Mid-tone pixels on most chips, the whole range (clipped moves) on every
                // fourth.
                let (low, span) = if seed.is_multiple_of(4) {
                    (0, 256)
                } else {
                    (60, 80)
                };
                let min = low + (state >> 33) % span;
                let max = (min + (state >> 41) % 60).min(255);
                (-(min as i32), 255 - max as i32)
            })
            .collect();
        let free = (
            bounds.iter().map(|b| b.0).max().unwrap(),
            bounds.iter().map(|b| b.1).min().unwrap(),
        );
        ChipPixels {
            pixels: (0..n).collect(),
            bounds,
            free,
            target,
        }
    }

    #[test]
    fn cost_is_the_squared_size_of_the_moves() {
        let mut fast_paths = 0;
        for seed in 0..200u64 {
            let target = (seed as f32 * 0.37).sin() * 9.0;
            let c = chip(16, seed, target);
            for step in 0..=20 {
                let alpha = step as f32 / 20.0;
                let (deltas, se) = c.deltas(alpha);
                assert_eq!(se, deltas.iter().map(|&d| (d as f64).powi(2)).sum::<f64>());
                assert_eq!(c.cost(alpha), se, "seed {seed} alpha {alpha}");
                let m = alpha * target;
                if step > 0 && m >= c.free.0 as f32 && m <= c.free.1 as f32 {
                    fast_paths += 1;
                }
            }
        }
        // Both paths are exercised.
        assert!(fast_paths > 1000 && fast_paths < 200 * 20, "{fast_paths}");
    }
}

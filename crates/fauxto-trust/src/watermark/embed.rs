//! Embedding by informed coding on the detector's own statistic.
//!
//! The detector reads, for every tile chip, the folded high-passed chip mean and takes its
//! sign under the key's spreading sign as the chip's value. Embedding computes that
//! statistic on the original image and adds to each tile chip (the same luma offset in every
//! tile) just what lifts its value to a margin `m` in the pattern's direction: chips where the
//! image already agrees cost nothing, chips where it disagrees are pushed across. The margin
//! is the largest that fits the distortion budget (the target PSNR), found by bisection; when
//! not even a zero margin fits, the most expensive chips are left to the error-correcting
//! code. This is improved spread spectrum (Malvar and Florêncio, IEEE Trans. Signal Processing 51(4),
//! 2003) with the host cancelled only where it hurts, in the spirit of Miller, Cox and
//! Bloom's informed embedding ("Informed embedding: exploiting image and detector information
//! during watermark insertion", ICIP 2000).

use image::RgbImage;

use super::code::{encode, message_bits};
use super::grid::{fold, Folded};
use super::layout::{chip_size, Key, Layout, TILE, TILE_CHIPS};
use super::luma::{luma, psnr};
use super::Payload;

/// The default strength: PSNR of the marked image against the original, in dB.
pub const DEFAULT_PSNR: f64 = 38.5;

/// A watermarked image and what embedding cost.
#[derive(Clone, Debug)]
pub struct Marked {
    pub image: RgbImage,
    /// PSNR of `image` against the original (RGB, peak 255).
    pub psnr: f64,
}

/// Embeds `payload` under `key` at about `target_psnr` dB.
///
/// The luma change at a pixel is added to R, G and B alike (hue and saturation unchanged) and
/// limited to what keeps all three in 0..=255, so nothing is clipped per channel.
pub fn embed(img: &RgbImage, key: &Key, payload: Payload, target_psnr: f64) -> Marked {
    let layout = Layout::new(key);
    let tile = layout.tile(&encode(&message_bits(payload.0)));
    let y = luma(img);
    let width = y.width;
    let chip = chip_size(y.width, y.height);
    let chip_of = |i: usize| (((i / width) / chip) % TILE) * TILE + ((i % width) / chip) % TILE;
    let pixels_per_chip = chip_pixel_counts(y.data.len(), chip_of);

    // Rounding to integers adds 1/12 of mean squared error; the rest is the budget.
    let budget = (255f64.powi(2) / 10f64.powf(target_psnr / 10.0) - 1.0 / 12.0).max(0.0);
    // Too small an image has no statistic to lift: it gets no offsets.
    let host = fold(&y, chip, 0, 0).unwrap_or(Folded {
        chips: [0.0; TILE_CHIPS],
    });
    let offsets_for = |margin: f32| chip_offsets(&host, &tile, margin);
    let mse = |o: &[f32; TILE_CHIPS]| {
        o.iter()
            .zip(&pixels_per_chip)
            .map(|(v, &n)| (*v as f64).powi(2) * n as f64)
            .sum::<f64>()
            / y.data.len().max(1) as f64
    };
    let (mut lo, mut hi) = (0f32, 64f32);
    for _ in 0..24 {
        let mid = 0.5 * (lo + hi);
        if mse(&offsets_for(mid)) <= budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut offsets = offsets_for(lo);
    // Even a zero margin may not fit (small or busy images): then give up the chips that cost
    // most, leaving them to the error-correcting code.
    let mut order: Vec<usize> = (0..TILE_CHIPS).collect();
    order.sort_by(|&a, &b| offsets[b].abs().total_cmp(&offsets[a].abs()));
    for t in order {
        if mse(&offsets) <= budget {
            break;
        }
        offsets[t] = 0.0;
    }

    let mut out = img.clone();
    for (i, px) in out.pixels_mut().enumerate() {
        let delta = offsets[chip_of(i)];
        let min = -(px.0.iter().copied().min().unwrap() as f32);
        let max = 255.0 - px.0.iter().copied().max().unwrap() as f32;
        let delta = delta.clamp(min, max);
        for c in px.0.iter_mut() {
            *c = (*c as f32 + delta).round().clamp(0.0, 255.0) as u8;
        }
    }
    let psnr = psnr(img, &out);
    Marked { image: out, psnr }
}

/// Rounds of correction: the high-pass filter spreads each chip's offset onto its
/// neighbours' statistic, so the deficit is measured again after each round.
const ROUNDS: usize = 6;

/// Per tile chip, the luma offset that lifts the chip's statistic to at least `margin` in the
/// direction of `tile`, given the image's own statistic `host`.
///
/// The statistic is linear and the offsets are periodic, so the statistic of the marked image
/// is `host` plus the high-pass of the offsets on the tile torus (exact away from the image
/// border): each bisection step costs a few tile-sized passes, not a pass over the image.
fn chip_offsets(host: &Folded, tile: &[f32; TILE_CHIPS], margin: f32) -> [f32; TILE_CHIPS] {
    let mut offsets = [0f32; TILE_CHIPS];
    for _ in 0..ROUNDS {
        let added = high_pass_on_torus(&offsets);
        for t in 0..TILE_CHIPS {
            let deficit = margin - (host.chips[t] + added[t]) * tile[t];
            if deficit > 0.0 {
                // The chip's own share of its 3x3 high-pass is 8/9.
                offsets[t] += deficit * 9.0 / 8.0 * tile[t];
            }
        }
    }
    offsets
}

/// `v` minus its 3x3 mean, on the 16x16 tile with wrap-around.
fn high_pass_on_torus(v: &[f32; TILE_CHIPS]) -> [f32; TILE_CHIPS] {
    let mut out = [0f32; TILE_CHIPS];
    for r in 0..TILE {
        for c in 0..TILE {
            let mut sum = 0.0;
            for dr in [TILE - 1, 0, 1] {
                for dc in [TILE - 1, 0, 1] {
                    sum += v[((r + dr) % TILE) * TILE + (c + dc) % TILE];
                }
            }
            out[r * TILE + c] = v[r * TILE + c] - sum / 9.0;
        }
    }
    out
}

/// How many pixels of an image of `n` pixels fall on each tile chip.
fn chip_pixel_counts(n: usize, chip_of: impl Fn(usize) -> usize) -> [usize; TILE_CHIPS] {
    let mut counts = [0usize; TILE_CHIPS];
    (0..n).for_each(|i| counts[chip_of(i)] += 1);
    counts
}

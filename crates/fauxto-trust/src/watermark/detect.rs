//! Detection: find the tile again and read the message.
//!
//! For each candidate scale (the image may have been enlarged after a crop), each chip size
//! of [`CHIP_SIZES`] and each of its `chip`² sub-chip phases, the luma is averaged over chips,
//! high-pass filtered on the chip grid (the chip minus the mean of its 3x3 neighbourhood, which removes the image's smooth
//! content), and all tiles are folded onto one. Cropping only shifts the tile cyclically, so
//! every cyclic shift of the synchronisation pattern is scored; the best of all candidates
//! is judged by its z-score among them, and the message bits under it are decoded (soft
//! Viterbi) and checked against their CRC. A watermark is reported only when both hold.

use image::RgbImage;

use super::code::{read_message, viterbi};
use super::grid::{fold, shifted};
use super::layout::{Key, Layout, CHIP_SIZES, MESSAGE_BITS, TILE, TILE_CHIPS};
use super::luma::{luma, resample, Plane};
use super::Payload;

/// Resampling factors tried, in order: 1 (untouched size), then shrinking back images that
/// were enlarged after a crop of 5, 10, 15 and 20%, then ones shown at twice their size.
pub const SCALES: [f32; 6] = [1.0, 0.95, 0.9, 0.85, 0.8, 0.5];

/// The z-score the best synchronisation candidate must reach (besides a valid CRC).
pub const Z_THRESHOLD: f32 = 5.0;

/// What the detector found in an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// A watermark of this key is present: the synchronisation z-score reached
    /// [`Z_THRESHOLD`] and the decoded message passed its CRC.
    pub found: bool,
    /// The payload, when found.
    pub payload: Option<Payload>,
    /// The best-effort decoded payload (meaningless when not found).
    pub decoded: Payload,
    /// z-score of the best synchronisation candidate among all shifts, phases at its scale.
    pub score: f32,
    /// The resampling factor of the best candidate.
    pub scale: f32,
}

/// Detects a watermark of `key` in `img`.
pub fn detect(img: &RgbImage, key: &Key) -> Detection {
    let layout = Layout::new(key);
    let y = luma(img);
    let mut best: Option<Detection> = None;
    'search: for &scale in &SCALES {
        let plane = if scale == 1.0 {
            y.clone()
        } else {
            resample(&y, scale)
        };
        for chip in CHIP_SIZES {
            let Some(d) = detect_at(&plane, chip, &layout, scale) else {
                continue;
            };
            let found = d.found;
            if best.as_ref().is_none_or(|b| d.score > b.score) {
                best = Some(d);
            }
            if found {
                break 'search;
            }
        }
    }
    best.unwrap_or(Detection {
        found: false,
        payload: None,
        decoded: Payload(0),
        score: 0.0,
        scale: 1.0,
    })
}

/// Candidates decoded per scale, best synchronisation scores first.
const DECODED_CANDIDATES: usize = 3;

/// One alignment hypothesis: sub-chip phase, tile shift, and its normalised sync score.
struct Candidate {
    score: f32,
    phase: usize,
    sx: usize,
    sy: usize,
}

/// The best candidate at one scale and chip size, or None when the plane is too small for
/// that chip size.
///
/// A candidate's score is the correlation of the folded tile with the sync pattern, divided
/// by the folded tile's RMS times sqrt(sync chips): on an unmarked image about N(0, 1) per
/// candidate, whatever the image, so one threshold serves every phase, scale and image.
fn detect_at(plane: &Plane, chip: usize, layout: &Layout, scale: f32) -> Option<Detection> {
    let mut folds = Vec::with_capacity(chip * chip);
    let mut candidates = Vec::with_capacity(chip * chip * TILE_CHIPS);
    for py in 0..chip {
        for px in 0..chip {
            let folded = fold(plane, chip, px, py)?;
            let rms = (folded.chips.iter().map(|v| v * v).sum::<f32>() / TILE_CHIPS as f32).sqrt();
            let norm = rms * (layout.sync.len() as f32).sqrt();
            for sy in 0..TILE {
                for sx in 0..TILE {
                    let s: f32 = layout
                        .sync
                        .iter()
                        .map(|c| c.sign * folded.chips[shifted(c.index, sx, sy)])
                        .sum();
                    candidates.push(Candidate {
                        score: if norm > 0.0 { s / norm } else { 0.0 },
                        phase: folds.len(),
                        sx,
                        sy,
                    });
                }
            }
            folds.push(folded);
        }
    }
    let n = candidates.len() as f32;
    let mean = candidates.iter().map(|c| c.score).sum::<f32>() / n;
    let std = (candidates
        .iter()
        .map(|c| (c.score - mean).powi(2))
        .sum::<f32>()
        / n)
        .sqrt();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));

    let mut best: Option<Detection> = None;
    for c in candidates.iter().take(DECODED_CANDIDATES) {
        let z = if std > 0.0 {
            (c.score - mean) / std
        } else {
            0.0
        };
        let folded = &folds[c.phase];
        let soft: Vec<f32> = layout
            .data
            .iter()
            .map(|chip| chip.sign * folded.chips[shifted(chip.index, c.sx, c.sy)])
            .collect();
        let (payload, crc_ok) = read_message(&viterbi(&soft, MESSAGE_BITS));
        let found = crc_ok && z >= Z_THRESHOLD;
        let d = Detection {
            found,
            payload: found.then_some(Payload(payload)),
            decoded: Payload(payload),
            score: z,
            scale,
        };
        if found {
            return Some(d);
        }
        best.get_or_insert(d);
    }
    best
}

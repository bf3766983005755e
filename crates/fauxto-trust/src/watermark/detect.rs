//! Detection: find the tile again and read the message.
//!
//! For each candidate scale (the image may have been enlarged after a crop), each chip size
//! of [`CHIP_SIZES`] and each of its `chip`² sub-chip phases, the luma is averaged over chips,
//! each chip mean read as a phasor on the quantizer's circle (see `qim`), and the phasors of
//! all tiles summed onto one. Cropping only shifts the tile cyclically, so every cyclic shift
//! of the synchronisation pattern is scored; the best of all candidates is judged by its
//! z-score among them, and the message bits under it are decoded (soft Viterbi) and checked
//! against their CRC. A watermark is reported only when both hold.

use image::RgbImage;

use super::code::{read_message, viterbi};
use super::grid::{fold, shifted};
use super::layout::{Key, Layout, CHIP_SIZES, MESSAGE_BITS, TILE};
use super::luma::{luma, resample, Plane};
use super::qim::{reference, soft, unturn};
use super::{Payload, PayloadFormat};

/// Resampling factors tried, in order: 1 (untouched size), then shrinking back images that
/// were enlarged after a crop of 5, 10, 15 and 20%, then ones shown at twice their size.
pub const SCALES: [f32; 6] = [1.0, 0.95, 0.9, 0.85, 0.8, 0.5];

/// The z-score the best synchronisation candidate must reach (besides a valid CRC).
///
/// On unmarked faces at 64 to 256 pixels the best candidate's z has a median of about 5.3 and
/// a 99th percentile of about 6.7 (a Gumbel tail of scale about 0.27, which puts 8.5 at about
/// 1e-5 of images; the largest of 46,478 unmarked attempts in `bench/RESULTS.md` was 7.94);
/// the CRC-16 divides that by another 2^15 per decoded candidate (either payload format's
/// check may pass). Marked images under the
/// attacks in `tests/common` score above 10.
pub const Z_THRESHOLD: f32 = 8.5;

/// What the detector found in an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// A watermark of this key is present: the synchronisation z-score reached
    /// [`Z_THRESHOLD`] and the decoded message passed its CRC.
    pub found: bool,
    /// The payload, when found.
    pub payload: Option<Payload>,
    /// The format the payload was written in, when found.
    pub format: Option<PayloadFormat>,
    /// The best-effort decoded payload (meaningless when not found).
    pub decoded: Payload,
    /// z-score of the best synchronisation candidate among all shifts and phases at its scale
    /// and chip size.
    pub score: f32,
    /// The resampling factor of the best candidate.
    pub scale: f32,
}

/// Detects a watermark of `key` in `img`.
pub fn detect(img: &RgbImage, key: &Key) -> Detection {
    if img.width() == 0 || img.height() == 0 {
        // Nothing to search (and nothing to resample).
        return no_detection();
    }
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
            if found || best.as_ref().is_none_or(|b| d.score > b.score) {
                best = Some(d);
            }
            if found {
                break 'search;
            }
        }
    }
    best.unwrap_or_else(no_detection)
}

/// What an image with nothing to search reads as.
fn no_detection() -> Detection {
    Detection {
        found: false,
        payload: None,
        format: None,
        decoded: Payload(0),
        score: 0.0,
        scale: 1.0,
    }
}

/// Candidates decoded per scale, best synchronisation scores first.
const DECODED_CANDIDATES: usize = 3;

/// One alignment hypothesis: sub-chip phase, tile shift, its normalised sync score and the
/// common turn of its phasors (a uniform luma offset since embedding, as a unit phasor).
struct Candidate {
    score: f32,
    turn: (f32, f32),
    phase: usize,
    sx: usize,
    sy: usize,
}

/// The best candidate at one scale and chip size, or None when the plane is too small for
/// that chip size.
///
/// A candidate's score is the magnitude of the sum of the sync chips' phasors, each turned
/// back by its reference (on the lattice each is 1), divided by its per-component standard
/// deviation on an unmarked image (half the number of copies summed): Rayleigh-distributed
/// per candidate where the chip means' phases are spread uniformly (textured images; smooth
/// ones are not, and there the z-score among all candidates is what protects). Taking the magnitude rather than the real part (non-coherent
/// detection) makes the score blind to a uniform luma offset, which turns every phasor
/// alike; the sum's angle is that turn, undone before the message is read.
fn detect_at(plane: &Plane, chip: usize, layout: &Layout, scale: f32) -> Option<Detection> {
    let sync_refs: Vec<(f32, f32)> = layout.sync.iter().map(|c| reference(c.dither)).collect();
    let mut folds = Vec::with_capacity(chip * chip);
    let mut candidates = Vec::with_capacity(chip * chip * TILE * TILE);
    for py in 0..chip {
        for px in 0..chip {
            // A phase may have too few chips where phase (0, 0) has enough (an image just
            // big enough): skip that phase, not the chip size.
            let Some(folded) = fold(plane, chip, px, py) else {
                continue;
            };
            for sy in 0..TILE {
                for sx in 0..TILE {
                    let (mut sum, mut copies) = ((0f32, 0f32), 0u32);
                    for (c, &r) in layout.sync.iter().zip(&sync_refs) {
                        let t = shifted(c.index, sx, sy);
                        let v = unturn(folded.at(t), r);
                        sum = (sum.0 + v.0, sum.1 + v.1);
                        copies += folded.count[t];
                    }
                    let norm = (copies as f32 / 2.0).sqrt();
                    let magnitude = sum.0.hypot(sum.1);
                    candidates.push(Candidate {
                        score: if norm > 0.0 { magnitude / norm } else { 0.0 },
                        turn: if magnitude > 0.0 {
                            (sum.0 / magnitude, sum.1 / magnitude)
                        } else {
                            (1.0, 0.0)
                        },
                        phase: folds.len(),
                        sx,
                        sy,
                    });
                }
            }
            folds.push(folded);
        }
    }
    if folds.is_empty() {
        return None;
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
        // Viterbi takes positive values as bit 1: the bit-1 lattice reads negative.
        let soft: Vec<f32> = layout
            .data
            .iter()
            .map(|chip| {
                let p = folded.at(shifted(chip.index, c.sx, c.sy));
                -soft(unturn(p, c.turn), reference(chip.dither))
            })
            .collect();
        let (payload, format) = read_message(&viterbi(&soft, MESSAGE_BITS));
        let found = format.is_some() && z >= Z_THRESHOLD;
        let d = Detection {
            found,
            payload: found.then_some(Payload(payload)),
            format: format.filter(|_| found),
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

//! Detection: find the chip lattice again and read the message.
//!
//! Two stages, the second only when the first finds nothing sure:
//! 1. **Native geometry**: the pitch the mark was embedded at (4 or 8 pixels), unrotated,
//!    at every whole-pixel phase — untouched images, JPEG, crops, and tone changes.
//! 2. **Searched geometry** (`search`): the image was resized and kept at its new size, or
//!    rotated; a coarse search over pitch, angle and sub-chip offset, then refinement.
//!
//! At each geometry the chips of the whole image are read twice (whole chips, and their
//! inner 0.75, which skips the border a shrinking filter blurs), each read through every
//! tone curve of `tone`, folded onto the tile and scored at every tile shift (`sync`). The
//! best few (shift, curve, read) candidates are decoded (soft Viterbi) and checked against
//! their CRC. A mark is reported only when the sync score reaches [`SYNC_THRESHOLD`], stands
//! out from the geometry's other candidates by [`Z_THRESHOLD`] (which rejects images whose
//! own periodic texture inflates every score), and the CRC holds.

use image::RgbImage;
use rayon::prelude::*;

use super::code::{read_message, viterbi};
use super::lattice::{read, read_weighing_clipped, Geometry, Reads};
use super::layout::{Key, Layout, CHIP_SIZES, MESSAGE_BITS, TILE_CHIPS};
use super::luma::luma;
use super::qim::{reference, soft, unturn};
use super::sample::Sampler;
use super::search::{coarse_lines, pick_window, Context};
use super::sync::{Correlator, Tile};
use super::tone::{phasor_tables, Tone, TONES};
use super::{Payload, PayloadFormat};

/// The sync score (Rayleigh-normalised, see `sync`) a mark must reach.
///
/// The best score of the whole search on an unmarked face follows a Gumbel law; this is
/// about its 1e-4 point (`bench/RESULTS.md`, "Watermark: false positives"); with the
/// z-score and the CRC-16 on top, about 1e-7 of unmarked images would read as marked.
pub const SYNC_THRESHOLD: f32 = 8.25;

/// How far the best candidate must stand above the other candidates of its geometry, in
/// standard deviations. Unmarked faces give about 6.8 ± 0.5, marked reads 10 and more;
/// stripes and screen tones, which inflate every candidate, stay below.
pub const Z_THRESHOLD: f32 = 7.0;

/// A found mark with a sync score this high ends the search.
const SURE: f32 = 12.0;

/// The chip reads at each geometry: whole chips and their inner 0.75.
const WINDOWS: [f64; 2] = [1.0, 0.75];

/// Candidates decoded per geometry, best sync scores first.
const DECODED_CANDIDATES: usize = 3;

/// What the detector found in an image.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// A watermark of this key is present: the sync score reached [`SYNC_THRESHOLD`], its
    /// z-score [`Z_THRESHOLD`], and the decoded message passed its CRC.
    pub found: bool,
    /// The payload, when found.
    pub payload: Option<Payload>,
    /// The format the payload was written in, when found.
    pub format: Option<PayloadFormat>,
    /// The best-effort decoded payload (meaningless when not found).
    pub decoded: Payload,
    /// The sync score of the best candidate.
    pub score: f32,
    /// Its z-score among the candidates of its geometry.
    pub z: f32,
    /// The chip pitch found, in pixels (4 or 8 on an image at its marked size).
    pub pitch: f32,
    /// The rotation found, in degrees, in image coordinates (y down): positive turns
    /// clockwise on screen.
    pub angle: f32,
    /// The tone change undone.
    pub tone: Tone,
}

impl Detection {
    /// Found beats not found; then the higher sync score.
    fn better_than(&self, other: &Detection) -> bool {
        (self.found, self.score) > (other.found, other.score)
    }

    /// Whether its sync score and z-score let a valid message count as found.
    fn synchronised(&self) -> bool {
        self.score >= SYNC_THRESHOLD && self.z >= Z_THRESHOLD
    }

    fn sure(&self) -> bool {
        self.found && self.score >= SURE
    }
}

/// What an image with nothing to search reads as.
fn no_detection() -> Detection {
    Detection {
        found: false,
        payload: None,
        format: None,
        decoded: Payload(0),
        score: 0.0,
        z: 0.0,
        pitch: CHIP_SIZES[0] as f32,
        angle: 0.0,
        tone: Tone::Identity,
    }
}

/// Detects a watermark of `key` in `img`.
pub fn detect(img: &RgbImage, key: &Key) -> Detection {
    if img.width() == 0 || img.height() == 0 {
        return no_detection();
    }
    let layout = Layout::new(key);
    let plane = luma(img);
    let sampler = Sampler::with_clipped(&plane, img);
    let correlator = Correlator::new(&layout);
    let ctx = Context::new(&sampler, pick_window(&plane), &correlator, phasor_tables());
    let best = |found: Vec<Detection>| {
        found
            .into_iter()
            .reduce(|a, b| if b.better_than(&a) { b } else { a })
    };

    let native = best(
        native_phases(&ctx)
            .par_iter()
            .filter_map(|g| read_at(&ctx, &layout, g))
            .collect(),
    );
    if native.as_ref().is_some_and(Detection::sure) {
        return native.unwrap();
    }
    let lines = coarse_lines(sampler.width(), sampler.height());
    let searched = best(
        ctx.coarse(&lines)
            .par_iter()
            .filter_map(|&(_, g)| read_at(&ctx, &layout, &ctx.refine(g)))
            .collect(),
    );
    best(native.into_iter().chain(searched).collect()).unwrap_or_else(no_detection)
}

/// Whole-pixel phases read in full per chip size (the rest are only screened).
const NATIVE_PHASES: usize = 2;

/// The embedding's own lattices worth reading: per chip size the image holds enough chips
/// of, the [`NATIVE_PHASES`] whole-pixel phases whose whole chips score best under any
/// tone curve (a wrong phase mixes neighbouring chips and scores as noise).
fn native_phases(ctx: &Context) -> Vec<Geometry> {
    let mut out = Vec::new();
    for chip in CHIP_SIZES {
        let mut scored: Vec<(f32, Geometry)> = native_geometries(ctx, chip)
            .into_par_iter()
            .map(|g| {
                let mut reads = Reads::default();
                read(
                    ctx.sampler,
                    ctx.origin,
                    &g,
                    ctx.whole_image(g.pitch),
                    1.0,
                    &mut reads,
                );
                let best = ctx
                    .through_tones(&reads)
                    .map(|(_, _, c)| c.best().1)
                    .fold(0f32, f32::max);
                (best, g)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        out.extend(scored.into_iter().take(NATIVE_PHASES).map(|(_, g)| g));
    }
    out
}

/// The embedding's lattice of `chip`-pixel chips, unrotated, at every whole-pixel phase;
/// none when the image holds fewer than half a tile of such chips.
fn native_geometries(ctx: &Context, chip: usize) -> Vec<Geometry> {
    let (w, h) = (ctx.sampler.width(), ctx.sampler.height());
    if (w / chip) * (h / chip) < TILE_CHIPS / 2 {
        return Vec::new();
    }
    let (ox, oy) = ctx.origin;
    let c = chip as f64;
    (0..chip * chip)
        .map(|p| Geometry {
            pitch: c,
            angle: 0.0,
            ox: ((p % chip) as f64 - ox).rem_euclid(c),
            oy: ((p / chip) as f64 - oy).rem_euclid(c),
        })
        .collect()
}

/// One (shift, tone curve, read window) candidate at a geometry.
struct Candidate {
    score: f32,
    shift: usize,
    turn: (f32, f32),
    tone: usize,
    tile: Tile,
}

/// How the chips of a geometry are read: [`read`], or [`read_weighing_clipped`].
type Reader = fn(&Sampler, (f64, f64), &Geometry, i64, f64, &mut Reads);

/// Reads the message at geometry `g`; None when the image holds fewer than half a tile of
/// chips there.
///
/// A brightening gain or a contrast increase clips pixels channel by channel, and the
/// chips that hold them carry a phase the tone curve does not explain: when the chips
/// synchronise but the message fails its CRC, the geometry is read again with those chips
/// weighted down by their share of clipped pixels.
fn read_at(ctx: &Context, layout: &Layout, g: &Geometry) -> Option<Detection> {
    let first = read_with(ctx, layout, g, read)?;
    if first.found || !first.synchronised() || !ctx.sampler.has_clipped() {
        return Some(first);
    }
    read_with(ctx, layout, g, read_weighing_clipped)
        .filter(|d| d.found)
        .or(Some(first))
}

/// [`read_at`] with the chips read by `reader`.
fn read_with(ctx: &Context, layout: &Layout, g: &Geometry, reader: Reader) -> Option<Detection> {
    let half_chips = ctx.whole_image(g.pitch);
    let mut reads = Reads::default();
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
    let mut candidates: Vec<Candidate> = Vec::new();
    for shrink in WINDOWS {
        reader(ctx.sampler, ctx.origin, g, half_chips, shrink, &mut reads);
        if reads.len() < TILE_CHIPS / 2 {
            continue;
        }
        for (tone, tile, c) in ctx.through_tones(&reads) {
            for &s in &c.score {
                sum += s as f64;
                sum_sq += (s as f64).powi(2);
            }
            n += TILE_CHIPS as f64;
            let (shift, score) = c.best();
            candidates.push(Candidate {
                score,
                shift,
                turn: c.turn(shift),
                tone,
                tile,
            });
        }
    }
    if candidates.is_empty() {
        return None;
    }
    let mean = sum / n;
    let std = (sum_sq / n - mean * mean).max(0.0).sqrt();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut best: Option<Detection> = None;
    for c in candidates.iter().take(DECODED_CANDIDATES) {
        let z = if std > 0.0 {
            ((c.score as f64 - mean) / std) as f32
        } else {
            0.0
        };
        let (payload, format) = decode(layout, &c.tile, c.shift, c.turn);
        let mut d = Detection {
            found: false,
            payload: None,
            format: None,
            decoded: Payload(payload),
            score: c.score,
            z,
            pitch: g.pitch as f32,
            angle: g.angle.to_degrees() as f32,
            tone: TONES[c.tone],
        };
        if format.is_some() && d.synchronised() {
            d.found = true;
            d.payload = Some(Payload(payload));
            d.format = format;
            return Some(d);
        }
        best.get_or_insert(d);
    }
    best
}

/// The payload and format (None: the CRC fails) of `tile` read at `shift`, its phasors
/// turned back by `turn`.
fn decode(
    layout: &Layout,
    tile: &Tile,
    shift: usize,
    turn: (f32, f32),
) -> (u64, Option<PayloadFormat>) {
    // Viterbi takes positive values as bit 1: the bit-1 lattice reads negative.
    let soft_bits: Vec<f32> = layout
        .data
        .iter()
        .map(|chip| {
            -soft(
                unturn(tile.at(chip.index, shift), turn),
                reference(chip.dither),
            )
        })
        .collect();
    read_message(&viterbi(&soft_bits, MESSAGE_BITS))
}

//! The geometry search for images resized, rotated or both since they were marked.
//!
//! No template is added to the image to find its geometry (a Fourier template strong enough
//! to survive costs more PSNR than the whole mark; the chip lattice's own periodicity
//! depends on the host and does not show in the spectrum). Instead the lattice itself is
//! searched for, coarse to fine:
//! 1. a window of 24x24 chips in the image's least textured part (texture is what hides
//!    the mark after a resize);
//! 2. on it, every pitch of the resize line (a 2% grid from 2 to 8 pixels, i.e. 0.5x to 2x
//!    of 4-pixel chips, and up to 16 on large images), small rotations about the native
//!    pitches, and 8x8 sub-chip offsets, each scored for all tile shifts at once (`sync`);
//! 3. the best few refined about the window by a pattern search (Hooke and Jeeves) over
//!    pitch, angle and offset, with halving steps.

use rayon::prelude::*;

use super::lattice::{read, tile_of, Geometry, Reads};
use super::layout::{CHIP_SIZES, LARGE_IMAGE, TILE_CHIPS};
use super::luma::Plane;
use super::sample::{Sampler, CLIP_HIGH, CLIP_LOW};
use super::sync::{Correlation, Correlator, Tile};
use super::tone::{PhasorTables, TONES};

/// Half the coarse window's side, in chips.
const COARSE_HALF: i64 = 12;
/// Sub-chip offsets per axis in the coarse search.
const OFFSETS: usize = 8;
/// Geometries refined after the coarse search.
pub const REFINED: usize = 6;
/// Half the side of the window the fine refinement reads, in chips: 48 chips across pin
/// the pitch to about 0.1%, and a larger window costs time without moving the optimum.
const FINE_HALF: i64 = 24;
/// The window the coarse search reads must hold this many chips.
const MIN_COARSE_CHIPS: usize = 100;

/// The (pitch, angle) pairs of the coarse search for a `width` x `height` image.
pub fn coarse_lines(width: usize, height: usize) -> Vec<(f64, f64)> {
    let short = width.min(height) as f64;
    let mut lines: Vec<(f64, f64)> = (0..=70).map(|k| (2.0 * 1.02f64.powi(k), 0.0)).collect();
    let mut natives = vec![CHIP_SIZES[0] as f64];
    // Large images were marked with 8-pixel chips, and a crop of one keeps them; their
    // resize line goes on to 16 (enlarged up to 2x).
    if short >= LARGE_IMAGE as f64 * 0.75 {
        let top = 16f64.min(short / 8.0);
        lines.extend(
            (1..)
                .map(|k| 8.0 * 1.02f64.powi(k))
                .take_while(|&c| c <= top)
                .map(|c| (c, 0.0)),
        );
        natives.push(CHIP_SIZES[1] as f64);
    }
    // Rotations at the native pitches only: a rotation keeps the pitch, and the refinement
    // finds a small resize on top of one (lines at ±1.5% of the native pitches read no
    // more marks on rotated faces at 64², 128² or 256², and cost a sixth of the time).
    for c0 in natives {
        for deg in [-2.0f64, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0] {
            lines.push((c0, deg.to_radians()));
        }
    }
    lines
        .into_iter()
        .filter(|&(c, _)| short >= 5.0 * c)
        .collect()
}

/// The centre of the least textured of 5x5 candidate windows of 96 pixels (median absolute
/// Laplacian, plus a penalty for clipped pixels); the image centre for small images.
pub fn pick_window(plane: &Plane) -> (f64, f64) {
    const SIZE: usize = 96;
    let (w, h) = (plane.width, plane.height);
    let centre = ((w / 2) as f64, (h / 2) as f64);
    if w.min(h) < SIZE * 3 / 2 {
        return centre;
    }
    let mut best = (f32::INFINITY, centre);
    let mut values = Vec::with_capacity(SIZE * SIZE);
    for gy in 0..5 {
        for gx in 0..5 {
            let x0 = 1 + gx * (w - SIZE - 2) / 4;
            let y0 = 1 + gy * (h - SIZE - 2) / 4;
            values.clear();
            let mut clipped = 0usize;
            for y in y0..y0 + SIZE {
                for x in x0..x0 + SIZE {
                    let v = plane.at(x, y);
                    let lap = 4.0 * v
                        - plane.at(x - 1, y)
                        - plane.at(x + 1, y)
                        - plane.at(x, y - 1)
                        - plane.at(x, y + 1);
                    values.push(lap.abs());
                    clipped += usize::from(!(CLIP_LOW..=CLIP_HIGH).contains(&v));
                }
            }
            let mid = values.len() / 2;
            let median = *values.select_nth_unstable_by(mid, f32::total_cmp).1;
            let cost = median + 100.0 * clipped as f32 / values.len() as f32;
            if cost < best.0 {
                best = (cost, ((x0 + SIZE / 2) as f64, (y0 + SIZE / 2) as f64));
            }
        }
    }
    best.1
}

/// What the search needs from the image and the key.
pub struct Context<'a> {
    pub sampler: &'a Sampler<'a>,
    pub origin: (f64, f64),
    pub correlator: &'a Correlator,
    pub tables: &'a PhasorTables,
    /// Sync copies per shift of a complete coarse window (the same for every geometry).
    pub full_window: [f32; TILE_CHIPS],
}

impl<'a> Context<'a> {
    pub fn new(
        sampler: &'a Sampler<'a>,
        origin: (f64, f64),
        correlator: &'a Correlator,
        tables: &'a PhasorTables,
    ) -> Self {
        let mut counts = Tile::new();
        for j in -COARSE_HALF..COARSE_HALF {
            for i in -COARSE_HALF..COARSE_HALF {
                counts.add(tile_of(i, j) as usize, (0.0, 0.0));
            }
        }
        let full_window = correlator.copies(&counts.count);
        Context {
            sampler,
            origin,
            correlator,
            tables,
            full_window,
        }
    }

    /// `reads` folded through every tone curve of [`TONES`] and scored: (curve, tile,
    /// correlation). The sync copies per shift depend on which chips were read, not on the
    /// curve, so they are counted once.
    pub fn through_tones<'r>(
        &'r self,
        reads: &'r Reads,
    ) -> impl Iterator<Item = (usize, Tile, Correlation)> + 'r {
        let mut copies = None;
        (0..TONES.len()).map(move |tone| {
            let tile = reads.fold(self.tables, tone);
            let copies = copies.get_or_insert_with(|| self.correlator.copies(&tile.count));
            let c = self.correlator.correlate(&tile, Some(copies));
            (tone, tile, c)
        })
    }

    /// The best sync score of `g` over all tile shifts, the chips read untoned; None when
    /// fewer than `min_chips` chips were read.
    fn score(
        &self,
        g: &Geometry,
        half_chips: i64,
        min_chips: usize,
        reads: &mut Reads,
    ) -> Option<f32> {
        read(self.sampler, self.origin, g, half_chips, 1.0, reads);
        if reads.len() < min_chips {
            return None;
        }
        let tile = reads.fold(self.tables, 0);
        let copies = (half_chips == COARSE_HALF && reads.complete()).then_some(&self.full_window);
        Some(self.correlator.correlate(&tile, copies).best().1)
    }

    /// The coarse search: the [`REFINED`] best geometries of `lines`, best first, with their
    /// scores (one per line at most).
    pub fn coarse(&self, lines: &[(f64, f64)]) -> Vec<(f32, Geometry)> {
        let mut found: Vec<(f32, Geometry)> = lines
            .par_iter()
            .filter_map(|&(pitch, angle)| {
                let mut reads = Reads::default();
                let mut best: Option<(f32, Geometry)> = None;
                for oy in 0..OFFSETS {
                    for ox in 0..OFFSETS {
                        let g = Geometry {
                            pitch,
                            angle,
                            ox: pitch * ox as f64 / OFFSETS as f64,
                            oy: pitch * oy as f64 / OFFSETS as f64,
                        };
                        let Some(s) = self.score(&g, COARSE_HALF, MIN_COARSE_CHIPS, &mut reads)
                        else {
                            continue;
                        };
                        if best.is_none_or(|b| s > b.0) {
                            best = Some((s, g));
                        }
                    }
                }
                best
            })
            .collect();
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        found.truncate(REFINED);
        found
    }

    /// Chips from the origin to past the farthest image corner at `pitch`.
    pub fn whole_image(&self, pitch: f64) -> i64 {
        let (w, h) = (self.sampler.width(), self.sampler.height());
        (w.max(h) as f64 * 1.05 / pitch).ceil() as i64
    }

    /// Refines `g` by pattern search; on large images first on a 32x32-chip window, then
    /// on a 48x48-chip one with finer steps.
    pub fn refine(&self, g: Geometry) -> Geometry {
        let (w, h) = (self.sampler.width(), self.sampler.height());
        let coarse_steps = [
            0.008 * g.pitch,
            0.3f64.to_radians(),
            g.pitch / 16.0,
            g.pitch / 16.0,
        ];
        if w.max(h) as f64 / g.pitch > 40.0 {
            let g = self.pattern_search(g, 16, coarse_steps);
            let fine = [
                0.002 * g.pitch,
                0.08f64.to_radians(),
                g.pitch / 32.0,
                g.pitch / 32.0,
            ];
            self.pattern_search(g, self.whole_image(g.pitch).min(FINE_HALF), fine)
        } else {
            self.pattern_search(g, self.whole_image(g.pitch), coarse_steps)
        }
    }

    /// Hooke–Jeeves exploratory moves over (pitch, angle, ox, oy): along each in turn, take
    /// the first direction that improves the score; halve every step after a round with no
    /// improvement; 12 rounds.
    fn pattern_search(&self, start: Geometry, half_chips: i64, mut steps: [f64; 4]) -> Geometry {
        const MIN_CHIPS: usize = 60;
        let mut reads = Reads::default();
        let mut x = start;
        let mut best = self
            .score(&x, half_chips, MIN_CHIPS, &mut reads)
            .unwrap_or(-1.0);
        for _ in 0..12 {
            let mut improved = false;
            for (d, &step) in steps.iter().enumerate() {
                for sign in [1.0, -1.0] {
                    let mut y = x;
                    let v = match d {
                        0 => &mut y.pitch,
                        1 => &mut y.angle,
                        2 => &mut y.ox,
                        _ => &mut y.oy,
                    };
                    *v += sign * step;
                    let s = self
                        .score(&y, half_chips, MIN_CHIPS, &mut reads)
                        .unwrap_or(-1.0);
                    if s > best {
                        (best, x, improved) = (s, y, true);
                        break;
                    }
                }
            }
            if !improved {
                steps = steps.map(|s| s / 2.0);
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::layout::{Key, Layout};

    #[test]
    fn the_precomputed_copies_are_those_of_a_complete_coarse_read() {
        let (w, h) = (160, 150);
        let data = (0..w * h).map(|i| ((i * 13) % 150) as f32 + 50.0).collect();
        let plane = Plane {
            width: w,
            height: h,
            data,
        };
        let sampler = Sampler::new(&plane);
        let correlator = Correlator::new(&Layout::new(&Key::from_passphrase("copies")));
        let ctx = Context::new(
            &sampler,
            (80.0, 75.0),
            &correlator,
            crate::watermark::tone::phasor_tables(),
        );
        let g = Geometry {
            pitch: 4.6,
            angle: 0.0,
            ox: 1.3,
            oy: 2.1,
        };
        let mut reads = Reads::default();
        read(&sampler, ctx.origin, &g, COARSE_HALF, 1.0, &mut reads);
        assert!(reads.complete());
        let counted = correlator.copies(&reads.fold(ctx.tables, 0).count);
        for (a, b) in counted.iter().zip(&ctx.full_window) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }
}

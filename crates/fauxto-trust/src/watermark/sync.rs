//! Synchronisation: where the tile starts, scored for all 256 cyclic shifts at once.
//!
//! The chips read from an image are summed per tile position into a [`Tile`] (their phasors,
//! see `qim`, and how many there were). A crop shifts the tile cyclically, so the sync
//! pattern is cross-correlated with the tile over every shift: `C[s] = Σ_t conj(T[t]) F[t+s]`,
//! with `T` the sync chips' reference phasors, computed as `IFFT(FFT(F) · conj(FFT(T)))`
//! (the correlation theorem; 16x16 FFTs). A shift's score is `|C[s]|` over its standard
//! deviation on an unmarked image, `sqrt(copies / 2)` where `copies` counts the sync chips
//! read at that shift: Rayleigh-distributed where the chip phases are uniform. Taking the
//! magnitude (non-coherent detection) makes the score blind to a uniform luma offset, which
//! turns every phasor alike; the angle of `C[s]` is that turn.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::layout::{Layout, TILE, TILE_CHIPS};
use super::qim::reference;

/// The phasors of the chips read, summed per tile chip, and how many were read (weighted
/// chips count as the square of their weight).
#[derive(Clone)]
pub struct Tile {
    pub sum: [Complex32; TILE_CHIPS],
    pub count: [f32; TILE_CHIPS],
}

impl Tile {
    pub fn new() -> Self {
        Tile {
            sum: [Complex32::new(0.0, 0.0); TILE_CHIPS],
            count: [0.0; TILE_CHIPS],
        }
    }

    #[inline]
    pub fn add(&mut self, t: usize, p: (f32, f32)) {
        self.sum[t] += Complex32::new(p.0, p.1);
        self.count[t] += 1.0;
    }

    /// Adds phasor `p` times `w`. It counts `w²` copies: the variance it adds where the
    /// phase is uniform, which is what the score normalises by.
    #[inline]
    pub fn add_weighted(&mut self, t: usize, p: (f32, f32), w: f32) {
        self.sum[t] += Complex32::new(p.0 * w, p.1 * w);
        self.count[t] += w * w;
    }

    /// The summed phasor of tile chip `t` under shift `shift`: the chip at `t + shift`.
    pub fn at(&self, t: usize, shift: usize) -> (f32, f32) {
        let v = self.sum[shifted(t, shift)];
        (v.re, v.im)
    }
}

impl Default for Tile {
    fn default() -> Self {
        Self::new()
    }
}

/// Tile chip `t` moved by `shift` (both row-major indices into the 16x16 tile), cyclically.
pub fn shifted(t: usize, shift: usize) -> usize {
    let row = (t / TILE + shift / TILE) % TILE;
    let col = (t % TILE + shift % TILE) % TILE;
    row * TILE + col
}

/// The score of every shift and the correlation behind it.
pub struct Correlation {
    pub corr: [Complex32; TILE_CHIPS],
    pub score: [f32; TILE_CHIPS],
}

impl Correlation {
    /// The best shift and its score.
    pub fn best(&self) -> (usize, f32) {
        self.score
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0))
    }

    /// The common turn of the sync chips at `shift`, as a unit phasor.
    pub fn turn(&self, shift: usize) -> (f32, f32) {
        let c = self.corr[shift];
        let n = c.norm_sqr().sqrt();
        if n > 0.0 {
            (c.re / n, c.im / n)
        } else {
            (1.0, 0.0)
        }
    }
}

/// A planned 16-point FFT.
type Plan = Arc<dyn Fft<f32>>;

/// The sync pattern's spectra and the FFT plans, made once per key.
pub struct Correlator {
    forward: Plan,
    inverse: Plan,
    /// conj(FFT(T)) of the sync references, and of the sync mask (for the copy counts).
    pattern: [Complex32; TILE_CHIPS],
    mask: [Complex32; TILE_CHIPS],
}

impl Correlator {
    pub fn new(layout: &Layout) -> Self {
        // Planned once per process.
        static PLANS: std::sync::OnceLock<(Plan, Plan)> = std::sync::OnceLock::new();
        let (forward, inverse) = PLANS
            .get_or_init(|| {
                let mut planner = FftPlanner::new();
                (
                    planner.plan_fft_forward(TILE),
                    planner.plan_fft_inverse(TILE),
                )
            })
            .clone();
        let mut pattern = [Complex32::new(0.0, 0.0); TILE_CHIPS];
        let mut mask = [Complex32::new(0.0, 0.0); TILE_CHIPS];
        for chip in &layout.sync {
            let r = reference(chip.dither);
            pattern[chip.index] = Complex32::new(r.0, r.1);
            mask[chip.index] = Complex32::new(1.0, 0.0);
        }
        let mut c = Correlator {
            forward,
            inverse,
            pattern,
            mask,
        };
        c.pattern = c.spectrum(&c.pattern).map(|v| v.conj());
        c.mask = c.spectrum(&c.mask).map(|v| v.conj());
        c
    }

    /// The 2-D FFT of a 16x16 array, left transposed (every product with another spectrum
    /// made the same way is elementwise, and [`Correlator::back`] undoes the transpose).
    fn spectrum(&self, a: &[Complex32; TILE_CHIPS]) -> [Complex32; TILE_CHIPS] {
        let mut buf = *a;
        self.forward.process(&mut buf);
        let mut t = transpose(&buf);
        self.forward.process(&mut t);
        t
    }

    /// The inverse of [`Correlator::spectrum`], scaled.
    fn back(&self, mut s: [Complex32; TILE_CHIPS]) -> [Complex32; TILE_CHIPS] {
        self.inverse.process(&mut s);
        let mut t = transpose(&s);
        self.inverse.process(&mut t);
        let scale = 1.0 / TILE_CHIPS as f32;
        t.map(|v| v * scale)
    }

    /// The sync copies read at every shift: `Σ_t mask[t] count[t+s]`.
    pub fn copies(&self, count: &[f32; TILE_CHIPS]) -> [f32; TILE_CHIPS] {
        let n = self.spectrum(&count.map(|c| Complex32::new(c, 0.0)));
        let mut prod = [Complex32::new(0.0, 0.0); TILE_CHIPS];
        for i in 0..TILE_CHIPS {
            prod[i] = n[i] * self.mask[i];
        }
        self.back(prod).map(|v| v.re)
    }

    /// Scores every shift of `tile`; `copies` are its sync copies per shift when known
    /// (the same for every tile read through the same chips), else computed.
    pub fn correlate(&self, tile: &Tile, copies: Option<&[f32; TILE_CHIPS]>) -> Correlation {
        let f = self.spectrum(&tile.sum);
        let mut prod = [Complex32::new(0.0, 0.0); TILE_CHIPS];
        for i in 0..TILE_CHIPS {
            prod[i] = f[i] * self.pattern[i];
        }
        let corr = self.back(prod);
        let owned;
        let copies = match copies {
            Some(c) => c,
            None => {
                owned = self.copies(&tile.count);
                &owned
            }
        };
        let mut score = [0f32; TILE_CHIPS];
        for s in 0..TILE_CHIPS {
            score[s] = (corr[s].norm_sqr() / (copies[s].max(1.0) / 2.0)).sqrt();
        }
        Correlation { corr, score }
    }
}

fn transpose(a: &[Complex32; TILE_CHIPS]) -> [Complex32; TILE_CHIPS] {
    let mut t = [Complex32::new(0.0, 0.0); TILE_CHIPS];
    for r in 0..TILE {
        for c in 0..TILE {
            t[c * TILE + r] = a[r * TILE + c];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watermark::layout::Key;
    use crate::watermark::qim::unturn;

    /// A tile with pseudo-random phasors and counts.
    fn tile() -> Tile {
        let mut t = Tile::new();
        let mut state = 12345u64;
        for i in 0..TILE_CHIPS {
            for _ in 0..(1 + i % 3) {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let a = (state >> 33) as f32 / (1u64 << 31) as f32 * std::f32::consts::TAU;
                t.add(i, (a.cos(), a.sin()));
            }
        }
        t
    }

    #[test]
    fn the_fft_correlation_equals_the_direct_sum_at_every_shift() {
        let layout = Layout::new(&Key::from_passphrase("sync"));
        let c = Correlator::new(&layout);
        let t = tile();
        let got = c.correlate(&t, None);
        for s in 0..TILE_CHIPS {
            let (mut sum, mut copies) = ((0f32, 0f32), 0f32);
            for chip in &layout.sync {
                let v = unturn(t.at(chip.index, s), reference(chip.dither));
                sum = (sum.0 + v.0, sum.1 + v.1);
                copies += t.count[shifted(chip.index, s)];
            }
            let score = sum.0.hypot(sum.1) / (copies / 2.0).sqrt();
            assert!(
                (got.score[s] - score).abs() < 1e-3,
                "shift {s}: {} vs {score}",
                got.score[s]
            );
        }
    }

    #[test]
    fn a_shifted_sync_pattern_is_found_at_its_shift() {
        let layout = Layout::new(&Key::from_passphrase("sync"));
        let c = Correlator::new(&layout);
        let shift = 3 * TILE + 11;
        let mut t = tile();
        for chip in &layout.sync {
            // The sync chip, read turned by 1 radian, where the shift puts it.
            let r = reference(chip.dither + 1.0 / std::f32::consts::TAU);
            let at = shifted(chip.index, shift);
            t.sum[at] = Complex32::new(r.0, r.1);
            t.count[at] = 1.0;
        }
        let got = c.correlate(&t, None);
        assert_eq!(got.best().0, shift);
        let turn = got.turn(shift);
        assert!((turn.0 - 1f32.cos()).abs() < 1e-4 && (turn.1 - 1f32.sin()).abs() < 1e-4);
    }
}

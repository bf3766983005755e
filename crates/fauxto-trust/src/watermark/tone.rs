//! Tone curves the detector undoes: brightness and contrast gains and gamma.
//!
//! A gain `a` on the luma stretches the quantizer lattice (see `qim`): a chip mean `m` moves
//! to `a m`, a phase error of `2π (a - 1) m / STEP` that grows with the mean, so the chips no
//! longer agree. A contrast change is a gain about the image's mean, i.e. a gain plus an
//! offset, and an offset turns every phasor alike, which the non-coherent synchronisation
//! absorbs; brightness and contrast thus both reduce to a gain. Gamma bends the lattice.
//! The detector reads the chip means through each inverse curve of [`TONES`] (applied to
//! the means, not the pixels: the curves are smooth enough over a chip) and keeps the best.
//! Half a step of the grids is at most about 1.5 luma over the range of skin and sky.

use super::qim::phasor;

/// A tone change the detector undoes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tone {
    /// No change.
    Identity,
    /// The luma multiplied by this gain (brightness; contrast with an offset).
    Gain(f32),
    /// `255 (Y / 255)^γ`.
    Gamma(f32),
}

/// Every curve tried: the identity, gains of ±5–20% and gammas of 0.8–1.25.
pub const TONES: [Tone; 17] = [
    Tone::Identity,
    Tone::Gain(0.80),
    Tone::Gain(0.85),
    Tone::Gain(0.90),
    Tone::Gain(0.95),
    Tone::Gain(1.05),
    Tone::Gain(1.10),
    Tone::Gain(1.15),
    Tone::Gain(1.20),
    Tone::Gamma(0.80),
    Tone::Gamma(0.85),
    Tone::Gamma(0.90),
    Tone::Gamma(0.95),
    Tone::Gamma(1.05),
    Tone::Gamma(1.10),
    Tone::Gamma(1.17),
    Tone::Gamma(1.25),
];

impl Tone {
    /// The mean before the change, given the mean after it.
    pub fn undo(self, mean: f32) -> f32 {
        match self {
            Tone::Identity => mean,
            Tone::Gain(a) => mean / a,
            Tone::Gamma(g) => 255.0 * (mean / 255.0).clamp(1e-6, 1.0).powf(1.0 / g),
        }
    }

    /// How it reads in a report: "none", "gain 1.10", "gamma 0.85".
    pub fn describe(self) -> String {
        match self {
            Tone::Identity => "none".into(),
            Tone::Gain(a) => format!("gain {a:.2}"),
            Tone::Gamma(g) => format!("gamma {g:.2}"),
        }
    }
}

/// Table entries per luma unit: a mean is read to 1/16 luma, 1/200 of the quantizer step.
const PER_LUMA: f32 = 16.0;
const ENTRIES: usize = 256 * PER_LUMA as usize;

/// The phasor of the undone mean for every tabulated chip mean, per tone curve.
pub struct PhasorTables {
    tables: Vec<Vec<(f32, f32)>>,
}

impl PhasorTables {
    pub fn new() -> Self {
        let tables = TONES
            .iter()
            .map(|tone| {
                (0..ENTRIES)
                    .map(|i| phasor(tone.undo((i as f32 + 0.5) / PER_LUMA)))
                    .collect()
            })
            .collect();
        PhasorTables { tables }
    }

    /// The phasor of chip mean `mean` read through curve `TONES[tone]`.
    #[inline]
    pub fn phasor(&self, tone: usize, mean: f32) -> (f32, f32) {
        let i = ((mean * PER_LUMA) as usize).min(ENTRIES - 1);
        self.tables[tone][i]
    }
}

impl Default for PhasorTables {
    fn default() -> Self {
        Self::new()
    }
}

/// The tables, built once per process (they depend on no key).
pub fn phasor_tables() -> &'static PhasorTables {
    static TABLES: std::sync::OnceLock<PhasorTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(PhasorTables::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_curve_undoes_its_change() {
        for tone in TONES {
            for m in [20.0f32, 100.0, 200.0] {
                let changed = match tone {
                    Tone::Identity => m,
                    Tone::Gain(a) => m * a,
                    Tone::Gamma(g) => 255.0 * (m / 255.0).powf(g),
                };
                assert!((tone.undo(changed) - m).abs() < 1e-3, "{tone:?} {m}");
            }
        }
    }

    #[test]
    fn tables_match_the_exact_phasor() {
        let t = PhasorTables::new();
        for (k, tone) in TONES.iter().enumerate() {
            for m in [3.3f32, 77.7, 250.1] {
                let (a, b) = (t.phasor(k, m), phasor(tone.undo(m)));
                // Within 1/32 luma of the mean: under 1.5 degrees.
                assert!(
                    (a.0 - b.0).abs() < 0.03 && (a.1 - b.1).abs() < 0.03,
                    "{tone:?} {m}"
                );
            }
        }
    }
}

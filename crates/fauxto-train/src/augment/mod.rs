//! Augmentation of everything the discriminator sees (Karras et al. 2020, "Training
//! Generative Adversarial Networks with Limited Data"): the `bgc` pipeline ([`params`],
//! [`pipeline`]) and the adaptive control of its probability p (§3).

/// Steps between adjustments of p (official `ada_interval`).
pub const ADA_INTERVAL: u64 = 4;
/// p can move from 0 to 1 within this many thousand images (official `ada_kimg`).
pub const ADA_KIMG: f64 = 500.0;

/// One ADA adjustment: p moves by `batch · interval / (ada_kimg · 1000)` toward more
/// augmentation when D is overconfident on reals (mean sign of D(real) above `target`),
/// toward less otherwise, and never below 0.
pub fn adjust_p(p: f64, mean_real_sign: f64, target: f64, batch: usize) -> f64 {
    let step = (batch as f64 * ADA_INTERVAL as f64) / (ADA_KIMG * 1000.0);
    let diff = mean_real_sign - target;
    let sign = if diff > 0.0 {
        1.0
    } else if diff < 0.0 {
        -1.0
    } else {
        0.0
    };
    (p + sign * step).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_follows_the_overfitting_heuristic() {
        // Batch 32, every 4 steps: 128 images per adjustment, 500k images from 0 to 1.
        let step = 128.0 / 500_000.0;
        assert_eq!(adjust_p(0.0, 0.9, 0.6, 32), step);
        assert_eq!(adjust_p(0.5, 0.1, 0.6, 32), 0.5 - step);
        assert_eq!(adjust_p(0.0, 0.1, 0.6, 32), 0.0, "never below zero");
        assert_eq!(adjust_p(0.3, 0.6, 0.6, 32), 0.3);
        assert!(AugmentMode::Fixed { p: 1.5 }.supported().is_err());
        assert_eq!(AugmentMode::Fixed { p: 0.25 }.initial_p(), 0.25);
        assert_eq!(
            AugmentMode::parse("ada", 0.0),
            Ok(AugmentMode::Ada { target: 0.6 })
        );
    }
}

pub mod params;
pub mod pipeline;

pub use params::{draw_params, AugmentParams};
pub use pipeline::augment;

use serde::{Deserialize, Serialize};

/// How images are augmented before D.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum AugmentMode {
    /// No augmentation.
    #[default]
    Noaug,
    /// Adaptive: p follows the sign of D's output on reals toward `target`.
    Ada { target: f64 },
    /// A fixed probability.
    Fixed { p: f64 },
}

impl AugmentMode {
    /// Parses `noaug`, `ada` (target 0.6) or `fixed` (with `p`).
    pub fn parse(name: &str, p: f64) -> Result<Self, String> {
        match name {
            "noaug" => Ok(AugmentMode::Noaug),
            "ada" => Ok(AugmentMode::Ada { target: 0.6 }),
            "fixed" => Ok(AugmentMode::Fixed { p }),
            other => Err(format!(
                "augmentation `{other}` is not one of noaug, ada, fixed"
            )),
        }
    }

    /// Checks the settings.
    pub fn supported(self) -> Result<(), String> {
        match self {
            AugmentMode::Fixed { p } if !(0.0..=1.0).contains(&p) => {
                Err(format!("augmentation probability {p} is not in [0, 1]"))
            }
            AugmentMode::Ada { target } if !(-1.0..=1.0).contains(&target) => {
                Err(format!("ADA target {target} is not in [-1, 1]"))
            }
            _ => Ok(()),
        }
    }

    /// The probability a run starts with.
    pub fn initial_p(self) -> f64 {
        match self {
            AugmentMode::Fixed { p } => p,
            _ => 0.0,
        }
    }
}

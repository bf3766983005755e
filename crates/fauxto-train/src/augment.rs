//! Augmentation of everything the discriminator sees (Karras et al. 2020, "Training
//! Generative Adversarial Networks with Limited Data").

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

    /// Whether this build can run the mode.
    pub fn supported(self) -> Result<(), String> {
        match self {
            AugmentMode::Noaug => Ok(()),
            _ => Err("the ADA augmentation pipeline is not available yet: use --aug noaug".into()),
        }
    }
}

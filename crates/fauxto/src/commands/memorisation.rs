//! The command-line options of the memorisation guard (`fauxto_app::guard`).

use std::path::PathBuf;

use clap::Args;
use fauxto_app::guard::{GuardOptions, DEFAULT_THRESHOLD};

#[derive(Debug, Clone, Args)]
pub struct GuardArgs {
    /// Memorisation guard: check every output against this face index (a dataset
    /// directory indexed with `fauxto index`). By default the index of the model's
    /// training data is used when one has been built; a registered index that cannot be
    /// used stops the command (fix it, or pass --no-guard).
    #[arg(long, value_name = "DATA")]
    pub guard: Option<PathBuf>,
    /// Do not check outputs against the training faces.
    #[arg(long, conflicts_with = "guard")]
    pub no_guard: bool,
    /// Descriptor distance below which an output shows the same person as a training
    /// face. Calibrated for searching a whole training set (face-api's one-to-one
    /// convention, 0.6, finds a match for almost every face among thousands).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub guard_threshold: f32,
}

impl GuardArgs {
    pub fn options(&self) -> GuardOptions {
        GuardOptions {
            enabled: !self.no_guard,
            index: self.guard.clone(),
            threshold: self.guard_threshold,
        }
    }
}

//! The memorisation guard as `generate` applies it: every output's identity descriptor
//! against the training set's face index; outputs showing a training identity are not
//! written, and are reported.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer, GuardCheck, IdentityGuard, DEFAULT_THRESHOLD};
use fauxto_nn::model_file::ModelFile;
use image::DynamicImage;

use super::faces::{analyzer, open_index, training_index};

#[derive(Debug, Clone, Args)]
pub struct GuardArgs {
    /// Memorisation guard: check every output against this face index (a dataset
    /// directory indexed with `fauxto index`). By default the index of the model's
    /// training data is used when one has been built.
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

/// A loaded guard.
pub struct ActiveGuard<B: Backend> {
    analyzer: FaceAnalyzer<B>,
    guard: IdentityGuard,
    pub index: PathBuf,
}

impl<B: Backend> ActiveGuard<B> {
    /// The guard `args` ask for, if any: `--guard DATA`, else the registered index of
    /// the model's training data.
    pub fn resolve(
        device: &B::Device,
        args: &GuardArgs,
        model: &ModelFile,
    ) -> Result<Option<Self>> {
        if args.no_guard {
            return Ok(None);
        }
        let (dir, index) = match &args.guard {
            Some(dir) => (dir.clone(), open_index(dir)?),
            None => match training_index(model) {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let guard = IdentityGuard::from_index(&index, args.guard_threshold);
        if guard.is_empty() {
            anyhow::bail!("the face index in {} holds no faces", dir.display());
        }
        Ok(Some(Self {
            analyzer: analyzer::<B>(device).context("memorisation guard")?,
            guard,
            index: dir,
        }))
    }

    /// Training faces searched.
    pub fn faces(&self) -> usize {
        self.guard.len()
    }

    pub fn check(&self, images: &[DynamicImage]) -> Vec<GuardCheck> {
        let frames: Vec<_> = images.iter().map(super::faces::frame_of).collect();
        self.guard
            .check(&self.analyzer, &frames, &AnalyzeOptions::default())
    }
}

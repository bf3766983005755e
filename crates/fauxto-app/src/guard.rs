//! The memorisation guard as generation applies it: every output's identity descriptor
//! against the training set's face index; outputs showing a training identity are not
//! written. It fails closed: a guard that was asked for, or whose index is registered, and
//! cannot be loaded is an error.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer, Frame, GuardCheck, IdentityGuard};
use fauxto_nn::model_file::ModelFile;
use image::DynamicImage;

use crate::registry::{open_index, training_index};

pub use fauxto_face::DEFAULT_THRESHOLD;

/// Which guard to apply.
#[derive(Clone, Debug)]
pub struct GuardOptions {
    /// Check outputs at all.
    pub enabled: bool,
    /// The face index to check against (a dataset directory indexed with `fauxto index`);
    /// default: the registered index of the model's training data, if one is registered.
    pub index: Option<PathBuf>,
    /// Descriptor distance below which an output shows a training identity.
    pub threshold: f32,
}

impl Default for GuardOptions {
    fn default() -> Self {
        GuardOptions {
            enabled: true,
            index: None,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// A loaded guard.
pub struct Guard<B: Backend> {
    analyzer: FaceAnalyzer<B>,
    guard: IdentityGuard,
    /// The dataset directory whose index it searches.
    pub index: PathBuf,
}

impl<B: Backend> Guard<B> {
    /// The guard `options` ask for for `model`'s outputs: `None` only when it is turned off
    /// or no index is given and none is registered for the model's training data.
    pub fn resolve(
        device: &B::Device,
        options: &GuardOptions,
        model: &ModelFile,
    ) -> Result<Option<Self>> {
        if !options.enabled {
            return Ok(None);
        }
        let (dir, index) = match &options.index {
            Some(dir) => (dir.clone(), open_index(dir)?),
            None => match training_index(model)? {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let guard = IdentityGuard::from_index(&index, options.threshold);
        if guard.is_empty() {
            bail!(
                "the face index in {} holds no faces; rebuild it with `fauxto index {}`",
                dir.display(),
                dir.display()
            );
        }
        Ok(Some(Self {
            analyzer: FaceAnalyzer::embedded(device)
                .context("memorisation guard: face networks")?,
            guard,
            index: dir,
        }))
    }

    /// Training faces searched.
    pub fn faces(&self) -> usize {
        self.guard.len()
    }

    /// The verdict on each image.
    pub fn check(&self, images: &[DynamicImage]) -> Vec<GuardCheck> {
        let frames: Vec<Frame> = images.iter().map(frame_of).collect();
        self.guard
            .check(&self.analyzer, &frames, &AnalyzeOptions::default())
    }
}

/// An image of any colour type and depth as an 8-bit RGB frame (alpha dropped, grey
/// replicated).
pub fn frame_of(img: &DynamicImage) -> Frame {
    let rgb = img.to_rgb8();
    Frame::from_rgb8(rgb.width() as usize, rgb.height() as usize, rgb.as_raw())
        .expect("RGB buffer of width × height × 3")
}

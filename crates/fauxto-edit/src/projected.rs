//! A projected photo's latent on disk: one float32 tensor `ws` (`[num_ws, w_dim]` for W+,
//! `[w_dim]` for W) and, as JSON in the metadata key `fauxto.projection`, which model it
//! belongs to, which photo it depicts (by SHA-256) and how closely it matches.
//!
//! The file depicts a real person: whatever is made from it is labelled as a composite
//! with that photo, never as a face that does not exist.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use fauxto_app::labels::InputPhoto;
use fauxto_nn::model_file::{parse_safetensors, serialize_state, write_atomic};
use fauxto_nn::state::{HostTensor, StateDict};
use serde::{Deserialize, Serialize};

use crate::project::ProjectOptions;

const METADATA_KEY: &str = "fauxto.projection";
const TENSOR: &str = "ws";
/// Version of this layout.
pub const FORMAT_VERSION: u32 = 1;

/// How well the found latent's image matches the aligned photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// PSNR of the image against the aligned photo, dB (at most [`MAX_PSNR`]).
    pub psnr: f64,
    /// Descriptor distance between the photo's face and the image's (in the loss).
    pub descriptor_distance: Option<f64>,
    /// Mean landmark error over the inter-ocular distance (the landmarks are in the loss).
    pub landmark_error: Option<f64>,
    /// Judged ages, photo and image (not in the loss).
    pub age: Option<(f64, f64)>,
    /// Judged P(female), photo and image (not in the loss).
    pub female: Option<(f64, f64)>,
}

/// PSNR recorded for an exact match (JSON has no infinity).
pub const MAX_PSNR: f64 = 99.0;

/// A photo's latent and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectedLatent {
    pub format: u32,
    pub model_sha256: String,
    /// File name of the photo (no directories).
    pub photo_name: String,
    pub photo_sha256: String,
    /// MIME type of the photo.
    pub photo_mime: String,
    /// W+ (one w per layer) or W.
    pub plus: bool,
    pub num_ws: usize,
    pub w_dim: usize,
    pub options: ProjectOptions,
    pub fidelity: Fidelity,
    #[serde(skip)]
    pub ws: Vec<f32>,
}

impl ProjectedLatent {
    /// Writes the latent to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let shape = if self.plus {
            vec![self.num_ws, self.w_dim]
        } else {
            vec![self.w_dim]
        };
        if self.ws.len() != shape.iter().product::<usize>() {
            bail!("a latent of {} values is not {:?}", self.ws.len(), shape);
        }
        let mut state = StateDict::default();
        state.tensors.insert(
            TENSOR.into(),
            HostTensor {
                shape,
                data: self.ws.clone(),
            },
        );
        let metadata = HashMap::from([(METADATA_KEY.to_string(), serde_json::to_string(self)?)]);
        write_atomic(path, &serialize_state(&state, metadata)?)?;
        Ok(())
    }

    /// Reads a latent written by [`save`](Self::save) and checks that it belongs to the
    /// model file with SHA-256 `model_sha256`.
    pub fn load_for(path: &Path, model_sha256: &str) -> Result<Self> {
        let latent = Self::load(path)?;
        if latent.model_sha256 != model_sha256 {
            bail!(
                "{} was projected with another model (SHA-256 {}…); project the photo again \
                 with this one",
                path.display(),
                &latent.model_sha256[..latent.model_sha256.len().min(12)]
            );
        }
        Ok(latent)
    }

    /// The photo as a credential names it: by hash, not by file name.
    pub fn input_photo(&self) -> InputPhoto {
        InputPhoto {
            sha256: self.photo_sha256.clone(),
            mime: self.photo_mime.clone(),
        }
    }

    /// Reads a latent written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (state, metadata) =
            parse_safetensors(&bytes).with_context(|| format!("{}", path.display()))?;
        let json = metadata.get(METADATA_KEY).with_context(|| {
            format!(
                "{}: no `{METADATA_KEY}` metadata: not a latent made by `fauxto project`",
                path.display()
            )
        })?;
        let mut out: ProjectedLatent = serde_json::from_str(json)
            .with_context(|| format!("{}: bad projection metadata", path.display()))?;
        if out.format != FORMAT_VERSION {
            bail!(
                "{}: format {} (this fauxto reads {FORMAT_VERSION})",
                path.display(),
                out.format
            );
        }
        let ws = state
            .get(TENSOR)
            .with_context(|| format!("{}: no tensor `{TENSOR}`", path.display()))?;
        let want = if out.plus {
            out.num_ws * out.w_dim
        } else {
            out.w_dim
        };
        if ws.data.len() != want {
            bail!(
                "{}: `{TENSOR}` has {} values, expected {want}",
                path.display(),
                ws.data.len()
            );
        }
        out.ws = ws.data.clone();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latent(plus: bool) -> ProjectedLatent {
        let (num_ws, w_dim) = (3, 4);
        ProjectedLatent {
            format: FORMAT_VERSION,
            model_sha256: "ab".repeat(32),
            photo_name: "me.jpg".into(),
            photo_sha256: "cd".repeat(32),
            photo_mime: "image/jpeg".into(),
            plus,
            num_ws,
            w_dim,
            options: ProjectOptions::default(),
            fidelity: Fidelity {
                psnr: 23.5,
                descriptor_distance: Some(0.4),
                landmark_error: Some(0.05),
                age: Some((31.0, 29.5)),
                female: Some((0.9, 0.8)),
            },
            ws: (0..if plus { num_ws * w_dim } else { w_dim })
                .map(|i| i as f32 * 0.5)
                .collect(),
        }
    }

    #[test]
    fn latents_round_trip_and_bad_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("fauxto-projected-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for plus in [true, false] {
            let path = dir.join(format!("l{plus}.safetensors"));
            let l = latent(plus);
            l.save(&path).unwrap();
            assert_eq!(ProjectedLatent::load(&path).unwrap(), l);
        }
        let mut wrong = latent(true);
        wrong.ws.pop();
        assert!(wrong.save(&dir.join("wrong.safetensors")).is_err());
        std::fs::write(dir.join("junk.safetensors"), b"not a latent").unwrap();
        assert!(ProjectedLatent::load(&dir.join("junk.safetensors")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

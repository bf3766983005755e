//! Checkpoints: everything a run needs to continue exactly, in one safetensors file
//! written atomically (temporary file + rename), so a crash at any moment leaves the
//! previous checkpoint intact.
//!
//! Tensors: `G.*`, `D.*`, `G_ema.*` (official names), `G_opt.m.*`, `G_opt.v.*`,
//! `D_opt.m.*`, `D_opt.v.*` (Adam moments by parameter name). Metadata: `format`
//! (`fauxto-checkpoint`), `format_version`, `options` (the [`TrainOptions`]), `state`
//! (the [`TrainState`]: step, image counter, path-length mean, ADA p, optimiser steps),
//! `training_data` and `dataset_manifest_digest`. Random draws are derived from the
//! seed and the step counter (see [`crate::rng`]), so no generator state is stored.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use fauxto_data::PackedDataset;
use fauxto_nn::model_file::{parse_safetensors, serialize_state, write_atomic};
use fauxto_nn::state::build_strict;
use fauxto_nn::{Discriminator, Generator, StateDict};
use safetensors::tensor::Metadata;

use crate::adam::Adam;
use crate::data::RealImages;
use crate::error::TrainError;
use crate::options::TrainOptions;
use crate::params::build_named;
use crate::trainer::{network_configs, optimisers, TrainState, Trainer};

pub const FORMAT: &str = "fauxto-checkpoint";
pub const FORMAT_VERSION: u32 = 1;
/// File name of the checkpoint inside a run directory.
pub const FILE_NAME: &str = "checkpoint.safetensors";

fn prefixed(sd: StateDict, prefix: &str, into: &mut StateDict) {
    for (k, v) in sd.tensors {
        into.tensors.insert(format!("{prefix}.{k}"), v);
    }
}

impl<AB: AutodiffBackend> Trainer<AB> {
    /// The checkpoint's bytes.
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>, TrainError> {
        let mut sd = StateDict::default();
        prefixed(self.g.state_dict(), "G", &mut sd);
        prefixed(self.d.state_dict(), "D", &mut sd);
        prefixed(self.g_ema.state_dict(), "G_ema", &mut sd);
        self.g_opt.save("G_opt", &mut sd);
        self.d_opt.save("D_opt", &mut sd);
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("options".to_string(), to_json(&self.opts)),
            ("state".to_string(), to_json(&self.state)),
            ("training_data".to_string(), to_json(&self.training_data)),
            (
                "dataset_manifest_digest".to_string(),
                self.manifest_digest.clone(),
            ),
        ]);
        Ok(serialize_state(&sd, metadata)?)
    }

    /// Writes the checkpoint to `path` atomically.
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), TrainError> {
        let bytes = self.checkpoint_bytes()?;
        Ok(write_atomic(path, &bytes)?)
    }

    /// Continues the run saved at `path` on `dataset`, which must be the dataset it was
    /// trained on (same manifest).
    pub fn resume(
        path: &Path,
        dataset: Arc<PackedDataset>,
        device: &AB::Device,
    ) -> Result<Self, TrainError> {
        let fail = |message: String| TrainError::Checkpoint {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let (sd, meta) = parse_safetensors(&bytes).map_err(|e| fail(e.to_string()))?;
        let opts = options_in(&meta).map_err(fail)?;
        let field = |key: &str| {
            meta.get(key)
                .ok_or_else(|| fail(format!("metadata `{key}` is missing")))
        };
        let state: TrainState =
            serde_json::from_str(field("state")?).map_err(|e| fail(format!("state: {e}")))?;
        // The same images (Merkle root) at the same resolution; the manifest file itself
        // may have been rebuilt (it records its creation time).
        let recorded: fauxto_nn::model_file::TrainingData =
            serde_json::from_str(field("training_data")?)
                .map_err(|e| fail(format!("training_data: {e}")))?;
        let manifest = dataset.manifest();
        if recorded.manifest_root != manifest.merkle_root {
            return Err(fail(format!(
                "it was trained on another dataset (Merkle root {}, this one {}); resume with the run's own dataset",
                recorded.manifest_root, manifest.merkle_root
            )));
        }
        let real = RealImages::new(dataset.clone(), opts.mirror, opts.seed, &opts.cond)?;
        let (g_cfg, d_cfg) =
            network_configs(&opts, real.resolution(), real.channels(), real.c_dim())?;
        let (g, g_names) = build_strict(&sd.sub("G"), device, |src| {
            build_named(src, |s| Generator::new(s, "", &g_cfg))
        })?;
        let (d, d_names) = build_strict(&sd.sub("D"), device, |src| {
            build_named(src, |s| Discriminator::new(s, "", &d_cfg))
        })?;
        let g_ema = Generator::from_state_dict(&sd.sub("G_ema"), &g_cfg, device)?;
        let (g_adam, d_adam) = optimisers(&opts);
        let g_opt = Adam::load(
            g_adam,
            state.g_opt_steps,
            "G_opt",
            &sd,
            &sd.sub("G"),
            device,
        )
        .map_err(fail)?;
        let d_opt = Adam::load(
            d_adam,
            state.d_opt_steps,
            "D_opt",
            &sd,
            &sd.sub("D"),
            device,
        )
        .map_err(fail)?;
        if state.step > 0 && (g_opt.len() != g_names.len() || d_opt.len() != d_names.len()) {
            return Err(fail(
                "optimiser state does not cover every parameter".into(),
            ));
        }
        Ok(Trainer::from_parts(
            opts,
            state,
            real,
            (g, g_names, d, d_names),
            g_ema,
            (g_opt, d_opt),
            device,
        ))
    }
}

/// The options stored in a checkpoint's metadata, checked like new ones: a hand-edited or
/// damaged checkpoint is an error, not a panic later in the loop.
fn options_in(meta: &HashMap<String, String>) -> Result<TrainOptions, String> {
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err("not a fauxto training checkpoint".into());
    }
    let version: u32 = meta
        .get("format_version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version == 0 || version > FORMAT_VERSION {
        return Err(format!(
            "checkpoint format version {version} is not supported"
        ));
    }
    let options = meta.get("options").ok_or("metadata `options` is missing")?;
    let opts: TrainOptions = serde_json::from_str(options).map_err(|e| format!("options: {e}"))?;
    opts.validate()
        .map_err(|e| format!("its options are invalid: {e}"))?;
    Ok(opts)
}

/// The options of the checkpoint at `path`, read from its header alone (its tensors stay
/// on disk): what a run resumed from it will train with.
pub fn stored_options(path: &Path) -> Result<TrainOptions, TrainError> {
    let fail = |message: String| TrainError::Checkpoint {
        path: path.display().to_string(),
        message,
    };
    let io = |source| TrainError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io)?;
    // safetensors: an 8-byte little-endian header length, then the JSON header.
    let len = u64::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(fail(format!(
            "a header of {len} bytes is not a checkpoint's"
        )));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).map_err(io)?;
    let header: Metadata =
        serde_json::from_slice(&header).map_err(|e| fail(format!("its header: {e}")))?;
    options_in(header.metadata().as_ref().unwrap_or(&HashMap::new())).map_err(fail)
}

/// The largest header `stored_options` reads: a checkpoint's names and metadata take a
/// few hundred kilobytes.
const MAX_HEADER: u64 = 64 << 20;

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("training metadata serialises")
}

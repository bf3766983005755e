//! One module per `fauxto` subcommand.

pub mod analyze;
pub mod anonymize;
pub mod args;
pub mod bench;
pub mod card;
pub mod credentials;
pub mod dataset;
pub mod detector;
pub mod directions;
pub mod edit;
pub mod export_onnx;
pub mod face_bench;
pub mod faces;
pub mod generate;
pub mod guard;
pub mod import;
pub mod index;
pub mod info;
pub mod init_model;
pub mod interpolate;
pub mod library;
pub mod memorisation;
pub mod metrics;
pub mod mix;
pub mod project;
pub mod report;
pub mod studio;
pub mod train;
pub mod train_parallel;
pub mod watermark;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fauxto_nn::model_file::ModelFile;

/// Where the bundled demo model lives in a source checkout.
pub const DEMO_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/fauxto-demo-utkface64.safetensors"
);

/// The model to use: the one given, else `$FAUXTO_MODEL`, else the bundled demo model.
pub fn resolve_model(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("FAUXTO_MODEL") {
        return Ok(PathBuf::from(path));
    }
    let demo = PathBuf::from(DEMO_MODEL);
    if demo.exists() {
        Ok(demo)
    } else {
        anyhow::bail!(
            "no --model given and the bundled demo model is not at {}; pass --model M.safetensors",
            demo.display()
        )
    }
}

/// Loads a model file with an error that names it.
pub fn load_model(path: &Path) -> Result<ModelFile> {
    ModelFile::load(path).with_context(|| format!("cannot load model {}", path.display()))
}

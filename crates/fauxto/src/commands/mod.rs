//! One module per `fauxto` subcommand.

pub mod args;
pub mod bench;
pub mod dataset;
pub mod generate;
pub mod info;
pub mod init_model;
pub mod interpolate;
pub mod mix;
pub mod train;

use std::path::Path;

use anyhow::{Context, Result};
use fauxto_nn::model_file::ModelFile;

/// Loads a model file with an error that names it.
pub fn load_model(path: &Path) -> Result<ModelFile> {
    ModelFile::load(path).with_context(|| format!("cannot load model {}", path.display()))
}

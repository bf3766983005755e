//! `fauxto info`: what a model file holds.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::load_model;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Model file (.safetensors).
    pub model: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &InfoArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    if args.json {
        let value = serde_json::json!({
            "path": args.model,
            "sha256": model.sha256,
            "generator_parameters": model.generator_size(),
            "num_ws": model.info.generator.num_ws(),
            "model": model.info,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", model.card());
    }
    Ok(())
}

//! `fauxto import`: an official StyleGAN2-ADA network pickle or a PyTorch generator state
//! dict → a fauxto model file, without executing anything from the file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use fauxto_interop::{import, GeneratorChoice, ImportOptions, Unstated};
use fauxto_nn::model_file::{hex, now_rfc3339, ModelFile, ModelInfo, Provenance};
use fauxto_nn::{Discriminator, Generator};
use sha2::{Digest, Sha256};

use crate::backend::Cpu;
use crate::images::ensure_parent;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NetworkArg {
    /// The moving average of the generator (what the official tools generate with).
    #[value(name = "G_ema")]
    GEma,
    /// The raw training generator.
    #[value(name = "G")]
    G,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An official network pickle (network-snapshot-*.pkl, ffhq.pkl, …) or a zip-format
    /// PyTorch state dict of a generator (.pt/.pth, official parameter names). Nothing in
    /// the file is executed: code it refers to is refused by name.
    pub input: PathBuf,
    /// Output model file (.safetensors); a model card (.md) is written beside it.
    #[arg(long)]
    pub out: PathBuf,
    /// Which generator of a pickle becomes the model's generator.
    #[arg(long, value_enum, default_value = "G_ema")]
    pub network: NetworkArg,
    /// Leave the discriminator out (it is kept by default, for fine-tuning and checks).
    #[arg(long)]
    pub no_discriminator: bool,
    /// Model name for the model card (default: from the input file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Licence of the weights, as their authors give it (the official NVIDIA models:
    /// "NVIDIA Source Code License-NC").
    #[arg(long, default_value = "unknown: see the original model's licence")]
    pub license: String,
    /// State dicts only (pickles record it): the conv clamp the model was trained with
    /// (official configs: 256; it changes outputs only where activations exceed it).
    #[arg(long)]
    pub conv_clamp: Option<f64>,
    /// State dicts only: the mapping network's learning-rate multiplier (official: 0.01).
    #[arg(long, default_value_t = 0.01)]
    pub mapping_lr_multiplier: f64,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    let bytes = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let options = ImportOptions {
        generator: match args.network {
            NetworkArg::GEma => GeneratorChoice::GEma,
            NetworkArg::G => GeneratorChoice::G,
        },
        discriminator: !args.no_discriminator,
        unstated: Unstated {
            conv_clamp: args.conv_clamp,
            lr_multiplier: args.mapping_lr_multiplier,
        },
    };
    let imported = import(&bytes, &options)
        .with_context(|| format!("cannot import {}", args.input.display()))?;

    // Building the networks checks every tensor's name and shape against the configuration.
    let device = Default::default();
    Generator::<Cpu>::from_state_dict(&imported.state.sub("G_ema"), &imported.generator, &device)
        .context("the generator's tensors do not fit its configuration")?;
    if let Some(d_cfg) = &imported.discriminator {
        Discriminator::<Cpu>::from_state_dict(&imported.state.sub("D"), d_cfg, &device)
            .context("the discriminator's tensors do not fit its configuration")?;
    }

    let file_name = args
        .input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut source = format!("{file_name} ({}, SHA-256 {sha256})", imported.format);
    if let Some(path) = imported
        .training_set
        .as_ref()
        .and_then(|t| t.get("path"))
        .and_then(|p| p.as_str())
    {
        source.push_str(&format!("; trained on `{path}` according to the file"));
    }
    let name = args.name.clone().unwrap_or_else(|| {
        args.input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "imported".into())
    });
    let g = &imported.generator;
    let summary = format!(
        "{}x{}, {} channel(s), z {}, w {}, {} classes",
        g.img_resolution, g.img_resolution, g.img_channels, g.z_dim, g.w_dim, g.c_dim
    );
    let info = ModelInfo {
        name,
        preset: None,
        license: args.license.clone(),
        generator: imported.generator.clone(),
        discriminator: imported.discriminator.clone(),
        training_data: None,
        provenance: Provenance {
            software: format!("fauxto {}", env!("CARGO_PKG_VERSION")),
            created: now_rfc3339(),
            origin: "imported".into(),
            init_seed: None,
            kimg: None,
            source: Some(source),
        },
    };
    let mut model = ModelFile {
        info,
        state: imported.state,
        sha256: String::new(),
    };
    ensure_parent(&args.out)?;
    model
        .save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "imported {} ({}): {summary}; {} generator parameters{}",
        args.input.display(),
        imported.format,
        model.generator_size(),
        if model.info.discriminator.is_some() {
            ", with discriminator"
        } else {
            ""
        }
    );
    if !imported.converted.is_empty() {
        println!(
            "{} tensors were stored in reduced precision and widened to float32 (e.g. {} as {:?})",
            imported.converted.len(),
            imported.converted[0].0,
            imported.converted[0].1
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

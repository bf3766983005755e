//! `fauxto init-model`: a randomly initialised generator and discriminator, with the
//! official initialisation, for tests, benchmarks and as the start of training.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_nn::config::override_widths;
use fauxto_nn::model_file::{now_rfc3339, ModelFile, ModelInfo, Provenance};
use fauxto_nn::{Discriminator, Generator, Preset, RandomInit};

use crate::images::ensure_parent;

#[derive(Debug, Args)]
pub struct InitModelArgs {
    /// Network preset: stylegan2 (config F), paper256, paper512, paper1024, cifar, auto,
    /// small (narrow, for CPU work).
    #[arg(long, default_value = "small")]
    pub preset: String,
    /// Output resolution: a power of two from 4 to 1024.
    #[arg(long, default_value_t = 64)]
    pub res: usize,
    /// Image channels (3 for RGB, 1 for greyscale).
    #[arg(long, default_value_t = 3)]
    pub channels: usize,
    /// Number of conditioning classes (0 for an unconditional model).
    #[arg(long, default_value_t = 0)]
    pub c_dim: usize,
    /// Override the preset's channel base (channels at resolution r: min(base / r, max)).
    #[arg(long)]
    pub channel_base: Option<usize>,
    /// Override the preset's most channels per layer.
    #[arg(long)]
    pub channel_max: Option<usize>,
    /// Override the preset's number of mapping layers.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub map_layers: Option<u32>,
    /// Seed of the random initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Model name for the model card (default: from the output file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Licence of the model weights.
    #[arg(long, default_value = "CC0-1.0")]
    pub license: String,
    /// Output model file (.safetensors); a model card (.md) is written beside it.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: &InitModelArgs) -> Result<()> {
    // Initialisation draws on the host; any backend works, the CPU one is cheapest.
    run_on::<crate::backend::Cpu>(&Default::default(), args)
}

fn run_on<B: Backend>(device: &B::Device, args: &InitModelArgs) -> Result<()> {
    let preset = Preset::from_name(&args.preset)?;
    let (mut g_cfg, mut d_cfg) = preset.configs(args.res, args.channels, args.c_dim)?;
    override_widths(&mut g_cfg, &mut d_cfg, args.channel_base, args.channel_max);
    if let Some(layers) = args.map_layers {
        g_cfg.mapping.num_layers = layers as usize;
    }
    g_cfg.validate()?;
    d_cfg.validate()?;
    let custom =
        args.channel_base.is_some() || args.channel_max.is_some() || args.map_layers.is_some();
    let mut init = RandomInit::<B>::new(args.seed, device);
    let g = Generator::new(&mut init, "", &g_cfg)?;
    let d = Discriminator::new(&mut init, "", &d_cfg)?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "fauxto-model".into())
    });
    let info = ModelInfo {
        name,
        preset: Some(if custom {
            format!("{} (customised)", preset.name())
        } else {
            preset.name().into()
        }),
        license: args.license.clone(),
        generator: g_cfg,
        discriminator: Some(d_cfg),
        training_data: None,
        provenance: Provenance {
            software: format!("fauxto {}", env!("CARGO_PKG_VERSION")),
            created: now_rfc3339(),
            origin: "random-init".into(),
            init_seed: Some(args.seed),
            kimg: None,
            source: None,
        },
    };
    let mut model = ModelFile::from_networks(info, &g, Some(&d));
    ensure_parent(&args.out)?;
    model
        .save(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({} generator parameters, {}x{}, preset {})",
        args.out.display(),
        model.generator_size(),
        args.res,
        args.res,
        preset.name()
    );
    Ok(())
}

//! `fauxto bench`: generation throughput of a randomly initialised network (or of a model
//! file's generator), printed as one
//! JSON line in the same shape as the PyTorch peer (`tools/bench_generate_torch.py`), so
//! `bench/generate.sh` can run both side by side and report the ratio.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::sample::latents;
use fauxto_nn::{Generator, GeneratorConfig, NoiseMode, Preset, RandomInit, Truncation};

use crate::backend::DeviceKind;
use crate::on_device;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Network preset (widths as in `init-model`).
    #[arg(long, default_value = "stylegan2")]
    pub preset: String,
    /// Time this model file's generator instead of a preset's (its own resolution; e.g. the
    /// bundled demo model, for the studio's load test).
    #[arg(long, conflicts_with_all = ["preset", "res"])]
    pub model: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 64)]
    pub res: usize,
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub batch: u32,
    /// Timed batches.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub iters: u32,
    /// Untimed batches first.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

/// 2 × multiply-adds per image of the dense layers, style affines and convolutions (the
/// upsampling convolution counted at its input resolution), as the PyTorch peer counts.
pub fn gflop_per_image(cfg: &GeneratorConfig) -> f64 {
    let mut macs = 0f64;
    let m = &cfg.mapping;
    let hidden = m.layer_features.unwrap_or(cfg.w_dim);
    let mut fin = cfg.z_dim
        + if cfg.c_dim > 0 {
            m.embed_features.unwrap_or(cfg.w_dim)
        } else {
            0
        };
    for l in 0..m.num_layers {
        let fout = if l + 1 == m.num_layers {
            cfg.w_dim
        } else {
            hidden
        };
        macs += (fin * fout) as f64;
        fin = fout;
    }
    for res in cfg.block_resolutions() {
        let out = cfg.channels(res) as f64;
        let (w, rgb) = (cfg.w_dim as f64, cfg.img_channels as f64);
        let r2 = (res * res) as f64;
        if res > 4 {
            let inp = cfg.channels(res / 2) as f64;
            macs += w * inp + inp * out * 9.0 * r2 / 4.0;
        }
        macs += w * out + out * out * 9.0 * r2;
        macs += w * out + out * rgb * r2;
    }
    2.0 * macs / 1e9
}

fn run_on<B: Backend>(device: &B::Device, args: &BenchArgs) -> Result<()> {
    let (name, g) = match &args.model {
        Some(path) => {
            let model = ModelFile::load(path)
                .with_context(|| format!("cannot load model {}", path.display()))?;
            (model.info.name.clone(), model.generator::<B>(device)?)
        }
        None => {
            let preset = Preset::from_name(&args.preset)?;
            let (cfg, _) = preset.configs(args.res, 3, 0)?;
            let g = Generator::<B>::new(&mut RandomInit::new(0, device), "", &cfg)?;
            (preset.name().to_string(), g)
        }
    };
    let cfg = g.config.clone();
    let seeds: Vec<u32> = (0..args.batch).collect();
    let step = || {
        let z = latents::<B>(&seeds, cfg.z_dim, device);
        let img = g.forward(z, None, Truncation::default(), NoiseMode::Const);
        // Reading the result back waits for the device to finish.
        let _ = img.slice([0..1, 0..1, 0..1, 0..1]).into_data();
    };
    for _ in 0..args.warmup {
        step();
    }
    let start = Instant::now();
    for _ in 0..args.iters {
        step();
    }
    let secs = start.elapsed().as_secs_f64();
    let images = (args.iters * args.batch) as f64;
    let gflop = gflop_per_image(&cfg);
    let line = serde_json::json!({
        "impl": "fauxto",
        "preset": name,
        "device": format!("{:?}", args.device).to_lowercase(),
        "res": cfg.img_resolution,
        "batch": args.batch,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "images_per_s": images / secs,
        "ms_per_batch": 1e3 * secs / args.iters as f64,
        "gflop_per_image": gflop,
        "gflop_per_s": gflop * images / secs,
    });
    println!("{line}");
    Ok(())
}

//! `fauxto train`: StyleGAN2-ADA training on a packed dataset, with a checkpoint every
//! tick, progress grids and model snapshots, a metrics log, and exact resumption.
//!
//! A run directory holds:
//! - `checkpoint.safetensors`: everything needed to continue (see `fauxto_train::checkpoint`);
//! - `model.safetensors` + `model.md`: the latest G_ema as a model file with its card;
//! - `samples/fakes{kimg:06}.png`: G_ema on fixed seeds; `samples/reals.png`: real images;
//! - `metrics.jsonl`: one JSON line per tick (losses, R1, path length, img/s).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use clap::Args;
use fauxto_data::PackedDataset;
use fauxto_nn::model_file::card_path;
use fauxto_nn::sample::PixelBatch;
use fauxto_train::checkpoint::FILE_NAME as CHECKPOINT;
use fauxto_train::data::RealImages;
use fauxto_train::{AugmentMode, StepStats, TrainOptions, Trainer};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::DeviceKind;
use crate::images::{ensure_dir, grid, save_image, to_image};
use crate::on_device;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Packed dataset directory (made by `fauxto dataset`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run directory for checkpoints, samples, metrics and the model.
    #[arg(long, required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (exactly: same images,
    /// same random draws, same parameters as if it had never stopped).
    #[arg(long, conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// Network preset: small (CPU), auto, stylegan2, paper256, paper512, paper1024, cifar.
    #[arg(long, default_value = "small")]
    pub preset: String,
    /// Override the preset's channel base.
    #[arg(long)]
    pub channel_base: Option<usize>,
    /// Override the preset's most channels per layer.
    #[arg(long)]
    pub channel_max: Option<usize>,
    /// Train until D has seen this many thousand real images.
    #[arg(long, default_value_t = 25_000.0)]
    pub kimg: f64,
    /// Images per step (default: min(4096 / resolution, 32), as the official `auto`).
    #[arg(long)]
    pub batch: Option<usize>,
    /// R1 weight γ (default 0.0002 · resolution² / batch).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// G EMA half-life in kimg (default batch · 10 / 32).
    #[arg(long)]
    pub ema: Option<f64>,
    /// Learning rate of G and D.
    #[arg(long, default_value_t = 0.0025)]
    pub lr: f64,
    /// Path-length regularisation weight (0 turns it off).
    #[arg(long, default_value_t = 2.0)]
    pub pl_weight: f64,
    /// Style-mixing probability.
    #[arg(long, default_value_t = 0.9)]
    pub style_mixing: f64,
    /// Add horizontally mirrored copies of the images.
    #[arg(long)]
    pub mirror: bool,
    /// Augmentation of everything D sees, with the official `bgc` pipeline (flips,
    /// quarter turns, translation, scaling, rotation, colour): ada (probability adapted so
    /// that D's mean sign on reals stays near 0.6), fixed (probability --p) or noaug.
    #[arg(long, default_value = "ada")]
    pub aug: String,
    /// Augmentation probability for --aug fixed.
    #[arg(long, default_value_t = 0.0)]
    pub p: f64,
    /// Condition on these label columns of the dataset (comma separated, one-hot each).
    #[arg(long, value_delimiter = ',')]
    pub cond: Vec<String>,
    /// Seed of the initialisation and of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report, log and checkpoint every this many kimg.
    #[arg(long, default_value_t = 1.0)]
    pub tick: f64,
    /// Write a sample grid and a model snapshot every this many ticks.
    #[arg(long, default_value_t = 5)]
    pub snap: usize,
    /// Name of the exported model (default: the run directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Licence of the trained weights (default: the training data's licence).
    #[arg(long)]
    pub license: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Stop once the run has taken this many steps in all (it can be resumed later).
    #[arg(long)]
    pub max_steps: Option<u64>,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &TrainArgs) -> Result<()> {
    train::<Autodiff<B>>(device, args)
}

/// The dataset a resumed run was trained on, as recorded beside its checkpoint.
fn recorded_dataset(run: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(run.join("dataset.txt")).ok()?;
    Some(PathBuf::from(text.trim()))
}

fn options(args: &TrainArgs, resolution: usize) -> Result<TrainOptions> {
    let mut opts = match args.batch {
        Some(b) => TrainOptions::with_batch(resolution, b),
        None => TrainOptions::auto(resolution),
    };
    opts.preset = args.preset.clone();
    opts.channel_base = args.channel_base;
    opts.channel_max = args.channel_max;
    opts.kimg = args.kimg;
    if let Some(g) = args.gamma {
        opts.gamma = g;
    }
    if let Some(e) = args.ema {
        opts.ema_kimg = e;
    }
    opts.g_lr = args.lr;
    opts.d_lr = args.lr;
    opts.pl_weight = args.pl_weight;
    opts.style_mixing_prob = args.style_mixing;
    opts.mirror = args.mirror;
    opts.augment = AugmentMode::parse(&args.aug, args.p).map_err(anyhow::Error::msg)?;
    opts.cond = args.cond.clone();
    opts.seed = args.seed;
    opts.tick_kimg = args.tick;
    opts.snapshot_ticks = args.snap.max(1);
    opts.validate().map_err(anyhow::Error::msg)?;
    Ok(opts)
}

fn train<AB: AutodiffBackend>(device: &AB::Device, args: &TrainArgs) -> Result<()> {
    let (run, resuming) = match (&args.resume, &args.out) {
        (Some(r), _) => (r.clone(), true),
        (None, Some(o)) => (o.clone(), false),
        (None, None) => bail!("give --out RUN for a new run or --resume RUN"),
    };
    let data_dir = match (&args.data, resuming) {
        (Some(d), _) => d.clone(),
        (None, true) => recorded_dataset(&run)
            .with_context(|| format!("{} records no dataset; pass --data", run.display()))?,
        (None, false) => bail!("--data DATA is required (make one with `fauxto dataset`)"),
    };
    let dataset = Arc::new(
        PackedDataset::open(&data_dir)
            .with_context(|| format!("cannot open dataset {}", data_dir.display()))?,
    );
    let checkpoint = run.join(CHECKPOINT);
    let mut trainer = if resuming {
        if !checkpoint.exists() {
            bail!("{} has no checkpoint to resume from", run.display());
        }
        Trainer::<AB>::resume(&checkpoint, dataset.clone(), device)?
    } else {
        if checkpoint.exists() {
            bail!(
                "{} already holds a run; continue it with --resume {} or choose another --out",
                run.display(),
                run.display()
            );
        }
        let opts = options(args, dataset.resolution())?;
        Trainer::<AB>::new(opts, dataset.clone(), device)?
    };
    ensure_dir(&run.join("samples"))?;
    std::fs::write(
        run.join("dataset.txt"),
        format!("{}\n", std::fs::canonicalize(&data_dir)?.display()),
    )?;
    let name = args.name.clone().unwrap_or_else(|| {
        run.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "fauxto-model".into())
    });
    let license = args.license.clone().unwrap_or_else(|| {
        format!(
            "weights trained on data licensed as: {}",
            dataset.manifest().license
        )
    });
    let seeds: Vec<u32> = (0..32).collect();
    if !resuming {
        write_reals(&dataset, &trainer, &run)?;
        write_grid(
            &trainer.samples(&seeds),
            &run.join("samples/fakes000000.png"),
        )?;
        trainer.save_checkpoint(&checkpoint)?;
    }
    let opts = trainer.opts.clone();
    let bar = train_bar(&opts, trainer.state.cur_nimg);
    let mut tick = Tick::new(&trainer);
    let stop_at = args.max_steps.unwrap_or(u64::MAX);
    while !trainer.done() && trainer.state.step < stop_at {
        let stats = trainer.step()?;
        tick.add(&stats);
        bar.set_position(trainer.state.cur_nimg);
        bar.set_message(format!("G {:.3} D {:.3}", stats.loss_g, stats.loss_d));
        let tick_end = trainer.kimg() >= tick.start_kimg + opts.tick_kimg;
        if tick_end || trainer.done() || trainer.state.step >= stop_at {
            // Checkpoint first: a metrics line always has its checkpoint on disk.
            trainer.save_checkpoint(&checkpoint)?;
            let line = tick.finish(&trainer);
            append_line(&run.join("metrics.jsonl"), &line)?;
            if bar.is_hidden() {
                eprintln!("{line}");
            }
            let ticks_done = (trainer.kimg() / opts.tick_kimg).round() as usize;
            if ticks_done.is_multiple_of(opts.snapshot_ticks) || trainer.done() {
                let kimg = trainer.kimg().round() as u64;
                write_grid(
                    &trainer.samples(&seeds),
                    &run.join(format!("samples/fakes{kimg:06}.png")),
                )?;
                let model = run.join("model.safetensors");
                trainer.export(&name, &license).save(&model)?;
                bar.println(format!(
                    "kimg {:.1}: wrote {} and {}",
                    trainer.kimg(),
                    model.display(),
                    card_path(&model).display()
                ));
            }
            tick = Tick::new(&trainer);
        }
    }
    bar.finish_and_clear();
    let model = run.join("model.safetensors");
    trainer.export(&name, &license).save(&model)?;
    println!(
        "trained to {:.1} kimg (step {}); model: {}; resume with: fauxto train --resume {}",
        trainer.kimg(),
        trainer.state.step,
        model.display(),
        run.display()
    );
    Ok(())
}

fn train_bar(opts: &TrainOptions, position: u64) -> ProgressBar {
    let total = (opts.kimg * 1000.0) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "training [{bar:30}] {pos}/{len} img {per_sec} eta {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_position(position);
    bar.reset_eta();
    bar
}

/// Averages over one tick.
struct Tick {
    start: Instant,
    start_kimg: f64,
    steps: u64,
    loss_g: f64,
    loss_d: f64,
    real_sign: f64,
    r1: Vec<f64>,
    pl: Vec<f64>,
}

impl Tick {
    fn new<AB: AutodiffBackend>(t: &Trainer<AB>) -> Self {
        Self {
            start: Instant::now(),
            start_kimg: t.kimg(),
            steps: 0,
            loss_g: 0.0,
            loss_d: 0.0,
            real_sign: 0.0,
            r1: Vec::new(),
            pl: Vec::new(),
        }
    }

    fn add(&mut self, s: &StepStats) {
        self.steps += 1;
        self.loss_g += s.loss_g;
        self.loss_d += s.loss_d;
        self.real_sign += s.real_sign;
        self.r1.extend(s.r1_penalty);
        self.pl.extend(s.pl_penalty);
    }

    fn finish<AB: AutodiffBackend>(&self, t: &Trainer<AB>) -> serde_json::Value {
        let n = self.steps.max(1) as f64;
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let secs = self.start.elapsed().as_secs_f64();
        serde_json::json!({
            "kimg": t.kimg(),
            "step": t.state.step,
            "loss_g": self.loss_g / n,
            "loss_d": self.loss_d / n,
            "r1_penalty": mean(&self.r1),
            "pl_penalty": mean(&self.pl),
            "pl_mean": t.state.pl_mean,
            "real_sign": self.real_sign / n,
            "ada_p": t.state.ada_p,
            "img_per_s": (t.kimg() - self.start_kimg) * 1000.0 / secs.max(1e-9),
            "sec": secs,
        })
    }
}

fn append_line(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(f, "{value}")?;
    Ok(())
}

fn write_grid(batch: &PixelBatch, path: &Path) -> Result<()> {
    let images = (0..batch.count)
        .map(|i| to_image(batch, i))
        .collect::<Result<Vec<_>>>()?;
    save_image(&grid(&images, 8), path)
}

/// The first 32 real images in training order, as a grid for comparison.
fn write_reals<AB: AutodiffBackend>(
    dataset: &Arc<PackedDataset>,
    trainer: &Trainer<AB>,
    run: &Path,
) -> Result<()> {
    let opts = &trainer.opts;
    let mut real = RealImages::new(dataset.clone(), opts.mirror, opts.seed, &[])?;
    let count = real.len().min(32);
    let batch = real.batch(0, count)?;
    let (res, ch) = (real.resolution(), real.channels());
    let pixels = PixelBatch {
        count,
        height: res,
        width: res,
        channels: ch,
        pixels: (0..count)
            .flat_map(|i| {
                let img = &batch.images[i * ch * res * res..(i + 1) * ch * res * res];
                (0..res * res).flat_map(move |p| {
                    (0..ch).map(move |c| ((img[c * res * res + p] + 1.0) * 127.5).round() as u8)
                })
            })
            .collect(),
    };
    write_grid(&pixels, &run.join("samples/reals.png"))
}

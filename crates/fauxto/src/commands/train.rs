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
use fauxto_train::checkpoint::{stored_options, FILE_NAME as CHECKPOINT};
use fauxto_train::data::RealImages;
use fauxto_train::parallel::{Cluster, Peer};
use fauxto_train::{AugmentMode, StepStats, TrainOptions, Trainer};
use indicatif::{ProgressBar, ProgressStyle};

use super::train_parallel::{self, ParallelArgs};
use crate::backend::DeviceKind;
use crate::images::{ensure_dir, grid, to_image, write_bytes};
use crate::on_device;
use crate::provenance::ProvenanceArgs;
use fauxto_app::labels::{Depiction, Labeller};

#[derive(Debug, Args, Clone)]
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
    /// Network preset: small (CPU), auto, stylegan2, paper256, paper512, paper1024, cifar
    /// [default: small].
    #[arg(long)]
    pub preset: Option<String>,
    /// Override the preset's channel base.
    #[arg(long)]
    pub channel_base: Option<usize>,
    /// Override the preset's most channels per layer.
    #[arg(long)]
    pub channel_max: Option<usize>,
    /// Train until D has seen this many thousand real images [default: 25000]; with
    /// --resume, extends (or shortens) the run.
    #[arg(long)]
    pub kimg: Option<f64>,
    /// Images per step (default: min(4096 / resolution, 32), as the official `auto`).
    #[arg(long)]
    pub batch: Option<usize>,
    /// R1 weight γ (default 0.0002 · resolution² / batch).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// G EMA half-life in kimg (default batch · 10 / 32).
    #[arg(long)]
    pub ema: Option<f64>,
    /// Learning rate of G and D [default: 0.0025].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Path-length regularisation weight (0 turns it off) [default: 2].
    #[arg(long)]
    pub pl_weight: Option<f64>,
    /// Style-mixing probability [default: 0.9].
    #[arg(long)]
    pub style_mixing: Option<f64>,
    /// Add horizontally mirrored copies of the images.
    #[arg(long)]
    pub mirror: bool,
    /// Augmentation of everything D sees, with the official `bgc` pipeline (flips,
    /// quarter turns, translation, scaling, rotation, colour): ada (probability adapted so
    /// that D's mean sign on reals stays near 0.6), fixed (probability --p) or noaug
    /// [default: ada].
    #[arg(long)]
    pub aug: Option<String>,
    /// Augmentation probability for --aug fixed [default: 0].
    #[arg(long)]
    pub p: Option<f64>,
    /// Condition on these label columns of the dataset (comma separated, one-hot each).
    #[arg(long, value_delimiter = ',')]
    pub cond: Vec<String>,
    /// Seed of the initialisation and of every random draw [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Report, log and checkpoint every this many kimg [default: 1].
    #[arg(long)]
    pub tick: Option<f64>,
    /// Write a sample grid and a model snapshot every this many ticks [default: 5].
    #[arg(long)]
    pub snap: Option<usize>,
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
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
    #[command(flatten)]
    pub parallel: ParallelArgs,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let kind = train_parallel::device_kind(args.device, &args.parallel)?;
    let args = &train_parallel::with_default_peers(kind, args);
    on_device!(kind, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &TrainArgs) -> Result<()> {
    train_parallel::run::<Autodiff<B>>(device, args)
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
    opts.preset = args.preset.clone().unwrap_or_else(|| "small".into());
    opts.channel_base = args.channel_base;
    opts.channel_max = args.channel_max;
    if let Some(g) = args.gamma {
        opts.gamma = g;
    }
    if let Some(e) = args.ema {
        opts.ema_kimg = e;
    }
    let lr = args.lr.unwrap_or(0.0025);
    opts.g_lr = lr;
    opts.d_lr = lr;
    opts.pl_weight = args.pl_weight.unwrap_or(2.0);
    opts.style_mixing_prob = args.style_mixing.unwrap_or(0.9);
    opts.mirror = args.mirror;
    opts.augment = augment_mode(args)?.unwrap_or(AugmentMode::Ada { target: 0.6 });
    opts.cond = args.cond.clone();
    opts.seed = args.seed.unwrap_or(0);
    opts.kimg = args.kimg.unwrap_or(25_000.0);
    opts.tick_kimg = args.tick.unwrap_or(1.0);
    opts.snapshot_ticks = args.snap.unwrap_or(5);
    opts.validate().map_err(anyhow::Error::msg)?;
    Ok(opts)
}

/// The augmentation `--aug` and `--p` ask for, if either is given.
fn augment_mode(args: &TrainArgs) -> Result<Option<AugmentMode>> {
    if args.aug.is_none() && args.p.is_none() {
        return Ok(None);
    }
    let name = args
        .aug
        .as_deref()
        .unwrap_or(if args.p.is_some() { "fixed" } else { "ada" });
    Ok(Some(
        AugmentMode::parse(name, args.p.unwrap_or(0.0)).map_err(anyhow::Error::msg)?,
    ))
}

/// Applies the options given with `--resume` to a resumed run's stored ones: the length of
/// the run (`--kimg`) and how often it reports (`--tick`, `--snap`) may change; everything
/// that shapes the training itself is fixed by the checkpoint, so that the run continues
/// exactly as it began, and giving it another value is an error that says so.
fn apply_on_resume(args: &TrainArgs, opts: &mut TrainOptions) -> Result<()> {
    let mut fixed: Vec<String> = Vec::new();
    let mut differs = |flag: &str, given: Option<String>, stored: String| {
        if let Some(given) = given.filter(|g| *g != stored) {
            fixed.push(format!("{flag} {given} (the run has {stored})"));
        }
    };
    differs("--preset", args.preset.clone(), opts.preset.clone());
    let show = |v: Option<usize>| v.map_or("the preset's".to_string(), |v| v.to_string());
    differs(
        "--channel-base",
        args.channel_base.map(|v| v.to_string()),
        show(opts.channel_base),
    );
    differs(
        "--channel-max",
        args.channel_max.map(|v| v.to_string()),
        show(opts.channel_max),
    );
    differs(
        "--batch",
        args.batch.map(|v| v.to_string()),
        opts.batch.to_string(),
    );
    differs(
        "--gamma",
        args.gamma.map(|v| v.to_string()),
        opts.gamma.to_string(),
    );
    differs(
        "--ema",
        args.ema.map(|v| v.to_string()),
        opts.ema_kimg.to_string(),
    );
    differs(
        "--lr",
        args.lr.map(|v| v.to_string()),
        opts.g_lr.to_string(),
    );
    differs(
        "--pl-weight",
        args.pl_weight.map(|v| v.to_string()),
        opts.pl_weight.to_string(),
    );
    differs(
        "--style-mixing",
        args.style_mixing.map(|v| v.to_string()),
        opts.style_mixing_prob.to_string(),
    );
    differs(
        "--mirror",
        args.mirror.then(|| "on".to_string()),
        if opts.mirror { "on" } else { "off" }.into(),
    );
    differs(
        "--aug/--p",
        augment_mode(args)?.map(|m| format!("{m:?}")),
        format!("{:?}", opts.augment),
    );
    differs(
        "--cond",
        (!args.cond.is_empty()).then(|| args.cond.join(",")),
        opts.cond.join(","),
    );
    differs(
        "--seed",
        args.seed.map(|v| v.to_string()),
        opts.seed.to_string(),
    );
    if !fixed.is_empty() {
        bail!(
            "with --resume these options cannot change: {}. A run continues exactly as it \
             began; start a new run with --out to train with other settings (--kimg, --tick, \
             --snap, --max-steps, --name, --license and --device may be given with --resume)",
            fixed.join("; ")
        );
    }
    if let Some(kimg) = args.kimg {
        opts.kimg = kimg;
    }
    if let Some(tick) = args.tick {
        opts.tick_kimg = tick;
    }
    if let Some(snap) = args.snap {
        opts.snapshot_ticks = snap;
    }
    opts.validate().map_err(anyhow::Error::msg)
}

/// The run directory that `args` name, whether the run resumes, and its dataset.
fn run_and_data(args: &TrainArgs) -> Result<(PathBuf, bool, PathBuf)> {
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
    Ok((run, resuming, data_dir))
}

/// The options the run that `args` start or continue will train with, worked out before
/// any network is built (a checkpoint's tensors stay on disk).
pub(crate) fn planned_options(args: &TrainArgs) -> Result<TrainOptions> {
    let (run, resuming, data_dir) = run_and_data(args)?;
    if resuming {
        let mut opts = stored_options(&run.join(CHECKPOINT))?;
        apply_on_resume(args, &mut opts)?;
        Ok(opts)
    } else {
        options(args, PackedDataset::open(&data_dir)?.resolution())
    }
}

/// Trains as the `local`-th peer of this process in `cluster` (alone when the cluster
/// has one peer). Every peer computes its share of every step; the peer of rank 0 writes
/// the run's files.
pub(crate) fn train_peer<AB: AutodiffBackend>(
    device: &AB::Device,
    args: &TrainArgs,
    cluster: &Cluster,
    local: usize,
) -> Result<()> {
    let leader = cluster.rank_of(local) == 0;
    let (run, resuming, data_dir) = run_and_data(args)?;
    let dataset = Arc::new(
        PackedDataset::open(&data_dir)
            .with_context(|| format!("cannot open dataset {}", data_dir.display()))?,
    );
    let checkpoint = run.join(CHECKPOINT);
    let mut trainer = if resuming {
        if !checkpoint.exists() {
            bail!("{} has no checkpoint to resume from", run.display());
        }
        let mut trainer = Trainer::<AB>::resume(&checkpoint, dataset.clone(), device)?;
        apply_on_resume(args, &mut trainer.opts)?;
        trainer
    } else {
        if leader && checkpoint.exists() {
            bail!(
                "{} already holds a run; continue it with --resume {} or choose another --out",
                run.display(),
                run.display()
            );
        }
        let opts = options(args, dataset.resolution())?;
        Trainer::<AB>::new(opts, dataset.clone(), device)?
    };
    trainer.check_split(cluster.world())?;
    let peer = Peer::join::<AB::InnerBackend>(cluster, local, device)?;
    trainer.set_peer(peer.clone())?;
    let stop_at = args.max_steps.unwrap_or(u64::MAX).min(1 << 40);
    peer.agree::<AB::InnerBackend>(
        &[
            ("the step", trainer.state.step as f64),
            ("the images shown", trainer.state.cur_nimg as f64),
            ("--batch", trainer.opts.batch as f64),
            ("--seed", trainer.opts.seed as f64),
            ("--kimg", trainer.opts.kimg),
            ("--max-steps", stop_at as f64),
            ("the networks' parameters", trainer.parameter_checksum()),
        ],
        device,
    )?;
    if !leader {
        return follow(&mut trainer, args.max_steps, peer);
    }
    ensure_dir(&run.join("samples"))?;
    write_bytes(
        &run.join("dataset.txt"),
        format!("{}\n", std::fs::canonicalize(&data_dir)?.display()).as_bytes(),
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
    let snapshot = |trainer: &Trainer<AB>| -> Result<PathBuf> {
        let kimg = trainer.kimg().round() as u64;
        let model_path = run.join("model.safetensors");
        let mut model = trainer.export(&name, &license);
        model.save(&model_path)?;
        let labeller = args.provenance.labeller(&model, 1.0, "const")?;
        let depiction = Depiction::Composite {
            seeds: seeds.clone(),
            class: None,
            description: format!("training snapshot at {kimg} kimg (G_ema, seeds 0-31)"),
        };
        write_grid(
            &labeller,
            &trainer.samples(&seeds),
            &depiction,
            &run.join(format!("samples/fakes{kimg:06}.png")),
        )?;
        if kimg == 0 {
            let depiction = Depiction::TrainingPhotos {
                description: "the first 32 real training images in training order".into(),
            };
            write_grid(
                &labeller,
                &reals(&dataset, trainer)?,
                &depiction,
                &run.join("samples/reals.png"),
            )?;
        }
        Ok(model_path)
    };
    if !resuming {
        snapshot(&trainer)?;
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
                let model = snapshot(&trainer)?;
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
    peer.leave::<AB::InnerBackend>();
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

/// A peer other than rank 0: the same steps, no files.
fn follow<AB: AutodiffBackend>(
    trainer: &mut Trainer<AB>,
    max_steps: Option<u64>,
    peer: Peer,
) -> Result<()> {
    let stop_at = max_steps.unwrap_or(u64::MAX);
    while !trainer.done() && trainer.state.step < stop_at {
        trainer.step()?;
    }
    peer.leave::<AB::InnerBackend>();
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

/// A batch of images as one labelled grid, 8 wide.
fn write_grid(
    labeller: &Labeller,
    batch: &PixelBatch,
    depiction: &Depiction,
    path: &Path,
) -> Result<()> {
    let images = (0..batch.count)
        .map(|i| to_image(batch, i))
        .collect::<Result<Vec<_>>>()?;
    labeller.write(&grid(&images, 8), depiction, path)?;
    Ok(())
}

/// The first 32 real images in training order, for comparison.
fn reals<AB: AutodiffBackend>(
    dataset: &Arc<PackedDataset>,
    trainer: &Trainer<AB>,
) -> Result<PixelBatch> {
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
    Ok(pixels)
}

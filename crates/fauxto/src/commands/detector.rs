//! `fauxto detector train|eval` and `fauxto detect`: the GAN-image detector of
//! `fauxto_trust::detector`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::backend::Autodiff;
use clap::{Args, Subcommand};
use fauxto_trust::detector::{
    add_thumbnail, at_threshold, average_precision, centred_square, train, AtThreshold, Attack,
    Examples, GanDetector, TrainOptions,
};
use serde_json::json;

use crate::backend::Cpu;
use crate::progress;

mod sources;

use sources::{load_set, Part};

#[derive(Debug, Args)]
pub struct DetectorArgs {
    #[command(subcommand)]
    pub action: DetectorAction,
}

#[derive(Debug, Subcommand)]
pub enum DetectorAction {
    /// Train a detector from scratch (reproducible from its seed) and calibrate its threshold.
    Train(TrainArgs),
    /// Average precision, accuracy and false positives of a detector on held-out images,
    /// clean and after attacks.
    Eval(EvalArgs),
}

/// Where the examples come from (shared by train and eval).
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Real photographs: folders or zips of images (repeatable).
    #[arg(long, required = true)]
    pub real: Vec<PathBuf>,
    /// Generated images: folders or zips of images, or model files (.safetensors) to
    /// generate from (repeatable).
    #[arg(long, required = true)]
    pub fake: Vec<PathBuf>,
    /// Images generated per model file.
    #[arg(long, default_value_t = 4000)]
    pub per_model: u32,
    /// At most this many real images per source (an even sample by name).
    #[arg(long)]
    pub max_real: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub set: SetArgs,
    /// Where to write the detector (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Seeds the weights, batches and augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// Images per step (half real, half generated).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Side of the training examples in pixels.
    #[arg(long, default_value_t = 64)]
    pub size: u32,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// The largest false-positive rate on held-out real images the threshold may have.
    #[arg(long, default_value_t = 0.005)]
    pub max_fpr: f64,
    /// Steps of the thumbnail network (the main network trained further on images shrunk
    /// under 64 pixels, which then judges such images); 0 for none.
    #[arg(long, default_value_t = 2000)]
    pub thumbnail_steps: usize,
    /// The thumbnail network's starting learning rate.
    #[arg(long, default_value_t = 3e-4)]
    pub thumbnail_lr: f64,
    /// Keep this detector's main network and threshold, and train only its thumbnail
    /// network (--steps and --lr are then unused).
    #[arg(long)]
    pub base: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub set: SetArgs,
    /// Detector file; default: the one that ships with fauxto.
    #[arg(long)]
    pub detector: Option<PathBuf>,
    /// Which images: `test` (held out from training by name and seed) or `all`.
    #[arg(long, default_value = "test")]
    pub part: Part,
    /// Bring every image to this side first (Lanczos; e.g. 64 to judge real photographs at
    /// a 64x64 model's size, 128 to judge its images enlarged).
    #[arg(long)]
    pub size: Option<u32>,
    /// Attacks to evaluate after, besides the clean images, e.g. `jpeg75,resize0.5,blur1`.
    #[arg(long, value_delimiter = ',', default_value = "jpeg75,resize0.5,blur1")]
    pub attack: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Images to examine.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Detector file; default: the one that ships with fauxto.
    #[arg(long)]
    pub detector: Option<PathBuf>,
    /// Print one JSON line per image.
    #[arg(long)]
    pub json: bool,
}

/// The detector named, or the shipped one.
pub fn load_detector(path: Option<&Path>) -> Result<GanDetector<Cpu>> {
    let device = Default::default();
    Ok(match path {
        Some(p) => GanDetector::load(p, &device)?,
        None => GanDetector::embedded(&device),
    })
}

pub fn run(args: &DetectorArgs) -> Result<()> {
    match &args.action {
        DetectorAction::Train(a) => run_train(a),
        DetectorAction::Eval(a) => run_eval(a),
    }
}

fn run_train(args: &TrainArgs) -> Result<()> {
    if args.batch < 2 || args.steps == 0 {
        bail!("--batch must be at least 2 and --steps at least 1");
    }
    let base = match &args.base {
        Some(path) => {
            if args.thumbnail_steps == 0 {
                bail!("--base trains only a thumbnail network: give --thumbnail-steps above 0");
            }
            Some(load_detector(Some(path))?)
        }
        None => None,
    };
    let training = load_set(&args.set, Part::Train, false)?;
    let calibration = load_set(&args.set, Part::Calibration, false)?;
    eprintln!(
        "training on {} real and {} generated images; calibrating on {} and {}",
        training.real.len(),
        training.generated.len(),
        calibration.real.len(),
        calibration.generated.len()
    );
    let options = TrainOptions {
        seed: args.seed,
        steps: args.steps,
        batch: args.batch,
        size: args.size,
        learning_rate: args.lr,
        max_false_positive_rate: args.max_fpr,
        thumbnail_steps: args.thumbnail_steps,
        thumbnail_learning_rate: args.thumbnail_lr,
        ..TrainOptions::default()
    };
    let main_steps = if base.is_some() { 0 } else { args.steps };
    let total = main_steps + args.thumbnail_steps;
    let bar = progress::bar(total as u64, "training", false);
    let mut mean_loss = None::<f32>;
    let device = Default::default();
    let mut on_step = |step: usize, loss: f32| {
        // The thumbnail network starts from the main one's loss, not from a fresh mean.
        let fresh = mean_loss.is_none() || step == main_steps;
        let m = mean_loss
            .filter(|_| !fresh)
            .map_or(loss, |m| 0.98 * m + 0.02 * loss);
        mean_loss = Some(m);
        let stage = if step < main_steps {
            "main"
        } else {
            "thumbnail"
        };
        bar.set_position(step as u64 + 1);
        bar.set_message(format!("{stage} network, loss {m:.3}"));
        // Without a terminal (a background run's log), a line every 250 steps.
        if bar.is_hidden() && (step + 1).is_multiple_of(250) {
            eprintln!("step {}/{total} ({stage} network): loss {m:.4}", step + 1);
        }
    };
    let (mut detector, validation) = match base {
        None => train::<Autodiff<Cpu>>(&training, &calibration, &options, &device, &mut on_step),
        Some(base) => add_thumbnail::<Autodiff<Cpu>>(
            base,
            &training,
            &calibration,
            &options,
            &device,
            &mut on_step,
        ),
    };
    bar.finish();
    // A base detector's own card goes inside the new one.
    let base_card = args.base.as_ref().map(|file| {
        let about = serde_json::from_str(&detector.about).unwrap_or(json!(detector.about));
        json!({"file": file, "about": about})
    });
    detector.about = json!({
        "trained_on": {
            "real": args.set.real, "fake": args.set.fake, "per_model": args.set.per_model,
            "real_images": training.real.len(), "generated_images": training.generated.len(),
        },
        "base": base_card,
        "options": options,
        "calibration": validation,
    })
    .to_string();
    std::fs::write(&args.out, detector.to_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    report_calibration(
        "held out",
        "threshold",
        validation.average_precision,
        &validation.calibrated,
    );
    report_calibration(
        "held out, shrunk to half",
        "threshold for small images",
        validation.shrunk_average_precision,
        &validation.small,
    );
    println!("{}", args.out.display());
    Ok(())
}

/// One line on stderr: a calibration set's AP and how it reads at its calibrated threshold.
fn report_calibration(set: &str, threshold: &str, ap: f64, at: &AtThreshold) {
    eprintln!(
        "{set}: AP {ap:.4}; {threshold} {:.4}: accuracy {:.2}%, false positives {:.2}%, fakes caught {:.2}%",
        at.threshold,
        100.0 * at.accuracy,
        100.0 * at.false_positive_rate,
        100.0 * at.true_positive_rate
    );
}

fn run_eval(args: &EvalArgs) -> Result<()> {
    let detector = load_detector(args.detector.as_deref())?;
    let attacks: Vec<Attack> = args
        .attack
        .iter()
        .filter(|a| !a.is_empty())
        .map(|a| Attack::parse(a).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let mut set = load_set(&args.set, args.part, args.json)?;
    if let Some(side) = args.size {
        // As the dataset tool prepares training images.
        for img in set.real.iter_mut().chain(set.generated.iter_mut()) {
            *img = centred_square(img, side);
        }
    }
    let mut rows = Vec::new();
    for attack in std::iter::once(None).chain(attacks.into_iter().map(Some)) {
        let attacked = match attack {
            None => set.clone(),
            Some(a) => Examples {
                real: set.real.iter().map(|i| a.apply(i)).collect(),
                generated: set.generated.iter().map(|i| a.apply(i)).collect(),
            },
        };
        let started = std::time::Instant::now();
        let scored = detector.score(&attacked);
        let per_second = scored.len() as f64 / started.elapsed().as_secs_f64();
        // Every image of a set has one size (--size, then the attack).
        let threshold = attacked
            .real
            .first()
            .or(attacked.generated.first())
            .map_or(detector.threshold, |img| {
                detector.threshold_for(img.dimensions())
            });
        let at = at_threshold(&scored, threshold);
        let ap = average_precision(&scored).unwrap_or(f64::NAN);
        let name = attack.map_or("none".to_string(), Attack::name);
        if !args.json {
            println!(
                "{name:>10}: AP {ap:.4}  accuracy {:.2}%  false positives {:.2}%  fakes caught {:.2}%  ({per_second:.0} images/s)",
                100.0 * at.accuracy,
                100.0 * at.false_positive_rate,
                100.0 * at.true_positive_rate
            );
        }
        rows.push(json!({
            "attack": name, "average_precision": ap, "threshold": threshold, "at_threshold": at,
            "images_per_second": per_second,
        }));
    }
    if args.json {
        let out = json!({
            "real": set.real.len(), "generated": set.generated.len(),
            "threshold": detector.threshold, "small_threshold": detector.small_threshold,
            "results": rows,
        });
        println!("{out}");
    }
    Ok(())
}

pub fn run_detect(args: &DetectArgs) -> Result<()> {
    let detector = load_detector(args.detector.as_deref())?;
    for path in &args.images {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let img = fauxto_app::images::decode_image(&bytes)
            .with_context(|| format!("{}", path.display()))?
            .to_rgb8();
        let verdict = detector.judge(&img);
        if args.json {
            println!("{}", json!({"file": path, "detector": verdict}));
        } else {
            println!("{}: {verdict}", path.display());
        }
    }
    Ok(())
}

//! `fauxto directions`: learn a model's attribute directions in W (InterFaceGAN), store
//! them beside the model, and (with `--evaluate`) measure how well they edit.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_edit::evaluate::{evaluate, EvaluateOptions, Evaluation};
use fauxto_edit::fit::{fit_all, sample, FitOptions};
use fauxto_edit::latent::consecutive_seeds;
use fauxto_edit::projected::ProjectedLatent;
use fauxto_edit::samples;
use fauxto_edit::{sidecar_path, Attribute, Directions, Judge, LatentRenderer};

use fauxto_nn::model_file::ModelFile;

use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::on_device;
use crate::progress;

const CARD_SECTION: &str = "## Attribute directions";

#[derive(Debug, Args)]
pub struct DirectionsArgs {
    /// Model file (.safetensors); default: the bundled demo model, or $FAUXTO_MODEL.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Latents to sample and score (seeds --first-seed onward, ψ = 1). More samples give
    /// more accurate directions; about 60 per second on 2 cores at 64x64.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(100..))]
    pub n: u32,
    #[arg(long, default_value_t = 0)]
    pub first_seed: u32,
    /// Fraction of the scored samples taken from each end of an attribute's range to
    /// train its classifier (InterFaceGAN's 2%); 70% of them train it, 30% (seeds whose
    /// last digit is 0-2) measure its accuracy.
    #[arg(long, default_value_t = 0.02, value_parser = parse_extremes)]
    pub extremes: f64,
    /// L2 penalty of the classifiers (strong: pulls each direction toward the difference
    /// of its two classes' means).
    #[arg(long, default_value_t = 100.0)]
    pub lambda: f64,
    /// Faces moved ±2σ along each direction to measure its effect per σ.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(4..))]
    pub calibration: u32,
    /// Attributes to learn.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "age,gender,smile,yaw,pitch"
    )]
    pub attributes: Vec<Attribute>,
    /// Write the scored samples to this file (safetensors: w and every score), to refit
    /// later with --samples.
    #[arg(long, conflicts_with = "samples")]
    pub save_samples: Option<PathBuf>,
    /// Fit to samples saved by --save-samples instead of sampling again (--n and
    /// --first-seed are then those of the file).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Where to write the directions; default: beside the model, as
    /// M.directions.safetensors.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not add the directions' section to the model card (M.md).
    #[arg(long)]
    pub no_card: bool,
    /// Instead of learning directions, evaluate the stored ones: move held-out faces
    /// ±3σ along each and re-score every attribute (the re-scoring matrix), gender flips,
    /// age shift, smile crossings, yaw reached, identity kept.
    #[arg(long)]
    pub evaluate: bool,
    /// Faces for --evaluate (seeds --eval-first-seed onward).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(2..))]
    pub eval_samples: u32,
    #[arg(long, default_value_t = 1_000_000)]
    pub eval_first_seed: u32,
    /// With --evaluate, edit these projected photos (latents from `fauxto project`)
    /// instead of seeds' faces.
    #[arg(long, requires = "evaluate", num_args = 1..)]
    pub latents: Vec<PathBuf>,
    /// With --evaluate, also write the summary as Markdown to this file.
    #[arg(long, requires = "evaluate")]
    pub markdown: Option<PathBuf>,
    /// Edit size of --evaluate's re-scoring matrix, in σ.
    #[arg(long, default_value_t = 3.0)]
    pub sigmas: f64,
    /// Images per generator and face-network call.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_extremes(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if !(v > 0.0 && v <= 0.5) {
        return Err("must be in (0, 0.5]".into());
    }
    Ok(v)
}

pub fn run(args: &DirectionsArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &DirectionsArgs) -> Result<()> {
    let model_path = resolve_model(args.model.as_deref())?;
    let model = load_model(&model_path)?;
    let sidecar = args
        .out
        .clone()
        .unwrap_or_else(|| sidecar_path(&model_path));
    let renderer = LatentRenderer::<B>::new(&model, device)?;
    let judge = Judge::<B>::embedded(device)?;
    if args.evaluate {
        let directions = load_directions(&sidecar, &model_path)?;
        if directions.model_sha256 != model.sha256 {
            eprintln!(
                "warning: {} was computed for another model file (SHA-256 {}…)",
                sidecar.display(),
                &directions.model_sha256[..12.min(directions.model_sha256.len())]
            );
        }
        let evaluation = run_evaluation(&renderer, &judge, &directions, &model, args)?;
        if let Some(path) = &args.markdown {
            crate::images::write_bytes(path, evaluation.to_markdown().as_bytes())?;
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&evaluation)?);
        } else {
            print!("{}", evaluation.to_markdown());
        }
        return Ok(());
    }

    let options = FitOptions {
        samples: args.n as usize,
        first_seed: args.first_seed,
        extremes: args.extremes,
        lambda: args.lambda,
        calibration_samples: args.calibration as usize,
        batch: args.batch as usize,
        attributes: dedup(&args.attributes),
    };
    let started = std::time::Instant::now();
    let sampled = match &args.samples {
        Some(path) => samples::load(path, &model.sha256)?,
        None => {
            let seeds = consecutive_seeds(args.first_seed, args.n as usize);
            let bar = progress::bar(seeds.len() as u64, "sampling and scoring", args.json);
            let sampled = sample(&renderer, &judge, &seeds, options.batch, &mut |done| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            if let Some(path) = &args.save_samples {
                samples::save(path, &sampled, &model.sha256)?;
            }
            sampled
        }
    };
    let fitting = progress::bar(options.attributes.len() as u64, "fitting", args.json);
    let directions = fit_all(
        &renderer,
        &judge,
        &model.sha256,
        &sampled,
        &options,
        &mut |_, done, _| fitting.set_position(done as u64),
    )?;
    fitting.finish_and_clear();
    directions.save(&sidecar)?;
    if !args.no_card {
        super::card::update_section(
            &model_path,
            CARD_SECTION,
            &card_section(&directions, &sidecar),
        )?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&directions)?);
    } else {
        print!("{}", summary(&directions));
        println!(
            "wrote {} in {:.0} s",
            sidecar.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn run_evaluation<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    directions: &Directions,
    model: &ModelFile,
    args: &DirectionsArgs,
) -> Result<Evaluation> {
    let options = EvaluateOptions {
        samples: args.eval_samples as usize,
        first_seed: args.eval_first_seed,
        sigmas: args.sigmas,
        batch: args.batch as usize,
        ..EvaluateOptions::default()
    };
    let ws = if args.latents.is_empty() {
        renderer.w_of(&consecutive_seeds(options.first_seed, options.samples))
    } else {
        args.latents
            .iter()
            .map(|path| Ok(ProjectedLatent::load_for(path, &model.sha256)?.ws))
            .collect::<Result<_>>()?
    };
    let bar = progress::bar(1, "editing and re-scoring", args.json);
    let evaluation = evaluate(
        renderer,
        judge,
        directions,
        &ws,
        &options,
        &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    Ok(evaluation)
}

/// Loads the directions of a model, saying how to make them when there are none.
pub fn load_directions(path: &Path, model: &Path) -> Result<Directions> {
    if !path.exists() {
        anyhow::bail!(
            "no attribute directions at {}: compute them with `fauxto directions --model {}`",
            path.display(),
            model.display()
        );
    }
    Directions::load(path).context("cannot read the attribute directions")
}

/// The directions an editing command uses: `given`, else the file beside the model; they
/// must belong to this model file.
pub fn model_directions(
    given: Option<&Path>,
    model_path: &Path,
    model: &ModelFile,
) -> Result<Directions> {
    let path = given.map_or_else(|| sidecar_path(model_path), Path::to_path_buf);
    let directions = load_directions(&path, model_path)?;
    if directions.model_sha256 != model.sha256 {
        anyhow::bail!(
            "{} belongs to another model file; compute this model's with \
             `fauxto directions --model {}`",
            path.display(),
            model_path.display()
        );
    }
    Ok(directions)
}

fn dedup(attributes: &[Attribute]) -> Vec<Attribute> {
    let mut out: Vec<Attribute> = Vec::new();
    for &a in attributes {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

fn summary(d: &Directions) -> String {
    let mut s = format!(
        "{} samples (seeds {}–{}), extremes {:.0}% each side:\n",
        d.samples,
        d.first_seed,
        d.first_seed as u64 + d.samples as u64 - 1,
        100.0 * d.extremes
    );
    for dir in &d.directions {
        s.push_str(&format!(
            "  {:<7} validation accuracy {:>5.1}%  ({} train / {} held out), 1σ = {:.3} in W, \
             {:+.2} {} per σ\n",
            dir.attribute.name(),
            100.0 * dir.validation_accuracy,
            dir.train_samples,
            dir.validation_samples,
            dir.sigma,
            dir.per_sigma,
            unit_name(dir.attribute)
        ));
    }
    s
}

fn unit_name(a: Attribute) -> &'static str {
    match a.unit() {
        fauxto_edit::attribute::Unit::Years => "years",
        fauxto_edit::attribute::Unit::Degrees => "degrees",
        fauxto_edit::attribute::Unit::Probability => "probability",
    }
}

fn card_section(d: &Directions, sidecar: &Path) -> String {
    let name = sidecar.file_name().map_or_else(
        || sidecar.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut s = format!(
        "{CARD_SECTION}\n\n\
         Linear directions in W for editing (`fauxto edit`), learnt as InterFaceGAN does from \
         {} generated faces (seeds {}–{}, ψ = 1) scored by the face networks: a logistic \
         classifier (L2 penalty λ = {}) on the {:.0}% lowest and highest of each score (age's \
         taken within each gender), its unit normal the direction. Stored in `{name}`.\n\n\
         | attribute | validation accuracy | train / held out | change per σ |\n\
         | --- | --- | --- | --- |\n",
        d.samples,
        d.first_seed,
        d.first_seed as u64 + d.samples as u64 - 1,
        d.lambda,
        100.0 * d.extremes
    );
    for dir in &d.directions {
        s.push_str(&format!(
            "| {} | {:.1}% | {} / {} | {:+.2} {} |\n",
            dir.attribute,
            100.0 * dir.validation_accuracy,
            dir.train_samples,
            dir.validation_samples,
            dir.per_sigma,
            unit_name(dir.attribute)
        ));
    }
    s
}

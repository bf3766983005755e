//! `fauxto anonymize`: faces of people who do not exist with a photo's age, gender,
//! expression and head pose, but another identity — labelled as generated and checked by
//! the memorisation guard.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_app::guard::Guard;
use fauxto_app::labels::{Depiction, Labeller};
use fauxto_edit::anonymize::{anonymize, AnonymizeOptions, Pool, Target, Tolerances};
use fauxto_edit::{Judge, LatentRenderer};

use super::directions::model_directions;
use super::memorisation::GuardArgs;
use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::images::ensure_dir;
use crate::on_device;
use crate::provenance::ProvenanceArgs;

#[derive(Debug, Args)]
pub struct AnonymizeArgs {
    /// The photo(s) whose face to stand in for (each one's most confidently detected
    /// face). With several, each one's look-alikes go to OUT/<photo name>/.
    #[arg(required = true)]
    pub photos: Vec<PathBuf>,
    /// Model file (.safetensors); default: the bundled demo model, or $FAUXTO_MODEL.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Look-alikes to write.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub n: u32,
    /// Generated faces judged to find candidates; more finds closer look-alikes, slower.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(16..))]
    pub pool: u32,
    /// First seed of the pool (another pool gives other people).
    #[arg(long, default_value_t = 0)]
    pub first_seed: u32,
    /// Largest judged age difference, in years.
    #[arg(long, default_value_t = 8.0)]
    pub age_tolerance: f64,
    /// Largest judged head-yaw difference, in degrees.
    #[arg(long, default_value_t = 10.0)]
    pub yaw_tolerance: f64,
    /// Smallest descriptor distance to the photo's face (face-api's same-person
    /// threshold is 0.6).
    #[arg(long, default_value_t = 0.6)]
    pub min_distance: f64,
    /// The directions file; default: beside the model.
    #[arg(long)]
    pub directions: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
    #[command(flatten)]
    pub guard: GuardArgs,
}

pub fn run(args: &AnonymizeArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &AnonymizeArgs) -> Result<()> {
    let model_path = resolve_model(args.model.as_deref())?;
    let model = load_model(&model_path)?;
    let directions = model_directions(args.directions.as_deref(), &model_path, &model)?;
    let renderer = LatentRenderer::<B>::new(&model, device)?;
    let judge = Judge::<B>::embedded(device)?;
    let guard = Guard::<B>::resolve(device, &args.guard.options(), &model)?;
    let labeller = Labeller::new(&model, &args.provenance.options(), 1.0, "const")?;
    crate::provenance::announce_keys(&labeller);
    let options = AnonymizeOptions {
        n: args.n as usize,
        pool: args.pool as usize,
        first_seed: args.first_seed,
        tolerances: Tolerances {
            age: args.age_tolerance,
            yaw: args.yaw_tolerance,
            min_distance: args.min_distance,
            ..Tolerances::default()
        },
        ..AnonymizeOptions::default()
    };
    let bar = crate::progress::spinner("judging the pool of generated faces", args.json);
    let pool = Pool::judge(&renderer, &judge, &options)?;
    bar.finish_and_clear();
    let several = args.photos.len() > 1;
    let bar = crate::progress::bar(args.photos.len() as u64, "photos", args.json || !several);
    let mut reports = Vec::new();
    for photo in &args.photos {
        let out = if several {
            let stem = photo.file_stem().map(|s| s.to_string_lossy().into_owned());
            args.out.join(stem.unwrap_or_else(|| "photo".into()))
        } else {
            args.out.clone()
        };
        let setting = Setting {
            renderer: &renderer,
            judge: &judge,
            directions: &directions,
            pool: &pool,
            guard: &guard,
            labeller: &labeller,
            options: &options,
        };
        let report = bar.suspend(|| one_photo(&setting, photo, &out, args));
        match report {
            Ok(r) => reports.push(r),
            // One unreadable photo among many is reported, not fatal.
            Err(e) if several => {
                bar.suspend(|| eprintln!("{}: {e:#}", photo.display()));
                reports.push(serde_json::json!({"photo": photo, "error": format!("{e:#}")}));
            }
            Err(e) => return Err(e),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if args.json {
        let value = if several {
            serde_json::Value::Array(reports)
        } else {
            reports.remove(0)
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

/// What every photo is searched with.
struct Setting<'a, B: Backend> {
    renderer: &'a LatentRenderer<B>,
    judge: &'a Judge<B>,
    directions: &'a fauxto_edit::Directions,
    pool: &'a Pool,
    guard: &'a Option<Guard<B>>,
    labeller: &'a Labeller,
    options: &'a AnonymizeOptions,
}

/// Look-alikes of one photo, written to `out`; the report of what was found.
fn one_photo<B: Backend>(
    s: &Setting<'_, B>,
    photo_path: &Path,
    out: &Path,
    args: &AnonymizeArgs,
) -> Result<serde_json::Value> {
    let photo = fauxto_app::images::load_image(photo_path)?;
    let Some(verdict) = s.judge.judge_photo(&photo) else {
        bail!("no face found in {}", photo_path.display());
    };
    let Some(target) = Target::of(&verdict) else {
        bail!(
            "the face in {} could not be read fully (no head pose from its landmarks)",
            photo_path.display()
        );
    };
    ensure_dir(out)?;
    let found = anonymize(
        s.renderer,
        s.judge,
        s.directions,
        s.pool,
        &target,
        s.options,
    )?;
    let mut written = Vec::new();
    for look in found.iter().filter(|l| l.accepted).take(args.n as usize) {
        let image = s.renderer.render(std::slice::from_ref(&look.w))?.remove(0);
        if let Some(g) = s.guard {
            if g.check(std::slice::from_ref(&image))[0].reproduces_training_face {
                eprintln!("seed {}: not written, it shows a training face", look.seed);
                continue;
            }
        }
        let path = out.join(format!("lookalike-seed{:04}.png", look.seed));
        let depiction = Depiction::Edited {
            seed: look.seed,
            description: format!(
                "a person who does not exist, with the judged age, gender, expression and \
                 head pose of a photo's face (age {:.0}, {}, {}, yaw {:+.0}°) and another \
                 identity (descriptor distance {:.2})",
                target.age,
                gender(target.female),
                target.expression,
                target.yaw,
                look.distance
            ),
        };
        let labels = s.labeller.write(&image, &depiction, &path)?;
        written.push(serde_json::json!({"path": path, "look_alike": look, "labels": labels}));
    }
    if !args.json {
        println!(
            "{}: age {:.0}, {}, {} (P(happy) {:.2}), yaw {:+.0}°",
            photo_path.display(),
            target.age,
            gender(target.female),
            target.expression,
            target.smile,
            target.yaw
        );
        for w in &written {
            let l = &w["look_alike"];
            println!(
                "  {}  age {:.0}, {}, yaw {:+.0}°, descriptor distance {:.2}",
                w["path"].as_str().unwrap_or_default(),
                l["age"].as_f64().unwrap_or(f64::NAN),
                l["expression"].as_str().unwrap_or_default(),
                l["yaw"].as_f64().unwrap_or(f64::NAN),
                l["distance"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    if written.len() < args.n as usize {
        eprintln!(
            "{}: found {} of {} look-alikes within tolerance among {} generated faces; a \
             larger --pool finds more",
            photo_path.display(),
            written.len(),
            args.n,
            args.pool
        );
    }
    Ok(serde_json::json!({
        "photo": photo_path,
        "target": target,
        "written": written,
        "candidates": found,
    }))
}

fn gender(female: bool) -> &'static str {
    if female {
        "female"
    } else {
        "male"
    }
}

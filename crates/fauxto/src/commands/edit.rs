//! `fauxto edit`: a seed's face — or a real photo's, projected by `fauxto project` — with
//! attribute sliders moved (older, smiling, turned), or a strip of frames along one slider,
//! labelled and guarded like every generated image (an edited photo is labelled as that
//! real person's photo rendered by the model).

use std::path::PathBuf;

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_app::guard::Guard;
use fauxto_app::labels::{Depiction, Labeller};
use fauxto_edit::age::{age_to, AgeOptions, AgedFace};
use fauxto_edit::edit::strip_values;
use fauxto_edit::latent::moved;
use fauxto_edit::projected::ProjectedLatent;
use fauxto_edit::{step, Attribute, Directions, Judge, LatentRenderer, Move};
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::NoiseMode;
use image::DynamicImage;

use super::args::{parse_psi, SeedList};
use super::directions::model_directions;
use super::memorisation::GuardArgs;
use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::images::{ensure_dir, grid};
use crate::on_device;
use crate::provenance::ProvenanceArgs;

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Model file (.safetensors); default: the bundled demo model, or $FAUXTO_MODEL.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seeds of the faces to edit, e.g. `42` or `0-7`.
    #[arg(long, alias = "seed", required_unless_present = "latent")]
    pub seeds: Option<SeedList>,
    /// Edit a projected photo instead (a latent from `fauxto project`): the result
    /// depicts that real person and is labelled so.
    #[arg(long, conflicts_with_all = ["seeds", "trunc", "noise_mode"])]
    pub latent: Option<PathBuf>,
    /// Years older (+) or younger (−).
    #[arg(long, allow_negative_numbers = true)]
    pub age: Option<f64>,
    /// Toward female (+) or male (−), in σ.
    #[arg(long, allow_negative_numbers = true)]
    pub gender: Option<f64>,
    /// Toward smiling (+) or not (−), in σ.
    #[arg(long, allow_negative_numbers = true)]
    pub smile: Option<f64>,
    /// Head turn in degrees: + toward the image's right, − toward its left.
    #[arg(long, allow_negative_numbers = true)]
    pub yaw: Option<f64>,
    /// Head tilt in degrees: + up, − down.
    #[arg(long, allow_negative_numbers = true)]
    pub pitch: Option<f64>,
    /// Attributes to hold while the others move (conditional directions), e.g.
    /// `gender,age`.
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<Attribute>,
    /// Bring the face to this age (years), as the age network judges it, holding gender
    /// and head pose (and --keep); several ages, e.g. `20,40,60`, make a strip.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["age", "strip"])]
    pub age_to: Vec<f64>,
    /// Instead of one edited image, a row of frames along this attribute's slider (the
    /// other sliders applied to every frame).
    #[arg(long)]
    pub strip: Option<Attribute>,
    /// First slider value of the strip (default: −3σ in the attribute's unit).
    #[arg(long, allow_negative_numbers = true, requires = "strip")]
    pub from: Option<f64>,
    /// Last slider value of the strip (default: +3σ in the attribute's unit).
    #[arg(long, allow_negative_numbers = true, requires = "strip")]
    pub to: Option<f64>,
    /// Frames of the strip.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(2..=64))]
    pub frames: u32,
    /// Truncation ψ applied before the edit.
    #[arg(long, default_value_t = 1.0, value_parser = parse_psi)]
    pub trunc: f64,
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    /// The directions file; default: beside the model (M.directions.safetensors, made by
    /// `fauxto directions`).
    #[arg(long)]
    pub directions: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Image format: png, jpg or webp.
    #[arg(long, default_value = "png")]
    pub format: String,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print the written files as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
    #[command(flatten)]
    pub guard: GuardArgs,
}

impl EditArgs {
    fn moves(&self) -> Vec<Move> {
        [
            (Attribute::Age, self.age),
            (Attribute::Gender, self.gender),
            (Attribute::Smile, self.smile),
            (Attribute::Yaw, self.yaw),
            (Attribute::Pitch, self.pitch),
        ]
        .into_iter()
        .filter_map(|(attribute, amount)| amount.map(|amount| Move { attribute, amount }))
        .collect()
    }
}

/// What is edited: a seed's face, or a real person's projected photo.
enum Subject {
    Seed(u32),
    Photo {
        stem: String,
        latent: Box<ProjectedLatent>,
    },
}

impl Subject {
    /// The start of its output files' names.
    fn name(&self) -> String {
        match self {
            Subject::Seed(seed) => format!("seed{seed:04}"),
            Subject::Photo { stem, .. } => stem.clone(),
        }
    }

    /// What a credential calls it: the seed, or "the photo" (never its file name, which
    /// may name the person).
    fn what(&self) -> String {
        match self {
            Subject::Seed(seed) => format!("seed {seed}"),
            Subject::Photo { .. } => "the photo".into(),
        }
    }

    /// The credential of one edited image of it.
    fn single(&self, description: String) -> Depiction {
        match self {
            Subject::Seed(seed) => Depiction::Edited {
                seed: *seed,
                description,
            },
            Subject::Photo { latent, .. } => from_photo(latent, description),
        }
    }

    /// The credential of a strip of edited images of it.
    fn strip(&self, description: String) -> Depiction {
        match self {
            Subject::Seed(seed) => Depiction::Composite {
                seeds: vec![*seed],
                class: None,
                description,
            },
            Subject::Photo { latent, .. } => from_photo(latent, description),
        }
    }
}

fn from_photo(latent: &ProjectedLatent, description: String) -> Depiction {
    Depiction::FromPhoto {
        photo: latent.input_photo(),
        description: format!("a real person's projected photo, {description}"),
    }
}

/// The projected photo of `--latent`, checked against the model.
fn photo_subject(model: &ModelFile, args: &EditArgs) -> Result<Option<Subject>> {
    let Some(path) = &args.latent else {
        return Ok(None);
    };
    let latent = ProjectedLatent::load_for(path, &model.sha256)?;
    let name = path
        .file_name()
        .map_or_else(|| "photo".into(), |n| n.to_string_lossy().into_owned());
    let stem = name
        .trim_end_matches(".safetensors")
        .trim_end_matches(".latent")
        .to_string();
    Ok(Some(Subject::Photo {
        stem,
        latent: Box::new(latent),
    }))
}

/// The seeds' faces, or the projected photo, with their latents.
fn subjects<B: Backend>(
    renderer: &LatentRenderer<B>,
    photo: Option<Subject>,
    args: &EditArgs,
) -> Vec<(Subject, Vec<f32>)> {
    if let Some(subject) = photo {
        let ws = match &subject {
            Subject::Photo { latent, .. } => latent.ws.clone(),
            Subject::Seed(_) => unreachable!("a photo subject"),
        };
        return vec![(subject, ws)];
    }
    let seeds = args.seeds.as_ref().map(|s| s.0.clone()).unwrap_or_default();
    seeds
        .into_iter()
        .map(|seed| {
            let w = renderer.truncate(&renderer.w_of(&[seed])[0], args.trunc);
            (Subject::Seed(seed), w)
        })
        .collect()
}

/// A slider setting as a file-name part, e.g. `age+15`.
fn tag(moves: &[Move]) -> String {
    moves
        .iter()
        .map(|m| format!("{}{:+}", m.attribute, m.amount))
        .collect::<Vec<_>>()
        .join("_")
}

/// The sliders set, as a credential states them: "; edited along W's directions: age +10
/// years (keeping gender)", or nothing when no slider moved.
fn describe(moves: &[Move], keep: &[Attribute]) -> String {
    if moves.is_empty() && keep.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = moves
        .iter()
        .map(|m| {
            format!(
                "{} {:+} {}",
                m.attribute,
                m.amount,
                m.attribute.slider_unit()
            )
        })
        .collect();
    let mut s = format!("; edited along W's directions: {}", parts.join(", "));
    if !keep.is_empty() {
        let kept: Vec<&str> = keep.iter().map(|a| a.name()).collect();
        s.push_str(&format!(" (keeping {})", kept.join(", ")));
    }
    s
}

pub fn run(args: &EditArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &EditArgs) -> Result<()> {
    let format = args.format.to_ascii_lowercase();
    if !matches!(format.as_str(), "png" | "jpg" | "jpeg" | "webp") {
        bail!("--format {format}: choose png, jpg or webp");
    }
    let moves = args.moves();
    if moves.is_empty() && args.strip.is_none() && args.age_to.is_empty() {
        bail!(
            "nothing to edit: give a slider (--age, --gender, --smile, --yaw, --pitch), \
             --age-to or --strip"
        );
    }
    if let Some(bad) = args.age_to.iter().find(|&&a| !(0.0..=120.0).contains(&a)) {
        bail!("--age-to {bad}: give ages in years, 0–120");
    }
    if let Some(a) = moves
        .iter()
        .map(|m| m.attribute)
        .find(|a| args.keep.contains(a))
    {
        bail!("--keep {a} and --{a} together: an attribute cannot move and stay put");
    }
    let model_path = resolve_model(args.model.as_deref())?;
    let model = load_model(&model_path)?;
    let photo = photo_subject(&model, args)?;
    let directions = model_directions(args.directions.as_deref(), &model_path, &model)?;
    let mut renderer = LatentRenderer::<B>::new(&model, device)?;
    renderer.noise = args.noise_mode;
    // A real person's photo is labelled as one; the guard is for faces said not to exist.
    let guard = match photo {
        Some(_) => None,
        None => Guard::<B>::resolve(device, &args.guard.options(), &model)?,
    };
    let noise = format!("{:?}", args.noise_mode).to_lowercase();
    let labeller = Labeller::new(&model, &args.provenance.options(), args.trunc, &noise)?;
    crate::provenance::announce_keys(&labeller);
    ensure_dir(&args.out)?;

    let base_step = step(&directions, &moves, &args.keep)?;
    let judge = if args.age_to.is_empty() {
        None
    } else {
        Some(Judge::<B>::embedded(device)?)
    };
    let mut written = Vec::new();
    for (subject, w) in subjects(&renderer, photo, args) {
        let name = subject.name();
        let base = moved(&w, &base_step, 1.0);
        if !args.age_to.is_empty() {
            let judge = judge.as_ref().expect("loaded for --age-to");
            let aged = aged(&renderer, judge, &directions, &base, args)?;
            if let Some(report) =
                write_aged(&labeller, &guard, &subject, &moves, aged, args, &format)?
            {
                written.push(report);
            }
            continue;
        }
        let Some(strip) = args.strip else {
            let image = renderer.render(&[base])?.remove(0);
            if rejected(&guard, &image, &name)? {
                continue;
            }
            let path = args.out.join(format!("{name}-{}.{format}", tag(&moves)));
            let depiction =
                subject.single(describe(&moves, &args.keep).trim_start_matches("; ").into());
            let labels = labeller.write(&image, &depiction, &path)?;
            written.push(serde_json::json!({"subject": name, "path": path, "labels": labels}));
            continue;
        };
        let values = strip_range(&directions, strip, args)?;
        let mut frames = Vec::with_capacity(values.len());
        for &v in &values {
            let one = Move {
                attribute: strip,
                amount: v,
            };
            let s = step(&directions, &[one], &args.keep)?;
            frames.push(moved(&base, &s, 1.0));
        }
        let images = renderer.render(&frames)?;
        if let Some(g) = &guard {
            if let Some(i) = g
                .check(&images)
                .iter()
                .position(|c| c.reproduces_training_face)
            {
                eprintln!(
                    "{name}: strip not written, its frame at {strip} {:+.1} shows a training face",
                    values[i]
                );
                continue;
            }
        }
        let path = args.out.join(format!("{name}-{strip}-strip.{format}"));
        let depiction = subject.strip(format!(
            "{} frames of {} along {strip} from {:+.1} to {:+.1} {}{}",
            values.len(),
            subject.what(),
            values[0],
            values[values.len() - 1],
            strip.slider_unit(),
            describe(&moves, &args.keep)
        ));
        let labels = labeller.write(&grid(&images, images.len()), &depiction, &path)?;
        written.push(serde_json::json!({
            "subject": name, "path": path, "strip": strip, "values": values, "labels": labels,
        }));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&written)?);
    } else {
        for w in &written {
            println!("{}", w["path"].as_str().unwrap_or_default());
        }
    }
    Ok(())
}

/// The strip's slider values: --from/--to, by default ∓3σ in the attribute's unit.
fn strip_range(directions: &Directions, strip: Attribute, args: &EditArgs) -> Result<Vec<f64>> {
    let three_sigma = if strip.slider_in_own_unit() {
        3.0 * directions.get(strip)?.per_sigma.abs()
    } else {
        3.0
    };
    Ok(strip_values(
        args.from.unwrap_or(-three_sigma),
        args.to.unwrap_or(three_sigma),
        args.frames as usize,
    ))
}

/// Whether the guard stops `image` (and says so).
fn rejected<B: Backend>(
    guard: &Option<Guard<B>>,
    image: &DynamicImage,
    name: &str,
) -> Result<bool> {
    let Some(g) = guard else { return Ok(false) };
    let check = g.check(std::slice::from_ref(image))[0];
    if check.reproduces_training_face {
        let n = check.nearest.expect("a match has a nearest face");
        eprintln!(
            "{name}: not written, the edit shows training image #{} (descriptor distance {:.3})",
            n.image, n.distance
        );
    }
    Ok(check.reproduces_training_face)
}

/// `base` brought to each of `--age-to`'s ages (gender and --keep held).
fn aged<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    directions: &Directions,
    base: &[f32],
    args: &EditArgs,
) -> Result<Vec<(f64, AgedFace)>> {
    let mut keep = AgeOptions::default().keep;
    keep.extend(
        args.keep
            .iter()
            .filter(|a| !keep.contains(a))
            .copied()
            .collect::<Vec<_>>(),
    );
    let options = AgeOptions {
        keep,
        ..AgeOptions::default()
    };
    let ws = vec![base.to_vec(); args.age_to.len()];
    let faces = age_to(renderer, judge, directions, &ws, &args.age_to, &options)?;
    Ok(args.age_to.iter().copied().zip(faces).collect())
}

/// Writes an age edit (one target) or an age strip (several), labelled; `None` when the
/// guard stops it.
fn write_aged<B: Backend>(
    labeller: &Labeller,
    guard: &Option<Guard<B>>,
    subject: &Subject,
    moves: &[Move],
    aged: Vec<(f64, AgedFace)>,
    args: &EditArgs,
    format: &str,
) -> Result<Option<serde_json::Value>> {
    let images: Vec<DynamicImage> = aged.iter().map(|(_, f)| f.image.clone()).collect();
    if let Some(g) = guard {
        if g.check(&images).iter().any(|c| c.reproduces_training_face) {
            eprintln!(
                "{}: not written, an aged face shows a training face",
                subject.name()
            );
            return Ok(None);
        }
    }
    let judged: Vec<Option<f64>> = aged
        .iter()
        .map(|(_, f)| f.verdict.scores[Attribute::Age.index()])
        .collect();
    let targets: Vec<f64> = aged.iter().map(|(t, _)| *t).collect();
    let ages = targets
        .iter()
        .map(|t| format!("{t}"))
        .collect::<Vec<_>>()
        .join(",");
    let description = format!(
        "brought to age {ages} as judged by the age network (gender and head pose held){}",
        describe(moves, &args.keep)
    );
    let name = subject.name();
    let (path, labels) = if aged.len() == 1 {
        let path = args.out.join(format!("{name}-age-to{ages}.{format}"));
        let labels = labeller.write(&images[0], &subject.single(description), &path)?;
        (path, labels)
    } else {
        let path = args.out.join(format!("{name}-ages.{format}"));
        let strip = grid(&images, images.len());
        let labels = labeller.write(&strip, &subject.strip(description), &path)?;
        (path, labels)
    };
    Ok(Some(serde_json::json!({
        "subject": name, "path": path, "targets": targets, "judged_ages": judged, "labels": labels,
    })))
}

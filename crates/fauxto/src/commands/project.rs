//! `fauxto project`: the latent of a real photo's face — aligned as the model frames its
//! faces, then searched for in W and W+ — written beside the model's rendering of it, which
//! is labelled as a real person's photo rendered by the model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use clap::Args;
use fauxto_app::labels::{Depiction, Labeller};
use fauxto_edit::photo::{PhotoProjector, ProjectedPhoto};
use fauxto_edit::project::ProjectOptions;
use image::DynamicImage;

use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::images::ensure_dir;
use crate::on_device;
use crate::provenance::ProvenanceArgs;

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The photo(s) to project (each one's most confidently detected face).
    #[arg(required = true)]
    pub photos: Vec<PathBuf>,
    /// Model file (.safetensors); default: the bundled demo model, or $FAUXTO_MODEL.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output directory: per photo NAME.latent.safetensors (for `fauxto edit --latent`),
    /// NAME-projected.png (the model's rendering, labelled) and NAME-aligned.png (the
    /// photo's face as the projection saw it).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Optimisation steps (more: closer, slower).
    #[arg(long, default_value_t = ProjectOptions::default().steps)]
    pub steps: usize,
    /// Search W only (one w for every layer: more editable, less close).
    #[arg(long)]
    pub w_only: bool,
    /// Weight of the identity descriptor's squared distance in the loss (0: off).
    #[arg(long, default_value_t = ProjectOptions::default().identity_weight)]
    pub identity_weight: f64,
    /// Weight of the landmark network's squared error in the loss (0: off).
    #[arg(long, default_value_t = ProjectOptions::default().landmark_weight)]
    pub landmark_weight: f64,
    /// Seed of the search's noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
}

impl ProjectArgs {
    fn options(&self) -> ProjectOptions {
        ProjectOptions {
            steps: self.steps,
            plus: !self.w_only,
            identity_weight: self.identity_weight,
            landmark_weight: self.landmark_weight,
            seed: self.seed,
            ..ProjectOptions::default()
        }
    }
}

pub fn run(args: &ProjectArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &ProjectArgs) -> Result<()> {
    project::<Autodiff<B>>(device, args)
}

fn project<AB: AutodiffBackend>(device: &AB::Device, args: &ProjectArgs) -> Result<()> {
    if args.steps == 0 {
        anyhow::bail!("--steps 0: projection needs at least one step");
    }
    let model_path = resolve_model(args.model.as_deref())?;
    let model = load_model(&model_path)?;
    let labeller = Labeller::new(&model, &args.provenance.options(), 1.0, "const")?;
    crate::provenance::announce_keys(&labeller);
    let bar = crate::progress::spinner("framing the model's faces", args.json);
    let projector = PhotoProjector::<AB>::new(&model, device)?;
    bar.finish_and_clear();
    ensure_dir(&args.out)?;
    let mut stems = std::collections::HashSet::new();
    if let Some(twice) = args.photos.iter().find(|p| !stems.insert(p.file_stem())) {
        anyhow::bail!(
            "two photos named {}: their outputs would overwrite each other in {}; rename one \
             or project them into separate directories",
            twice.file_stem().unwrap_or_default().to_string_lossy(),
            args.out.display()
        );
    }
    let options = args.options();
    let several = args.photos.len() > 1;
    let mut reports = Vec::new();
    for photo in &args.photos {
        match one_photo(&projector, &labeller, photo, &options, args) {
            Ok(report) => reports.push(report),
            // One unreadable photo among many is reported, not fatal.
            Err(e) if several => {
                eprintln!("{}: {e:#}", photo.display());
                reports.push(serde_json::json!({"photo": photo, "error": format!("{e:#}")}));
            }
            Err(e) => return Err(e),
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(())
}

fn one_photo<AB: AutodiffBackend>(
    projector: &PhotoProjector<AB>,
    labeller: &Labeller,
    photo_path: &Path,
    options: &ProjectOptions,
    args: &ProjectArgs,
) -> Result<serde_json::Value> {
    let bytes = std::fs::read(photo_path)
        .with_context(|| format!("cannot read {}", photo_path.display()))?;
    let photo = fauxto_app::images::decode_image(&bytes)
        .with_context(|| format!("{}", photo_path.display()))?;
    let name = photo_path
        .file_name()
        .map_or_else(|| "photo".into(), |n| n.to_string_lossy().into_owned());
    let stem = photo_path
        .file_stem()
        .map_or_else(|| "photo".into(), |s| s.to_string_lossy().into_owned());
    let bar = crate::progress::bar(options.steps as u64, "projecting", args.json);
    let started = std::time::Instant::now();
    let ProjectedPhoto {
        latent,
        aligned,
        image,
        trace,
    } = projector
        .project(&photo, &name, &bytes, options, |_, _| bar.inc(1))
        .with_context(|| format!("{}", photo_path.display()))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    let latent_path = args.out.join(format!("{stem}.latent.safetensors"));
    latent.save(&latent_path)?;
    let aligned_path = args.out.join(format!("{stem}-aligned.png"));
    aligned
        .save(&aligned_path)
        .with_context(|| format!("writing {}", aligned_path.display()))?;
    let projected_path = args.out.join(format!("{stem}-projected.png"));
    let depiction = Depiction::FromPhoto {
        photo: latent.input_photo(),
        description: format!(
            "the model's rendering of a real person's photo, projected into {} \
             (PSNR {:.1} dB against the aligned photo)",
            if latent.plus { "W+" } else { "W" },
            latent.fidelity.psnr
        ),
    };
    let labels = labeller.write(&DynamicImage::ImageRgb8(image), &depiction, &projected_path)?;
    let f = &latent.fidelity;
    if !args.json {
        println!(
            "{}: PSNR {:.1} dB, descriptor distance {}, landmark error {}, age {} → {}, \
             P(female) {} → {} ({seconds:.1} s)",
            photo_path.display(),
            f.psnr,
            shown(f.descriptor_distance, 2),
            shown(f.landmark_error, 3),
            shown(f.age.map(|a| a.0), 0),
            shown(f.age.map(|a| a.1), 0),
            shown(f.female.map(|a| a.0), 2),
            shown(f.female.map(|a| a.1), 2),
        );
        println!("  {}", latent_path.display());
        println!("  {}", projected_path.display());
    }
    let last = trace.last().copied().unwrap_or_default();
    Ok(serde_json::json!({
        "photo": photo_path,
        "latent": latent_path,
        "aligned": aligned_path,
        "projected": projected_path,
        "plus": latent.plus,
        "fidelity": f,
        "final_loss": last,
        "seconds": seconds,
        "labels": labels,
    }))
}

fn shown(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.digits$}"))
}

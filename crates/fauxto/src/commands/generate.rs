//! `fauxto generate`: images from seeds, as the official `generate.py` makes them.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::args::{parse_psi, SeedList};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_app::pipeline::{Output, Pipeline, PipelineOptions};
use fauxto_nn::{NoiseMode, Truncation};

use super::memorisation::GuardArgs;
use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::images::{ensure_dir, grid};
use crate::on_device;
use crate::progress;
use crate::provenance::ProvenanceArgs;
use fauxto_app::labels::Depiction;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model file (.safetensors); default: the bundled demo model (faces, 64x64, trained
    /// on UTKFace: non-commercial research use only), or $FAUXTO_MODEL if set.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seeds, e.g. `0-9,42`; seed N gives the same latent as the official tools.
    #[arg(long, default_value = "0-3")]
    pub seeds: SeedList,
    /// Truncation ψ: 1 = no truncation, smaller = closer to the average image.
    #[arg(long, default_value_t = 1.0, value_parser = parse_psi)]
    pub trunc: f64,
    /// Truncate only the first N w layers (coarse styles).
    #[arg(long)]
    pub trunc_cutoff: Option<usize>,
    /// Noise inputs: const (fixed per model), random, none.
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    /// Class label for conditional models.
    #[arg(long)]
    pub class: Option<usize>,
    /// Output directory; images are named seed0042.png etc.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Image format of the files: png, jpg or webp.
    #[arg(long, default_value = "png")]
    pub format: String,
    /// Also write all images as one grid (grid.<format>).
    #[arg(long)]
    pub grid: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
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

pub fn run(args: &GenerateArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &GenerateArgs) -> Result<()> {
    let format = args.format.to_ascii_lowercase();
    if !matches!(format.as_str(), "png" | "jpg" | "jpeg" | "webp") {
        bail!("--format {format}: choose png, jpg or webp");
    }
    let model = load_model(&resolve_model(args.model.as_deref())?)?;
    ensure_dir(&args.out)?;
    let pipeline = Pipeline::<B>::new(
        device,
        &model,
        PipelineOptions {
            truncation: Truncation {
                psi: args.trunc,
                cutoff: args.trunc_cutoff,
            },
            noise: args.noise_mode,
            class: args.class,
            labels: args.provenance.options(),
            guard: args.guard.options(),
        },
    )?;
    crate::provenance::announce_keys(&pipeline.labeller);
    let labeller = &pipeline.labeller;
    if let (Some(guard), false) = (&pipeline.guard, args.json) {
        eprintln!(
            "memorisation guard: {} training faces ({}), threshold {}",
            guard.faces(),
            guard.index.display(),
            args.guard.guard_threshold
        );
    }
    let bar = progress::bar(args.seeds.0.len() as u64, "generating", args.json);
    let mut written = Vec::new();
    let mut rejected = Vec::new();
    let mut all = Vec::new();
    let path_of = |seed: u32| args.out.join(format!("seed{seed:04}.{format}"));
    for chunk in args.seeds.0.chunks(args.batch as usize) {
        for output in pipeline.run(chunk, &path_of)? {
            match output {
                Output::Rejected { seed, guard } => {
                    let n = guard.nearest.expect("a match has a nearest face");
                    bar.suspend(|| {
                        eprintln!(
                            "seed {seed}: not written, shows training image #{} (descriptor distance {:.3})",
                            n.image, n.distance
                        )
                    });
                    rejected.push(serde_json::json!({"seed": seed, "guard": guard}));
                }
                Output::Written {
                    seed,
                    path,
                    image,
                    guard,
                    labels,
                } => {
                    written.push(serde_json::json!({
                        "seed": seed, "path": path, "guard": guard, "labels": labels,
                    }));
                    if args.grid {
                        all.push((seed, image));
                    }
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if !rejected.is_empty() {
        let path = args.out.join("rejected.json");
        crate::images::write_bytes(&path, &serde_json::to_vec_pretty(&rejected)?)?;
    }
    if args.grid && !all.is_empty() {
        let cols = (all.len() as f64).sqrt().ceil() as usize;
        let path = args.out.join(format!("grid.{format}"));
        let (seeds, images): (Vec<u32>, Vec<_>) = all.into_iter().unzip();
        let depiction = Depiction::Composite {
            description: format!("grid of the images of {} seeds", seeds.len()),
            seeds,
            class: args.class,
        };
        let labels = labeller.write(&grid(&images, cols), &depiction, &path)?;
        written.push(serde_json::json!({"grid": path, "labels": labels}));
    }
    if args.json {
        let report = serde_json::json!({"written": written, "rejected": rejected});
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "wrote {} images to {}",
            args.seeds.0.len() - rejected.len(),
            args.out.display()
        );
        if !rejected.is_empty() {
            println!(
                "{} outputs showed a training face and were not written (listed in {})",
                rejected.len(),
                args.out.join("rejected.json").display()
            );
        }
    }
    Ok(())
}

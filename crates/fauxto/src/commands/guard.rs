//! `fauxto guard`: how often a model reproduces training identities. Generates N faces,
//! finds each one's nearest training face by identity descriptor (as `generate`'s guard
//! does: image and mirror image), and writes a report:
//! the fraction closer than the same-person threshold, the distance histogram as a PNG,
//! and the closest pairs side by side.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_face::{IdentityGuard, DEFAULT_THRESHOLD};
use image::{imageops, DynamicImage, RgbImage};
use serde_json::json;

use super::faces::{
    analyzer, dataset_frames, frame_of, open_dataset, open_index, training_index, DetectionArgs,
    SampleArgs,
};
use crate::backend::DeviceKind;
use crate::chart::{self, Histogram};
use crate::images::ensure_dir;
use crate::on_device;
use crate::provenance::ProvenanceArgs;
use fauxto_app::labels::Depiction;

#[derive(Debug, Args)]
pub struct GuardReportArgs {
    #[command(flatten)]
    pub sample: SampleArgs,
    /// Indexed training dataset (`fauxto index DATA`); default: the index registered
    /// for the model's training data.
    #[arg(long, value_name = "DATA")]
    pub index: Option<PathBuf>,
    /// Same-person distance threshold (see `generate --guard-threshold`).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f32,
    /// Closest pairs to show side by side.
    #[arg(long, default_value_t = 12)]
    pub pairs: usize,
    /// Report directory (report.json, distances.png, closest.png).
    #[arg(long, default_value = "guard-report")]
    pub out: PathBuf,
    #[command(flatten)]
    pub detection: DetectionArgs,
    /// Print the report as JSON, no progress bars.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
}

pub fn run(args: &GuardReportArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &GuardReportArgs) -> Result<()> {
    let (model_path, model) = args.sample.model()?;
    let (data_dir, index) = match &args.index {
        Some(dir) => (dir.clone(), open_index(dir)?),
        None => training_index(&model)?.context(
            "no face index is registered for this model's training data; \
             pass --index DATA (a dataset indexed with `fauxto index DATA`)",
        )?,
    };
    let guard = IdentityGuard::from_index(&index, args.threshold);
    ensure_dir(&args.out)?;

    let batch = args.detection.batch as usize;
    let (seeds, images) = args
        .sample
        .generate::<B>(device, &model, batch, args.json)?;
    let analyzer = analyzer::<B>(device)?;
    let options = args.detection.options();
    let bar = crate::progress::bar(images.len() as u64, "checking", args.json);
    let mut checks = Vec::with_capacity(images.len());
    for chunk in images.chunks(batch.max(1)) {
        let frames: Vec<_> = chunk.iter().map(frame_of).collect();
        checks.extend(guard.check(&analyzer, &frames, &options));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    // (seed position, training image, distance) for every output with a descriptor.
    let mut matches: Vec<(usize, usize, f32)> = checks
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.nearest.map(|n| (i, n.image, n.distance)))
        .collect();
    matches.sort_by(|a, b| a.2.total_cmp(&b.2));
    let distances: Vec<f64> = matches.iter().map(|m| m.2 as f64).collect();
    let within = checks.iter().filter(|c| c.reproduces_training_face).count();
    let detected = checks.iter().filter(|c| c.detected).count();

    let (bins, range) = (30, (0.0, 1.5));
    let counts = chart::histogram(&distances, bins, range);
    let plot = chart::render_histogram(
        &Histogram {
            title: format!(
                "Nearest training identity of {} generated faces ({} within {})",
                matches.len(),
                within,
                args.threshold
            ),
            x_label: "descriptor distance to the nearest training face".into(),
            y_label: "generated faces".into(),
            range,
            counts: counts.clone(),
            marker: Some((
                args.threshold as f64,
                format!("same person < {}", args.threshold),
            )),
        },
        900,
        520,
    );
    let labeller = args
        .provenance
        .labeller(&model, args.sample.trunc, "const")?;
    labeller.write(
        &DynamicImage::ImageRgb8(plot),
        &Depiction::Chart {
            description: format!(
                "memorisation report: distances of {} generated faces to their nearest training face",
                seeds.len()
            ),
        },
        &args.out.join("distances.png"),
    )?;

    let data = open_dataset(&data_dir)?;
    let shown: Vec<_> = matches.iter().take(args.pairs).collect();
    let mut panels = Vec::new();
    let mut captions = Vec::new();
    for &&(i, image, distance) in &shown {
        let train = dataset_frames(&data, image..image + 1)?.remove(0);
        let train = RgbImage::from_raw(train.width as u32, train.height as u32, train.to_rgb8())
            .expect("RGB frame");
        panels.push(side_by_side(&images[i], &train));
        // "seed ~ training image  distance", short enough for the panel width.
        captions.push(format!("{} ~ #{image}  {distance:.2}", seeds[i]));
    }
    if !panels.is_empty() {
        let depiction = Depiction::WithTrainingPhotos {
            seeds: shown.iter().map(|&&(i, _, _)| seeds[i]).collect(),
            description: format!(
                "memorisation report: the {} generated faces closest to a training face, each \
                 beside that real training photo",
                shown.len()
            ),
        };
        labeller.write(
            &DynamicImage::ImageRgb8(chart::panel_grid(&panels, &captions, 4)),
            &depiction,
            &args.out.join("closest.png"),
        )?;
    }

    let quantile = |q: f64| {
        (!distances.is_empty())
            .then(|| distances[((distances.len() - 1) as f64 * q).round() as usize])
    };
    let names = &data.manifest().images;
    let report = json!({
        "model": model_path,
        "model_sha256": model.sha256,
        "index": data_dir,
        "training_faces": guard.len(),
        "generated": seeds.len(),
        "seeds": format!("{}-{}", seeds[0], seeds[seeds.len() - 1]),
        "truncation_psi": args.sample.trunc,
        "face_detected": detected,
        "threshold": args.threshold,
        "within_threshold": within,
        "fraction_within_threshold": within as f64 / matches.len().max(1) as f64,
        "distance": {
            "min": quantile(0.0), "p01": quantile(0.01), "p05": quantile(0.05),
            "median": quantile(0.5), "max": quantile(1.0),
        },
        "histogram": { "range": range, "bins": bins, "counts": counts },
        "closest": shown.iter().map(|&&(i, image, distance)| json!({
            "seed": seeds[i],
            "training_image": image,
            "training_name": names.get(image).map(|m| m.name.clone()),
            "distance": distance,
        })).collect::<Vec<_>>(),
        "files": ["report.json", "distances.png", "closest.png"],
    });
    crate::images::write_bytes(
        &args.out.join("report.json"),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{within} of {} generated faces ({:.2} %) are closer than {} to a training face \
             (nearest distance: min {:.3}, median {:.3}); report in {}",
            matches.len(),
            100.0 * within as f64 / matches.len().max(1) as f64,
            args.threshold,
            quantile(0.0).unwrap_or(f64::NAN),
            quantile(0.5).unwrap_or(f64::NAN),
            args.out.display()
        );
    }
    Ok(())
}

/// A generated face and a training face, scaled to the same height, next to each other.
fn side_by_side(generated: &DynamicImage, training: &RgbImage) -> RgbImage {
    let side = training.height().max(generated.height()).max(144);
    let a = imageops::resize(
        &generated.to_rgb8(),
        side,
        side,
        imageops::FilterType::Lanczos3,
    );
    let b = imageops::resize(training, side, side, imageops::FilterType::Lanczos3);
    let mut out = RgbImage::new(2 * side, side);
    imageops::replace(&mut out, &a, 0, 0);
    imageops::replace(&mut out, &b, side as i64, 0);
    out
}

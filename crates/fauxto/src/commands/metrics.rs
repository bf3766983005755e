//! `fauxto metrics`: generator quality in face-descriptor space, offline — Fréchet
//! distance, kernel distance (KID) and k-NN precision/recall between N generated faces
//! and the training faces of an indexed dataset. Results go into the model card.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_face::index::DESCRIPTOR_DIM;
use fauxto_face::metrics::{Descriptors, FaceSpaceMetrics};
use fauxto_face::{FaceRecord, FaceStatus};
use fauxto_nn::model_file::card_path;
use serde_json::json;

use image::{imageops, DynamicImage, RgbImage};

use super::faces::{
    analyze_aligned, analyzer, open_dataset, open_index, DetectionArgs, SampleArgs,
};
use crate::backend::DeviceKind;
use crate::on_device;

/// Heading of the model card section this command writes.
const CARD_SECTION: &str = "## Face-space metrics";

#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub sample: SampleArgs,
    /// The training dataset, indexed with `fauxto index DATA`.
    #[arg(long)]
    pub data: PathBuf,
    /// Do not write the results into the model card (`<model>.md`).
    #[arg(long)]
    pub no_card: bool,
    /// Score N real training faces brought down to RES x RES pixels (Lanczos, as
    /// `fauxto dataset` resizes) and analysed as generated faces are, instead of a model's
    /// faces: the floor, the best a perfect generator of that size could score. No model is
    /// read and no card is written.
    #[arg(long, value_name = "RES", value_parser = clap::value_parser!(u32).range(16..=4096))]
    pub floor: Option<u32>,
    #[command(flatten)]
    pub detection: DetectionArgs,
    /// Print the results as JSON, no progress bars.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub fn run(args: &MetricsArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &MetricsArgs) -> Result<()> {
    if let Some(res) = args.floor {
        return floor::<B>(device, args, res);
    }
    let (model_path, model) = args.sample.model()?;
    let index = open_index(&args.data)?;
    let real = descriptors(&index.records);
    let (seeds, generated) =
        args.sample
            .generate_records::<B>(device, &model, &args.detection, args.json)?;
    let fake = descriptors(&generated);
    let metrics = FaceSpaceMetrics::compute_balanced(
        Descriptors::new(&real, DESCRIPTOR_DIM)?,
        Descriptors::new(&fake, DESCRIPTOR_DIM)?,
    )
    .context("face-space metrics")?;
    let report = json!({
        "model": model_path,
        "model_sha256": model.sha256,
        "data": args.data,
        "truncation_psi": args.sample.trunc,
        "metrics": metrics,
    });
    if !args.no_card {
        super::card::update_section(
            &model_path,
            CARD_SECTION,
            &card_section(&metrics, &args.data, args.sample.trunc, &seeds),
        )?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "face-space metrics, {} generated vs {} training faces (ψ = {}):\n  \
             Fréchet distance   {:.4}\n  kernel distance    {:.5} ± {:.5}\n  \
             precision (k = 3)  {:.3}\n  recall (k = 3)     {:.3}",
            metrics.n_fake,
            metrics.n_real,
            args.sample.trunc,
            metrics.frechet,
            metrics.kernel,
            metrics.kernel_std,
            metrics.precision,
            metrics.recall
        );
        if !args.no_card {
            println!("written to {}", card_path(&model_path).display());
        }
    }
    Ok(())
}

/// `--floor RES`: N training faces, evenly spaced over the dataset, brought to RES pixels
/// and analysed as generated faces are, scored against the index as a model's faces are.
fn floor<B: Backend>(device: &B::Device, args: &MetricsArgs, res: u32) -> Result<()> {
    let index = open_index(&args.data)?;
    let data = open_dataset(&args.data)?;
    if data.channels() != 3 {
        anyhow::bail!(
            "--floor needs an RGB dataset; {} has {} channels",
            args.data.display(),
            data.channels()
        );
    }
    let n = (args.sample.n as usize).min(data.len());
    let side = data.resolution() as u32;
    let mut buf = vec![0u8; data.image_bytes()];
    let mut images = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for k in 0..n {
        // Midway between the training faces precision and recall compare against (evenly
        // spaced from the first), so that no face is scored against its own original there.
        let row = (2 * k + 1) * data.len() / (2 * n);
        data.read_image(row, &mut buf)
            .with_context(|| format!("reading image {row} of {}", args.data.display()))?;
        let img = RgbImage::from_raw(side, side, buf.clone()).context("an RGB image")?;
        images.push(DynamicImage::ImageRgb8(imageops::resize(
            &img,
            res,
            res,
            imageops::FilterType::Lanczos3,
        )));
        rows.push(row);
    }
    let options = args.detection.aligned_options();
    let analyzer = analyzer::<B>(device)?;
    let records = analyze_aligned(&analyzer, &images, &options, args.json);
    let metrics = FaceSpaceMetrics::compute_balanced(
        Descriptors::new(&descriptors(&index.records), DESCRIPTOR_DIM)?,
        Descriptors::new(&descriptors(&records), DESCRIPTOR_DIM)?,
    )
    .context("face-space metrics")?;
    if args.json {
        let report = json!({
            "floor_resolution": res,
            "data": args.data,
            "training_images": rows.len(),
            "metrics": metrics,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "face-space floor: {} training faces at {res}x{res} vs {} training faces:\n  \
             Fréchet distance   {:.4}\n  kernel distance    {:.5} ± {:.5}\n  \
             precision (k = 3)  {:.3}\n  recall (k = 3)     {:.3}",
            metrics.n_fake,
            metrics.n_real,
            metrics.frechet,
            metrics.kernel,
            metrics.kernel_std,
            metrics.precision,
            metrics.recall
        );
    }
    Ok(())
}

/// The descriptors of the records that have one, row after row.
fn descriptors(records: &[FaceRecord]) -> Vec<f32> {
    records
        .iter()
        .filter(|r| r.status != FaceStatus::Missing)
        .flat_map(|r| r.descriptor.iter().copied())
        .collect()
}

fn card_section(m: &FaceSpaceMetrics, data: &Path, psi: f64, seeds: &[u32]) -> String {
    format!(
        "{CARD_SECTION}\n\n\
         {} generated faces (seeds {}–{}, ψ = {psi}) against {} training faces of `{}`, in the \
         128-D identity-descriptor space of face-api's recognition network (`fauxto metrics`):\n\n\
         | metric | value |\n| --- | --- |\n\
         | Fréchet distance | {:.4} |\n| kernel distance (KID) | {:.5} ± {:.5} |\n\
         | precision (k = 3) | {:.3} |\n| recall (k = 3) | {:.3} |\n\n\
         Precision and recall compare equal numbers of generated and training faces (the \
         training faces evenly spaced over the index); the distances use all of them.\n",
        m.n_fake,
        seeds.first().copied().unwrap_or(0),
        seeds.last().copied().unwrap_or(0),
        m.n_real,
        data.display(),
        m.frechet,
        m.kernel,
        m.kernel_std,
        m.precision,
        m.recall
    )
}

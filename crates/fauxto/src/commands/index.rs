//! `fauxto index DATA`: the face index of a packed dataset — descriptor, age, gender,
//! expression and pose of every image, stored beside it (`faces.json`, `faces.f32`) for
//! the memorisation guard, the diversity report and the face-space metrics. Resumes where
//! an interrupted run stopped.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_face::{FaceStatus, IndexHeader, IndexWriter};

use super::faces::{
    analyzer, dataset_frames, open_dataset, records_of, register_index, DetectionArgs,
};
use crate::backend::DeviceKind;
use crate::on_device;
use crate::progress;

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Packed dataset directory (from `fauxto dataset`).
    pub data: PathBuf,
    /// Discard an existing index (of this or another dataset) and start over.
    #[arg(long)]
    pub restart: bool,
    /// Images analysed between two durable writes.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk: u32,
    #[command(flatten)]
    pub detection: DetectionArgs,
    /// Print the summary as JSON, no progress bar.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub fn run(args: &IndexArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &IndexArgs) -> Result<()> {
    let data = open_dataset(&args.data)?;
    let header = IndexHeader::new(
        data.manifest_digest(),
        &data.manifest().merkle_root,
        data.len(),
        &args.detection.describe(),
    );
    let mut writer = IndexWriter::open(&args.data, &header, args.restart)?;
    let resumed_at = writer.done();
    let analyzer = analyzer::<B>(device)?;
    let options = args.detection.aligned_options();
    let bar = progress::bar(data.len() as u64, "faces", args.json);
    bar.set_position(resumed_at as u64);
    bar.reset_eta();
    let started = Instant::now();
    let mut counts = [0usize; 3];
    let chunk = args.chunk as usize;
    while writer.done() < data.len() {
        let start = writer.done();
        let end = (start + chunk).min(data.len());
        let frames = dataset_frames(&data, start..end)?;
        for record in records_of(&analyzer, &frames, &options) {
            counts[record.status as usize] += 1;
            writer.push(&record)?;
        }
        writer.sync()?;
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();
    register_index(&header.merkle_root, &args.data)?;
    let seconds = started.elapsed().as_secs_f64();
    let analysed = data.len() - resumed_at;
    let summary = serde_json::json!({
        "data": args.data,
        "images": data.len(),
        "analysed_now": analysed,
        "resumed_at": resumed_at,
        "detected": counts[FaceStatus::Detected as usize],
        "whole_image": counts[FaceStatus::WholeImage as usize],
        "seconds": seconds,
        "images_per_s": analysed as f64 / seconds.max(1e-9),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "indexed {} images of {} ({} now, from {resumed_at}) in {seconds:.1} s, {:.1} images/s; \
             face detected in {} of those analysed now, whole image used for {}",
            data.len(),
            args.data.display(),
            analysed,
            summary["images_per_s"].as_f64().unwrap_or(0.0),
            counts[FaceStatus::Detected as usize],
            counts[FaceStatus::WholeImage as usize],
        );
    }
    Ok(())
}

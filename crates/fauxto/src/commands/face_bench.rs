//! `fauxto bench-faces IMAGE...`: throughput of the face networks, batched, as one JSON
//! line — `bench/faces.sh` runs face-api on tfjs-wasm over the same images beside it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_face::{Frame, StageTimes};

use super::faces::{analyzer, load_frame, DetectionArgs};
use crate::backend::DeviceKind;
use crate::on_device;

#[derive(Debug, Args)]
pub struct FaceBenchArgs {
    /// Face images (one face each, e.g. the fixture faces of crates/fauxto-face).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Timed passes over the images.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub iters: u32,
    #[command(flatten)]
    pub detection: DetectionArgs,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

pub fn run(args: &FaceBenchArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &FaceBenchArgs) -> Result<()> {
    let analyzer = analyzer::<B>(device)?;
    let frames: Vec<Frame> = args
        .images
        .iter()
        .map(|p| load_frame(p))
        .collect::<Result<_>>()?;
    let options = args.detection.aligned_options();
    let batch = options.batch;
    // Warm-up: one call, untimed.
    let warm: Vec<Frame> = frames.iter().take(batch).cloned().collect();
    analyzer.analyze(&warm, &options);
    // Timed: `iters` passes over the images, `batch` images per call.
    let all: Vec<&Frame> = std::iter::repeat_n(&frames, args.iters as usize)
        .flatten()
        .collect();
    let mut times = StageTimes::default();
    let mut faces = 0usize;
    let mut wall = Duration::ZERO;
    for chunk in all.chunks(batch) {
        let chunk: Vec<Frame> = chunk.iter().map(|f| (*f).clone()).collect();
        let started = Instant::now();
        let (results, t) = analyzer.analyze_timed(&chunk, &options);
        wall += started.elapsed();
        faces += results.iter().map(Vec::len).sum::<usize>();
        times += t;
    }
    let rate = |d: Duration| faces as f64 / d.as_secs_f64().max(1e-9);
    let line = serde_json::json!({
        "impl": "fauxto",
        "batch": batch,
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "faces": faces,
        "descriptor": { "faces_per_s": rate(times.descriptor) },
        "age_gender": { "faces_per_s": rate(times.age_gender) },
        "expression": { "faces_per_s": rate(times.expression) },
        "landmarks": { "faces_per_s": rate(times.landmarks) },
        "detector": { "images_per_s": rate(times.detector) },
        "pipeline": { "faces_per_s": rate(wall) },
    });
    println!("{line}");
    Ok(())
}

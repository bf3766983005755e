//! `library add` throughput and how well it overlaps its two halves (`bench/library_add.sh`).
//!
//!     add_bench --model M --seeds N [--stage-seeds S] [--batch 16]
//!
//! Times, on the CPU, in one run: rendering S seeds alone; analysing those S images alone
//! (the face networks, as `add` calls them); then a whole `add` of N seeds into a fresh
//! embedded library (rendering one batch ahead of analysis, guard, labels, files,
//! catalogue). Prints JSON: rates in outputs per second and `add`'s rate as a fraction of
//! the slower half alone.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::backend::Flex;
use fauxto_app::guard::{frame_of, GuardOptions};
use fauxto_app::labels::LabelOptions;
use fauxto_app::render::Renderer;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer};
use fauxto_library::add::{add, AddOptions, DEFAULT_DEDUPE_THRESHOLD, DEFAULT_MIN_SCORE};
use fauxto_library::{Library, Location};
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::{NoiseMode, Truncation};
use serde_json::json;

type B = Flex;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let model_path = std::path::PathBuf::from(arg("--model").context("--model M")?);
    let seeds: u32 = arg("--seeds").context("--seeds N")?.parse()?;
    let stage: u32 = arg("--stage-seeds").map_or(Ok(512), |s| s.parse())?;
    let batch: usize = arg("--batch").map_or(Ok(16), |s| s.parse())?;
    let device = Default::default();
    let model = ModelFile::load(&model_path)?;
    let truncation = Truncation {
        psi: 1.0,
        cutoff: None,
    };

    let renderer = Renderer::<B>::new(&model, &device)?;
    let stage_seeds: Vec<u32> = (seeds..seeds + stage).collect();
    let t = Instant::now();
    let mut images = Vec::new();
    for chunk in stage_seeds.chunks(batch) {
        images.extend(renderer.render(chunk, truncation, NoiseMode::Const, None)?);
    }
    let render_rate = stage as f64 / t.elapsed().as_secs_f64();

    let analyzer = FaceAnalyzer::<B>::embedded(&device)?;
    let t = Instant::now();
    for chunk in images.chunks(batch) {
        let frames: Vec<_> = chunk.iter().map(frame_of).collect();
        analyzer.analyze(&frames, &AnalyzeOptions::default());
    }
    let analyse_rate = stage as f64 / t.elapsed().as_secs_f64();

    let dir = std::env::temp_dir().join(format!("fauxto-add-bench-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let library = rt.block_on(Library::init(&Location::Embedded(dir.clone()), None))?;
    let keys = dir.join("keys");
    let options = AddOptions {
        model: model_path.clone(),
        seeds: (0..seeds).collect(),
        job: None,
        truncation: 1.0,
        batch,
        range_size: 128,
        min_score: DEFAULT_MIN_SCORE,
        dedupe_threshold: DEFAULT_DEDUPE_THRESHOLD,
        labels: LabelOptions {
            keys: Some(keys),
            ..LabelOptions::default()
        },
        guard: GuardOptions::default(),
    };
    let report = add::<B>(rt.handle(), &library, &device, &options, &|done, total| {
        if done % 1024 < 128 {
            eprintln!("{done}/{total}");
        }
    })?;
    let add_rate = report.this_run.total() as f64 / report.seconds;
    let slower = render_rate.min(analyse_rate);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "model": model_path,
            "resolution": model.info.generator.img_resolution,
            "batch": batch,
            "render_alone_per_s": render_rate,
            "analyse_alone_per_s": analyse_rate,
            "add_outputs": report.this_run.total(),
            "add_seconds": report.seconds,
            "add_outputs_per_s": add_rate,
            "add_catalogued": report.this_run.added,
            "counts": report.this_run,
            "overlap_efficiency": add_rate / slower,
            "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        }))?
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

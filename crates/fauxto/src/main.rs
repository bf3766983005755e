//! `fauxto`: make photographs of people who do not exist, and make every one accountable.
//!
//! A thin command-line front end over the fauxto crates; each subcommand lives in
//! `commands/`.

mod allocator;
mod backend;
mod chart;
mod commands;
mod images;
mod progress;
mod provenance;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::{
    analyze, anonymize, bench, credentials, dataset, detector, directions, edit, export_onnx,
    face_bench, generate, guard, import, index, info, init_model, interpolate, library, metrics,
    mix, project, report, studio, train, watermark,
};

#[derive(Debug, Parser)]
#[command(
    name = "fauxto",
    version,
    about = "Make photographs of people who do not exist, and make every one of them accountable",
    long_about = "fauxto trains and runs StyleGAN2 generators. Seeds mean the same images as in \
                  the official StyleGAN2-ADA tools for the same weights.\n\n\
                  Quick start:\n  fauxto init-model --preset small --res 64 --out model.safetensors\n  \
                  fauxto generate --model model.safetensors --seeds 0-7 --grid --out out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a randomly initialised model file (for tests, benchmarks, training).
    InitModel(init_model::InitModelArgs),
    /// Generate images from seeds.
    Generate(generate::GenerateArgs),
    /// Style-mixing grid: row seeds with some style layers from column seeds.
    Mix(mix::MixArgs),
    /// Animate a walk through W from seed to seed (GIF).
    Interpolate(interpolate::InterpolateArgs),
    /// Learn a model's attribute directions (age, gender, smile, yaw, pitch) from faces the
    /// face networks score; `--evaluate` measures how well they edit.
    Directions(directions::DirectionsArgs),
    /// Edit a seed's face with attribute sliders (--age +15 --smile 1 --yaw -20), or a strip
    /// of frames along one.
    Edit(edit::EditArgs),
    /// Look-alikes of a photo's face: its age, gender, expression and pose, another identity.
    Anonymize(anonymize::AnonymizeArgs),
    /// Find the latent of a real photo's face (W, then W+), for `edit --latent`.
    Project(project::ProjectArgs),
    /// Show what a model file holds.
    Info(info::InfoArgs),
    /// Import an official StyleGAN2-ADA network pickle or PyTorch state dict (nothing in it runs).
    Import(import::ImportArgs),
    /// Export the generator as ONNX (standard operators; onnxruntime, browsers, TensorRT).
    ExportOnnx(export_onnx::ExportOnnxArgs),
    /// Pack a folder or zip of images into a training dataset with a manifest.
    Dataset(dataset::DatasetArgs),
    /// Train a StyleGAN2 generator on a packed dataset (resumable).
    Train(Box<train::TrainArgs>),
    /// Measure generation throughput (images/s) of a preset on this machine.
    Bench(bench::BenchArgs),
    /// Embed or detect the invisible watermark (48-bit payload; survives JPEG, resizing, crops).
    Watermark(watermark::WatermarkArgs),
    /// Manage the local signing identity for Content Credentials.
    Keys(credentials::KeysArgs),
    /// Sign an authentic photo with a Content Credential (digital capture).
    Sign(credentials::SignArgs),
    /// Show and check an image's Content Credential and watermark.
    Verify(credentials::VerifyArgs),
    /// Train or evaluate the GAN-image detector (`detector train`, `detector eval`).
    Detector(detector::DetectorArgs),
    /// The probability that images were made by a GAN (the shipped detector, or --detector).
    Detect(detector::DetectArgs),
    /// Find faces in photos: box, landmarks, head pose, age, gender, expression, identity.
    Analyze(analyze::AnalyzeArgs),
    /// Analyse every face of a packed dataset once and store it beside it (resumable).
    Index(index::IndexArgs),
    /// Memorisation report: how often generated faces show a training identity.
    Guard(guard::GuardReportArgs),
    /// Reports on a model's outputs (`diversity`: attributes against the training set).
    Report(report::ReportArgs),
    /// Face-space quality metrics (Fréchet, KID, precision/recall) against training faces.
    Metrics(metrics::MetricsArgs),
    /// Measure the face networks' throughput (faces/s) on this machine.
    BenchFaces(face_bench::FaceBenchArgs),
    /// A searchable library of generated faces: init, add, search, similar, export, stats.
    Library(library::LibraryArgs),
    /// The web studio and HTTP API over a library (and its API keys: `studio keys`).
    Studio(studio::StudioArgs),
}

fn main() -> ExitCode {
    allocator::tune_for_tensors();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FAUXTO_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::InitModel(a) => init_model::run(a),
        Command::Import(a) => import::run(a),
        Command::ExportOnnx(a) => export_onnx::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Mix(a) => mix::run(a),
        Command::Interpolate(a) => interpolate::run(a),
        Command::Directions(a) => directions::run(a),
        Command::Edit(a) => edit::run(a),
        Command::Anonymize(a) => anonymize::run(a),
        Command::Project(a) => project::run(a),
        Command::Info(a) => info::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Train(a) => train::run(a),
        Command::Dataset(a) => dataset::run(a),
        Command::Watermark(a) => watermark::run(a),
        Command::Keys(a) => credentials::keys(a),
        Command::Sign(a) => credentials::sign(a),
        Command::Verify(a) => credentials::verify(a),
        Command::Detector(a) => detector::run(a),
        Command::Detect(a) => detector::run_detect(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Index(a) => index::run(a),
        Command::BenchFaces(a) => face_bench::run(a),
        Command::Guard(a) => guard::run(a),
        Command::Report(a) => report::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Library(a) => library::run(a),
        Command::Studio(a) => studio::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! What the face commands (`analyze`, `index`, `guard`, `report diversity`, `metrics`)
//! share: detection options, image loading, and running the face networks over a packed
//! dataset or over generated images.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_data::PackedDataset;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer, FaceRecord, Frame};
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::{NoiseMode, Truncation};
use image::DynamicImage;

use crate::progress;
use fauxto_app::render::Renderer;

/// Detector settings (face-api's tiny face detector).
#[derive(Debug, Clone, Args)]
pub struct DetectionArgs {
    /// Minimum detector confidence for a face.
    #[arg(long, default_value_t = 0.5)]
    pub min_score: f64,
    /// Detector input side in pixels (multiple of 32; default: from the image size,
    /// 160–416). Larger finds smaller faces, slower.
    #[arg(long, value_parser = parse_input_size)]
    pub input_size: Option<usize>,
    /// Black border added around each image before detection, as a fraction of its
    /// longest side (tight face crops need context to be found).
    #[arg(long, default_value_t = 0.125)]
    pub border: f64,
    /// Faces per network call.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
}

fn parse_input_size(s: &str) -> Result<usize, String> {
    let v: usize = s.parse().map_err(|e| format!("{e}"))?;
    if v == 0 || !v.is_multiple_of(32) || v > 2048 {
        return Err("must be a positive multiple of 32, at most 2048".into());
    }
    Ok(v)
}

impl DetectionArgs {
    pub fn options(&self) -> AnalyzeOptions {
        AnalyzeOptions {
            score_threshold: self.min_score,
            input_size: self.input_size,
            border: self.border,
            batch: self.batch as usize,
            ..AnalyzeOptions::default()
        }
    }

    /// One face per image, the whole image when nothing is detected: for aligned face
    /// crops (datasets, generated portraits).
    pub fn aligned_options(&self) -> AnalyzeOptions {
        AnalyzeOptions {
            max_faces: Some(1),
            whole_image_fallback: true,
            ..self.options()
        }
    }

    /// Describes the settings, recorded in index headers.
    pub fn describe(&self) -> String {
        format!(
            "face-api 1.7.15 networks; tiny face detector min score {}, input {}, border {}; \
             one face per image, whole image when none is detected",
            self.min_score,
            self.input_size
                .map_or("auto".to_string(), |s| s.to_string()),
            self.border
        )
    }
}

pub use fauxto_app::guard::frame_of;

/// Decodes an image file, with an error that names it.
pub fn load_frame(path: &Path) -> Result<Frame> {
    Ok(frame_of(&fauxto_app::images::load_image(path)?))
}

/// Loads the face networks compiled into the binary.
pub fn analyzer<B: Backend>(device: &B::Device) -> Result<FaceAnalyzer<B>> {
    FaceAnalyzer::embedded(device).context("cannot load the face networks")
}

/// Images `range` of a packed dataset as RGB frames (grey datasets replicated to three
/// channels); a dataset of another channel count is an error.
pub fn dataset_frames(data: &PackedDataset, range: std::ops::Range<usize>) -> Result<Vec<Frame>> {
    let (res, bytes, channels) = (data.resolution(), data.image_bytes(), data.channels());
    if channels != 1 && channels != 3 {
        anyhow::bail!(
            "the face networks read RGB or grey images; this dataset has {channels} channels"
        );
    }
    let mut buf = vec![0u8; bytes];
    range
        .map(|i| {
            data.read_image(i, &mut buf)?;
            let rgb: Vec<u8> = if channels == 1 {
                buf.iter().flat_map(|&v| [v, v, v]).collect()
            } else {
                buf.clone()
            };
            Frame::from_rgb8(res, res, &rgb).context("packed image of an unexpected size")
        })
        .collect()
}

/// One face per aligned image (best detection, else the whole image), as index records.
pub fn records_of(
    analyzer: &FaceAnalyzer<impl Backend>,
    frames: &[Frame],
    options: &AnalyzeOptions,
) -> Vec<FaceRecord> {
    analyzer
        .analyze(frames, options)
        .iter()
        .map(|faces| {
            faces
                .first()
                .map_or_else(FaceRecord::missing, FaceRecord::from_face)
        })
        .collect()
}

/// The packed dataset in `dir`, with an error that names it.
pub fn open_dataset(dir: &Path) -> Result<PackedDataset> {
    PackedDataset::open(dir).with_context(|| format!("cannot open dataset {}", dir.display()))
}

pub use fauxto_app::registry::{open_index, register_index, training_index};

/// The generated faces a report is about.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// Model file; default: the bundled demo model (or $FAUXTO_MODEL).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Faces to generate (seeds START..START+N).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    pub start_seed: u32,
    /// Truncation ψ of the generated faces.
    #[arg(long, default_value_t = 1.0)]
    pub trunc: f64,
}

impl SampleArgs {
    /// The model file (given, `$FAUXTO_MODEL` or the demo model) and its path.
    pub fn model(&self) -> Result<(PathBuf, ModelFile)> {
        let path = super::resolve_model(self.model.as_deref())?;
        let model = super::load_model(&path)?;
        Ok((path, model))
    }

    /// The seeds and the faces `model` makes for them, `batch` per pass.
    pub fn generate<B: Backend>(
        &self,
        device: &B::Device,
        model: &ModelFile,
        batch: usize,
        quiet: bool,
    ) -> Result<(Vec<u32>, Vec<DynamicImage>)> {
        let seeds: Vec<u32> = (0..self.n)
            .map(|i| self.start_seed.wrapping_add(i))
            .collect();
        let images = generate_images::<B>(device, model, &seeds, self.trunc, batch, quiet)?;
        Ok((seeds, images))
    }

    /// The seeds and one face record per generated image (aligned analysis).
    pub fn generate_records<B: Backend>(
        &self,
        device: &B::Device,
        model: &ModelFile,
        detection: &DetectionArgs,
        quiet: bool,
    ) -> Result<(Vec<u32>, Vec<FaceRecord>)> {
        let options = detection.aligned_options();
        let (seeds, images) = self.generate::<B>(device, model, options.batch, quiet)?;
        let analyzer = analyzer::<B>(device)?;
        Ok((seeds, analyze_aligned(&analyzer, &images, &options, quiet)))
    }
}

/// Images from `model` for `seeds` at truncation `psi` (constant noise, no class), in
/// batches of `batch`, with a progress bar unless `quiet`.
pub fn generate_images<B: Backend>(
    device: &B::Device,
    model: &ModelFile,
    seeds: &[u32],
    psi: f64,
    batch: usize,
    quiet: bool,
) -> Result<Vec<DynamicImage>> {
    let cfg = &model.info.generator;
    if cfg.c_dim > 0 {
        anyhow::bail!(
            "conditional models are not supported here (the model has {} classes)",
            cfg.c_dim
        );
    }
    let renderer = Renderer::<B>::new(model, device)?;
    let truncation = Truncation { psi, cutoff: None };
    let bar = progress::bar(seeds.len() as u64, "generating", quiet);
    let mut out = Vec::with_capacity(seeds.len());
    for chunk in seeds.chunks(batch.max(1)) {
        out.extend(renderer.render(chunk, truncation, NoiseMode::Const, None)?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// One face per aligned image (best detection, else the whole image), in batches, with a
/// progress bar unless `quiet`.
pub fn analyze_aligned<B: Backend>(
    analyzer: &FaceAnalyzer<B>,
    images: &[DynamicImage],
    options: &AnalyzeOptions,
    quiet: bool,
) -> Vec<FaceRecord> {
    let bar = progress::bar(images.len() as u64, "analysing", quiet);
    let mut out = Vec::with_capacity(images.len());
    for chunk in images.chunks(options.batch.max(1)) {
        let frames: Vec<Frame> = chunk.iter().map(frame_of).collect();
        out.extend(records_of(analyzer, &frames, options));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    out
}

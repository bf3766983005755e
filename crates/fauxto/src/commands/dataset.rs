//! `fauxto dataset`: pack a folder or zip of images into a training dataset with a
//! training-data manifest (the format is described in `fauxto_data`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, ValueEnum};
use fauxto_data::{build_dataset, Crop, DatasetOptions, Filter, Progress};

use crate::progress;

/// How non-square images are made square.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CropArg {
    /// Cut the largest centred square.
    Center,
    /// Do not crop: images that are not square are skipped.
    None,
}

/// The resampling filter.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FilterArg {
    /// Lanczos (3 lobes): sharp, for any scale factor.
    Lanczos,
    /// Exact area averaging, for integer downscale factors (e.g. 256 → 64); an image of
    /// another size is resized with Lanczos instead, and counted in the summary.
    Box,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "Image files (.png, .jpg, .jpeg, .webp; decoded by content) are taken in sorted path \
    order, converted to 8-bit RGB (grayscale replicated, alpha dropped, 16-bit scaled, EXIF \
    orientation applied), cropped to a square and resized to --res. Unreadable, truncated or \
    non-image files are reported and skipped; files with the same bytes as an earlier one are \
    reported as duplicates and used once; zip entries with absolute or `..` paths are refused. \
    Other files (.csv, .txt, ...) are ignored.\n\n\
    DATA gets images.u8 (raw RGB pixels), dataset.json (count, resolution, labels) and \
    manifest.json (source, licence, the SHA-256 of every source file, their Merkle root, \
    what was skipped). It is written under a temporary name and renamed when complete.\n\n\
    Example:\n  fauxto dataset faces.zip --out data/faces64 --res 64 --labels labels.csv \
    --license \"CC BY 4.0\""
)]
pub struct DatasetArgs {
    /// A folder of images (searched recursively) or a .zip of images.
    pub src: PathBuf,
    /// The dataset directory to create (DATA).
    #[arg(long, value_name = "DATA")]
    pub out: PathBuf,
    /// Width and height of the packed images: a power of two from 4 to 1024.
    #[arg(long, value_name = "R")]
    pub res: usize,
    /// Label CSV: a header `file,<label>,...` then one row per image, the image's base
    /// file name then numbers. If no such file exists, a file of that name inside SRC (a
    /// zip entry such as `labels.csv`) is used. Images without a row are skipped.
    #[arg(long, value_name = "CSV")]
    pub labels: Option<String>,
    /// How non-square images are made square.
    #[arg(long, value_enum, default_value = "center")]
    pub crop: CropArg,
    /// Resampling filter. Images already R×R are copied without resampling.
    #[arg(long, value_enum, default_value = "lanczos")]
    pub filter: FilterArg,
    /// Use only the first N usable images, in sorted path order.
    #[arg(long, value_name = "N")]
    pub max_images: Option<usize>,
    /// Licence of the images, recorded in the manifest (and so in every model trained on
    /// the dataset).
    #[arg(long, value_name = "TEXT", default_value = "unspecified")]
    pub license: String,
    /// Replace DATA if it already holds a dataset (any other non-empty directory is never
    /// replaced).
    #[arg(long)]
    pub force: bool,
    /// Worker threads for decoding and resizing (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the build report as JSON (on stdout) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DatasetArgs) -> Result<()> {
    let opts = DatasetOptions {
        source: args.src.clone(),
        out: args.out.clone(),
        resolution: args.res,
        labels: args.labels.clone(),
        crop: match args.crop {
            CropArg::Center => Crop::Center,
            CropArg::None => Crop::None,
        },
        filter: match args.filter {
            FilterArg::Lanczos => Filter::Lanczos,
            FilterArg::Box => Filter::Box,
        },
        max_images: args.max_images,
        license: args.license.clone(),
        force: args.force,
        threads: args.threads,
    };
    let start = Instant::now();
    let bar = progress::bar(0, "packing", args.json);
    let result = build_dataset(&opts, &|p: Progress| {
        if bar.length() != Some(p.total as u64) {
            bar.set_length(p.total as u64);
        }
        bar.set_position(p.done as u64);
    });
    bar.finish_and_clear();
    let report = result?;
    let seconds = start.elapsed().as_secs_f64();
    for s in &report.skipped {
        eprintln!("skipped {}: {}", s.name, s.reason);
    }
    for d in &report.duplicates {
        eprintln!("duplicate {}: same bytes as {}", d.name, d.same_as);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let r = report.resolution;
    println!("wrote {} images ({r}x{r}) to {}", report.images, report.out);
    println!(
        "skipped {}, duplicates {}",
        report.skipped.len(),
        report.duplicates.len()
    );
    if let Some(columns) = &report.label_columns {
        println!("labels: {}", columns.join(", "));
    }
    if report.box_fallbacks > 0 {
        println!(
            "{} images were not an integer multiple of {r} and were resized with lanczos",
            report.box_fallbacks
        );
    }
    println!("Merkle root {}", report.merkle_root);
    println!("manifest digest {}", report.manifest_digest);
    println!("took {seconds:.1} s");
    Ok(())
}

//! Images from the networks, grids of them, and output folders (encoding and atomic writes
//! are `fauxto_app::images`).

use std::path::Path;

use anyhow::{Context, Result};
use image::{DynamicImage, RgbImage};

pub use fauxto_app::images::{encode_image, format_for, write_bytes};
pub use fauxto_app::render::to_image;

/// Encodes `img` in the format of `path` and writes it atomically, unlabelled (for images
/// that are not fauxto's own, such as a user's image that was watermarked).
pub fn save_image(img: &DynamicImage, path: &Path) -> Result<()> {
    let bytes = encode_image(img, path)?;
    write_bytes(path, &bytes)
}

/// Tiles `images` (all the same size) into a grid `cols` wide, left to right, top to
/// bottom; empty cells stay black.
pub fn grid(images: &[DynamicImage], cols: usize) -> DynamicImage {
    let (w, h) = (images[0].width(), images[0].height());
    let cols = cols.max(1);
    let rows = images.len().div_ceil(cols);
    let mut canvas = RgbImage::new(w * cols as u32, h * rows as u32);
    for (i, img) in images.iter().enumerate() {
        let (x, y) = ((i % cols) as u32 * w, (i / cols) as u32 * h);
        image::imageops::replace(&mut canvas, &img.to_rgb8(), x as i64, y as i64);
    }
    DynamicImage::ImageRgb8(canvas)
}

/// Creates `dir` (and parents), with an error that names it.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory {}", dir.display()))
}

/// Creates the parent folder of an output file.
pub fn ensure_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => ensure_dir(p),
        _ => Ok(()),
    }
}

//! Writing images: format from the file extension (PNG, JPEG, WebP, GIF for animations),
//! grids of images, and atomic writes so that an interrupted run never leaves a
//! truncated file under its final name.

use std::path::Path;

use anyhow::{bail, Context, Result};
use fauxto_nn::model_file::write_atomic;
use fauxto_nn::sample::PixelBatch;
use image::{codecs::jpeg::JpegEncoder, DynamicImage, GrayImage, ImageFormat, RgbImage};

/// JPEG quality for generated images.
pub const JPEG_QUALITY: u8 = 95;

/// One image of a batch as an `image` crate image (grey or RGB).
pub fn to_image(batch: &PixelBatch, idx: usize) -> Result<DynamicImage> {
    let (w, h) = (batch.width as u32, batch.height as u32);
    let px = batch.image(idx).to_vec();
    Ok(match batch.channels {
        1 => DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, px).expect("size")),
        3 => DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, px).expect("size")),
        c => bail!("cannot write images with {c} channels (only 1 or 3)"),
    })
}

/// The image format implied by `path`'s extension.
pub fn format_for(path: &Path) -> Result<ImageFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "png" => ImageFormat::Png,
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        "webp" => ImageFormat::WebP,
        "gif" => ImageFormat::Gif,
        _ => bail!(
            "{}: unknown image extension; use .png, .jpg, .webp (or .gif for animations)",
            path.display()
        ),
    })
}

/// Encodes `img` in the format of `path` and writes it atomically.
pub fn save_image(img: &DynamicImage, path: &Path) -> Result<()> {
    let bytes = encode_image(img, path)?;
    write_bytes(path, &bytes)
}

/// `img` encoded in the format of `path` (its extension).
pub fn encode_image(img: &DynamicImage, path: &Path) -> Result<Vec<u8>> {
    let format = format_for(path)?;
    let mut bytes = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
                .encode_image(&img.to_rgb8())
                .context("encoding JPEG")?;
        }
        ImageFormat::WebP => img
            .to_rgba8()
            .write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .context("encoding WebP")?,
        _ => img
            .write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .with_context(|| format!("encoding {format:?}"))?,
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically (temp file + rename).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
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

//! Encoding images by file extension (PNG, JPEG, WebP, GIF for animations) and writing them
//! atomically, so that an interrupted run never leaves a truncated file under its final
//! name.

use std::path::Path;

use anyhow::{bail, Context, Result};
use fauxto_nn::model_file::write_atomic;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat};

/// JPEG quality for generated images.
pub const JPEG_QUALITY: u8 = 95;

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

pub use crate::gif::encode_gif;

/// Writes `bytes` to `path` atomically (temporary file + rename).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The most pixels an input image may declare (100 megapixels): checked from its header
/// before anything is decoded, so that a small file declaring a huge image (a
/// decompression bomb) is refused without allocating it.
pub const MAX_INPUT_PIXELS: u64 = 100_000_000;

/// Decodes an image (format from its content: PNG, JPEG, WebP, GIF's first frame, and the
/// other formats the `image` crate reads), refusing one that declares more than
/// [`MAX_INPUT_PIXELS`] or would need more memory than the decoder's limit, and a JPEG that
/// ends before its end-of-image marker.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage> {
    decode_image_within(bytes, MAX_INPUT_PIXELS)
}

/// [`decode_image`] with a tighter pixel limit (a server's uploads).
pub fn decode_image_within(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .context("cannot read the image")?;
    match reader.format() {
        None => bail!("not an image in a format fauxto reads (PNG, JPEG, WebP, GIF, ...)"),
        // JPEG decoders render a truncated file as a partly grey image without complaint.
        Some(ImageFormat::Jpeg) => {
            fauxto_data::decode::check_jpeg_complete(bytes).map_err(anyhow::Error::msg)?
        }
        Some(_) => {}
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let decoder = reader.into_decoder().context("not a readable image")?;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > max_pixels {
        bail!(
            "the image declares {w}x{h} pixels, more than the {} megapixels fauxto reads",
            max_pixels as f64 / 1e6
        );
    }
    if w == 0 || h == 0 {
        bail!("the image is empty ({w}x{h} pixels)");
    }
    DynamicImage::from_decoder(decoder).context("not a readable image")
}

/// Reads and decodes an image file (see [`decode_image`]), with errors that name it.
pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    decode_image(&bytes).with_context(|| format!("{}", path.display()))
}

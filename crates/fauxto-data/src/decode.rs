//! Decoding source files to 8-bit RGB.
//!
//! The format is decided by the file's content (PNG, JPEG or WebP), not by its name. Any
//! pixel layout the decoders produce is accepted: grayscale is replicated to the three
//! channels, alpha is dropped (the colour under it is kept, as PIL's `convert("RGB")`
//! does), 16-bit samples are scaled to 8 bits. The EXIF orientation of JPEG and WebP
//! files is applied, so images are packed upright as viewers show them.
//!
//! JPEG decoders render a truncated file as a partly grey image without complaint; a JPEG
//! is therefore only accepted when its structure runs complete up to its end-of-image
//! marker ([`check_jpeg_complete`]).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

/// Decodes `bytes` into an 8-bit RGB image, or says (in a few words) why not.
pub fn decode_rgb8(bytes: &[u8]) -> Result<RgbImage, String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read: {e}"))?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::WebP) => {}
        Some(ImageFormat::Jpeg) => check_jpeg_complete(bytes)?,
        Some(other) => {
            return Err(format!(
                "{} images are not supported (PNG, JPEG or WebP)",
                other.extensions_str().first().unwrap_or(&"these")
            ))
        }
        None => return Err("not a PNG, JPEG or WebP image".into()),
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("cannot decode: {e}"))?;
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| format!("cannot decode: {e}"))?;
    if let Some(orientation) = orientation {
        img.apply_orientation(orientation);
    }
    if img.width() == 0 || img.height() == 0 {
        return Err("the image is empty (0 pixels)".into());
    }
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

/// Fails unless the JPEG's segments and scans run complete up to its end-of-image
/// marker. Walks the marker segments by their lengths and each scan's entropy-coded data
/// up to the next marker (a data byte `FF` is stuffed as `FF 00`, restart markers belong
/// to the scan), so a file cut anywhere before its end marker fails. Stray bytes between
/// segments are skipped as decoders do; bytes after the end marker are allowed, as many
/// cameras append some.
pub fn check_jpeg_complete(b: &[u8]) -> Result<(), String> {
    let truncated = || Err("truncated JPEG (it ends before its end-of-image marker)".to_string());
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG (no start-of-image marker)".into());
    }
    let mut i = 2;
    loop {
        while i < b.len() && b[i] != 0xFF {
            i += 1;
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return truncated();
        };
        i += 1;
        match marker {
            0xD9 => return Ok(()),
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {
                let Some(len) = b.get(i..i + 2) else {
                    return truncated();
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 {
                    return Err(format!("corrupt JPEG (segment length {len})"));
                }
                i += len;
                if i > b.len() {
                    return truncated();
                }
                if marker == 0xDA {
                    loop {
                        match b.get(i..i + 2) {
                            None => return truncated(),
                            Some(&[0xFF, next]) if !matches!(next, 0x00 | 0xD0..=0xD7 | 0xFF) => {
                                break
                            }
                            _ => i += 1,
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};

    fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn pattern() -> RgbImage {
        RgbImage::from_fn(8, 6, |x, y| Rgb([x as u8 * 30, y as u8 * 40, 200]))
    }

    #[test]
    fn every_layout_becomes_rgb8() {
        let gray = ImageBuffer::from_fn(5, 4, |x, _| Luma([x as u8 * 50]));
        let out = decode_rgb8(&encode(&DynamicImage::ImageLuma8(gray), ImageFormat::Png)).unwrap();
        assert_eq!(out.get_pixel(2, 1).0, [100, 100, 100]);
        let gray_alpha = ImageBuffer::from_fn(2, 2, |_, _| LumaA([77u8, 0]));
        let out = decode_rgb8(&encode(
            &DynamicImage::ImageLumaA8(gray_alpha),
            ImageFormat::Png,
        ))
        .unwrap();
        assert_eq!(out.get_pixel(1, 1).0, [77; 3]);
        let rgba = ImageBuffer::from_fn(3, 3, |x, y| Rgba([x as u8, y as u8, 9, 0]));
        let out = decode_rgb8(&encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png)).unwrap();
        assert_eq!(out.get_pixel(2, 1).0, [2, 1, 9]);
        let deep = ImageBuffer::from_fn(2, 2, |_, _| Rgb([65535u16, 0, 257 * 128]));
        let out = decode_rgb8(&encode(&DynamicImage::ImageRgb16(deep), ImageFormat::Png)).unwrap();
        assert_eq!(out.get_pixel(0, 0).0, [255, 0, 128]);
        let webp = encode(&DynamicImage::ImageRgb8(pattern()), ImageFormat::WebP);
        assert_eq!(decode_rgb8(&webp).unwrap(), pattern(), "lossless WebP");
        let jpeg = encode(&DynamicImage::ImageRgb8(pattern()), ImageFormat::Jpeg);
        assert_eq!(decode_rgb8(&jpeg).unwrap().dimensions(), (8, 6));
    }

    #[test]
    fn broken_files_are_refused() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(64, 64, |x, y| {
            Rgb([(x * 4) as u8, (y * 4) as u8, (x ^ y) as u8])
        }));
        let jpeg = encode(&img, ImageFormat::Jpeg);
        assert!(decode_rgb8(&jpeg).is_ok());
        let err = decode_rgb8(&jpeg[..jpeg.len() * 2 / 3]).unwrap_err();
        assert!(err.contains("truncated JPEG"), "{err}");
        for cut in (2..jpeg.len() - 1).step_by(5) {
            assert!(check_jpeg_complete(&jpeg[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = jpeg.clone();
        trailing.extend_from_slice(b"camera maker notes");
        assert!(decode_rgb8(&trailing).is_ok(), "data after the end marker");
        let png = encode(&img, ImageFormat::Png);
        assert!(decode_rgb8(&png[..png.len() / 2]).is_err());
        let webp = encode(&img, ImageFormat::WebP);
        assert!(decode_rgb8(&webp[..webp.len() / 2]).is_err());
        let err = decode_rgb8(b"not an image at all").unwrap_err();
        assert_eq!(err, "not a PNG, JPEG or WebP image");
        assert!(decode_rgb8(&[]).is_err());
    }
}

//! GIF animations whose frames keep their local mean colours: each frame gets its own
//! 256-colour palette (NeuQuant) and is mapped onto it with Floyd–Steinberg error diffusion
//! (Floyd and Steinberg, 1976). Plain nearest-colour mapping snaps the small, smooth
//! luma changes of the watermark to the same palette entries and erases them; error
//! diffusion carries every pixel's rounding error to its neighbours, so the mean over a
//! block of pixels — what the watermark's chips carry — survives the palette.

use std::borrow::Cow;

use anyhow::{bail, Context, Result};
use color_quant::NeuQuant;
use image::RgbImage;

/// NeuQuant's sampling factor for a frame of `pixels` pixels: 1 looks at every pixel (the
/// best palette) up to 256x256, larger frames are sampled more sparsely (at most one pixel
/// in 10) to bound the time.
fn sample_factor(pixels: usize) -> i32 {
    (pixels / 65_536).clamp(1, 10) as i32
}

/// `frames` (all the same size) as an endlessly repeating GIF at `fps` frames per second.
pub fn encode_gif(frames: &[RgbImage], fps: u32) -> Result<Vec<u8>> {
    let Some(first) = frames.first() else {
        bail!("an animation needs at least one frame");
    };
    let (w, h) = first.dimensions();
    let (w16, h16) = (
        u16::try_from(w).context("GIF frames are at most 65535 pixels wide")?,
        u16::try_from(h).context("GIF frames are at most 65535 pixels high")?,
    );
    // GIF delays are in hundredths of a second.
    let delay = (100.0 / fps.max(1) as f64).round().max(1.0) as u16;
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, w16, h16, &[]).context("encoding GIF")?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .context("encoding GIF")?;
        for frame in frames {
            if frame.dimensions() != (w, h) {
                bail!("all frames of an animation must have the same size");
            }
            let (palette, indices) = dither(frame);
            let frame = gif::Frame {
                width: w16,
                height: h16,
                delay,
                palette: Some(palette),
                buffer: Cow::Owned(indices),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).context("encoding GIF")?;
        }
    }
    Ok(bytes)
}

/// A 256-colour palette for `img` (RGB triples) and its pixels mapped onto it with
/// Floyd–Steinberg error diffusion.
pub fn dither(img: &RgbImage) -> (Vec<u8>, Vec<u8>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let rgba: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let quant = NeuQuant::new(sample_factor(w * h), 256, &rgba);
    let palette = quant.color_map_rgb();
    let mut work: Vec<[f32; 3]> = img
        .pixels()
        .map(|p| [p[0] as f32, p[1] as f32, p[2] as f32])
        .collect();
    let mut indices = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let want = work[i].map(|v| v.round().clamp(0.0, 255.0) as u8);
            let index = quant.index_of(&[want[0], want[1], want[2], 255]);
            indices[i] = index as u8;
            let got = &palette[index * 3..index * 3 + 3];
            let err = [0, 1, 2].map(|c| work[i][c] - got[c] as f32);
            let mut spread = |dx: isize, dy: usize, weight: f32| {
                let (nx, ny) = (x as isize + dx, y + dy);
                if nx >= 0 && (nx as usize) < w && ny < h {
                    let j = ny * w + nx as usize;
                    for c in 0..3 {
                        work[j][c] += err[c] * weight;
                    }
                }
            };
            spread(1, 0, 7.0 / 16.0);
            spread(-1, 1, 3.0 / 16.0);
            spread(0, 1, 5.0 / 16.0);
            spread(1, 1, 1.0 / 16.0);
        }
    }
    (palette, indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth gradient with more than 256 colours.
    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y) % 256) as u8,
            ])
        })
    }

    /// The first `n` faces of the committed UTKFace sample.
    fn faces(n: usize) -> Vec<RgbImage> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/utkface-sample.zip"
        );
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut names: Vec<String> = zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .filter(|n| n.ends_with(".jpg"))
            .collect();
        names.sort();
        names
            .iter()
            .take(n)
            .map(|name| {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut bytes).unwrap();
                image::load_from_memory(&bytes).unwrap().to_rgb8()
            })
            .collect()
    }

    /// How many of 12 marked faces (64x64, strength `psnr`) read back from a GIF encoded
    /// by `encode`.
    fn read_back(psnr: f64, encode: impl Fn(&RgbImage) -> Vec<u8>) -> usize {
        use fauxto_trust::watermark::{detect, embed, Key, Payload};
        let key = Key::from_passphrase("gif");
        let payload = Payload::new(0x0000_2468_ace0).unwrap();
        faces(12)
            .iter()
            .filter(|face| {
                let face =
                    image::imageops::resize(*face, 64, 64, image::imageops::FilterType::CatmullRom);
                let marked = embed(&face, &key, payload, psnr).unwrap().image;
                let first = image::load_from_memory(&encode(&marked)).unwrap().to_rgb8();
                detect(&first, &key).payload == Some(payload)
            })
            .count()
    }

    /// The `image` crate's own GIF encoder: NeuQuant palette, nearest colours.
    fn nearest_colour_gif(img: &RgbImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        let frame = image::Frame::new(image::DynamicImage::ImageRgb8(img.clone()).to_rgba8());
        image::codecs::gif::GifEncoder::new_with_speed(&mut bytes, 10)
            .encode_frame(frame)
            .unwrap();
        bytes
    }

    #[test]
    fn a_watermark_survives_the_dithered_palette() {
        let dithered = |img: &RgbImage| encode_gif(std::slice::from_ref(img), 10).unwrap();
        for psnr in [38.5, 34.0] {
            let (ours, nearest) = (
                read_back(psnr, dithered),
                read_back(psnr, nearest_colour_gif),
            );
            eprintln!("{psnr} dB: {ours}/12 dithered, {nearest}/12 nearest colours");
        }
        // The default strength reads back from every face, and at least as often as from
        // nearest-colour frames (which lose it on some generated faces).
        let ours = read_back(38.5, dithered);
        assert_eq!(ours, 12);
        assert!(ours >= read_back(38.5, nearest_colour_gif));
    }

    #[test]
    fn frames_of_another_size_are_refused() {
        let err = encode_gif(&[gradient(8, 8), gradient(9, 8)], 10).unwrap_err();
        assert!(err.to_string().contains("same size"), "{err}");
        assert!(encode_gif(&[], 10).is_err());
    }
}

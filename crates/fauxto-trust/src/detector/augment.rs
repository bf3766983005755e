//! The image degradations the detector trains under and is judged after.
//!
//! Training follows Wang et al. 2020's "Blur+JPEG (0.5)": each image is blurred with
//! probability 0.5 (Gaussian, σ uniform in 0–3) and JPEG-compressed with probability 0.5
//! (quality uniform in 30–100), whatever its class, so that the network learns what a
//! generator leaves behind rather than what a camera pipeline does not. Two additions suit
//! faces on the web: a batch is sometimes resized (by 0.5–2x, log-uniform; shrunk images
//! are kept at their new size, enlarged ones cropped back to the training size), and
//! generated images are sometimes saved once as JPEG at a camera's quality (80–98) first,
//! since the real photographs of a training set come as JPEG — without that, "never
//! JPEG-compressed" alone would tell the classes apart.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::RgbImage;

use crate::rng::SplitMix64;

/// One degradation, as the evaluation names them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Attack {
    /// JPEG at this quality (1–100), 4:2:0 as the `image` crate writes it.
    Jpeg(u8),
    /// Resized by this factor (Lanczos when shrinking or enlarging), kept at the new size.
    Resize(f32),
    /// Gaussian blur of this σ in pixels.
    Blur(f32),
}

impl Attack {
    /// Applies the attack.
    pub fn apply(self, img: &RgbImage) -> RgbImage {
        match self {
            Attack::Jpeg(q) => jpeg(img, q),
            Attack::Resize(f) => resize(img, f),
            Attack::Blur(sigma) => blur(img, sigma),
        }
    }

    /// Parses `jpeg75`, `resize0.5`, `blur1`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let number = |prefix: &str| -> Option<f32> { s.strip_prefix(prefix)?.parse().ok() };
        if let Some(q) = number("jpeg").filter(|q| (1.0..=100.0).contains(q)) {
            return Ok(Attack::Jpeg(q as u8));
        }
        if let Some(f) = number("resize").filter(|f| (0.05..=8.0).contains(f)) {
            return Ok(Attack::Resize(f));
        }
        if let Some(sigma) = number("blur").filter(|s| (0.0..=20.0).contains(s)) {
            return Ok(Attack::Blur(sigma));
        }
        Err(format!(
            "unknown attack {s:?} (expected jpegQ with Q in 1–100, resizeF with F in 0.05–8, \
             or blurS with σ in 0–20)"
        ))
    }

    /// The name [`parse`](Self::parse) reads.
    pub fn name(self) -> String {
        match self {
            Attack::Jpeg(q) => format!("jpeg{q}"),
            Attack::Resize(f) => format!("resize{f}"),
            Attack::Blur(s) => format!("blur{s}"),
        }
    }
}

/// JPEG-compresses at `quality` and decodes again.
pub fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut Cursor::new(&mut bytes), quality.clamp(1, 100))
        .encode_image(img)
        .expect("encoding to memory");
    image::load_from_memory(&bytes)
        .expect("our own JPEG")
        .to_rgb8()
}

/// Resizes by `factor` (at least 1x1 pixels), Lanczos.
pub fn resize(img: &RgbImage, factor: f32) -> RgbImage {
    let w = ((img.width() as f32 * factor).round() as u32).max(1);
    let h = ((img.height() as f32 * factor).round() as u32).max(1);
    resize_to(img, w, h)
}

/// Resizes to `w` x `h`, Lanczos (nothing when the size is already right).
pub fn resize_to(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    if img.dimensions() == (w, h) {
        return img.clone();
    }
    imageops::resize(img, w, h, FilterType::Lanczos3)
}

/// The centred square of `img`, resized to `side` x `side` (Lanczos), as the dataset tool
/// brings a photograph to a model's size.
pub fn centred_square(img: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let s = w.min(h);
    let square = imageops::crop_imm(img, (w - s) / 2, (h - s) / 2, s, s).to_image();
    resize_to(&square, side, side)
}

/// Gaussian blur (nothing for σ below a hundredth of a pixel).
pub fn blur(img: &RgbImage, sigma: f32) -> RgbImage {
    if sigma < 0.01 {
        return img.clone();
    }
    imageops::blur(img, sigma)
}

/// How training degrades its examples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augmentation {
    pub blur_p: f32,
    pub blur_max_sigma: f32,
    pub jpeg_p: f32,
    pub jpeg_min_quality: u8,
    /// Probability that a generated image is first saved as JPEG at a camera's quality.
    pub camera_jpeg_p: f32,
    /// Probability that a batch is resized, and the largest factor either way (a batch is
    /// resized by a factor from `1 / rescale_max` to `rescale_max`, log-uniform).
    pub rescale_p: f32,
    pub rescale_max: f32,
}

impl Default for Augmentation {
    fn default() -> Self {
        Augmentation {
            blur_p: 0.5,
            blur_max_sigma: 3.0,
            jpeg_p: 0.5,
            jpeg_min_quality: 30,
            camera_jpeg_p: 0.5,
            rescale_p: 0.4,
            rescale_max: 2.0,
        }
    }
}

impl Augmentation {
    /// No degradation at all.
    pub fn none() -> Self {
        Augmentation {
            blur_p: 0.0,
            blur_max_sigma: 0.0,
            jpeg_p: 0.0,
            jpeg_min_quality: 100,
            camera_jpeg_p: 0.0,
            rescale_p: 0.0,
            rescale_max: 1.0,
        }
    }

    /// The factor a batch is resized by: 1, or with probability `rescale_p` a log-uniform
    /// draw between `1 / rescale_max` and `rescale_max`.
    pub fn batch_scale(&self, rng: &mut SplitMix64) -> f32 {
        if rng.chance(self.rescale_p) {
            let span = self.rescale_max.max(1.0).ln();
            rng.uniform(-span, span).exp()
        } else {
            1.0
        }
    }

    /// Degrades one example, already at its training size, drawing from `rng`: a horizontal
    /// flip half the time, the camera JPEG (generated images only), the batch's resize by
    /// `scale`, blur, JPEG, and for an enlarged image a random crop back to its first size.
    pub fn apply(
        &self,
        img: RgbImage,
        generated: bool,
        scale: f32,
        rng: &mut SplitMix64,
    ) -> RgbImage {
        let (w, h) = img.dimensions();
        let mut img = self.degrade(img, generated, rng, |img| {
            if scale != 1.0 {
                resize(&img, scale)
            } else {
                img
            }
        });
        let (bw, bh) = img.dimensions();
        if bw > w || bh > h {
            let x = rng.below((bw.saturating_sub(w) + 1) as usize) as u32;
            let y = rng.below((bh.saturating_sub(h) + 1) as usize) as u32;
            img = imageops::crop_imm(&img, x, y, w.min(bw), h.min(bh)).to_image();
        }
        img
    }

    /// Degrades one example as a thumbnail is made: as [`apply`](Self::apply), with a
    /// shrink to `side` x `side` by `filter` in place of the batch's resize, so that blur
    /// and JPEG come after it, as they do to a thumbnail.
    pub fn apply_shrunk(
        &self,
        img: RgbImage,
        generated: bool,
        side: u32,
        filter: FilterType,
        rng: &mut SplitMix64,
    ) -> RgbImage {
        self.degrade(img, generated, rng, |img| {
            imageops::resize(&img, side, side, filter)
        })
    }

    /// The flip, the camera JPEG, `rescale`, blur and JPEG, each drawn from `rng`.
    fn degrade(
        &self,
        img: RgbImage,
        generated: bool,
        rng: &mut SplitMix64,
        rescale: impl FnOnce(RgbImage) -> RgbImage,
    ) -> RgbImage {
        let mut img = if rng.chance(0.5) {
            imageops::flip_horizontal(&img)
        } else {
            img
        };
        if generated && rng.chance(self.camera_jpeg_p) {
            img = jpeg(&img, 80 + rng.below(19) as u8);
        }
        img = rescale(img);
        if rng.chance(self.blur_p) {
            img = blur(&img, rng.uniform(0.0, self.blur_max_sigma));
        }
        if rng.chance(self.jpeg_p) {
            let span = 101 - self.jpeg_min_quality as usize;
            img = jpeg(&img, self.jpeg_min_quality + rng.below(span) as u8);
        }
        img
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(w: u32, h: u32) -> RgbImage {
        let mut rng = SplitMix64::new(3);
        RgbImage::from_fn(w, h, |_, _| {
            image::Rgb([
                rng.below(256) as u8,
                rng.below(256) as u8,
                rng.below(256) as u8,
            ])
        })
    }

    #[test]
    fn attacks_parse_and_name_each_other() {
        for s in ["jpeg75", "resize0.5", "blur1", "blur0.5", "resize2"] {
            assert_eq!(Attack::parse(s).unwrap().name(), s);
        }
        for bad in ["jpeg0", "jpeg101", "resize0", "blur-1", "sharpen1", ""] {
            assert!(Attack::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attacks_do_what_they_say() {
        let img = noisy(64, 48);
        assert_eq!(Attack::Resize(0.5).apply(&img).dimensions(), (32, 24));
        let energy = |i: &RgbImage| {
            let mean = i.as_raw().iter().map(|&v| v as f64).sum::<f64>() / i.as_raw().len() as f64;
            i.as_raw()
                .iter()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum::<f64>()
        };
        // Blur removes most of white noise's variance; JPEG changes pixels but keeps size.
        assert!(energy(&Attack::Blur(2.0).apply(&img)) < 0.2 * energy(&img));
        let j = Attack::Jpeg(30).apply(&img);
        assert_eq!(j.dimensions(), img.dimensions());
        assert_ne!(j, img);
    }

    #[test]
    fn augmentation_is_reproducible_and_none_changes_nothing() {
        let img = noisy(32, 32);
        let aug = Augmentation::default();
        let a = aug.apply(img.clone(), true, 1.0, &mut SplitMix64::keyed(1, &[5]));
        let b = aug.apply(img.clone(), true, 1.0, &mut SplitMix64::keyed(1, &[5]));
        assert_eq!(a, b);
        // Shrunk images keep their new size; enlarged ones are cropped back.
        let mut rng = SplitMix64::new(4);
        assert_eq!(
            aug.apply(img.clone(), false, 0.5, &mut rng).dimensions(),
            (16, 16)
        );
        assert_eq!(
            aug.apply(img.clone(), false, 1.7, &mut rng).dimensions(),
            (32, 32)
        );
        let scales: Vec<f32> = (0..2000).map(|_| aug.batch_scale(&mut rng)).collect();
        assert!(scales.iter().all(|&f| (0.5..=2.0).contains(&f)));
        let resized = scales.iter().filter(|&&f| f != 1.0).count();
        assert!((700..900).contains(&resized), "{resized}");
        let enlarged = scales.iter().filter(|&&f| f > 1.0).count();
        assert!((enlarged as f64 / resized as f64 - 0.5).abs() < 0.06);
        let none = Augmentation::none();
        for _ in 0..20 {
            let out = none.apply(img.clone(), true, 1.0, &mut rng);
            assert!(out == img || out == imageops::flip_horizontal(&img));
            assert_eq!(none.batch_scale(&mut rng), 1.0);
        }
    }
}

//! The generation step: seeds → latents (the official tools' numpy draws) → generator →
//! 8-bit images.

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::sample::{latents, one_hot_labels, to_pixels, PixelBatch};
use fauxto_nn::tape::ActivationTape;
use fauxto_nn::{Generator, GeneratorConfig, NoiseMode, Truncation};
use image::{DynamicImage, GrayImage, RgbImage};

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

/// A model's generator, ready to render seeds.
pub struct Renderer<B: Backend> {
    pub generator: Generator<B>,
    pub config: GeneratorConfig,
    device: B::Device,
}

impl<B: Backend> Renderer<B> {
    pub fn new(model: &ModelFile, device: &B::Device) -> Result<Self> {
        Ok(Renderer {
            generator: model.generator::<B>(device)?,
            config: model.info.generator.clone(),
            device: device.clone(),
        })
    }

    /// The images of `seeds` (one forward pass: choose the batch by the slice's length),
    /// with label `class` for conditional models.
    pub fn render(
        &self,
        seeds: &[u32],
        truncation: Truncation,
        noise: NoiseMode,
        class: Option<usize>,
    ) -> Result<Vec<DynamicImage>> {
        self.render_with(seeds, truncation, noise, class, ActivationTape::free())
    }

    /// As [`render`](Self::render) with random noise, drawn from a host generator seeded
    /// with `noise_seed` instead of the backend's: the same images on every run.
    pub fn render_seeded_noise(
        &self,
        seeds: &[u32],
        truncation: Truncation,
        class: Option<usize>,
        noise_seed: u32,
    ) -> Result<Vec<DynamicImage>> {
        let tape = ActivationTape::free().with_noise_seed(noise_seed);
        self.render_with(seeds, truncation, NoiseMode::Random, class, tape)
    }

    fn render_with(
        &self,
        seeds: &[u32],
        truncation: Truncation,
        noise: NoiseMode,
        class: Option<usize>,
        mut tape: ActivationTape<B>,
    ) -> Result<Vec<DynamicImage>> {
        if self.config.c_dim > 0 && class.is_none() {
            bail!(
                "the model is conditional ({} classes): give a class",
                self.config.c_dim
            );
        }
        let z = latents::<B>(seeds, self.config.z_dim, &self.device);
        let c = one_hot_labels::<B>(class, self.config.c_dim, seeds.len(), &self.device);
        let images = self
            .generator
            .forward_taped(z, c, truncation, noise, &mut tape);
        let pixels = to_pixels(images);
        (0..seeds.len()).map(|i| to_image(&pixels, i)).collect()
    }
}

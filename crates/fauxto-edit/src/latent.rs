//! The generator seen from W: seeds → w (the mapping network, no truncation), w → image
//! (the synthesis network with w broadcast to every layer), truncation toward the mean w.

use anyhow::{bail, Result};
use burn::tensor::{backend::Backend, Tensor};
use fauxto_app::render::to_image;
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::sample::{latents, to_pixels};
use fauxto_nn::{Generator, NoiseMode};
use image::DynamicImage;

/// A model's generator, driven by w.
pub struct LatentRenderer<B: Backend> {
    generator: Generator<B>,
    device: B::Device,
    w_avg: Vec<f32>,
    pub noise: NoiseMode,
}

impl<B: Backend> LatentRenderer<B> {
    /// Loads the generator of an unconditional `model`.
    pub fn new(model: &ModelFile, device: &B::Device) -> Result<Self> {
        let cfg = &model.info.generator;
        if cfg.c_dim > 0 {
            bail!(
                "editing supports unconditional models; this one has {} classes",
                cfg.c_dim
            );
        }
        let generator = model.generator::<B>(device)?;
        let w_avg = generator
            .mapping
            .average_w(device)
            .into_data()
            .convert::<f32>()
            .to_vec()
            .expect("float data");
        Ok(LatentRenderer {
            generator,
            device: device.clone(),
            w_avg,
            noise: NoiseMode::Const,
        })
    }

    pub fn w_dim(&self) -> usize {
        self.w_avg.len()
    }

    /// The mean w the generator truncates toward.
    pub fn w_avg(&self) -> &[f32] {
        &self.w_avg
    }

    /// The w of each seed (the official tools' latent, ψ = 1).
    pub fn w_of(&self, seeds: &[u32]) -> Vec<Vec<f32>> {
        let z = latents::<B>(seeds, self.generator.config.z_dim, &self.device);
        let w = self.generator.mapping.forward(Some(z), None);
        let flat: Vec<f32> = w.into_data().convert::<f32>().to_vec().expect("float data");
        flat.chunks_exact(self.w_dim())
            .map(<[f32]>::to_vec)
            .collect()
    }

    /// `w_avg + ψ·(w − w_avg)`.
    pub fn truncate(&self, w: &[f32], psi: f64) -> Vec<f32> {
        w.iter()
            .zip(&self.w_avg)
            .map(|(&w, &a)| a + (psi as f32) * (w - a))
            .collect()
    }

    /// The image of each w (one forward pass: choose the batch by the slice's length).
    pub fn render(&self, ws: &[Vec<f32>]) -> Result<Vec<DynamicImage>> {
        if ws.is_empty() {
            return Ok(Vec::new());
        }
        let (n, d, layers) = (ws.len(), self.w_dim(), self.generator.num_ws());
        if let Some(bad) = ws.iter().find(|w| w.len() != d) {
            bail!("a latent has {} values; the model's w has {d}", bad.len());
        }
        let flat: Vec<f32> = ws.iter().flatten().copied().collect();
        let w = Tensor::<B, 1>::from_floats(flat.as_slice(), &self.device).reshape([n, 1, d]);
        let images = self
            .generator
            .synthesis
            .forward(w.repeat_dim(1, layers), self.noise);
        let pixels = to_pixels(images);
        (0..n).map(|i| to_image(&pixels, i)).collect()
    }

    /// [`render`](Self::render) in batches of `batch`.
    pub fn render_batched(&self, ws: &[Vec<f32>], batch: usize) -> Result<Vec<DynamicImage>> {
        let mut out = Vec::with_capacity(ws.len());
        for chunk in ws.chunks(batch.max(1)) {
            out.extend(self.render(chunk)?);
        }
        Ok(out)
    }
}

/// `n` consecutive seeds from `first` (wrapping past u32::MAX).
pub fn consecutive_seeds(first: u32, n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| first.wrapping_add(i)).collect()
}

/// `w + t·v`.
pub fn moved(w: &[f32], v: &[f32], t: f64) -> Vec<f32> {
    w.iter().zip(v).map(|(&a, &b)| a + (t as f32) * b).collect()
}

/// `a·b`.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

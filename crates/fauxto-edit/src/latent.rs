//! The generator seen from W: seeds → w (the mapping network, no truncation), w → image
//! (the synthesis network with w broadcast to every layer), truncation toward the mean w.
//!
//! A latent is either one w (W, `w_dim` values) or one w per synthesis layer (W+,
//! `num_ws · w_dim` values, as a projected photo has); a step along a direction moves every
//! layer's w alike.

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

    /// Synthesis layers, each with its own w in W+.
    pub fn num_ws(&self) -> usize {
        self.generator.num_ws()
    }

    /// The image of each latent, W or W+ (one forward pass: choose the batch by the
    /// slice's length).
    pub fn render(&self, ws: &[Vec<f32>]) -> Result<Vec<DynamicImage>> {
        if ws.is_empty() {
            return Ok(Vec::new());
        }
        let (n, d, layers) = (ws.len(), self.w_dim(), self.num_ws());
        if let Some(bad) = ws.iter().find(|w| w.len() != d && w.len() != layers * d) {
            bail!(
                "a latent has {} values; the model's w has {d} (W) or {layers} × {d} (W+)",
                bad.len()
            );
        }
        let flat: Vec<f32> = ws
            .iter()
            .flat_map(|w| {
                let copies = if w.len() == d { layers } else { 1 };
                std::iter::repeat_n(w.as_slice(), copies).flatten().copied()
            })
            .collect();
        let w = Tensor::<B, 1>::from_floats(flat.as_slice(), &self.device).reshape([n, layers, d]);
        let images = self.generator.synthesis.forward(w, self.noise);
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

/// `w + t·v`; a W+ latent (a whole number of `v`'s length) moves in every layer alike.
pub fn moved(w: &[f32], v: &[f32], t: f64) -> Vec<f32> {
    assert!(
        !v.is_empty() && w.len().is_multiple_of(v.len()),
        "a latent of {} values cannot move along a direction of {}",
        w.len(),
        v.len()
    );
    w.iter()
        .zip(v.iter().cycle())
        .map(|(&a, &b)| a + (t as f32) * b)
        .collect()
}

/// `a·b`.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_moves_every_layer_of_a_w_plus_latent_alike() {
        let v = [1.0, -2.0];
        assert_eq!(moved(&[0.5, 0.5], &v, 2.0), vec![2.5, -3.5]);
        // Three layers of two values each.
        let plus = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0];
        assert_eq!(moved(&plus, &v, 0.5), vec![0.5, -1.0, 1.5, 0.0, 2.5, 1.0]);
    }

    #[test]
    #[should_panic(expected = "cannot move")]
    fn a_latent_of_another_size_does_not_move() {
        moved(&[0.0; 5], &[1.0, 2.0], 1.0);
    }
}

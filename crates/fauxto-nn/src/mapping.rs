//! The mapping network z (+ label c) → w (StyleGAN §2, Karras et al. 2019), with the
//! tracked average of w and the truncation trick (§B of the StyleGAN paper).
//! Official class: `MappingNetwork`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::config::MappingConfig;
use crate::error::ModelError;
use crate::layers::fc::{FcOptions, FullyConnectedLayer};
use crate::ops::{normalize_2nd_moment, Activation};
use crate::state::{join, Init, ParamSource, StateDict};

#[derive(Module, Debug)]
pub struct MappingNetwork<B: Backend> {
    /// Label embedding (`embed`), present when c_dim > 0.
    pub embed: Option<FullyConnectedLayer<B>>,
    /// `fc0` … `fc{num_layers-1}`.
    pub layers: Vec<FullyConnectedLayer<B>>,
    /// Running average of w (a buffer), present when truncation is possible.
    pub w_avg: Option<Param<Tensor<B, 1>>>,
    pub z_dim: usize,
    pub c_dim: usize,
    pub w_dim: usize,
    pub w_avg_beta: Option<f64>,
    /// The average w estimated from samples, for models that track none (an official pickle
    /// with `w_avg_beta=None`): made on first use by truncation, never saved.
    #[module(skip)]
    pub w_avg_estimate: std::sync::OnceLock<Vec<f32>>,
}

/// Latents averaged for a w_avg estimate, drawn as the official projector draws them
/// (`np.random.RandomState(123).randn(10000, z_dim)`).
pub const W_AVG_SAMPLES: usize = 10_000;
const W_AVG_SEED: u32 = 123;

impl<B: Backend> MappingNetwork<B> {
    /// `num_ws = None` builds the label-only mapping of a conditional discriminator
    /// (no w_avg).
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        z_dim: usize,
        c_dim: usize,
        w_dim: usize,
        num_ws: Option<usize>,
        cfg: &MappingConfig,
    ) -> Result<Self, ModelError> {
        let embed_features = if c_dim == 0 {
            0
        } else {
            cfg.embed_features.unwrap_or(w_dim)
        };
        let layer_features = cfg.layer_features.unwrap_or(w_dim);
        let embed = if c_dim > 0 {
            Some(FullyConnectedLayer::new(
                src,
                &join(prefix, "embed"),
                c_dim,
                embed_features,
                FcOptions::default(),
            )?)
        } else {
            None
        };
        let mut features = vec![z_dim + embed_features];
        features.extend(std::iter::repeat_n(layer_features, cfg.num_layers - 1));
        features.push(w_dim);
        let layers = (0..cfg.num_layers)
            .map(|idx| {
                FullyConnectedLayer::new(
                    src,
                    &join(prefix, &format!("fc{idx}")),
                    features[idx],
                    features[idx + 1],
                    FcOptions {
                        activation: Activation::Lrelu,
                        lr_multiplier: cfg.lr_multiplier,
                        ..FcOptions::default()
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let w_avg_beta = num_ws.and(cfg.w_avg_beta);
        let w_avg = match w_avg_beta {
            Some(_) => Some(src.buffer(&join(prefix, "w_avg"), [w_dim], Init::Constant(0.0))?),
            None => None,
        };
        Ok(Self {
            embed,
            layers,
            w_avg,
            z_dim,
            c_dim,
            w_dim,
            w_avg_beta,
            w_avg_estimate: std::sync::OnceLock::new(),
        })
    }

    /// The average w: the tracked buffer, else an estimate over [`W_AVG_SAMPLES`] latents
    /// (labels cycling through the classes for a conditional model), computed once.
    pub fn average_w(&self, device: &B::Device) -> Tensor<B, 1> {
        if let Some(w_avg) = &self.w_avg {
            return w_avg.val();
        }
        let estimate = self.w_avg_estimate.get_or_init(|| {
            tracing::info!(
                "the model tracks no average w: estimating it from {W_AVG_SAMPLES} samples"
            );
            let mut rng = crate::seed::NumpyRandomState::new(W_AVG_SEED);
            let z_all: Vec<f32> = rng
                .randn(W_AVG_SAMPLES * self.z_dim)
                .into_iter()
                .map(|v| v as f32)
                .collect();
            let chunk = 1000;
            let mut sum = Tensor::<B, 1>::zeros([self.w_dim], device);
            for start in (0..W_AVG_SAMPLES).step_by(chunk) {
                let n = chunk.min(W_AVG_SAMPLES - start);
                let z = (self.z_dim > 0).then(|| {
                    let part = &z_all[start * self.z_dim..(start + n) * self.z_dim];
                    Tensor::<B, 1>::from_floats(part, device).reshape([n, self.z_dim])
                });
                let c = (self.c_dim > 0).then(|| {
                    let mut onehot = vec![0f32; n * self.c_dim];
                    for i in 0..n {
                        onehot[i * self.c_dim + (start + i) % self.c_dim] = 1.0;
                    }
                    Tensor::<B, 1>::from_floats(onehot.as_slice(), device).reshape([n, self.c_dim])
                });
                sum = sum + self.forward(z, c).sum_dim(0).reshape([self.w_dim]);
            }
            sum.div_scalar(W_AVG_SAMPLES as f64)
                .into_data()
                .convert::<f32>()
                .to_vec()
                .expect("float data")
        });
        Tensor::from_floats(estimate.as_slice(), device)
    }

    /// z: [N, z_dim] (ignored when z_dim = 0), c: [N, c_dim] (ignored when c_dim = 0)
    /// → w: [N, w_dim].
    pub fn forward(&self, z: Option<Tensor<B, 2>>, c: Option<Tensor<B, 2>>) -> Tensor<B, 2> {
        let z = if self.z_dim > 0 {
            Some(normalize_2nd_moment(z.expect("z required: z_dim > 0")))
        } else {
            None
        };
        let y = self.embed.as_ref().map(|embed| {
            normalize_2nd_moment(embed.forward(c.expect("labels required: c_dim > 0")))
        });
        let mut x = match (z, y) {
            (Some(z), Some(y)) => Tensor::cat(vec![z, y], 1),
            (Some(z), None) => z,
            (None, Some(y)) => y,
            (None, None) => unreachable!("mapping needs z_dim > 0 or c_dim > 0"),
        };
        for layer in &self.layers {
            x = layer.forward(x);
        }
        x
    }

    /// Broadcast w to `num_ws` copies and apply truncation: layers below `cutoff` (all
    /// when `None`) move toward the average w, `w_avg + ψ·(w − w_avg)`.
    pub fn broadcast_truncated(
        &self,
        w: Tensor<B, 2>,
        num_ws: usize,
        psi: f64,
        cutoff: Option<usize>,
    ) -> Tensor<B, 3> {
        let [n, w_dim] = w.dims();
        let ws = w.reshape([n, 1, w_dim]).repeat_dim(1, num_ws);
        if psi == 1.0 {
            return ws;
        }
        let w_avg = self.average_w(&ws.device()).reshape([1, 1, w_dim]);
        let cutoff = cutoff.unwrap_or(num_ws).min(num_ws);
        let truncated = |t: Tensor<B, 3>| (t - w_avg.clone()).mul_scalar(psi) + w_avg.clone();
        if cutoff == num_ws {
            truncated(ws)
        } else {
            let head = ws.clone().slice([0..n, 0..cutoff, 0..w_dim]);
            let tail = ws.slice([0..n, cutoff..num_ws, 0..w_dim]);
            Tensor::cat(vec![truncated(head), tail], 1)
        }
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        if let Some(embed) = &self.embed {
            embed.save(&join(prefix, "embed"), sd);
        }
        for (idx, layer) in self.layers.iter().enumerate() {
            layer.save(&join(prefix, &format!("fc{idx}")), sd);
        }
        if let Some(w_avg) = &self.w_avg {
            sd.insert(join(prefix, "w_avg"), &w_avg.val());
        }
    }
}

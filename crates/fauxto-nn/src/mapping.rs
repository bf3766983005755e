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
}

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
        })
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
        let w_avg = self
            .w_avg
            .as_ref()
            .expect("truncation needs w_avg")
            .val()
            .reshape([1, 1, w_dim]);
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

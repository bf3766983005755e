//! Equalised-learning-rate fully connected layer (ProGAN §4.1, Karras et al. 2018).
//!
//! Weights are stored as N(0, 1) / lr_multiplier and scaled at run time by
//! lr_multiplier / √fan_in, so every weight learns at the same speed under Adam; biases are
//! scaled by lr_multiplier. Official class: `FullyConnectedLayer`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::error::ModelError;
use crate::ops::{bias_act, Activation};
use crate::state::{join, Init, ParamSource, StateDict};
use crate::tape::ActivationTape;

#[derive(Module, Debug)]
pub struct FullyConnectedLayer<B: Backend> {
    /// [out_features, in_features].
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    pub activation: Activation,
    pub weight_gain: f64,
    pub bias_gain: f64,
}

/// Options of a fully connected layer, with the official defaults.
#[derive(Debug, Clone, Copy)]
pub struct FcOptions {
    pub bias: bool,
    pub activation: Activation,
    pub lr_multiplier: f64,
    pub bias_init: f64,
}

impl Default for FcOptions {
    fn default() -> Self {
        Self {
            bias: true,
            activation: Activation::Linear,
            lr_multiplier: 1.0,
            bias_init: 0.0,
        }
    }
}

impl<B: Backend> FullyConnectedLayer<B> {
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_features: usize,
        out_features: usize,
        opts: FcOptions,
    ) -> Result<Self, ModelError> {
        let weight = src.param(
            &join(prefix, "weight"),
            [out_features, in_features],
            Init::Normal {
                std: 1.0 / opts.lr_multiplier,
            },
        )?;
        let bias = if opts.bias {
            Some(src.param(
                &join(prefix, "bias"),
                [out_features],
                Init::Constant(opts.bias_init),
            )?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            activation: opts.activation,
            weight_gain: opts.lr_multiplier / (in_features as f64).sqrt(),
            bias_gain: opts.lr_multiplier,
        })
    }

    /// x: [N, in] → [N, out].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.forward_taped(x, &mut ActivationTape::free())
    }

    /// [`forward`](Self::forward) with the activation on `tape`.
    pub fn forward_taped(&self, x: Tensor<B, 2>, tape: &mut ActivationTape<B>) -> Tensor<B, 2> {
        let w = self.weight.val().mul_scalar(self.weight_gain);
        let x = x.matmul(w.transpose());
        let b = self.bias.as_ref().map(|b| {
            let b = b.val();
            if self.bias_gain != 1.0 {
                b.mul_scalar(self.bias_gain)
            } else {
                b
            }
        });
        bias_act(
            x,
            b,
            self.activation,
            self.activation.default_gain(),
            None,
            tape,
        )
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        sd.insert(join(prefix, "weight"), &self.weight.val());
        if let Some(b) = &self.bias {
            sd.insert(join(prefix, "bias"), &b.val());
        }
    }
}

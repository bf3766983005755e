//! Elementwise building blocks shared by all layers: the fused bias + activation of the
//! official `bias_act` op, and the second-moment normalisation of the mapping input.

use burn::tensor::{backend::Backend, Tensor};

use crate::kernels::epilogue::Terms;
use crate::tape::ActivationTape;

/// Slope of the leaky ReLU for negative inputs (StyleGAN uses 0.2 throughout).
pub const LRELU_ALPHA: f64 = 0.2;

/// The activations StyleGAN2 uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Linear,
    /// Leaky ReLU with slope 0.2, followed by the gain √2 that keeps the signal
    /// magnitude (He et al. 2015).
    Lrelu,
}

impl Activation {
    /// The gain applied after the activation by default.
    pub fn default_gain(self) -> f64 {
        match self {
            Activation::Linear => 1.0,
            Activation::Lrelu => std::f64::consts::SQRT_2,
        }
    }
}

/// `bias_act` of the official code: add a per-channel bias (channel axis 1), apply the
/// activation, multiply by `gain`, then clamp to ±`clamp`. The activation and the clamp go
/// through `tape` (see [`crate::tape`]).
pub fn bias_act<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    bias: Option<Tensor<B, 1>>,
    activation: Activation,
    gain: f64,
    clamp: Option<f64>,
    tape: &mut ActivationTape<B>,
) -> Tensor<B, D> {
    if activation == Activation::Lrelu {
        return tape.epilogue(x, Terms::bias(bias), LRELU_ALPHA, gain, clamp);
    }
    let mut x = match bias {
        Some(bias) => add_channel_bias(x, bias),
        None => x,
    };
    if gain != 1.0 {
        x = x.mul_scalar(gain);
    }
    match clamp {
        Some(c) => tape.clamp(x, c),
        None => x,
    }
}

/// Adds a per-channel value (channel axis 1). The bias is first laid out as a contiguous
/// [N, C] block so that CPU backends take their per-row broadcast fast path instead of a
/// generic strided loop.
pub fn add_channel_bias<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    bias: Tensor<B, 1>,
) -> Tensor<B, D> {
    let dims = x.dims();
    let (n, c) = (dims[0], dims[1]);
    let mut shape = [1usize; D];
    shape[0] = n;
    shape[1] = c;
    x + bias.reshape([1, c]).repeat_dim(0, n).reshape(shape)
}

/// `x · scale + pixel + channel` ([`Terms`]) with burn's operations. A `pixel` term shared
/// by the batch and a `channel` term are first summed into one `[C, pixels]` term.
pub fn apply_terms<B: Backend, const D: usize>(x: Tensor<B, D>, terms: Terms<B>) -> Tensor<B, D> {
    let dims = x.dims();
    let (n, c) = (dims[0], dims[1]);
    let p = dims.iter().skip(2).product::<usize>();
    let x = match terms.scale {
        Some(scale) => (x.reshape([n, c, p]) * scale.reshape([n, c, 1])).reshape(dims),
        None => x,
    };
    match (terms.pixel, terms.channel) {
        (None, None) => x,
        (None, Some(channel)) => add_channel_bias(x, channel),
        (Some(pixel), channel) if pixel.dims()[0] == 1 => {
            let term = match channel {
                Some(channel) => pixel + channel.reshape([c, 1]),
                None => pixel.repeat_dim(0, c),
            };
            (x.reshape([n, c * p]) + term.reshape([1, c * p])).reshape(dims)
        }
        (Some(pixel), channel) => {
            let x = (x.reshape([n, c, p]) + pixel.reshape([n, 1, p])).reshape(dims);
            match channel {
                Some(channel) => add_channel_bias(x, channel),
                None => x,
            }
        }
    }
}

/// `x · rsqrt(mean(x², dim 1) + 1e-8)`: the pixel norm applied to z and to the embedded label.
pub fn normalize_2nd_moment<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let scale = x
        .clone()
        .square()
        .mean_dim(1)
        .add_scalar(1e-8)
        .sqrt()
        .recip();
    x * scale
}

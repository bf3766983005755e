//! Modulated convolution with weight demodulation (StyleGAN2 §2.2, Karras et al. 2020),
//! and the two layers built on it: the synthesis layer and the toRGB layer.
//! Official names: `modulated_conv2d`, `SynthesisLayer`, `ToRGBLayer`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::error::ModelError;
use crate::kernels::epilogue::Terms;
use crate::layers::conv::conv2d_resample;
use crate::layers::fc::{FcOptions, FullyConnectedLayer};
use crate::ops::{bias_act, Activation, LRELU_ALPHA};
use crate::state::{join, Init, ParamSource, StateDict};
use crate::tape::ActivationTape;

/// How the per-pixel noise inputs are drawn (official `noise_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseMode {
    /// Fresh Gaussian noise every call.
    Random,
    /// The fixed `noise_const` buffer stored with the model (the official default for
    /// generation, so a seed always gives the same image).
    #[default]
    Const,
    /// No noise.
    None,
}

impl std::str::FromStr for NoiseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "random" => Ok(NoiseMode::Random),
            "const" => Ok(NoiseMode::Const),
            "none" => Ok(NoiseMode::None),
            _ => Err(format!(
                "noise mode `{s}` is not one of const, random, none"
            )),
        }
    }
}

/// Modulated convolution: each input channel i of sample n is scaled by its style
/// `s[n, i]`; with `demodulate`, each output channel is rescaled by
/// `rsqrt(Σ_{i,k} (w[o,i,k]·s[n,i])² + 1e-8)` so that it has unit expected variance.
///
/// Computed without per-sample weights: scale the activations by the styles, run one
/// ordinary (resampling) convolution with the shared weight for the whole batch, scale
/// the output by the demodulation coefficients. This equals the grouped form of the
/// official code exactly and turns B small products into one large one.
///
/// x: [N, I, H, W], weight: [O, I, k, k], styles: [N, I] → [N, O, H', W'].
pub fn modulated_conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    styles: Tensor<B, 2>,
    demodulate: bool,
    up: usize,
) -> Tensor<B, 4> {
    if demodulate {
        let [n, o] = [x.dims()[0], weight.dims()[0]];
        let (x, demod) = demodulated_conv2d(x, weight, styles, up, 1.0);
        return x * demod.reshape([n, o, 1, 1]);
    }
    styled_conv2d(x, weight, styles, up)
}

/// The convolution of the styled input, `conv(x · s, w)`.
fn styled_conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    styles: Tensor<B, 2>,
    up: usize,
) -> Tensor<B, 4> {
    let [n, i, _, _] = x.dims();
    let k = weight.dims()[2];
    conv2d_resample(x * styles.reshape([n, i, 1, 1]), weight, up, 1, k / 2)
}

/// [`modulated_conv2d`] with demodulation, the coefficients (times `scale`, [N, O])
/// returned beside the convolution instead of applied, for the layer's epilogue to fold in.
pub fn demodulated_conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    styles: Tensor<B, 2>,
    up: usize,
    scale: f64,
) -> (Tensor<B, 4>, Tensor<B, 2>) {
    let [o, i, _, _] = weight.dims();
    // Σ_k w[o,i,k]² as [I, O], then (s²) @ that = Σ_{i,k} (w·s)² per sample and output.
    let w_sq = crate::kernels::square_sums::kernel_square_sums(weight.clone())
        .unwrap_or_else(|w| w.square().sum_dim(3).sum_dim(2).reshape([o, i]))
        .transpose();
    let demod = styles
        .clone()
        .square()
        .matmul(w_sq)
        .add_scalar(1e-8)
        .sqrt()
        .recip();
    let demod = if scale != 1.0 {
        demod.mul_scalar(scale)
    } else {
        demod
    };
    (styled_conv2d(x, weight, styles, up), demod)
}

/// The learned affine map w → styles (official `affine`), biased to 1 at initialisation so
/// that the styles start as the identity scaling.
fn style_affine<B: Backend, S: ParamSource<B>>(
    src: &mut S,
    prefix: &str,
    w_dim: usize,
    in_channels: usize,
) -> Result<FullyConnectedLayer<B>, ModelError> {
    FullyConnectedLayer::new(
        src,
        &join(prefix, "affine"),
        w_dim,
        in_channels,
        FcOptions {
            bias_init: 1.0,
            ..FcOptions::default()
        },
    )
}

/// One synthesis layer: affine style from w, modulated 3x3 convolution (optionally with
/// 2x upsampling), per-pixel noise with a learned strength, bias, leaky ReLU with gain √2
/// and an optional clamp.
#[derive(Module, Debug)]
pub struct SynthesisLayer<B: Backend> {
    pub affine: FullyConnectedLayer<B>,
    /// [out, in, 3, 3].
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Param<Tensor<B, 1>>,
    /// Learned noise strength (a scalar; held as shape [1]).
    pub noise_strength: Param<Tensor<B, 1>>,
    /// The fixed noise image for `NoiseMode::Const`, [resolution, resolution] (a buffer).
    pub noise_const: Param<Tensor<B, 2>>,
    pub up: usize,
    pub resolution: usize,
    pub conv_clamp: Option<f64>,
}

impl<B: Backend> SynthesisLayer<B> {
    #[allow(clippy::too_many_arguments)]
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_channels: usize,
        out_channels: usize,
        w_dim: usize,
        resolution: usize,
        up: usize,
        conv_clamp: Option<f64>,
    ) -> Result<Self, ModelError> {
        let affine = style_affine(src, prefix, w_dim, in_channels)?;
        Ok(Self {
            affine,
            weight: src.param(
                &join(prefix, "weight"),
                [out_channels, in_channels, 3, 3],
                Init::Normal { std: 1.0 },
            )?,
            bias: src.param(&join(prefix, "bias"), [out_channels], Init::Constant(0.0))?,
            noise_strength: src.param(&join(prefix, "noise_strength"), [1], Init::Constant(0.0))?,
            noise_const: src.buffer(
                &join(prefix, "noise_const"),
                [resolution, resolution],
                Init::Normal { std: 1.0 },
            )?,
            up,
            resolution,
            conv_clamp,
        })
    }

    /// x: [N, in, H, W], w: [N, w_dim] → [N, out, H·up, W·up].
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        noise_mode: NoiseMode,
        gain: f64,
    ) -> Tensor<B, 4> {
        self.forward_taped(x, w, noise_mode, gain, &mut ActivationTape::free())
    }

    /// [`forward`](Self::forward) with the noise draw, activation and clamp on `tape`.
    pub fn forward_taped(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        noise_mode: NoiseMode,
        gain: f64,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 4> {
        let styles = self.affine.forward(w);
        let n = x.dims()[0];
        let res = self.resolution;
        // The activation gain is folded into the demodulation coefficients and the
        // noise and bias terms: lrelu(g·y) = g·lrelu(y) for g > 0, so this equals
        // bias_act(conv·d + noise, bias, lrelu, gain); the demodulation, noise, bias and
        // activation are then one epilogue over the activations.
        let gain = Activation::Lrelu.default_gain() * gain;
        let (x, demod) = demodulated_conv2d(x, self.weight.val(), styles, self.up, gain);
        let strength = self.noise_strength.val().reshape([1, 1]);
        let noise = match noise_mode {
            NoiseMode::Const => Some(self.noise_const.val().reshape([1, res * res])),
            NoiseMode::Random => {
                let noise = tape.noise([n, 1, res * res], &x.device());
                Some(noise.reshape([n, res * res]))
            }
            NoiseMode::None => None,
        };
        let noise = noise.map(|noise| (noise * strength).mul_scalar(gain));
        let bias = self.bias.val().mul_scalar(gain);
        let clamp = self
            .conv_clamp
            .map(|c| c * gain / Activation::Lrelu.default_gain());
        let terms = Terms {
            scale: Some(demod),
            pixel: noise,
            channel: Some(bias),
        };
        tape.epilogue(x, terms, LRELU_ALPHA, 1.0, clamp)
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        self.affine.save(&join(prefix, "affine"), sd);
        sd.insert(join(prefix, "weight"), &self.weight.val());
        sd.insert(join(prefix, "bias"), &self.bias.val());
        sd.insert_scalar(join(prefix, "noise_strength"), &self.noise_strength.val());
        sd.insert(join(prefix, "noise_const"), &self.noise_const.val());
    }
}

/// toRGB: an affine style from w and a 1x1 modulated convolution without demodulation,
/// plus bias (linear, optional clamp).
#[derive(Module, Debug)]
pub struct ToRgbLayer<B: Backend> {
    pub affine: FullyConnectedLayer<B>,
    /// [img_channels, in, 1, 1].
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Param<Tensor<B, 1>>,
    pub weight_gain: f64,
    pub conv_clamp: Option<f64>,
}

impl<B: Backend> ToRgbLayer<B> {
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_channels: usize,
        out_channels: usize,
        w_dim: usize,
        conv_clamp: Option<f64>,
    ) -> Result<Self, ModelError> {
        let affine = style_affine(src, prefix, w_dim, in_channels)?;
        Ok(Self {
            affine,
            weight: src.param(
                &join(prefix, "weight"),
                [out_channels, in_channels, 1, 1],
                Init::Normal { std: 1.0 },
            )?,
            bias: src.param(&join(prefix, "bias"), [out_channels], Init::Constant(0.0))?,
            weight_gain: 1.0 / (in_channels as f64).sqrt(),
            conv_clamp,
        })
    }

    /// x: [N, in, H, W], w: [N, w_dim] → [N, img_channels, H, W].
    pub fn forward(&self, x: Tensor<B, 4>, w: Tensor<B, 2>) -> Tensor<B, 4> {
        self.forward_taped(x, w, &mut ActivationTape::free())
    }

    /// [`forward`](Self::forward) with the clamp on `tape`.
    pub fn forward_taped(
        &self,
        x: Tensor<B, 4>,
        w: Tensor<B, 2>,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 4> {
        let styles = self.affine.forward(w).mul_scalar(self.weight_gain);
        let x = modulated_conv2d(x, self.weight.val(), styles, false, 1);
        bias_act(
            x,
            Some(self.bias.val()),
            Activation::Linear,
            1.0,
            self.conv_clamp,
            tape,
        )
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        self.affine.save(&join(prefix, "affine"), sd);
        sd.insert(join(prefix, "weight"), &self.weight.val());
        sd.insert(join(prefix, "bias"), &self.bias.val());
    }
}

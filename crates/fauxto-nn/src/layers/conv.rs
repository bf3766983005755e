//! Equalised-learning-rate convolution with optional FIR down/upsampling, as the
//! discriminator uses it. Official classes: `Conv2dLayer` and `conv2d_resample`.

use burn::module::{Module, Param};
use burn::tensor::{
    backend::Backend,
    module::{conv2d, conv_transpose2d},
    ops::{ConvOptions, ConvTransposeOptions},
    Tensor,
};

use crate::error::ModelError;
use crate::fir;
use crate::ops::{bias_act, Activation};
use crate::state::{join, Init, ParamSource, StateDict};
use crate::tape::ActivationTape;

#[derive(Module, Debug)]
pub struct Conv2dLayer<B: Backend> {
    /// [out_channels, in_channels, k, k].
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    pub activation: Activation,
    pub kernel_size: usize,
    pub up: usize,
    pub down: usize,
    pub weight_gain: f64,
    pub conv_clamp: Option<f64>,
}

/// Options of a convolution layer, with the official defaults.
#[derive(Debug, Clone, Copy)]
pub struct ConvLayerOptions {
    pub bias: bool,
    pub activation: Activation,
    pub up: usize,
    pub down: usize,
    pub conv_clamp: Option<f64>,
}

impl Default for ConvLayerOptions {
    fn default() -> Self {
        Self {
            bias: true,
            activation: Activation::Linear,
            up: 1,
            down: 1,
            conv_clamp: None,
        }
    }
}

impl<B: Backend> Conv2dLayer<B> {
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        opts: ConvLayerOptions,
    ) -> Result<Self, ModelError> {
        let weight = src.param(
            &join(prefix, "weight"),
            [out_channels, in_channels, kernel_size, kernel_size],
            Init::Normal { std: 1.0 },
        )?;
        let bias = if opts.bias {
            Some(src.param(&join(prefix, "bias"), [out_channels], Init::Constant(0.0))?)
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            activation: opts.activation,
            kernel_size,
            up: opts.up,
            down: opts.down,
            weight_gain: 1.0 / ((in_channels * kernel_size * kernel_size) as f64).sqrt(),
            conv_clamp: opts.conv_clamp,
        })
    }

    /// x: [N, in, H, W] → [N, out, H·up/down, W·up/down]; `gain` scales the output
    /// (and the clamp), as the residual branches of the discriminator use it.
    pub fn forward(&self, x: Tensor<B, 4>, gain: f64) -> Tensor<B, 4> {
        self.forward_taped(x, gain, &mut ActivationTape::free())
    }

    /// [`forward`](Self::forward) with the activation and clamp on `tape`.
    pub fn forward_taped(
        &self,
        x: Tensor<B, 4>,
        gain: f64,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 4> {
        let w = self.weight.val().mul_scalar(self.weight_gain);
        let x = conv2d_resample(x, w, self.up, self.down, self.kernel_size / 2);
        let act_gain = self.activation.default_gain() * gain;
        let clamp = self.conv_clamp.map(|c| c * gain);
        bias_act(
            x,
            self.bias.as_ref().map(|b| b.val()),
            self.activation,
            act_gain,
            clamp,
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

/// Convolution (cross-correlation, weight [O, I, k, k]) combined with 2x FIR up- or
/// downsampling exactly as the official `conv2d_resample` pads and orders them:
/// - up = 2: stride-2 transposed convolution, then the filter (gain 4) with padding 1;
/// - down = 2, k > 1: the filter with padding `padding + 1`, then a stride-2 convolution;
/// - down = 2, k = 1: FIR downsampling first, then the 1x1 convolution;
/// - otherwise a plain convolution with `padding`.
pub fn conv2d_resample<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    up: usize,
    down: usize,
    padding: usize,
) -> Tensor<B, 4> {
    let k = weight.dims()[2];
    match (up, down) {
        (1, 1) => conv(x, weight, 1, padding),
        (2, 1) => {
            assert_eq!(padding, k / 2, "up-sampling conv expects same padding");
            let x = conv_transposed(x, weight.swap_dims(0, 1), 2);
            // The official padding arithmetic for a 4-tap filter and same padding
            // (k - 1) / 2 leaves (k - 1) / 2 + 3 - k on each side: 1 for k = 3, 2 for k = 1.
            assert!(k <= 3, "up-sampling conv supports kernels up to 3x3");
            let pad = (k - 1) / 2 + 3 - k;
            fir::filter2d(x, pad, 4.0)
        }
        (1, 2) if k == 1 => conv(fir::downsample2d(x), weight, 1, 0),
        (1, 2) => conv(fir::filter2d(x, padding + 1, 1.0), weight, 2, 0),
        _ => panic!("conv2d_resample supports up=2 or down=2, got up={up} down={down}"),
    }
}

/// Convolution without bias at a square stride and padding: fauxto's training kernel on the
/// CPU backend (see [`crate::kernels::conv`]), burn's elsewhere.
fn conv<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    stride: usize,
    padding: usize,
) -> Tensor<B, 4> {
    match crate::kernels::conv::conv2d(x, w, stride, padding) {
        Ok(y) => y,
        Err((x, w)) => {
            let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);
            conv2d(x, w, None, options)
        }
    }
}

/// Transposed convolution (weight [I, O, k, k]) without bias or padding: as [`conv`].
fn conv_transposed<B: Backend>(x: Tensor<B, 4>, w: Tensor<B, 4>, stride: usize) -> Tensor<B, 4> {
    match crate::kernels::conv::conv_transpose2d(x, w, stride) {
        Ok(y) => y,
        Err((x, w)) => {
            let options = ConvTransposeOptions::new([stride; 2], [0, 0], [0, 0], [1, 1], 1);
            conv_transpose2d(x, w, None, options)
        }
    }
}

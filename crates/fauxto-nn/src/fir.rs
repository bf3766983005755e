//! FIR resampling with the [1, 3, 3, 1] binomial filter (StyleGAN2 §B, after Zhang 2019,
//! "Making convolutional networks shift-invariant again").
//!
//! The official `upfirdn2d` inserts zeros, pads, convolves with the separable 2-D filter and
//! keeps every `down`-th sample. Two equivalent forms are used here:
//! - inference: one depthwise (transposed) convolution, the fastest forward pass;
//! - training (autodiff backends): along one axis the whole chain is a linear
//!   map, a small banded matrix `M` ([`resample_matrix`]), so in 2-D it is
//!   `M_h · x · M_wᵀ` per channel image: two matrix products whose gradients are matrix
//!   products too, where the depthwise convolution's gradient runs a slow direct loop
//!   (training step 12% faster, inference 5% slower than the convolution).
//!
//! The cases:
//! - `upsample2d`: up 2, pad [2, 1], gain 4;
//! - `downsample2d`: down 2, pad [1, 1];
//! - `filter2d`: plain filtering with padding p.

pub use crate::kernels::fir::Resample;
use burn::tensor::{
    backend::Backend,
    module::{conv2d, conv_transpose2d},
    ops::{ConvOptions, ConvTransposeOptions},
    Tensor, TensorData,
};

/// The 1-D taps of the resampling filter used by every StyleGAN2 layer.
pub const RESAMPLE_TAPS: [f32; 4] = [1.0, 3.0, 3.0, 1.0];

/// The 16 values of the 4x4 filter `outer(taps, taps) / sum²` times `gain`, row-major.
pub fn depthwise_filter_values(gain: f32) -> [f32; 16] {
    let sum: f32 = RESAMPLE_TAPS.iter().sum();
    let mut out = [0f32; 16];
    for (i, a) in RESAMPLE_TAPS.iter().enumerate() {
        for (j, b) in RESAMPLE_TAPS.iter().enumerate() {
            out[i * 4 + j] = a * b / (sum * sum) * gain;
        }
    }
    out
}

/// The 1-D `upfirdn` of a signal of length `n` as a dense matrix [n_out, n] (official
/// `upfirdn2d` semantics along one axis): insert `up − 1` zeros after every sample, pad
/// `pad[0]` zeros before and `pad[1]` after (negative: crop), convolve with
/// `taps · gain` (correlate when `flip_filter`), keep every `down`-th sample.
pub fn upfirdn_matrix(
    n: usize,
    taps: &[f64],
    up: usize,
    down: usize,
    pad: [isize; 2],
    flip_filter: bool,
    gain: f64,
) -> (usize, Vec<f64>) {
    let k = taps.len() as isize;
    let len = (n * up) as isize + pad[0] + pad[1] - k + 1;
    let n_out = (len.max(0) as usize).div_ceil(down);
    let mut m = vec![0f64; n_out * n];
    for j in 0..n_out {
        for t in 0..k {
            let tap = if flip_filter {
                taps[t as usize]
            } else {
                taps[(k - 1 - t) as usize]
            };
            // Output j reads the padded, zero-stuffed signal at j·down + t.
            let pos = (j * down) as isize + t - pad[0];
            if pos < 0 || pos % up as isize != 0 {
                continue;
            }
            let i = (pos / up as isize) as usize;
            if i < n {
                m[j * n + i] += tap * gain;
            }
        }
    }
    (n_out, m)
}

/// [`upfirdn_matrix`] with the [1, 3, 3, 1] filter normalised to unit sum, in float32.
pub fn resample_matrix(
    n: usize,
    up: usize,
    down: usize,
    pad0: usize,
    pad1: usize,
    gain: f64,
) -> (usize, Vec<f32>) {
    let sum: f32 = RESAMPLE_TAPS.iter().sum();
    let taps: Vec<f64> = RESAMPLE_TAPS.iter().map(|t| (t / sum) as f64).collect();
    let pad = [pad0 as isize, pad1 as isize];
    let (n_out, m) = upfirdn_matrix(n, &taps, up, down, pad, false, gain);
    (n_out, m.into_iter().map(|v| v as f32).collect())
}

/// `M_h · x · M_wᵀ` for every channel image, with the same 1-D resampling on both axes:
/// `spec` through two of burn's matrix products (the form autodiff backends other than the
/// CPU's take, and the reference fauxto's kernel is tested against).
pub fn matrix_form<B: Backend>(x: Tensor<B, 4>, spec: Resample) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    let axis_gain = spec.gain.sqrt();
    let [pad0, pad1] = spec.pad;
    let (w_out, mw) = resample_matrix(w, spec.up, spec.down, pad0, pad1, axis_gain);
    let (h_out, mh) = resample_matrix(h, spec.up, spec.down, pad0, pad1, axis_gain);
    apply_separable(x, (h_out, mh), (w_out, mw))
}

/// `M_h · x · M_wᵀ` for every channel image of x [N, C, H, W], with `M_h` [H', H] and
/// `M_w` [W', W] given as (rows, row-major values): any separable linear resampling.
pub fn apply_separable<B: Backend>(
    x: Tensor<B, 4>,
    (h_out, mh): (usize, Vec<f32>),
    (w_out, mw): (usize, Vec<f32>),
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let mw_t = Tensor::<B, 2>::from_data(TensorData::new(mw, [w_out, w]), &device).transpose();
    let mh = Tensor::<B, 3>::from_data(TensorData::new(mh, [1, h_out, h]), &device);
    let rows = x.reshape([n * c * h, w]).matmul(mw_t);
    mh.matmul(rows.reshape([n * c, h, w_out]))
        .reshape([n, c, h_out, w_out])
}

/// The 4x4 filter `outer(taps, taps) / sum²` scaled by `gain`, repeated for `channels`
/// depthwise groups: shape [channels, 1, 4, 4].
fn depthwise_filter<B: Backend>(channels: usize, gain: f32, device: &B::Device) -> Tensor<B, 4> {
    let one = depthwise_filter_values(gain);
    let kernel: Vec<f32> = (0..channels).flat_map(|_| one.iter().copied()).collect();
    Tensor::from_data(TensorData::new(kernel, [channels, 1, 4, 4]), device)
}

/// Official `upsample2d`: zero insertion, pad [2, 1], the filter with gain 4.
pub const UPSAMPLE: Resample = Resample {
    up: 2,
    down: 1,
    pad: [2, 1],
    gain: 4.0,
};

/// Official `downsample2d`: pad [1, 1], the filter, every second sample.
pub const DOWNSAMPLE: Resample = Resample {
    up: 1,
    down: 2,
    pad: [1, 1],
    gain: 1.0,
};

/// `x` resampled by `spec`: fauxto's direct kernel on the CPU backend (see
/// [`crate::kernels::fir`]); elsewhere the matrix form on autodiff backends (its gradient is
/// two matrix products, where the depthwise convolution's runs a slow direct loop) and
/// `conv` (one depthwise convolution, the fastest forward pass) for inference.
fn resample<B: Backend>(
    x: Tensor<B, 4>,
    spec: Resample,
    conv: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>,
) -> Tensor<B, 4> {
    match crate::kernels::fir::resample(x, spec) {
        Ok(y) => y,
        Err(x) if B::ad_enabled(&x.device()) => matrix_form(x, spec),
        Err(x) => conv(x),
    }
}

/// 2x upsampling: zero insertion followed by the filter with gain 4 (official `upsample2d`).
pub fn upsample2d<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    resample(x, UPSAMPLE, upsample_conv)
}

/// 2x downsampling: the filter followed by keeping every second sample
/// (official `downsample2d`).
pub fn downsample2d<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    resample(x, DOWNSAMPLE, downsample_conv)
}

/// The filter alone with symmetric zero padding `pad` and gain `gain` (no resampling).
pub fn filter2d<B: Backend>(x: Tensor<B, 4>, pad: usize, gain: f32) -> Tensor<B, 4> {
    let spec = Resample {
        up: 1,
        down: 1,
        pad: [pad, pad],
        gain: gain as f64,
    };
    resample(x, spec, |x| filter_conv(x, pad, gain))
}

/// [`UPSAMPLE`] as one depthwise transposed convolution.
fn upsample_conv<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let f = depthwise_filter::<B>(channels, 4.0, &x.device());
    let options = ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], channels);
    conv_transpose2d(x, f, None, options)
}

/// [`DOWNSAMPLE`] as one depthwise strided convolution.
fn downsample_conv<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let f = depthwise_filter::<B>(channels, 1.0, &x.device());
    let options = ConvOptions::new([2, 2], [1, 1], [1, 1], channels);
    conv2d(x, f, None, options)
}

/// [`filter2d`] as one depthwise convolution.
fn filter_conv<B: Backend>(x: Tensor<B, 4>, pad: usize, gain: f32) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let f = depthwise_filter::<B>(channels, gain, &x.device());
    let options = ConvOptions::new([1, 1], [pad, pad], [1, 1], channels);
    conv2d(x, f, None, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::Distribution;

    /// The matrix form equals the convolution form (fauxto's kernel is checked against the
    /// matrix form in `kernels::fir`).
    #[test]
    fn matrix_and_convolution_forms_agree() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::random([2, 3, 8, 8], Distribution::Normal(0.0, 1.0), &dev);
        let filter = |pad: usize, gain: f64| Resample {
            up: 1,
            down: 1,
            pad: [pad, pad],
            gain,
        };
        let pairs = [
            (upsample_conv(x.clone()), matrix_form(x.clone(), UPSAMPLE)),
            (
                downsample_conv(x.clone()),
                matrix_form(x.clone(), DOWNSAMPLE),
            ),
            (
                filter_conv(x.clone(), 1, 4.0),
                matrix_form(x.clone(), filter(1, 4.0)),
            ),
            (
                filter_conv(x.clone(), 2, 1.0),
                matrix_form(x.clone(), filter(2, 1.0)),
            ),
        ];
        for (i, (conv, matrix)) in pairs.into_iter().enumerate() {
            assert_eq!(conv.dims(), matrix.dims(), "case {i}");
            let err = (conv - matrix).abs().max().into_scalar();
            assert!(err < 1e-5, "case {i}: {err}");
        }
    }
}

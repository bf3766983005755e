//! FIR resampling with the [1, 3, 3, 1] binomial filter (StyleGAN2 §B, after Zhang 2019,
//! "Making convolutional networks shift-invariant again").
//!
//! The official `upfirdn2d` inserts zeros, pads, convolves with the separable 2-D filter and
//! keeps every `down`-th sample. Along one axis that whole chain is a linear map of the
//! signal, a small banded matrix `M` ([`resample_matrix`]); in 2-D it is `M_h · x · M_wᵀ` for
//! every channel image. That is how it is computed here: two matrix products, whose
//! gradients are matrix products too (a depthwise convolution would spend 16
//! multiply-adds per output in a slow direct loop, and its gradient more):
//! - `upsample2d`: up 2, pad [2, 1], gain 4;
//! - `downsample2d`: down 2, pad [1, 1];
//! - `filter2d`: plain filtering with padding p.

use burn::tensor::{backend::Backend, Tensor, TensorData};

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

/// The 1-D `upfirdn` of a signal of length `n` as a matrix [n_out, n]: insert `up − 1`
/// zeros after every sample, pad `pad0` zeros before and `pad1` after, convolve with
/// `taps / Σtaps · gain`, keep every `down`-th sample.
pub fn resample_matrix(
    n: usize,
    up: usize,
    down: usize,
    pad0: usize,
    pad1: usize,
    gain: f64,
) -> (usize, Vec<f32>) {
    let taps = RESAMPLE_TAPS.len();
    let sum: f32 = RESAMPLE_TAPS.iter().sum();
    let len = n * up + pad0 + pad1 + 1 - taps;
    let n_out = len.div_ceil(down);
    let mut m = vec![0f32; n_out * n];
    for j in 0..n_out {
        for (t, tap) in RESAMPLE_TAPS.iter().rev().enumerate() {
            // Output j reads the padded, zero-stuffed signal at j·down + t.
            let pos = j * down + t;
            if pos < pad0 || !(pos - pad0).is_multiple_of(up) {
                continue;
            }
            let i = (pos - pad0) / up;
            if i < n {
                m[j * n + i] += tap / sum * gain as f32;
            }
        }
    }
    (n_out, m)
}

/// `M_h · x · M_wᵀ` for every channel image, with the same 1-D resampling on both axes.
fn separable<B: Backend>(
    x: Tensor<B, 4>,
    up: usize,
    down: usize,
    pad: [usize; 2],
    gain: f64,
) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    let axis_gain = gain.sqrt();
    let (w_out, mw) = resample_matrix(w, up, down, pad[0], pad[1], axis_gain);
    let (h_out, mh) = resample_matrix(h, up, down, pad[0], pad[1], axis_gain);
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

/// 2x upsampling: zero insertion followed by the filter with gain 4 (official `upsample2d`).
pub fn upsample2d<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    separable(x, 2, 1, [2, 1], 4.0)
}

/// 2x downsampling: the filter followed by keeping every second sample
/// (official `downsample2d`).
pub fn downsample2d<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    separable(x, 1, 2, [1, 1], 1.0)
}

/// The filter alone with symmetric zero padding `pad` and gain `gain` (no resampling).
pub fn filter2d<B: Backend>(x: Tensor<B, 4>, pad: usize, gain: f32) -> Tensor<B, 4> {
    separable(x, 1, 1, [pad, pad], gain as f64)
}

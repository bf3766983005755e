//! FIR resampling with the [1, 3, 3, 1] binomial filter (StyleGAN2 §B, after Zhang 2019,
//! "Making convolutional networks shift-invariant again").
//!
//! The official `upfirdn2d` inserts zeros, pads and correlates with a 2-D filter; each
//! case it is used in equals one depthwise (transposed) convolution, which is how it is
//! computed here:
//! - `upsample2d` (pad [2, 1], gain 4) = transposed depthwise conv, stride 2, padding 1;
//! - `downsample2d` (pad [1, 1]) = depthwise conv, stride 2, padding 1;
//! - plain filtering with padding p = depthwise conv, padding p.

use burn::tensor::{
    backend::Backend,
    module::{conv2d, conv_transpose2d},
    ops::{ConvOptions, ConvTransposeOptions},
    Tensor, TensorData,
};

/// The 1-D taps of the resampling filter used by every StyleGAN2 layer.
pub const RESAMPLE_TAPS: [f32; 4] = [1.0, 3.0, 3.0, 1.0];

/// The 4x4 filter `outer(taps, taps) / sum²` scaled by `gain`, repeated for `channels`
/// depthwise groups: shape [channels, 1, 4, 4].
pub fn depthwise_filter<B: Backend>(
    channels: usize,
    gain: f32,
    device: &B::Device,
) -> Tensor<B, 4> {
    let one = depthwise_filter_values(gain);
    let kernel: Vec<f32> = (0..channels).flat_map(|_| one.iter().copied()).collect();
    Tensor::from_data(TensorData::new(kernel, [channels, 1, 4, 4]), device)
}

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

/// 2x upsampling: zero insertion followed by the filter with gain 4 (official `upsample2d`).
pub fn upsample2d<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let f = depthwise_filter::<B>(channels, 4.0, &x.device());
    conv_transpose2d(
        x,
        f,
        None,
        ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], channels),
    )
}

/// 2x downsampling: the filter followed by keeping every second sample
/// (official `downsample2d`).
pub fn downsample2d<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let f = depthwise_filter::<B>(channels, 1.0, &x.device());
    conv2d(
        x,
        f,
        None,
        ConvOptions::new([2, 2], [1, 1], [1, 1], channels),
    )
}

/// The filter alone with symmetric zero padding `pad` and gain `gain` (no resampling).
pub fn filter2d<B: Backend>(x: Tensor<B, 4>, pad: usize, gain: f32) -> Tensor<B, 4> {
    let channels = x.dims()[1];
    let f = depthwise_filter::<B>(channels, gain, &x.device());
    conv2d(
        x,
        f,
        None,
        ConvOptions::new([1, 1], [pad, pad], [1, 1], channels),
    )
}

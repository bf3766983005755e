//! face-api's tiny face detector (`tinyFaceDetector`): a Tiny YOLOv2 (Redmon & Farhadi
//! 2017) with depthwise-separable convolutions. A 3×3 convolution, then five separable
//! convolutions each followed by 2×2 max pooling (the last with stride 1), and a 1×1
//! convolution to a grid of `(input / 32)²` cells × 5 anchors × (tx, ty, tw, th, score).
//! Decoding the grid into boxes is left to the caller.

use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::Tensor;

use crate::error::FaceError;
use crate::pool::max_pool_same;
use crate::tf_ops::{bias_vector, hwio_to_oihw, SeparableConv};
use crate::weights::WeightMap;

/// Per-channel RGB means subtracted before dividing by 255 (detector only).
pub const MEAN_RGB: [f32; 3] = [117.001, 114.697, 97.404];
/// Anchor boxes (width, height in grid cells), in output order.
pub const ANCHORS: [(f32, f32); 5] = [
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
];

/// face-api's leaky ReLU, written as it computes it: `relu(x − 0.1x) + 0.1x`.
fn leaky<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let min = x.clone().mul_scalar(0.1f32);
    relu(x - min.clone()) + min
}

#[derive(Debug, Clone)]
pub struct TinyFaceDetector<B: Backend> {
    conv0: Tensor<B, 4>,
    conv0_bias: Tensor<B, 1>,
    seps: Vec<SeparableConv<B>>,
    conv8: Tensor<B, 4>,
    conv8_bias: Tensor<B, 1>,
}

impl<B: Backend> TinyFaceDetector<B> {
    pub fn load(map: &WeightMap, device: &B::Device) -> Result<Self, FaceError> {
        let seps = (1..=5)
            .map(|i| SeparableConv::load(map, &format!("conv{i}"), device))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            conv0: hwio_to_oihw(map.get("conv0/filters")?, device)?,
            conv0_bias: bias_vector(&map.get("conv0/bias")?.data, device),
            seps,
            conv8: hwio_to_oihw(map.get("conv8/filters")?, device)?,
            conv8_bias: bias_vector(&map.get("conv8/bias")?.data, device),
        })
    }

    /// x: [N, 3, S, S] (S a multiple of 32), already `(rgb − MEAN_RGB) / 255` → the raw
    /// grid [N, 25, S/32, S/32] (channel = anchor·5 + (tx, ty, tw, th, score)).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let valid = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let x = conv2d(
            x,
            self.conv0.clone(),
            Some(self.conv0_bias.clone()),
            valid.clone(),
        );
        let mut x = max_pool_same(leaky(x), 2, 2);
        for (i, sep) in self.seps.iter().enumerate() {
            // face-api pads one pixel of zeros and convolves `valid`: for a 3×3 kernel at
            // stride 1 that is exactly `same`.
            let y = leaky(sep.forward(x));
            x = max_pool_same(y, 2, if i == 4 { 1 } else { 2 });
        }
        conv2d(x, self.conv8.clone(), Some(self.conv8_bias.clone()), valid)
    }
}

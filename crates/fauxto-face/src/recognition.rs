//! The face recognition network of face-api (`faceRecognitionNet`): dlib's ResNet-34-style
//! face descriptor (He et al. 2016, "Deep Residual Learning"), mapping a 150×150 aligned
//! face to a 128-D vector in which faces of one person lie within about 0.6 (Euclidean)
//! of each other.
//!
//! Layout follows face-api's `FaceRecognitionNet.forwardInput`: a 7×7 stride-2 convolution
//! and 3×3 max pool, then residual stages of 32, 64, 128 and 256 channels, each opened by
//! a downsampling block, a global mean and a 256→128 linear map. Every convolution is
//! followed by a per-channel affine "scale" layer (dlib's folded batch norm).
//!
//! Tensors run NCHW here; the weights come in TensorFlow's HWIO layout and are transposed
//! once on load.

use burn::tensor::backend::Backend;
use burn::tensor::module::{avg_pool2d, conv2d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{activation::relu, Tensor, TensorData};

use crate::error::FaceError;
use crate::im2col::{conv_unfolded, lowers_to_matrix_product, Windows};
use crate::pool::{max_pool, Padding};
use crate::tf_ops::{bias_vector, hwio_to_oihw};
use crate::weights::WeightMap;

/// Input side of the network.
pub const INPUT_SIZE: usize = 150;
/// Per-channel RGB means subtracted before dividing by 255.
pub const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// Convolution + bias + scale layer.
#[derive(Debug, Clone)]
struct ConvLayer<B: Backend> {
    /// [out, in, k, k], each output channel's filter multiplied by its scale `s`.
    filters: Tensor<B, 4>,
    /// `b·s + t`: (conv(x, w) + b)·s + t = conv(x, w·s) + (b·s + t).
    shift: Tensor<B, 1>,
}

impl<B: Backend> ConvLayer<B> {
    fn load(map: &WeightMap, prefix: &str, device: &B::Device) -> Result<Self, FaceError> {
        let raw = map.get(&format!("{prefix}/conv/filters"))?;
        let co = *raw.shape.last().unwrap_or(&0);
        let bias = &map.get(&format!("{prefix}/conv/bias"))?.data;
        let s = &map.get(&format!("{prefix}/scale/weights"))?.data;
        let t = &map.get(&format!("{prefix}/scale/biases"))?.data;
        if bias.len() != co || s.len() != co || t.len() != co {
            return Err(FaceError::Manifest(format!(
                "{prefix}: channel counts differ"
            )));
        }
        let shift: Vec<f32> = (0..co).map(|c| bias[c] * s[c] + t[c]).collect();
        // HWIO: the output channel is the fastest-varying index.
        let mut scaled = raw.clone();
        for (i, w) in scaled.data.iter_mut().enumerate() {
            *w *= s[i % co];
        }
        Ok(Self {
            filters: hwio_to_oihw(&scaled, device)?,
            shift: bias_vector(&shift, device),
        })
    }

    /// `stride` 1 pads to keep the size ("same"); stride 2 pads nothing ("valid").
    fn forward(&self, x: Tensor<B, 4>, stride: usize, relu_after: bool) -> Tensor<B, 4> {
        let [_, _, h, w] = x.dims();
        let k = self.filters.dims()[2];
        let pad = if stride == 1 { k / 2 } else { 0 };
        let y = if lowers_to_matrix_product(&x) {
            let win = Windows {
                k,
                stride,
                before: [pad, pad],
                out: [
                    (h + 2 * pad - k) / stride + 1,
                    (w + 2 * pad - k) / stride + 1,
                ],
            };
            conv_unfolded(x, &self.filters, Some(&self.shift), win)
        } else {
            conv2d(
                x,
                self.filters.clone(),
                Some(self.shift.clone()),
                ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1),
            )
        };
        if relu_after {
            relu(y)
        } else {
            y
        }
    }
}

/// Two convolutions with an identity (or pooled, zero-extended) shortcut.
#[derive(Debug, Clone)]
struct Residual<B: Backend> {
    conv1: ConvLayer<B>,
    conv2: ConvLayer<B>,
    down: bool,
}

impl<B: Backend> Residual<B> {
    fn load(
        map: &WeightMap,
        prefix: &str,
        down: bool,
        device: &B::Device,
    ) -> Result<Self, FaceError> {
        Ok(Self {
            conv1: ConvLayer::load(map, &format!("{prefix}/conv1"), device)?,
            conv2: ConvLayer::load(map, &format!("{prefix}/conv2"), device)?,
            down,
        })
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if !self.down {
            let out = self.conv1.forward(x.clone(), 1, true);
            let out = self.conv2.forward(out, 1, false);
            return relu(out + x);
        }
        let out = self.conv1.forward(x.clone(), 2, true);
        let mut out = self.conv2.forward(out, 1, false);
        let mut pooled = avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false);
        let [n, c_out, h, w] = out.dims();
        let [_, c_in, ph, pw] = pooled.dims();
        if (ph, pw) != (h, w) {
            // face-api appends one zero row and one zero column to the residual branch.
            out = out.pad(
                (0, pw - w, 0, ph - h),
                burn::tensor::ops::PadMode::Constant(0.0),
            );
        }
        if c_in != c_out {
            let zeros = Tensor::zeros([n, c_out - c_in, ph, pw], &pooled.device());
            pooled = Tensor::cat(vec![pooled, zeros], 1);
        }
        relu(pooled + out)
    }
}

/// The descriptor network.
#[derive(Debug, Clone)]
pub struct RecognitionNet<B: Backend> {
    stem: ConvLayer<B>,
    blocks: Vec<Residual<B>>,
    /// [256, 128].
    fc: Tensor<B, 2>,
}

impl<B: Backend> RecognitionNet<B> {
    pub fn load(map: &WeightMap, device: &B::Device) -> Result<Self, FaceError> {
        let mut blocks = Vec::new();
        for (name, down) in [
            ("conv32_1", false),
            ("conv32_2", false),
            ("conv32_3", false),
            ("conv64_down", true),
            ("conv64_1", false),
            ("conv64_2", false),
            ("conv64_3", false),
            ("conv128_down", true),
            ("conv128_1", false),
            ("conv128_2", false),
            ("conv256_down", true),
            ("conv256_1", false),
            ("conv256_2", false),
            ("conv256_down_out", true),
        ] {
            blocks.push(Residual::load(map, name, down, device)?);
        }
        let fc = map.get("fc")?;
        Ok(Self {
            stem: ConvLayer::load(map, "conv32_down", device)?,
            blocks,
            fc: Tensor::from_data(
                TensorData::new(fc.data.clone(), [fc.shape[0], fc.shape[1]]),
                device,
            ),
        })
    }

    /// x: [N, 3, 150, 150], already `(rgb − MEAN_RGB) / 255` → descriptors [N, 128].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.stem.forward(x, 2, true);
        let mut x = max_pool(x, 3, 2, Padding::Valid);
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([n, c]);
        pooled.matmul(self.fc.clone())
    }
}

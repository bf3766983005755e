//! face-api's `FaceFeatureExtractor` and the two networks built on it: the 68-point face
//! landmark regressor (`faceLandmark68Net`, 136 outputs: x, y of each point relative to the
//! 112×112 crop) and the expression classifier (`faceExpressionNet`, 7 logits: neutral,
//! happy, sad, angry, fearful, disgusted, surprised).
//!
//! The extractor is four densely connected blocks (Huang et al. 2017, "Densely Connected
//! Convolutional Networks", with depthwise-separable convolutions): each block halves the
//! resolution with its first convolution, and every later convolution sees the sum of all
//! earlier outputs of the block. Average pooling and one linear layer follow.

use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::module::avg_pool2d;
use burn::tensor::{Tensor, TensorData};

use crate::error::FaceError;
use crate::tf_ops::{bias_vector, conv_same, hwio_to_oihw, SeparableConv};
use crate::weights::WeightMap;

/// Input side of the networks.
pub const INPUT_SIZE: usize = 112;

/// Names of the expression classes, in output order.
pub const EXPRESSIONS: [&str; 7] = [
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
];

/// The first convolution of a block: plain on the image, separable afterwards.
#[derive(Debug, Clone)]
enum FirstConv<B: Backend> {
    Plain {
        filters: Tensor<B, 4>,
        bias: Tensor<B, 1>,
    },
    Separable(SeparableConv<B>),
}

#[derive(Debug, Clone)]
struct DenseBlock<B: Backend> {
    conv0: FirstConv<B>,
    convs: [SeparableConv<B>; 3],
}

impl<B: Backend> DenseBlock<B> {
    fn load(
        map: &WeightMap,
        prefix: &str,
        first: bool,
        device: &B::Device,
    ) -> Result<Self, FaceError> {
        let conv0 = if first {
            FirstConv::Plain {
                filters: hwio_to_oihw(map.get(&format!("{prefix}/conv0/filters"))?, device)?,
                bias: bias_vector(&map.get(&format!("{prefix}/conv0/bias"))?.data, device),
            }
        } else {
            FirstConv::Separable(SeparableConv::load(
                map,
                &format!("{prefix}/conv0"),
                device,
            )?)
        };
        let sep = |i: usize| SeparableConv::load(map, &format!("{prefix}/conv{i}"), device);
        Ok(Self {
            conv0,
            convs: [sep(1)?, sep(2)?, sep(3)?],
        })
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let out1 = relu(match &self.conv0 {
            FirstConv::Plain { filters, bias } => conv_same(x, filters, Some(bias), 2, 1),
            FirstConv::Separable(sep) => sep.forward_strided(x, 2),
        });
        // Running sum of the block's outputs: each convolution reads relu(sum so far).
        let mut sum = out1.clone();
        let mut input = out1;
        for conv in &self.convs {
            let out = conv.forward(input);
            sum = sum + out;
            input = relu(sum.clone());
        }
        input
    }
}

/// Feature extractor + linear head.
#[derive(Debug, Clone)]
pub struct DenseFeatureNet<B: Backend> {
    blocks: Vec<DenseBlock<B>>,
    /// [256, outputs] and [1, outputs].
    fc_w: Tensor<B, 2>,
    fc_b: Tensor<B, 2>,
}

impl<B: Backend> DenseFeatureNet<B> {
    pub fn load(map: &WeightMap, device: &B::Device) -> Result<Self, FaceError> {
        let blocks = (0..4)
            .map(|i| DenseBlock::load(map, &format!("dense{i}"), i == 0, device))
            .collect::<Result<_, _>>()?;
        let w = map.get("fc/weights")?;
        let b = map.get("fc/bias")?;
        let [fin, fout] = w.shape[..] else {
            return Err(FaceError::Manifest("fc/weights is not 2-D".into()));
        };
        Ok(Self {
            blocks,
            fc_w: Tensor::from_data(TensorData::new(w.data.clone(), [fin, fout]), device),
            fc_b: Tensor::from_data(TensorData::new(b.data.clone(), [1, fout]), device),
        })
    }

    /// x: [N, 3, 112, 112], already `(rgb − MEAN_RGB) / 255` → raw outputs [N, outputs].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(x);
        }
        let pooled = avg_pool2d(x, [7, 7], [2, 2], [0, 0], true, false);
        let [n, c, _, _] = pooled.dims();
        pooled.reshape([n, c]).matmul(self.fc_w.clone()) + self.fc_b.clone()
    }

    /// Expression probabilities (softmax of the logits), for the expression weights.
    pub fn probabilities(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        softmax(self.forward(x), 1)
    }
}

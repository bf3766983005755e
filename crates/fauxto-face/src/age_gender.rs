//! face-api's age and gender network (`ageGenderNet`): a Tiny Xception backbone (Chollet
//! 2017, depthwise-separable convolutions with residual reduction blocks) on a 112×112
//! face, global average pooling, and two linear heads: age in years (regression) and
//! gender logits (softmax gives p(male), p(female)).

use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::module::avg_pool2d;
use burn::tensor::{Tensor, TensorData};

use crate::error::FaceError;
use crate::pool::max_pool_same;
use crate::tf_ops::{bias_vector, conv_same, hwio_to_oihw, SeparableConv};
use crate::weights::WeightMap;

/// Input side of the network.
pub const INPUT_SIZE: usize = 112;

/// Two separable convolutions, a strided max pool, plus a strided 1×1 shortcut.
#[derive(Debug, Clone)]
struct ReductionBlock<B: Backend> {
    sep0: SeparableConv<B>,
    sep1: SeparableConv<B>,
    expansion: Tensor<B, 4>,
    expansion_bias: Tensor<B, 1>,
    activate_input: bool,
}

impl<B: Backend> ReductionBlock<B> {
    fn load(
        map: &WeightMap,
        prefix: &str,
        activate_input: bool,
        device: &B::Device,
    ) -> Result<Self, FaceError> {
        Ok(Self {
            sep0: SeparableConv::load(map, &format!("{prefix}/separable_conv0"), device)?,
            sep1: SeparableConv::load(map, &format!("{prefix}/separable_conv1"), device)?,
            expansion: hwio_to_oihw(
                map.get(&format!("{prefix}/expansion_conv/filters"))?,
                device,
            )?,
            expansion_bias: bias_vector(
                &map.get(&format!("{prefix}/expansion_conv/bias"))?.data,
                device,
            ),
            activate_input,
        })
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let out = if self.activate_input {
            relu(x.clone())
        } else {
            x.clone()
        };
        let out = self.sep0.forward(out);
        let out = self.sep1.forward(relu(out));
        let out = max_pool_same(out, 3, 2);
        out + conv_same(x, &self.expansion, Some(&self.expansion_bias), 2, 1)
    }
}

/// Three activated separable convolutions with an identity shortcut.
#[derive(Debug, Clone)]
struct MainBlock<B: Backend> {
    seps: [SeparableConv<B>; 3],
}

impl<B: Backend> MainBlock<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut out = x.clone();
        for sep in &self.seps {
            out = sep.forward(relu(out));
        }
        out + x
    }
}

/// Raw outputs for a batch of faces.
#[derive(Debug, Clone)]
pub struct AgeGenderOutput<B: Backend> {
    /// Age in years, [N].
    pub age: Tensor<B, 1>,
    /// Gender logits (male, female), [N, 2].
    pub gender_logits: Tensor<B, 2>,
    /// Their softmax, [N, 2].
    pub gender_probs: Tensor<B, 2>,
}

#[derive(Debug, Clone)]
pub struct AgeGenderNet<B: Backend> {
    conv_in: Tensor<B, 4>,
    conv_in_bias: Tensor<B, 1>,
    reduction0: ReductionBlock<B>,
    reduction1: ReductionBlock<B>,
    middle: Vec<MainBlock<B>>,
    exit_reduction: ReductionBlock<B>,
    exit_sep: SeparableConv<B>,
    /// [512, 1] and [1]; [512, 2] and [2].
    age_w: Tensor<B, 2>,
    age_b: Tensor<B, 2>,
    gender_w: Tensor<B, 2>,
    gender_b: Tensor<B, 2>,
}

impl<B: Backend> AgeGenderNet<B> {
    pub fn load(map: &WeightMap, device: &B::Device) -> Result<Self, FaceError> {
        let matrix = |name: &str| -> Result<Tensor<B, 2>, FaceError> {
            let w = map.get(name)?;
            let shape = if w.shape.len() == 2 {
                [w.shape[0], w.shape[1]]
            } else {
                [1, w.shape[0]]
            };
            Ok(Tensor::from_data(
                TensorData::new(w.data.clone(), shape),
                device,
            ))
        };
        let middle = (0..2)
            .map(|i| {
                let p = format!("middle_flow/main_block_{i}");
                Ok(MainBlock {
                    seps: [
                        SeparableConv::load(map, &format!("{p}/separable_conv0"), device)?,
                        SeparableConv::load(map, &format!("{p}/separable_conv1"), device)?,
                        SeparableConv::load(map, &format!("{p}/separable_conv2"), device)?,
                    ],
                })
            })
            .collect::<Result<_, FaceError>>()?;
        Ok(Self {
            conv_in: hwio_to_oihw(map.get("entry_flow/conv_in/filters")?, device)?,
            conv_in_bias: bias_vector(&map.get("entry_flow/conv_in/bias")?.data, device),
            reduction0: ReductionBlock::load(map, "entry_flow/reduction_block_0", false, device)?,
            reduction1: ReductionBlock::load(map, "entry_flow/reduction_block_1", true, device)?,
            middle,
            exit_reduction: ReductionBlock::load(map, "exit_flow/reduction_block", true, device)?,
            exit_sep: SeparableConv::load(map, "exit_flow/separable_conv", device)?,
            age_w: matrix("fc/age/weights")?,
            age_b: matrix("fc/age/bias")?,
            gender_w: matrix("fc/gender/weights")?,
            gender_b: matrix("fc/gender/bias")?,
        })
    }

    /// x: [N, 3, 112, 112], already `(rgb − MEAN_RGB) / 255`.
    pub fn forward(&self, x: Tensor<B, 4>) -> AgeGenderOutput<B> {
        let x = relu(conv_same(x, &self.conv_in, Some(&self.conv_in_bias), 2, 1));
        let mut x = self.reduction0.forward(x);
        x = self.reduction1.forward(x);
        for block in &self.middle {
            x = block.forward(x);
        }
        x = self.exit_reduction.forward(x);
        let x = relu(self.exit_sep.forward(x));
        let pooled = avg_pool2d(x, [7, 7], [2, 2], [0, 0], true, false);
        let [n, c, _, _] = pooled.dims();
        let pooled = pooled.reshape([n, c]);
        let age = (pooled.clone().matmul(self.age_w.clone()) + self.age_b.clone()).reshape([n]);
        let gender_logits = pooled.matmul(self.gender_w.clone()) + self.gender_b.clone();
        let gender_probs = softmax(gender_logits.clone(), 1);
        AgeGenderOutput {
            age,
            gender_logits,
            gender_probs,
        }
    }
}

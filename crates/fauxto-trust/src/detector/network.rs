//! The detector's network: a small, fully convolutional binary classifier.
//!
//! Its input is the image beside its neighbouring-pixel residual (see `input`), the signal
//! Tan et al. ("Rethinking the Up-Sampling Operations in CNN-based Generative Network for
//! Generalizable Deepfake Detection", CVPR 2024) show a generator's up-sampling leaves in
//! every 2x2 block. Four 3x3 convolutions with ReLU, each halving the resolution (the first
//! sees every 2x2 block whole), global average pooling and one linear unit give a logit: the
//! log-odds that the image was made by a GAN — about 13.6 million multiply-adds for a 64x64
//! image. With no fixed input size, it reads a 64x64 face, a 128x128
//! one or one shrunk to 32x32 alike. No ImageNet weights exist here, so unlike Wang et al.'s
//! ResNet-50 ("CNN-generated images are surprisingly easy to spot... for now", CVPR 2020) it
//! is small enough to train from scratch on a CPU.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::input::INPUT_CHANNELS;
use super::DetectorError;
use crate::rng::SplitMix64;

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut SplitMix64) -> f32 {
    let u1 = (rng.unit() as f64).max(1e-12);
    let u2 = rng.unit() as f64;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Output channels of the four convolutions (each of stride 2).
pub const WIDTHS: [usize; 4] = [32, 64, 128, 128];

/// The classifier: convolutions, global average pooling, a linear logit.
#[derive(Module, Debug)]
pub struct DetectorNet<B: Backend> {
    pub convs: Vec<Conv2d<B>>,
    pub head: Linear<B>,
}

impl<B: Backend> DetectorNet<B> {
    /// Fresh weights: He initialisation (normal, variance 2 / fan-in, as suits ReLU) and
    /// zero biases, drawn from SplitMix64 with `seed` — the same on every backend and
    /// whatever else draws from the backend's own generator meanwhile.
    pub fn new(seed: u64, device: &B::Device) -> Self {
        let mut rng = SplitMix64::keyed(seed, &[0xDE7E_C708]);
        let mut normal = |shape: Vec<usize>, std: f32| -> Tensor<B, 1> {
            let n = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|_| std * gaussian(&mut rng)).collect();
            Tensor::from_data(TensorData::new(values, [n]), device)
        };
        let mut channels = INPUT_CHANNELS;
        let convs = WIDTHS
            .iter()
            .map(|&width| {
                let mut conv = Conv2dConfig::new([channels, width], [3, 3])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_initializer(Initializer::Zeros)
                    .init(device);
                let std = (2.0 / (9 * channels) as f32).sqrt();
                let w = normal(vec![width, channels, 3, 3], std).reshape([width, channels, 3, 3]);
                conv.weight = Param::from_tensor(w);
                channels = width;
                conv
            })
            .collect();
        let mut head = LinearConfig::new(channels, 1)
            .with_initializer(Initializer::Zeros)
            .init(device);
        let std = (1.0 / channels as f32).sqrt();
        head.weight = Param::from_tensor(normal(vec![channels, 1], std).reshape([channels, 1]));
        DetectorNet { convs, head }
    }

    /// Logits `[N]` of a batch `[N, INPUT_CHANNELS, H, W]` (see `input::batch`).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 1> {
        let x = self.convs.iter().fold(x, |x, conv| relu(conv.forward(x)));
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([n, c]);
        self.head.forward(pooled).reshape([n])
    }

    /// The weights as named f32 tensors (`conv{i}.weight`, `conv{i}.bias`, `head.weight`
    /// `[in, out]`, `head.bias`), each name after `prefix`.
    pub fn tensors(&self, prefix: &str) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut out = Vec::new();
        let mut push = |name: String, data: TensorData| {
            let shape = data.shape.to_vec();
            let name = format!("{prefix}{name}");
            out.push((name, shape, data.to_vec::<f32>().expect("f32 weights")));
        };
        for (i, conv) in self.convs.iter().enumerate() {
            push(format!("conv{i}.weight"), conv.weight.val().into_data());
            if let Some(b) = &conv.bias {
                push(format!("conv{i}.bias"), b.val().into_data());
            }
        }
        push("head.weight".into(), self.head.weight.val().into_data());
        if let Some(b) = &self.head.bias {
            push("head.bias".into(), b.val().into_data());
        }
        out
    }

    /// Serialises the weights with `metadata` as safetensors.
    pub fn to_safetensors(&self, metadata: HashMap<String, String>) -> Vec<u8> {
        serialize(self.tensors(""), metadata)
    }

    /// The network stored in `bytes` (as written by [`to_safetensors`](Self::to_safetensors)).
    pub fn from_safetensors(bytes: &[u8], device: &B::Device) -> Result<Self, DetectorError> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| DetectorError::Format(format!("not a safetensors file: {e}")))?;
        Self::from_named(&st, "", device)
    }

    /// The network whose tensors are named after `prefix` in `st` (see
    /// [`tensors`](Self::tensors)).
    pub fn from_named(
        st: &SafeTensors,
        prefix: &str,
        device: &B::Device,
    ) -> Result<Self, DetectorError> {
        let mut net = DetectorNet::new(0, device);
        let tensor = |name: &str, shape: &[usize]| -> Result<TensorData, DetectorError> {
            let name = format!("{prefix}{name}");
            let view = st
                .tensor(&name)
                .map_err(|_| DetectorError::Format(format!("missing tensor {name}")))?;
            if view.dtype() != Dtype::F32 || view.shape() != shape {
                return Err(DetectorError::Format(format!(
                    "{name}: expected f32 {shape:?}, found {:?} {:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok(TensorData::new(values, shape.to_vec()))
        };
        for (i, conv) in net.convs.iter_mut().enumerate() {
            let shape = conv.weight.shape().dims::<4>();
            let w = tensor(&format!("conv{i}.weight"), &shape)?;
            conv.weight = Param::from_tensor(Tensor::from_data(w, device));
            let b = tensor(&format!("conv{i}.bias"), &[shape[0]])?;
            conv.bias = Some(Param::from_tensor(Tensor::from_data(b, device)));
        }
        let shape = net.head.weight.shape().dims::<2>();
        let w = tensor("head.weight", &shape)?;
        net.head.weight = Param::from_tensor(Tensor::from_data(w, device));
        let b = tensor("head.bias", &[shape[1]])?;
        net.head.bias = Some(Param::from_tensor(Tensor::from_data(b, device)));
        Ok(net)
    }
}

/// Named f32 tensors (as [`DetectorNet::tensors`] gives them) and `metadata` as safetensors.
pub fn serialize(
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    metadata: HashMap<String, String>,
) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, data)| {
            let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, shape, raw)
        })
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(name, shape, raw)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), raw).expect("consistent");
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, Some(metadata)).expect("serialisable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn weights_round_trip_through_safetensors() {
        let device = Default::default();
        let net = DetectorNet::<Flex>::new(1, &device);
        let bytes = net.to_safetensors(HashMap::new());
        let back = DetectorNet::<Flex>::from_safetensors(&bytes, &device).unwrap();
        for ((na, sa, a), (nb, sb, b)) in net.tensors("").iter().zip(back.tensors("").iter()) {
            assert_eq!((na, sa), (nb, sb));
            assert_eq!(a, b, "{na}");
        }
        let x = Tensor::<Flex, 4>::ones([2, INPUT_CHANNELS, 32, 32], &device);
        let (ya, yb) = (net.forward(x.clone()), back.forward(x));
        assert_eq!(ya.dims(), [2]);
        assert_eq!(ya.into_data(), yb.into_data());
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let device = Default::default();
        let bytes = DetectorNet::<Flex>::new(1, &device).to_safetensors(HashMap::new());
        assert!(DetectorNet::<Flex>::from_safetensors(&bytes[..bytes.len() / 2], &device).is_err());
    }
}

//! TensorFlow semantics the face-api networks rely on, on burn's NCHW tensors: HWIO
//! filters, `same` padding (asymmetric for strided layers: the extra pixel goes to the
//! bottom and right) and separable convolutions. (`same` max pooling is in `pool`.)

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Tensor, TensorData};

use crate::error::FaceError;
use crate::im2col::{conv_1x1_strided, conv_unfolded, lowers_to_matrix_product, Windows};
use crate::weights::{Weight, WeightMap};

/// A TensorFlow filter `[kh, kw, in, out]` as burn's `[out, in, kh, kw]`.
pub fn hwio_to_oihw<B: Backend>(f: &Weight, device: &B::Device) -> Result<Tensor<B, 4>, FaceError> {
    let [kh, kw, ci, co] = f.shape[..] else {
        return Err(FaceError::Manifest(format!(
            "filter of shape {:?} is not 4-D",
            f.shape
        )));
    };
    let mut oihw = vec![0f32; f.data.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..ci {
                for o in 0..co {
                    oihw[((o * ci + i) * kh + y) * kw + x] =
                        f.data[((y * kw + x) * ci + i) * co + o];
                }
            }
        }
    }
    Ok(Tensor::from_data(
        TensorData::new(oihw, [co, ci, kh, kw]),
        device,
    ))
}

/// A per-channel bias, as convolutions take it. (Handing the bias to the convolution
/// rather than adding a broadcast `[1, C, 1, 1]` tensor matters: burn's CPU backend
/// broadcasts over a batch slowly.)
pub fn bias_vector<B: Backend>(v: &[f32], device: &B::Device) -> Tensor<B, 1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

/// Padding `(before, after)` of TensorFlow's `same` for one axis.
pub(crate) fn same_pad(size: usize, k: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + k).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// Pads `x` for a `same` window of size `k` and `stride` with `value`.
pub(crate) fn pad_same<B: Backend>(
    x: Tensor<B, 4>,
    k: usize,
    stride: usize,
    value: f32,
) -> Tensor<B, 4> {
    let [_, _, h, w] = x.dims();
    let (top, bottom) = same_pad(h, k, stride);
    let (left, right) = same_pad(w, k, stride);
    if top + bottom + left + right == 0 {
        return x;
    }
    x.pad((left, right, top, bottom), PadMode::Constant(value))
}

/// `tf.conv2d(x, filters, stride, 'same') + bias` with `groups` groups.
pub fn conv_same<B: Backend>(
    x: Tensor<B, 4>,
    filters: &Tensor<B, 4>,
    bias: Option<&Tensor<B, 1>>,
    stride: usize,
    groups: usize,
) -> Tensor<B, 4> {
    let k = filters.dims()[2];
    let [_, _, h, w] = x.dims();
    if groups == 1 && k == 1 && stride > 1 {
        return conv_1x1_strided(x, filters, bias, stride);
    }
    let (top, bottom) = same_pad(h, k, stride);
    let (left, right) = same_pad(w, k, stride);
    if groups == 1 && k > 1 && lowers_to_matrix_product(&x) {
        let win = Windows {
            k,
            stride,
            before: [top, left],
            out: [h.div_ceil(stride), w.div_ceil(stride)],
        };
        return conv_unfolded(x, filters, bias, win);
    }
    // Symmetric padding goes to the convolution itself; only the odd pixel of a strided
    // layer needs a padded copy of the input.
    let (x, padding) = if top == bottom && left == right {
        (x, [top, left])
    } else {
        (pad_same(x, k, stride, 0.0), [0, 0])
    };
    conv2d(
        x,
        filters.clone(),
        bias.cloned(),
        ConvOptions::new([stride, stride], padding, [1, 1], groups),
    )
}

/// `tf.separableConv2d(x, depthwise, pointwise, 1, 'same') + bias` (face-api's
/// `depthwiseSeparableConv`).
#[derive(Debug, Clone)]
pub struct SeparableConv<B: Backend> {
    /// [C, 1, k, k].
    depthwise: Tensor<B, 4>,
    /// [O, C, 1, 1].
    pointwise: Tensor<B, 4>,
    bias: Tensor<B, 1>,
}

impl<B: Backend> SeparableConv<B> {
    pub fn load(map: &WeightMap, prefix: &str, device: &B::Device) -> Result<Self, FaceError> {
        let dw = map.get(&format!("{prefix}/depthwise_filter"))?;
        let [kh, kw, c, 1] = dw.shape[..] else {
            return Err(FaceError::Manifest(format!(
                "{prefix}: depthwise filter {:?}",
                dw.shape
            )));
        };
        // [kh, kw, C, 1] → [C, 1, kh, kw].
        let mut data = vec![0f32; dw.data.len()];
        for y in 0..kh {
            for x in 0..kw {
                for ch in 0..c {
                    data[(ch * kh + y) * kw + x] = dw.data[(y * kw + x) * c + ch];
                }
            }
        }
        Ok(Self {
            depthwise: Tensor::from_data(TensorData::new(data, [c, 1, kh, kw]), device),
            pointwise: hwio_to_oihw(map.get(&format!("{prefix}/pointwise_filter"))?, device)?,
            bias: bias_vector(&map.get(&format!("{prefix}/bias"))?.data, device),
        })
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_strided(x, 1)
    }

    /// With the depthwise step strided (`same` padding).
    pub fn forward_strided(&self, x: Tensor<B, 4>, stride: usize) -> Tensor<B, 4> {
        let c = self.depthwise.dims()[0];
        let y = conv_same(x, &self.depthwise, None, stride, c);
        conv_same(y, &self.pointwise, Some(&self.bias), 1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::same_pad;

    #[test]
    fn same_padding_puts_the_odd_pixel_after() {
        assert_eq!(same_pad(112, 3, 2), (0, 1));
        assert_eq!(same_pad(56, 3, 2), (0, 1));
        assert_eq!(same_pad(56, 1, 2), (0, 0));
        assert_eq!(same_pad(7, 3, 1), (1, 1));
        assert_eq!(same_pad(7, 3, 2), (1, 1));
    }
}

//! Convolutions lowered to one matrix product (im2col; Chellapilla, Puri and Simard, "High
//! Performance Convolutional Neural Networks for Document Processing", 2006).
//!
//! Used where burn's CPU backend is slow and the lowering is cheap:
//! - the first layer of each network, a `k`×`k` strided convolution of the 3 colour
//!   channels: the image is unfolded on the host into `3·k²` channels (one per filter tap)
//!   and convolved with the `[O, 3·k², 1, 1]` reshaped filters, which burn runs as a plain
//!   matrix product per image (about twice as fast as its direct strided convolution, and
//!   no padded copy of the input);
//! - strided 1×1 convolutions: a strided view of the input, then a 1×1 convolution (3.5x
//!   faster than burn's strided 1×1 path).

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{s, Tensor, TensorData};
use rayon::prelude::*;

use crate::host::on_cpu;

/// Input channels up to which a full convolution is lowered (the colour input layers).
const MAX_CHANNELS: usize = 4;

/// Whether a full (ungrouped) `k`×`k` convolution of `x` is better lowered here than run by
/// burn: colour input on the CPU backend (on a GPU the unfolding would cost transfers).
pub fn lowers_to_matrix_product<B: Backend>(x: &Tensor<B, 4>) -> bool {
    x.dims()[1] <= MAX_CHANNELS && on_cpu::<B>(&x.device())
}

/// Where a `k`×`k` window with `stride` starts and how many outputs there are, per axis:
/// `(padding before, output size)` for height and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub k: usize,
    pub stride: usize,
    pub before: [usize; 2],
    pub out: [usize; 2],
}

/// Unfolds an NCHW buffer into `[N, C·k², oh, ow]`: channel `(c·k + ky)·k + kx` holds
/// input channel `c` at offset `(ky, kx)` of every window; positions in the padding are 0.
pub fn unfold_nchw(data: &[f32], [n, c, h, w]: [usize; 4], win: Windows) -> Vec<f32> {
    assert_eq!(data.len(), n * c * h * w, "buffer does not match its shape");
    let Windows {
        k,
        stride,
        before: [top, left],
        out: [oh, ow],
    } = win;
    let mut out = vec![0f32; n * c * k * k * oh * ow];
    out.par_chunks_mut(oh * ow)
        .enumerate()
        .for_each(|(index, dst)| {
            let (image, tap) = (index / (c * k * k), index % (c * k * k));
            let (channel, ky, kx) = (tap / (k * k), (tap / k) % k, tap % k);
            let plane = &data[(image * c + channel) * h * w..][..h * w];
            for (oy, dst_row) in dst.chunks_exact_mut(ow).enumerate() {
                let Some(y) = (oy * stride + ky).checked_sub(top).filter(|&y| y < h) else {
                    continue;
                };
                let row = &plane[y * w..(y + 1) * w];
                for (ox, d) in dst_row.iter_mut().enumerate() {
                    if let Some(&v) = (ox * stride + kx)
                        .checked_sub(left)
                        .and_then(|x| row.get(x))
                    {
                        *d = v;
                    }
                }
            }
        });
    out
}

/// `conv2d(x, filters, bias)` over the windows `win`, as an unfold and a 1×1 convolution.
/// `filters` is `[O, C, k, k]`.
pub fn conv_unfolded<B: Backend>(
    x: Tensor<B, 4>,
    filters: &Tensor<B, 4>,
    bias: Option<&Tensor<B, 1>>,
    win: Windows,
) -> Tensor<B, 4> {
    let device = x.device();
    let [n, c, h, w] = x.dims();
    let [o, fc, kh, kw] = filters.dims();
    assert!(
        fc == c && kh == win.k && kw == win.k,
        "filters do not fit the windows"
    );
    let data = x.into_data().convert::<f32>();
    let values = data.as_slice::<f32>().expect("converted to f32 just above");
    let cols = unfold_nchw(values, [n, c, h, w], win);
    let cols = Tensor::from_data(
        TensorData::new(cols, [n, c * win.k * win.k, win.out[0], win.out[1]]),
        &device,
    );
    conv2d(
        cols,
        filters.clone().reshape([o, c * win.k * win.k, 1, 1]),
        bias.cloned(),
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    )
}

/// A 1×1 convolution with `stride`: every `stride`-th row and column, then a 1×1
/// convolution (TensorFlow's `same` and `valid` agree here: no padding).
pub fn conv_1x1_strided<B: Backend>(
    x: Tensor<B, 4>,
    filters: &Tensor<B, 4>,
    bias: Option<&Tensor<B, 1>>,
    stride: usize,
) -> Tensor<B, 4> {
    let step = stride as isize;
    let x = if stride > 1 {
        x.slice(s![.., .., 0..;step, 0..;step])
    } else {
        x
    };
    conv2d(
        x,
        filters.clone(),
        bias.cloned(),
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_noise::noise;

    #[test]
    fn unfolding_places_every_tap() {
        // One image, 2 channels of 3x4, 3x3 windows, stride 2, padding (0, 1) before.
        let data: Vec<f32> = (0..24).map(|v| v as f32 + 1.0).collect();
        let win = Windows {
            k: 3,
            stride: 2,
            before: [0, 1],
            out: [2, 2],
        };
        let cols = unfold_nchw(&data, [1, 2, 3, 4], win);
        assert_eq!(cols.len(), 2 * 9 * 4);
        for c in 0..2 {
            for ky in 0..3 {
                for kx in 0..3 {
                    for oy in 0..2 {
                        for ox in 0..2 {
                            let (y, x) = (oy * 2 + ky, (ox * 2 + kx) as isize - 1);
                            let expected = if y < 3 && (0..4).contains(&x) {
                                data[(c * 3 + y) * 4 + x as usize]
                            } else {
                                0.0
                            };
                            let ch = (c * 3 + ky) * 3 + kx;
                            assert_eq!(cols[(ch * 2 + oy) * 2 + ox], expected);
                        }
                    }
                }
            }
        }
    }

    type B = burn::backend::Flex;

    fn random(shape: [usize; 4], seed: u32) -> Tensor<B, 4> {
        let values = noise(shape.iter().product(), seed);
        Tensor::from_data(TensorData::new(values, shape), &Default::default())
    }

    fn max_difference(a: Tensor<B, 4>, b: Tensor<B, 4>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn unfolded_convolution_equals_the_direct_one() {
        let device = Default::default();
        let x = random([2, 3, 9, 10], 1);
        let filters = random([4, 3, 3, 3], 2);
        let bias =
            Tensor::<B, 1>::from_data(TensorData::new(vec![0.1f32, -0.2, 0.3, 0.0], [4]), &device);
        // `same` at stride 2: TensorFlow pads 9 rows by (1, 1) and 10 columns by (0, 1).
        let padded = x
            .clone()
            .pad((0, 1, 1, 1), burn::tensor::ops::PadMode::Constant(0.0));
        let direct = conv2d(
            padded,
            filters.clone(),
            Some(bias.clone()),
            ConvOptions::new([2, 2], [0, 0], [1, 1], 1),
        );
        let win = Windows {
            k: 3,
            stride: 2,
            before: [1, 0],
            out: [5, 5],
        };
        let unfolded = conv_unfolded(x.clone(), &filters, Some(&bias), win);
        assert!(max_difference(direct, unfolded) < 1e-5);
        // `valid` at stride 1.
        let direct = conv2d(
            x.clone(),
            filters.clone(),
            None,
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        );
        let win = Windows {
            k: 3,
            stride: 1,
            before: [0, 0],
            out: [7, 8],
        };
        assert!(max_difference(direct, conv_unfolded(x, &filters, None, win)) < 1e-5);
    }

    #[test]
    fn strided_1x1_convolution_equals_the_direct_one() {
        let x = random([2, 5, 7, 8], 3);
        let filters = random([6, 5, 1, 1], 4);
        let direct = conv2d(
            x.clone(),
            filters.clone(),
            None,
            ConvOptions::new([2, 2], [0, 0], [1, 1], 1),
        );
        assert!(max_difference(direct, conv_1x1_strided(x, &filters, None, 2)) < 1e-6);
    }
}

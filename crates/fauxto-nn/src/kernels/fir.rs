//! FIR resampling (`upfirdn2d` with the [1, 3, 3, 1] filter, see [`crate::fir`]) as one
//! direct pass per channel plane, forward and backward.
//!
//! Along one axis `upfirdn2d` is a banded matrix (at most four taps per output); in 2-D it is
//! `M_h · X · M_wᵀ` per plane, and its gradient is the adjoint `M_hᵀ · dY · M_w`, banded too.
//! Applying the bands directly costs at most 8 multiply-adds per output where burn's matrix
//! products over the dense `M` cost `H + W`, and the depthwise (transposed) convolution runs
//! one plane after another on one thread.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};

use super::planes::{self, Band};
use super::{back, contiguous_values, record_unary, slice, OnCpu};

/// One `upfirdn2d` case: upsampling factor, downsampling factor, zero padding before and
/// after (in upsampled samples) and gain, the same along both axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resample {
    pub up: usize,
    pub down: usize,
    pub pad: [usize; 2],
    pub gain: f64,
}

/// The bands of one case for one input size: along the height and along the width.
#[derive(Clone, Debug)]
struct Bands {
    h: Band,
    w: Band,
}

impl Bands {
    fn new(spec: Resample, height: usize, width: usize) -> Option<Bands> {
        let axis_gain = spec.gain.sqrt();
        let band = |n: usize| {
            let (n_out, m) = crate::fir::resample_matrix(
                n,
                spec.up,
                spec.down,
                spec.pad[0],
                spec.pad[1],
                axis_gain,
            );
            Band::from_dense(n_out, n, &m)
        };
        Some(Bands {
            h: band(height)?,
            w: band(width)?,
        })
    }

    /// The adjoint map's bands.
    fn adjoint(&self) -> Option<Bands> {
        Some(Bands {
            h: self.h.transposed()?,
            w: self.w.transposed()?,
        })
    }

    /// Applies the map to every plane of `x` [N, C, h.n_in, w.n_in].
    fn apply(&self, x: FlexTensor) -> FlexTensor {
        let (dims, x) = contiguous_values(&x);
        let [n, c, h, w] = dims[..] else {
            panic!("FIR resampling takes [N, C, H, W], got {dims:?}");
        };
        assert_eq!(
            (h, w),
            (self.h.n_in, self.w.n_in),
            "planes of the planned size"
        );
        let out = planes::apply(slice(&x), n * c, &self.h, &self.w);
        FlexTensor::from_data(TensorData::new(out, [n, c, self.h.n_out, self.w.n_out]))
    }
}

/// The backward pass: the output gradient through the adjoint bands.
#[derive(Debug)]
struct ResampleBackward;

impl Backward<Flex, 1> for ResampleBackward {
    /// The adjoint's bands.
    type State = Bands;

    fn backward(self, ops: Ops<Bands, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let adjoint = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| adjoint.apply(grad));
    }
}

/// `x` resampled by `spec` with fauxto's kernel, or `x` back when the kernel does not apply
/// (another backend, kernels off, not float32, planes narrower than the filter).
pub fn resample<B: Backend>(x: Tensor<B, 4>, spec: Resample) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if x.dtype() != DType::F32 {
        return Err(x);
    }
    let [_, _, h, w] = x.dims();
    let Some(bands) = Bands::new(spec, h, w) else {
        return Err(x);
    };
    let Some(adjoint) = bands.adjoint() else {
        return Err(x);
    };
    let y = match OnCpu::of(x)? {
        OnCpu::Plain(x) => OnCpu::Plain(plain(x, &bands)),
        OnCpu::Tracked(x) => OnCpu::Tracked(tracked(x, &bands, adjoint)),
    };
    Ok(back(y))
}

fn plain(x: Tensor<Flex, 4>, bands: &Bands) -> Tensor<Flex, 4> {
    let out = bands.apply(x.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

fn tracked(
    x: Tensor<Autodiff<Flex>, 4>,
    bands: &Bands,
    adjoint: Bands,
) -> Tensor<Autodiff<Flex>, 4> {
    let x = x.into_primitive().tensor();
    let out = bands.apply(x.primitive.clone());
    record_unary(ResampleBackward, &x, || adjoint, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    const CASES: [Resample; 4] = [
        crate::fir::UPSAMPLE,
        crate::fir::DOWNSAMPLE,
        Resample {
            up: 1,
            down: 1,
            pad: [1, 1],
            gain: 4.0,
        },
        Resample {
            up: 1,
            down: 1,
            pad: [2, 2],
            gain: 1.0,
        },
    ];

    fn max_diff<const D: usize>(a: Tensor<Flex, D>, b: Tensor<Flex, D>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar()
    }

    /// Forward on Flex, and forward and input gradient on Autodiff<Flex>, equal burn's
    /// matrix form (dense `M_h · X · M_wᵀ` through burn's autodiff).
    #[test]
    fn kernel_equals_the_matrix_form_forward_and_backward() {
        let dev = Default::default();
        for (i, spec) in CASES.into_iter().enumerate() {
            for [h, w] in [[8, 8], [10, 12]] {
                let x =
                    Tensor::<Flex, 4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &dev);
                let reference = crate::fir::matrix_form(x.clone(), spec);
                let ours = resample(x.clone(), spec).expect("the kernel applies on Flex");
                assert!(max_diff(ours, reference.clone()) < 1e-5, "case {i} {h}x{w}");

                let r = Tensor::<Flex, 4>::random(
                    reference.dims(),
                    Distribution::Normal(0.0, 1.0),
                    &dev,
                );
                let grad_of = |y: Tensor<Autodiff<Flex>, 4>, x: &Tensor<Autodiff<Flex>, 4>| {
                    let grads = (y * Tensor::from_inner(r.clone())).sum().backward();
                    x.grad(&grads).expect("x is tracked")
                };
                let xa = Tensor::<Autodiff<Flex>, 4>::from_inner(x.clone()).require_grad();
                let ya = resample(xa.clone(), spec).expect("the kernel applies on autodiff");
                let ya_inner = ya.clone().inner();
                let ours = grad_of(ya, &xa);
                let xb = Tensor::<Autodiff<Flex>, 4>::from_inner(x.clone()).require_grad();
                let yb = crate::fir::matrix_form(xb.clone(), spec);
                assert!(
                    max_diff(ya_inner, yb.clone().inner()) < 1e-5,
                    "case {i} {h}x{w}"
                );
                let reference = grad_of(yb, &xb);
                assert!(
                    max_diff(ours, reference) < 1e-4,
                    "case {i} {h}x{w} gradient"
                );
            }
        }
    }

    #[test]
    fn planes_narrower_than_the_filter_are_handed_back() {
        let x = Tensor::<Flex, 4>::zeros([1, 1, 3, 8], &Default::default());
        assert!(resample(x, crate::fir::DOWNSAMPLE).is_err());
    }
}

//! The activation tail of every StyleGAN2 layer, `clamp(gain · lrelu(x, α), ±limit)`
//! (official `bias_act` after the bias), as one pass forward and one backward.
//!
//! burn's autodiff builds the leaky ReLU from a comparison, a scaling and a masked select,
//! and the clamp from two masked fills, each a pass over the activations with its own
//! gradient pass. Here the gradient `dy · gain · slope(x) · [|gain · lrelu(x)| ≤ limit]` is
//! one pass over the output gradient and the saved input. The slopes and the clamp's
//! boundary are burn's: slope 1 at x ≥ 0, α below; the gradient passes at the limit itself.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::{back, contiguous_values, record_unary, slice, OnCpu};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// `clamp(gain · lrelu(x, alpha), ±limit)`, no clamp when `limit` is None.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LreluClamp {
    pub alpha: f32,
    pub gain: f32,
    pub limit: Option<f32>,
}

impl LreluClamp {
    #[inline]
    fn slope(&self, x: f32) -> f32 {
        if x >= 0.0 {
            self.gain
        } else {
            self.gain * self.alpha
        }
    }

    /// The operation at one value.
    #[inline]
    pub(super) fn at(&self, x: f32) -> f32 {
        let limit = self.limit.unwrap_or(f32::INFINITY);
        (x * self.slope(x)).clamp(-limit, limit)
    }

    /// Its derivative at one value: the slope inside the clamp's range (its boundary
    /// included), 0 outside.
    #[inline]
    pub(super) fn derivative(&self, x: f32) -> f32 {
        let limit = self.limit.unwrap_or(f32::INFINITY);
        let slope = self.slope(x);
        if (x * slope).abs() <= limit {
            slope
        } else {
            0.0
        }
    }

    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(y, x)| {
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = self.at(x);
                }
            });
        y
    }

    fn backward(&self, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let mut dx = vec![0f32; x.len()];
        dx.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)))
            .for_each(|(dx, (x, dy))| {
                for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                    *dx = dy * self.derivative(x);
                }
            });
        dx
    }
}

pub(super) fn run(t: &FlexTensor, f: impl FnOnce(&[f32]) -> Vec<f32>) -> FlexTensor {
    let (dims, t) = contiguous_values(t);
    let out = f(slice(&t));
    FlexTensor::from_data(TensorData::new(out, dims))
}

#[derive(Debug)]
struct LreluClampBackward;

impl Backward<Flex, 1> for LreluClampBackward {
    /// The input and the operation.
    type State = (FlexTensor, LreluClamp);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, op) = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |dy| {
            let (_, x) = contiguous_values(&x);
            let x = slice(&x);
            run(&dy, |dy| op.backward(x, dy))
        });
    }
}

/// `x` through `op` with fauxto's kernel, or `x` back when it does not apply (another
/// backend, kernels off, not float32).
pub fn lrelu_clamp<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    op: LreluClamp,
) -> Result<Tensor<B, D>, Tensor<B, D>> {
    if x.dtype() != DType::F32 {
        return Err(x);
    }
    let y = match OnCpu::of(x)? {
        OnCpu::Plain(x) => {
            let out = run(&x.into_primitive().tensor(), |x| op.forward(x));
            OnCpu::Plain(Tensor::from_primitive(TensorPrimitive::Float(out)))
        }
        OnCpu::Tracked(x) => OnCpu::Tracked(tracked(x, op)),
    };
    Ok(back(y))
}

fn tracked<const D: usize>(
    x: Tensor<Autodiff<Flex>, D>,
    op: LreluClamp,
) -> Tensor<Autodiff<Flex>, D> {
    let x = x.into_primitive().tensor();
    let out = run(&x.primitive, |v| op.forward(v));
    record_unary(LreluClampBackward, &x, || (x.primitive.clone(), op), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::leaky_relu;
    use burn::tensor::Distribution;

    /// Output and input gradient equal burn's leaky ReLU, scaling and clamp, with values on
    /// both sides of zero and of the limit.
    #[test]
    fn fused_activation_equals_burns_composition() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 2.0), &dev);
        let r = Tensor::<Flex, 4>::random([2, 3, 5, 7], Distribution::Normal(0.0, 1.0), &dev);
        for limit in [Some(1.5f32), None] {
            let op = LreluClamp {
                alpha: 0.2,
                gain: std::f32::consts::SQRT_2,
                limit,
            };
            let burns = |x: Tensor<Autodiff<Flex>, 4>| {
                let y = leaky_relu(x, 0.2).mul_scalar(op.gain);
                match limit {
                    Some(c) => y.clamp(-c, c),
                    None => y,
                }
            };
            let grad = |f: &dyn Fn(Tensor<Autodiff<Flex>, 4>) -> Tensor<Autodiff<Flex>, 4>| {
                let xa = Tensor::<Autodiff<Flex>, 4>::from_inner(x.clone()).require_grad();
                let y = f(xa.clone());
                let g = (y.clone() * Tensor::from_inner(r.clone())).sum().backward();
                (y.inner(), xa.grad(&g).expect("tracked"))
            };
            let (y1, g1) = grad(&|x| lrelu_clamp(x, op).expect("the kernel applies"));
            let (y2, g2) = grad(&burns);
            let diff = |a: Tensor<Flex, 4>, b: Tensor<Flex, 4>| (a - b).abs().max().into_scalar();
            assert!(diff(y1, y2) < 1e-6, "{limit:?}: output");
            assert!(diff(g1, g2) < 1e-6, "{limit:?}: gradient");
            let plain = lrelu_clamp(x.clone(), op).expect("the kernel applies on Flex");
            let reference = burns(Tensor::from_inner(x.clone())).inner();
            assert!(diff(plain, reference) < 1e-6, "{limit:?}: plain forward");
        }
    }
}

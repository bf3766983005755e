//! The squared norm of every kernel of a convolution weight, `Σ_{ky,kx} w[o, i, ky, kx]²`
//! ([O, I, k, k] → [O, I]): the weight's part of the demodulation coefficients (StyleGAN2
//! §2.2, see `layers::modulated`), one pass forward and one backward.
//!
//! burn's autodiff builds it from a square and two sums over a dimension, and each sum's
//! backward pass multiplies a tensor of ones of the weight's shape by the broadcast output
//! gradient through its general strided iterator; here the gradient `2 · w · g[o, i]` is
//! one pass over the weight.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::{back, contiguous_values, record_unary, slice, OnCpu};

/// Kernels per parallel task.
const KERNELS_PER_TASK: usize = 1 << 10;

/// `Σ_{ky,kx} w[o, i, ky, kx]²` as [O, I] with fauxto's kernel, or `w` back when it does
/// not apply (another backend, kernels off, not float32).
pub fn kernel_square_sums<B: Backend>(w: Tensor<B, 4>) -> Result<Tensor<B, 2>, Tensor<B, 4>> {
    if w.dtype() != DType::F32 {
        return Err(w);
    }
    let y = match OnCpu::of(w)? {
        OnCpu::Plain(w) => {
            let out = forward(&w.into_primitive().tensor());
            OnCpu::Plain(Tensor::from_primitive(TensorPrimitive::Float(out)))
        }
        OnCpu::Tracked(w) => {
            let w = w.into_primitive().tensor();
            let out = forward(&w.primitive);
            OnCpu::Tracked(record_unary(
                SquareSumsBackward,
                &w,
                || w.primitive.clone(),
                out,
            ))
        }
    };
    Ok(back(y))
}

/// [O, I, k, k] → [O, I].
fn forward(w: &FlexTensor) -> FlexTensor {
    let (dims, w) = contiguous_values(w);
    let (o, i, k2) = (dims[0], dims[1], dims[2] * dims[3]);
    let w = slice(&w);
    let mut sums = vec![0f32; o * i];
    if k2 > 0 {
        sums.par_chunks_mut(KERNELS_PER_TASK)
            .zip(w.par_chunks(KERNELS_PER_TASK * k2))
            .for_each(|(sums, w)| {
                for (sum, kernel) in sums.iter_mut().zip(w.chunks_exact(k2)) {
                    *sum = kernel.iter().map(|v| v * v).sum();
                }
            });
    }
    FlexTensor::from_data(TensorData::new(sums, [o, i]))
}

#[derive(Debug)]
struct SquareSumsBackward;

impl Backward<Flex, 1> for SquareSumsBackward {
    /// The weight.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let w = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |g| {
            let (dims, w) = contiguous_values(&w);
            let (_, g) = contiguous_values(&g);
            let k2 = dims[2] * dims[3];
            let (w, g) = (slice(&w), slice(&g));
            let mut dw = vec![0f32; w.len()];
            if k2 > 0 {
                dw.par_chunks_mut(KERNELS_PER_TASK * k2)
                    .zip(w.par_chunks(KERNELS_PER_TASK * k2))
                    .zip(g.par_chunks(KERNELS_PER_TASK))
                    .for_each(|((dw, w), g)| {
                        for ((dw, w), &g) in dw.chunks_exact_mut(k2).zip(w.chunks_exact(k2)).zip(g)
                        {
                            for (d, &v) in dw.iter_mut().zip(w) {
                                *d = 2.0 * v * g;
                            }
                        }
                    });
            }
            FlexTensor::from_data(TensorData::new(dw, dims))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Autodiff;
    use burn::tensor::Distribution;

    /// Output and weight gradient equal burn's square and sums, for 3x3 and 1x1 kernels and
    /// a weight viewed through a transposition.
    #[test]
    fn square_sums_equal_burns_composition() {
        let dev = Default::default();
        let normal = Distribution::Normal(0.0, 1.0);
        for [o, i, k] in [[5, 7, 3], [3, 4, 1], [70, 40, 3]] {
            let w = Tensor::<Flex, 4>::random([i, o, k, k], normal, &dev).swap_dims(0, 1);
            let r = Tensor::<Flex, 2>::random([o, i], normal, &dev);
            let burns =
                |w: Tensor<Autodiff<Flex>, 4>| w.square().sum_dim(3).sum_dim(2).reshape([o, i]);
            let grad = |f: &dyn Fn(Tensor<Autodiff<Flex>, 4>) -> Tensor<Autodiff<Flex>, 2>| {
                let wa = Tensor::<Autodiff<Flex>, 4>::from_inner(w.clone()).require_grad();
                let y = f(wa.clone());
                let g = (y.clone() * Tensor::from_inner(r.clone())).sum().backward();
                (y.inner(), wa.grad(&g).expect("tracked"))
            };
            let (y1, g1) = grad(&|w| kernel_square_sums(w).expect("the kernel applies"));
            let (y2, g2) = grad(&burns);
            let rel = |a: Tensor<Flex, 2>, b: Tensor<Flex, 2>| {
                ((a - b.clone()).abs().max() / b.abs().max()).into_scalar()
            };
            assert!(rel(y1, y2) < 1e-6, "{o}x{i}x{k}: output");
            let (g1, g2) = (g1.reshape([o, i * k * k]), g2.reshape([o, i * k * k]));
            assert!(rel(g1, g2) < 1e-6, "{o}x{i}x{k}: gradient");
            let plain = kernel_square_sums(w.clone()).expect("the kernel applies on Flex");
            let reference = burns(Tensor::from_inner(w.clone())).inner();
            assert!(rel(plain, reference) < 1e-6, "{o}x{i}x{k}: plain forward");
        }
    }
}

//! fauxto's own CPU kernels for the operations burn's CPU backend (Flex) runs slowly, each a
//! backend operation with its own backward pass, taken on `Flex` and `Autodiff<Flex>` and
//! skipped on every other backend (CUDA keeps burn's kernels).
//!
//! A caller hands its tensor to a kernel and gets it back unchanged (`Err`) when the kernel
//! does not apply: another backend, a shape it does not cover, or kernels switched off
//! (`FAUXTO_KERNELS=0`, or [`set_enabled`] — the tests and benchmarks compare both paths).

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

pub mod activation;
pub mod conv;
pub mod epilogue;
pub mod fir;
pub mod grid_sample;
mod planes;
mod product;
mod scratch;
pub mod square_sums;
mod strided;
mod transposed;
pub mod winograd;

/// 0: not yet read from the environment; 1: off; 2: on.
static ENABLED: AtomicU8 = AtomicU8::new(0);

/// Whether fauxto's kernels replace burn's where they apply (default: yes, unless the
/// environment sets `FAUXTO_KERNELS=0`).
pub fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var("FAUXTO_KERNELS").map_or(true, |v| v != "0");
            ENABLED.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        state => state == 2,
    }
}

/// Switches fauxto's kernels on or off for the whole process.
pub fn set_enabled(on: bool) {
    ENABLED.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether fauxto's kernels take float32 tensors of backend `B`: `Flex` or
/// `Autodiff<Flex>`, kernels on.
pub(crate) fn applies<B: Backend>(dtype: burn::tensor::DType) -> bool {
    use std::any::TypeId;
    let cpu = TypeId::of::<B>() == TypeId::of::<Flex>()
        || TypeId::of::<B>() == TypeId::of::<Autodiff<Flex>>();
    cpu && dtype == burn::tensor::DType::F32 && enabled()
}

/// `value` as a `U` when `T` is `U` (a move, no copy), else `value` back.
fn cast<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<U>>() {
        Some(target) => Ok(target.take().expect("just filled")),
        None => Err(slot.expect("not taken")),
    }
}

/// A CPU tensor in row-major order (copied only if it is not already) and its dims.
fn contiguous_values(t: &FlexTensor) -> (Vec<usize>, FlexTensor) {
    let t = strided::contiguous(t);
    (t.layout().shape().to_vec(), t)
}

/// The values of a contiguous float32 CPU tensor.
fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous float32 tensor")
}

/// `out`, computed by a one-input operation from `x`, as a tensor on the autodiff graph:
/// recorded with its backward pass `op` and the state that pass needs (made only when a
/// gradient flows to `x`), or untracked when none does.
fn record_unary<O: Backward<Flex, 1>, const D: usize>(
    op: O,
    x: &FloatTensor<Autodiff<Flex>>,
    state: impl FnOnce() -> O::State,
    out: FlexTensor,
) -> Tensor<Autodiff<Flex>, D> {
    let y = match op
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(state(), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// The CPU backend, with or without autodiff, a tensor of backend `B` lives on.
pub(crate) enum OnCpu<const D: usize> {
    Plain(Tensor<Flex, D>),
    Tracked(Tensor<Autodiff<Flex>, D>),
}

impl<const D: usize> OnCpu<D> {
    /// `x` on the CPU backend when `B` is `Flex` or `Autodiff<Flex>` and kernels are on,
    /// else `x` back.
    pub(crate) fn of<B: Backend>(x: Tensor<B, D>) -> Result<Self, Tensor<B, D>> {
        if !enabled() {
            return Err(x);
        }
        let x = match cast::<_, Tensor<Flex, D>>(x) {
            Ok(plain) => return Ok(OnCpu::Plain(plain)),
            Err(x) => x,
        };
        cast::<_, Tensor<Autodiff<Flex>, D>>(x).map(OnCpu::Tracked)
    }
}

/// A CPU tensor back as a tensor of backend `B` (which it is: see [`OnCpu::of`]).
pub(crate) fn back<B: Backend, const D: usize>(y: OnCpu<D>) -> Tensor<B, D> {
    let cast_back = match y {
        OnCpu::Plain(y) => cast::<_, Tensor<B, D>>(y).ok(),
        OnCpu::Tracked(y) => cast::<_, Tensor<B, D>>(y).ok(),
    };
    cast_back.expect("a CPU tensor goes back to the backend it came from")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_tensors_round_trip_and_others_are_handed_back() {
        let dev = Default::default();
        let x = Tensor::<Flex, 2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &dev);
        let on = OnCpu::of(x.clone()).expect("Flex is the CPU backend");
        assert!(matches!(on, OnCpu::Plain(_)));
        let y: Tensor<Flex, 2> = back(on);
        y.into_data().assert_eq(&x.clone().into_data(), true);

        let tracked = Tensor::<Autodiff<Flex>, 2>::from_inner(x.clone());
        assert!(matches!(OnCpu::of(tracked), Ok(OnCpu::Tracked(_))));

        // A backend that is neither: here autodiff over autodiff.
        let other = Tensor::<Autodiff<Autodiff<Flex>>, 2>::from_floats([[1.0]], &dev);
        assert!(OnCpu::of(other).is_err());
    }
}

//! A strided float32 CPU tensor copied into row-major order.
//!
//! burn's CPU backend copies a layout that does not collapse to two dimensions one element
//! at a time through its general strided iterator. The layouts the training step hands to
//! fauxto's kernels are of that kind: the up-sampling convolution's weight viewed as
//! [I, O, k, k] (`swap_dims(0, 1)` of [O, I, k, k]: three dimensions once k x k merges) and
//! the flipped, transposed weight of a convolution's input gradient (negative strides).
//! Here the dimensions are merged where their strides allow, the innermost one is copied as
//! a run (a slice copy when its stride is 1), and the outermost is split over the cores.

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

/// Elements below which a copy stays on one thread.
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// `t` in row-major order: `t` itself when it already is, else a copy.
pub(super) fn contiguous(t: &FlexTensor) -> FlexTensor {
    let layout = t.layout();
    let whole = layout.start_offset() == 0
        && t.bytes().len() == layout.num_elements() * std::mem::size_of::<f32>();
    if t.dtype() != DType::F32 || (layout.is_contiguous() && whole) {
        return t.to_contiguous();
    }
    let shape = layout.shape().to_vec();
    let values = copy(
        t.storage::<f32>(),
        layout.start_offset(),
        &shape,
        layout.strides(),
    );
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The values of the view (`offset`, `shape`, `strides`) of `src` in row-major order.
fn copy(src: &[f32], offset: usize, shape: &[usize], strides: &[isize]) -> Vec<f32> {
    let len: usize = shape.iter().product();
    let mut dst = vec![0f32; len];
    if len == 0 {
        return dst;
    }
    let (shape, strides) = merged(shape, strides);
    let offset = offset as isize;
    match (shape.split_first(), strides.split_first()) {
        (Some((&outer, inner_shape)), Some((&outer_stride, inner_strides)))
            if len >= PARALLEL_ELEMENTS && !inner_shape.is_empty() =>
        {
            let inner = len / outer;
            dst.par_chunks_mut(inner).enumerate().for_each(|(j, out)| {
                let start = offset + j as isize * outer_stride;
                copy_into(src, start, inner_shape, inner_strides, out);
            });
        }
        _ => copy_into(src, offset, &shape, &strides, &mut dst),
    }
    dst
}

/// `shape` and `strides` without dimensions of size 1, and with every dimension merged into
/// the one before it where the two step through memory as one.
fn merged(shape: &[usize], strides: &[isize]) -> (Vec<usize>, Vec<isize>) {
    let (mut out_shape, mut out_strides) = (Vec::<usize>::new(), Vec::<isize>::new());
    for (&size, &stride) in shape.iter().zip(strides) {
        if size == 1 {
            continue;
        }
        match (out_shape.last_mut(), out_strides.last_mut()) {
            (Some(last_size), Some(last_stride)) if *last_stride == stride * size as isize => {
                *last_size *= size;
                *last_stride = stride;
            }
            _ => {
                out_shape.push(size);
                out_strides.push(stride);
            }
        }
    }
    if out_shape.is_empty() {
        // A single element.
        (vec![1], vec![1])
    } else {
        (out_shape, out_strides)
    }
}

/// Writes the view (`start`, `shape`, `strides`) of `src` into `out`, row-major: an
/// odometer over the outer dimensions, the innermost as one run.
fn copy_into(src: &[f32], start: isize, shape: &[usize], strides: &[isize], out: &mut [f32]) {
    let (&run, outer_shape) = shape.split_last().expect("at least one dimension");
    let (&step, outer_strides) = strides.split_last().expect("as many strides");
    let mut index = vec![0usize; outer_shape.len()];
    let mut base = start;
    for chunk in out.chunks_exact_mut(run) {
        if step == 1 {
            let from = base as usize;
            chunk.copy_from_slice(&src[from..from + run]);
        } else {
            for (k, value) in chunk.iter_mut().enumerate() {
                *value = src[(base + k as isize * step) as usize];
            }
        }
        // The next outer index (the last dimension fastest).
        for d in (0..index.len()).rev() {
            index[d] += 1;
            base += outer_strides[d];
            if index[d] < outer_shape[d] {
                break;
            }
            base -= outer_strides[d] * outer_shape[d] as isize;
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::tensor::{Distribution, Tensor};

    use super::*;

    fn check<const D: usize>(view: Tensor<Flex, D>) {
        let expected = view.clone().into_data();
        let t = view.into_primitive().tensor();
        let copied = contiguous(&t);
        assert!(copied.layout().is_contiguous());
        assert_eq!(copied.layout().start_offset(), 0);
        let got = TensorData::new(copied.storage::<f32>().to_vec(), expected.shape.clone());
        got.assert_eq(&expected, true);
    }

    #[test]
    fn strided_views_copy_as_burn_reads_them() {
        let dev = Default::default();
        let normal = Distribution::Normal(0.0, 1.0);
        for [o, i, k] in [[4, 3, 3], [64, 48, 3], [5, 7, 1], [1, 6, 3]] {
            let w = Tensor::<Flex, 4>::random([o, i, k, k], normal, &dev);
            check(w.clone().swap_dims(0, 1));
            check(w.clone().flip([2, 3]).swap_dims(0, 1));
            check(w.clone().permute([2, 0, 3, 1]));
            check(w.clone().slice([0..o, 0..i, 0..k, 0..1]));
            check(w);
        }
        let x = Tensor::<Flex, 3>::random([2, 300, 200], normal, &dev);
        check(x.clone().swap_dims(1, 2));
        check(x.clone().slice([1..2, 10..290, 5..7]));
        check(x.flip([2]));
        let one = Tensor::<Flex, 2>::random([1, 1], normal, &dev);
        check(one.swap_dims(0, 1));
        let empty = Tensor::<Flex, 2>::zeros([0, 3], &dev);
        check(empty.swap_dims(0, 1));
    }

    #[test]
    fn dimensions_merge_only_where_their_strides_join() {
        // [I, O, 3, 3] viewed from [O, I, 3, 3]: k x k merges, I and O do not.
        let (shape, strides) = merged(&[5, 4, 3, 3], &[9, 45, 3, 1]);
        assert_eq!((shape, strides), (vec![5, 4, 9], vec![9, 45, 1]));
        let (shape, strides) = merged(&[2, 1, 3], &[3, 3, 1]);
        assert_eq!((shape, strides), (vec![6], vec![1]));
        let (shape, strides) = merged(&[3, 3], &[-3, -1]);
        assert_eq!((shape, strides), (vec![9], vec![-1]));
    }
}

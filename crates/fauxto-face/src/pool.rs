//! Max pooling (`tf.maxPool`, `same` or `valid`) as one pass over the host buffer.
//!
//! TensorFlow's `same` max pooling never lets the padding win, so the window is simply
//! clipped to the image: no padded copy is made and no padding value is read. Each output
//! row takes the element-wise maximum of its (at most `k`) input rows, which runs on whole
//! contiguous rows, then the maximum over each `k`-wide column window of that row.
//!
//! Why by hand: burn's CPU backend computes max pooling together with the argmax indices
//! (for the backward pass) in a scalar loop, which made it the largest single cost of the
//! age/gender network (57 ms for one 3×3/2 pool over a 32×64×56×56 batch); this pass reads
//! the input once. Inference only: there is no gradient.

use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use crate::host::on_cpu;
use crate::tf_ops::{pad_same, same_pad};

/// Window `[start, end)` of output position `o` along an axis, clipped to `0..size`.
fn window(o: usize, stride: usize, before: usize, k: usize, size: usize) -> (usize, usize) {
    let start = (o * stride).saturating_sub(before);
    let end = (o * stride + k).saturating_sub(before).min(size);
    (start, end)
}

/// TensorFlow's padding modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output `ceil(size / stride)`; windows overhang the image, the odd pixel after.
    Same,
    /// Output `(size − k) / stride + 1`; windows inside the image.
    Valid,
}

impl Padding {
    /// `(output size, padding before)` along an axis of `size`.
    fn axis(self, size: usize, k: usize, stride: usize) -> (usize, usize) {
        match self {
            Padding::Same => (size.div_ceil(stride), same_pad(size, k, stride).0),
            Padding::Valid => ((size.saturating_sub(k)) / stride + 1, 0),
        }
    }
}

/// Max pooling of one `h`×`w` plane into `out` (`out_h`×`out_w`), with `row` as scratch
/// of length `w`.
fn pool_plane(
    plane: &[f32],
    [h, w]: [usize; 2],
    [(out_h, top), (out_w, left)]: [(usize, usize); 2],
    k: usize,
    stride: usize,
    out: &mut [f32],
    row: &mut [f32],
) {
    debug_assert_eq!(out.len(), out_h * out_w);
    for (oy, out_row) in out.chunks_exact_mut(out_w).enumerate() {
        let (y0, y1) = window(oy, stride, top, k, h);
        row.copy_from_slice(&plane[y0 * w..(y0 + 1) * w]);
        for y in y0 + 1..y1 {
            for (m, &v) in row.iter_mut().zip(&plane[y * w..(y + 1) * w]) {
                *m = m.max(v);
            }
        }
        for (ox, o) in out_row.iter_mut().enumerate() {
            let (x0, x1) = window(ox, stride, left, k, w);
            *o = row[x0 + 1..x1].iter().fold(row[x0], |m, &v| m.max(v));
        }
    }
}

/// Max pooling with a `k`×`k` window and `stride` over an NCHW float buffer; returns the
/// pooled buffer and its `[h, w]`.
pub fn max_pool_nchw(
    data: &[f32],
    [n, c, h, w]: [usize; 4],
    k: usize,
    stride: usize,
    padding: Padding,
) -> (Vec<f32>, [usize; 2]) {
    assert_eq!(data.len(), n * c * h * w, "buffer does not match its shape");
    assert!(k > 0 && stride > 0 && h > 0 && w > 0, "empty pooling");
    assert!(
        padding == Padding::Same || (h >= k && w >= k),
        "window larger than the image"
    );
    let axes = [padding.axis(h, k, stride), padding.axis(w, k, stride)];
    let [(out_h, _), (out_w, _)] = axes;
    let mut out = vec![0f32; n * c * out_h * out_w];
    out.par_chunks_mut(out_h * out_w)
        .zip(data.par_chunks(h * w))
        .for_each_init(
            || vec![0f32; w],
            |row, (out, plane)| pool_plane(plane, [h, w], axes, k, stride, out, row),
        );
    (out, [out_h, out_w])
}

/// `tf.maxPool(x, k, stride, padding)` on a float tensor `[N, C, H, W]`.
///
/// On burn's CPU backend the values are pooled where they are (the tensor is moved, not
/// copied); on other backends burn's own pooling runs.
pub fn max_pool<B: Backend>(
    x: Tensor<B, 4>,
    k: usize,
    stride: usize,
    padding: Padding,
) -> Tensor<B, 4> {
    let device = x.device();
    let [n, c, h, w] = x.dims();
    if !on_cpu::<B>(&device) {
        let x = match padding {
            Padding::Valid => x,
            // Padding never wins the maximum.
            Padding::Same => pad_same(x, k, stride, f32::MIN),
        };
        return max_pool2d(x, [k, k], [stride, stride], [0, 0], [1, 1], false);
    }
    let data = x.into_data().convert::<f32>();
    let values = data.as_slice::<f32>().expect("converted to f32 just above");
    let (out, [out_h, out_w]) = max_pool_nchw(values, [n, c, h, w], k, stride, padding);
    Tensor::from_data(TensorData::new(out, [n, c, out_h, out_w]), &device)
}

/// `tf.maxPool(x, k, stride, 'same')`.
pub fn max_pool_same<B: Backend>(x: Tensor<B, 4>, k: usize, stride: usize) -> Tensor<B, 4> {
    max_pool(x, k, stride, Padding::Same)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_noise::noise;

    /// Direct definition: the maximum over the clipped window, by index arithmetic.
    fn reference(
        data: &[f32],
        [h, w]: [usize; 2],
        k: usize,
        stride: usize,
        padding: Padding,
    ) -> Vec<f32> {
        let [(out_h, top), (out_w, left)] = match padding {
            Padding::Same => [
                (h.div_ceil(stride), same_pad(h, k, stride).0),
                (w.div_ceil(stride), same_pad(w, k, stride).0),
            ],
            Padding::Valid => [((h - k) / stride + 1, 0), ((w - k) / stride + 1, 0)],
        };
        let mut out = Vec::new();
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut m = f32::NEG_INFINITY;
                for dy in 0..k {
                    for dx in 0..k {
                        let y = (oy * stride + dy) as isize - top as isize;
                        let x = (ox * stride + dx) as isize - left as isize;
                        if (0..h as isize).contains(&y) && (0..w as isize).contains(&x) {
                            m = m.max(data[y as usize * w + x as usize]);
                        }
                    }
                }
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn matches_the_definition_for_odd_and_even_sizes() {
        for (case, &(h, w, k, stride, padding)) in [
            (56, 56, 3, 2, Padding::Same),
            (7, 9, 3, 2, Padding::Same),
            (5, 5, 3, 1, Padding::Same),
            (6, 3, 2, 2, Padding::Same),
            (1, 1, 3, 2, Padding::Same),
            (75, 75, 3, 2, Padding::Valid),
            (8, 7, 3, 2, Padding::Valid),
            (4, 4, 2, 1, Padding::Valid),
        ]
        .iter()
        .enumerate()
        {
            // All negative, so that a padding of zeros would show.
            let data: Vec<f32> = noise(2 * 3 * h * w, case as u32)
                .into_iter()
                .map(|v| v - 2.0)
                .collect();
            let (out, [oh, ow]) = max_pool_nchw(&data, [2, 3, h, w], k, stride, padding);
            assert_eq!(out.len(), 6 * oh * ow);
            for (plane, pooled) in data.chunks(h * w).zip(out.chunks(oh * ow)) {
                let expected = reference(plane, [h, w], k, stride, padding);
                assert_eq!(pooled, expected, "{h}x{w} k{k} s{stride} {padding:?}");
            }
        }
    }

    #[test]
    fn padding_never_wins_with_all_negative_values() {
        let data = vec![-5.0f32; 4 * 4];
        let (out, _) = max_pool_nchw(&data, [1, 1, 4, 4], 3, 2, Padding::Same);
        assert_eq!(out, vec![-5.0; 4]);
    }
}

//! Convolution gradients as well-shaped matrix products (training on the CPU backend).
//!
//! burn's autodiff takes a convolution's weight gradient as a convolution of the input with
//! the output gradient, batch and channels swapped: one matrix product per input channel
//! whose result has only k² columns, which the matrix kernels run at a fraction of their
//! speed; and the input gradient of a stride-1 convolution as a transposed convolution, which
//! the CPU backend runs image after image on one thread. Here both are taken as the textbook
//! forms instead:
//! - weight gradient `dW[O, I·k²] = Σ_n dY_n[O, L] · im2col(X_n)[I·k², L]ᵀ`, one matrix
//!   product per image with all of the weight as its result, accumulated in place;
//! - input gradient of a stride-1 convolution: the convolution of the output gradient with
//!   the flipped, transposed weight and padding `k − 1 − p` (burn's parallel forward);
//! - the input gradient of a stride-2 convolution whose windows cover its input exactly is
//!   the transposed convolution of `kernels::transposed`.
//!
//! The stride-1, padding-1 3x3 convolution, most of the arithmetic of both networks, runs
//! forward and backward by Winograd's F(2×2, 3×3) instead (see [`super::winograd`]), and
//! the up-sampling layers' transposed convolution by `kernels::transposed` (both gradients
//! from one set of patches); both on the plain CPU backend (generation) as well. The other
//! convolutions of training with kernels larger than 1x1 (the discriminator's stride-2 3x3
//! layers) run forward as one patch product per image ([`patch_conv`]); the 1x1 ones stay
//! burn's, which multiplies them without patches.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, ModuleOps};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::product::product;
use super::transposed;
use super::winograd::{self, Geometry};
use super::{back, contiguous_values, slice, OnCpu};

/// The dims of a contiguous float32 CPU tensor and its values.
fn contiguous<const D: usize>(t: &FlexTensor) -> ([usize; D], FlexTensor) {
    let (dims, t) = contiguous_values(t);
    let dims: [usize; D] = dims.try_into().expect("a tensor of the expected rank");
    (dims, t)
}

fn tensor(values: Vec<f32>, dims: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

/// The k x k patches of `plane` ([C, H, W]) at `stride` with zero padding `pad`, one patch
/// per window position, each patch (c, ky, kx) contiguous: [out_h·out_w, C·k²] (the layout
/// the matrix kernel reads without repacking).
pub(super) fn im2col(
    plane: &[f32],
    [c, h, w]: [usize; 3],
    k: usize,
    stride: usize,
    pad: usize,
    [out_h, out_w]: [usize; 2],
    cols: &mut [f32],
) {
    let rows = c * k * k;
    debug_assert_eq!(cols.len(), out_h * out_w * rows);
    cols.par_chunks_mut(out_w * rows)
        .enumerate()
        .for_each(|(oy, band)| {
            for ch in 0..c {
                let src = &plane[ch * h * w..(ch + 1) * h * w];
                for ky in 0..k {
                    // Row ky of every patch of this output row: k consecutive inputs each.
                    let first = (ch * k + ky) * k;
                    let y = (oy * stride + ky) as isize - pad as isize;
                    let slots = band
                        .chunks_exact_mut(rows)
                        .map(|p| &mut p[first..first + k]);
                    if y < 0 || y >= h as isize {
                        slots.for_each(|slot| slot.fill(0.0));
                        continue;
                    }
                    let src_row = &src[y as usize * w..(y as usize + 1) * w];
                    for (ox, slot) in slots.enumerate() {
                        let x0 = (ox * stride) as isize - pad as isize;
                        if x0 >= 0 && x0 as usize + k <= w {
                            let from = &src_row[x0 as usize..x0 as usize + k];
                            if let ([a, b, c], [x, y, z]) = (&mut *slot, from) {
                                // 3x3 kernels: three moves, not a call to memmove.
                                (*a, *b, *c) = (*x, *y, *z);
                            } else {
                                slot.copy_from_slice(from);
                            }
                        } else {
                            for (kx, v) in slot.iter_mut().enumerate() {
                                let x = x0 + kx as isize;
                                *v = if x >= 0 && x < w as isize {
                                    src_row[x as usize]
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                }
            }
        });
}

/// `Σ_n P_n[A, L] · im2col(Q_n)[B·k², L]ᵀ` as [A, B, k, k]: the weight gradient of a
/// convolution, P the output gradient [N, A, out_h, out_w] and Q the input [N, B, H, W].
/// (The transposed convolution's weight gradient is the same product with the roles
/// exchanged; [`super::transposed::gradients`] takes it beside the input gradient, from the
/// same patches.)
fn patch_product(
    p: &FlexTensor,
    q: &FlexTensor,
    k: usize,
    stride: usize,
    pad: usize,
) -> FlexTensor {
    let ([n, a, out_h, out_w], p) = contiguous::<4>(p);
    let ([_, b, h, w], q) = contiguous::<4>(q);
    let (p, q) = (slice(&p), slice(&q));
    let positions = out_h * out_w;
    let rows = b * k * k;
    let mut cols = vec![0f32; rows * positions];
    let mut dw = vec![0f32; a * rows];
    for image in 0..n {
        let q_n = &q[image * b * h * w..(image + 1) * b * h * w];
        im2col(q_n, [b, h, w], k, stride, pad, [out_h, out_w], &mut cols);
        let p_n = &p[image * a * positions..(image + 1) * a * positions];
        // dw[A, rows] (+)= p_n[A, L] · cols[L, rows].
        let (r, l) = (rows as isize, positions as isize);
        product(
            [a, rows, positions],
            &mut dw,
            [r, 1],
            image > 0,
            p_n,
            [l, 1],
            &cols,
            [r, 1],
        );
    }
    tensor(dw, [a, b, k, k])
}

/// `conv2d(x, w)` at any stride and padding as one matrix product per image,
/// `y_n[O, L] = W[O, I·k²] · im2col(x_n)[L, I·k²]ᵀ`, the patches gathered on all cores (burn's
/// CPU convolution first transposes the whole input to channels-last on one thread).
fn patch_conv(x: &FlexTensor, w: &FlexTensor, stride: usize, pad: usize) -> FlexTensor {
    let ([n, i, h, wd], x) = contiguous::<4>(x);
    let ([o, _, k, _], w) = contiguous::<4>(w);
    let (x, w) = (slice(&x), slice(&w));
    let size = |s: usize| (s + 2 * pad - k) / stride + 1;
    let (out_h, out_w) = (size(h), size(wd));
    let (positions, rows) = (out_h * out_w, i * k * k);
    let mut cols = vec![0f32; positions * rows];
    let mut y = vec![0f32; n * o * positions];
    for (x_n, y_n) in x
        .chunks_exact(i * h * wd)
        .zip(y.chunks_exact_mut(o * positions))
    {
        im2col(x_n, [i, h, wd], k, stride, pad, [out_h, out_w], &mut cols);
        // y_n[O, L] = w[O, rows] · cols[L, rows]ᵀ.
        let (r, l) = (rows as isize, positions as isize);
        product(
            [o, positions, rows],
            y_n,
            [l, 1],
            false,
            w,
            [r, 1],
            &cols,
            [1, r],
        );
    }
    tensor(y, [n, o, out_h, out_w])
}

/// Whether a convolution is the one [`winograd`] takes: 3x3, stride 1, padding 1.
fn by_winograd(k: usize, stride: usize, padding: usize) -> bool {
    k == 3 && stride == 1 && padding == 1
}

/// `conv2d(x, w)` at stride 1 and padding 1 by Winograd's F(2×2, 3×3); `w` [O, I, 3, 3].
fn winograd_conv(x: &FlexTensor, w: &FlexTensor) -> FlexTensor {
    let ([n, i, h, wd], x) = contiguous::<4>(x);
    let ([o, ..], w) = contiguous::<4>(w);
    let g = Geometry {
        n,
        channels: i,
        h,
        w: wd,
    };
    tensor(winograd::conv3x3(slice(&x), g, slice(&w), o), [n, o, h, wd])
}

/// The weight gradient of [`winograd_conv`] from its input and output gradient.
fn winograd_weight_gradient(dy: &FlexTensor, x: &FlexTensor) -> FlexTensor {
    let ([n, i, h, wd], x) = contiguous::<4>(x);
    let ([_, o, ..], dy) = contiguous::<4>(dy);
    let g = Geometry {
        n,
        channels: i,
        h,
        w: wd,
    };
    let dw = winograd::conv3x3_weight_gradient(slice(&x), g, slice(&dy), o);
    tensor(dw, [o, i, 3, 3])
}

/// `w` [O, I, k, k] as the weight [I, O, k, k] flipped in both spatial axes.
fn flipped_transposed(w: &FlexTensor) -> FlexTensor {
    let ([o, i, k, _], w) = contiguous::<4>(w);
    let w = slice(&w);
    let mut out = vec![0f32; w.len()];
    for (oc, w_o) in w.chunks_exact(i * k * k).enumerate() {
        for (ic, w_oi) in w_o.chunks_exact(k * k).enumerate() {
            let dst = &mut out[(ic * o + oc) * k * k..][..k * k];
            for (t, v) in w_oi.iter().enumerate() {
                dst[k * k - 1 - t] = *v;
            }
        }
    }
    tensor(out, [i, o, k, k])
}

/// What a convolution's backward pass keeps: the input (for the weight gradient, when the
/// weight is tracked) and the weight (for the input gradient, when the input is tracked).
#[derive(Clone, Debug)]
struct Saved {
    x: Option<FlexTensor>,
    w: Option<FlexTensor>,
    /// Input height and width (the input gradient's size).
    size: [usize; 2],
    k: usize,
    stride: usize,
    padding: usize,
}

/// Consumes the output gradient and registers, for whichever of input and weight is tracked,
/// the weight gradient `dw(dy, x)` (from the saved input) and the input gradient `dx(dy, w)`
/// (from the saved weight).
fn register_gradients(
    ops: Ops<Saved, 2>,
    grads: &mut Gradients,
    dw: impl FnOnce(&FlexTensor, &FlexTensor, &Saved) -> FlexTensor,
    dx: impl FnOnce(FlexTensor, &FlexTensor, &Saved) -> FlexTensor,
) {
    let [x_node, w_node] = ops.parents;
    let s = ops.state;
    let dy = grads.consume::<Flex>(&ops.node);
    if let (Some(node), Some(x)) = (w_node, &s.x) {
        grads.register::<Flex>(node.id, dw(&dy, x, &s));
    }
    if let (Some(node), Some(w)) = (x_node, &s.w) {
        grads.register::<Flex>(node.id, dx(dy, w, &s));
    }
}

/// The backward pass of a convolution (weight [O, I, k, k], any stride and padding).
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 2> for Conv2dBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        register_gradients(
            ops,
            grads,
            |dy, x, s| {
                if by_winograd(s.k, s.stride, s.padding) {
                    return winograd_weight_gradient(dy, x);
                }
                patch_product(dy, x, s.k, s.stride, s.padding)
            },
            |dy, w, s| {
                if by_winograd(s.k, s.stride, s.padding) {
                    return winograd_conv(&dy, &flipped_transposed(w));
                }
                if s.stride == 1 {
                    let options = ConvOptions::new([1, 1], [s.k - 1 - s.padding; 2], [1, 1], 1);
                    return Flex::conv2d(dy, flipped_transposed(w), None, options);
                }
                let out = dy.layout().shape().to_vec();
                let rest =
                    |size: usize, out: usize| size + 2 * s.padding - ((out - 1) * s.stride + s.k);
                if s.padding == 0 && rest(s.size[0], out[2]) == 0 && rest(s.size[1], out[3]) == 0 {
                    // The windows cover the input exactly (the down-sampling layers, after
                    // their FIR filter): the transposed convolution is the input gradient.
                    return transposed_conv(&dy, w, s.stride);
                }
                let options = ConvTransposeOptions::new(
                    [s.stride; 2],
                    [s.padding; 2],
                    [rest(s.size[0], out[2]), rest(s.size[1], out[3])],
                    [1, 1],
                    1,
                );
                Flex::conv_transpose2d(dy, w.clone(), None, options)
            },
        );
    }
}

/// The backward pass of a transposed convolution with padding 0 (weight [I, O, k, k]): both
/// gradients from one set of output-gradient patches (see [`super::transposed`]).
#[derive(Debug)]
struct ConvTranspose2dBackward;

impl Backward<Flex, 2> for ConvTranspose2dBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, w_node] = ops.parents;
        let s = ops.state;
        let dy = grads.consume::<Flex>(&ops.node);
        let (_, dy) = contiguous::<4>(&dy);
        let x =
            s.x.as_ref()
                .filter(|_| w_node.is_some())
                .map(contiguous::<4>);
        let w =
            s.w.as_ref()
                .filter(|_| x_node.is_some())
                .map(contiguous::<4>);
        let [h, wd] = s.size;
        let dims = |t: &Option<([usize; 4], FlexTensor)>| t.as_ref().map(|(d, _)| *d);
        let (n, i, o) = match (dims(&x), dims(&w)) {
            (Some([n, i, ..]), Some([_, o, ..])) => (n, i, o),
            (Some([n, i, ..]), None) => (n, i, dy.layout().shape()[1]),
            (None, Some([i, o, ..])) => (dy.layout().shape()[0], i, o),
            (None, None) => return,
        };
        let (dx, dw) = transposed::gradients(
            slice(&dy),
            x.as_ref().map(|(_, x)| slice(x)),
            w.as_ref().map(|(_, w)| slice(w)),
            [n, i, h, wd],
            [o, s.k],
            s.stride,
        );
        if let (Some(node), Some(dw)) = (w_node, dw) {
            grads.register::<Flex>(node.id, tensor(dw, [i, o, s.k, s.k]));
        }
        if let (Some(node), Some(dx)) = (x_node, dx) {
            grads.register::<Flex>(node.id, tensor(dx, [n, i, h, wd]));
        }
    }
}

/// `conv_transpose2d(x, w)` with no padding by [`transposed::forward`].
fn transposed_conv(x: &FlexTensor, w: &FlexTensor, stride: usize) -> FlexTensor {
    let ([n, i, h, wd], x) = contiguous::<4>(x);
    let ([_, o, k, _], w) = contiguous::<4>(w);
    let y = transposed::forward(slice(&x), [n, i, h, wd], slice(&w), [o, k], stride);
    let size = |s: usize| transposed::output_size(s, k, stride);
    tensor(y, [n, o, size(h), size(wd)])
}

/// `forward(x, w)` recorded with its backward pass `op`, which keeps the input when the
/// weight is tracked and the weight when the input is.
fn record<Op: Backward<Flex, 2, State = Saved>>(
    op: Op,
    x: Tensor<Autodiff<Flex>, 4>,
    w: Tensor<Autodiff<Flex>, 4>,
    stride: usize,
    padding: usize,
    forward: impl FnOnce(FlexTensor, FlexTensor) -> FlexTensor,
) -> Tensor<Autodiff<Flex>, 4> {
    let [_, _, h, wd] = x.dims();
    let k = w.dims()[2];
    let (x, w) = (x.into_primitive().tensor(), w.into_primitive().tensor());
    let out = forward(x.primitive.clone(), w.primitive.clone());
    let x_tracked = !x.node.requirement.is_none();
    let w_tracked = !w.node.requirement.is_none();
    let saved = Saved {
        x: w_tracked.then(|| x.primitive.clone()),
        w: x_tracked.then(|| w.primitive.clone()),
        size: [h, wd],
        k,
        stride,
        padding,
    };
    let y = match op
        .prepare::<NoCheckpointing>([x.node.clone(), w.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(saved, out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// An input and weight on the CPU backend, plain or tracked alike.
enum CpuPair {
    Plain(Tensor<Flex, 4>, Tensor<Flex, 4>),
    Tracked(Tensor<Autodiff<Flex>, 4>, Tensor<Autodiff<Flex>, 4>),
}

impl CpuPair {
    /// Takes a float32 tensor pair onto the CPU backend, or hands it back.
    #[allow(clippy::type_complexity)]
    fn of<B: Backend>(
        x: Tensor<B, 4>,
        w: Tensor<B, 4>,
    ) -> Result<Self, (Tensor<B, 4>, Tensor<B, 4>)> {
        if x.dtype() != DType::F32 || w.dtype() != DType::F32 {
            return Err((x, w));
        }
        match (OnCpu::of(x), OnCpu::of(w)) {
            (Ok(OnCpu::Plain(x)), Ok(OnCpu::Plain(w))) => Ok(CpuPair::Plain(x, w)),
            (Ok(OnCpu::Tracked(x)), Ok(OnCpu::Tracked(w))) => Ok(CpuPair::Tracked(x, w)),
            (x, w) => Err((x.map_or_else(|x| x, back), w.map_or_else(|w| w, back))),
        }
    }
}

/// `conv2d(x, w)` (weight [O, I, k, k], square stride and padding, no bias) on the tracked
/// CPU backend with the backward pass above, and on the plain CPU backend when Winograd's
/// algorithm takes it; `(x, w)` back elsewhere.
#[allow(clippy::type_complexity)]
pub fn conv2d<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    stride: usize,
    padding: usize,
) -> Result<Tensor<B, 4>, (Tensor<B, 4>, Tensor<B, 4>)> {
    let winograd = by_winograd(w.dims()[2], stride, padding) && w.dims()[3] == 3;
    let (x, w) = match CpuPair::of(x, w)? {
        CpuPair::Tracked(x, w) => (x, w),
        CpuPair::Plain(x, w) if winograd => {
            let (x, w) = (x.into_primitive().tensor(), w.into_primitive().tensor());
            let y = Tensor::from_primitive(TensorPrimitive::Float(winograd_conv(&x, &w)));
            return Ok(back(OnCpu::Plain(y)));
        }
        CpuPair::Plain(x, w) => return Err((back(OnCpu::Plain(x)), back(OnCpu::Plain(w)))),
    };
    let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);
    let y = record(Conv2dBackward, x, w, stride, padding, |x, w| {
        if winograd {
            return winograd_conv(&x, &w);
        }
        if w.layout().shape()[2] > 1 {
            // The discriminator's stride-2 3x3 convolutions.
            return patch_conv(&x, &w, stride, padding);
        }
        Flex::conv2d(x, w, None, options)
    });
    Ok(back(OnCpu::Tracked(y)))
}

/// `conv_transpose2d(x, w)` (weight [I, O, k, k], square stride, no padding, no bias) on the
/// CPU backend, tracked with the backward pass above; `(x, w)` back elsewhere.
#[allow(clippy::type_complexity)]
pub fn conv_transpose2d<B: Backend>(
    x: Tensor<B, 4>,
    w: Tensor<B, 4>,
    stride: usize,
) -> Result<Tensor<B, 4>, (Tensor<B, 4>, Tensor<B, 4>)> {
    let (x, w) = match CpuPair::of(x, w)? {
        CpuPair::Tracked(x, w) => (x, w),
        CpuPair::Plain(x, w) => {
            let (x, w) = (x.into_primitive().tensor(), w.into_primitive().tensor());
            let y = Tensor::from_primitive(TensorPrimitive::Float(transposed_conv(&x, &w, stride)));
            return Ok(back(OnCpu::Plain(y)));
        }
    };
    let y = record(ConvTranspose2dBackward, x, w, stride, 0, |x, w| {
        transposed_conv(&x, &w, stride)
    });
    Ok(back(OnCpu::Tracked(y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module;
    use burn::tensor::Distribution;

    type Ad = Autodiff<Flex>;

    fn max_rel(a: Tensor<Flex, 4>, b: Tensor<Flex, 4>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        let scale = b.clone().abs().max().into_scalar().max(1e-6);
        (a - b).abs().max().into_scalar() / scale
    }

    /// Output and the gradients of `(y · r).sum()` for x and w (each tracked or not) by
    /// `ours` and by burn's own operation.
    fn compare(
        x_dims: [usize; 4],
        w_dims: [usize; 4],
        ours: impl Fn(Tensor<Ad, 4>, Tensor<Ad, 4>) -> Tensor<Ad, 4>,
        burns: impl Fn(Tensor<Ad, 4>, Tensor<Ad, 4>) -> Tensor<Ad, 4>,
    ) {
        let dev = Default::default();
        let normal = Distribution::Normal(0.0, 1.0);
        let x = Tensor::<Flex, 4>::random(x_dims, normal, &dev);
        let w = Tensor::<Flex, 4>::random(w_dims, normal, &dev);
        for (track_x, track_w) in [(true, true), (true, false), (false, true)] {
            let run = |f: &dyn Fn(Tensor<Ad, 4>, Tensor<Ad, 4>) -> Tensor<Ad, 4>| {
                let mut xa = Tensor::<Ad, 4>::from_inner(x.clone());
                let mut wa = Tensor::<Ad, 4>::from_inner(w.clone());
                if track_x {
                    xa = xa.require_grad();
                }
                if track_w {
                    wa = wa.require_grad();
                }
                let y = f(xa.clone(), wa.clone());
                let r = Tensor::<Flex, 4>::ones(y.dims(), &dev).mul_scalar(0.5)
                    + y.clone().inner().sin();
                let grads = (y.clone() * Tensor::from_inner(r)).sum().backward();
                (y.inner(), xa.grad(&grads), wa.grad(&grads))
            };
            let (y1, dx1, dw1) = run(&ours);
            let (y2, dx2, dw2) = run(&burns);
            let case = format!("x {x_dims:?} w {w_dims:?} tracked {track_x}/{track_w}");
            assert!(max_rel(y1, y2) < 1e-5, "{case}: output");
            assert_eq!(dx1.is_some(), track_x, "{case}");
            assert_eq!(dw1.is_some(), track_w, "{case}");
            if let (Some(a), Some(b)) = (dx1, dx2) {
                assert!(max_rel(a, b) < 1e-5, "{case}: input gradient");
            }
            if let (Some(a), Some(b)) = (dw1, dw2) {
                assert!(max_rel(a, b) < 1e-5, "{case}: weight gradient");
            }
        }
    }

    #[test]
    fn convolution_gradients_equal_burns() {
        for (k, stride, pad, size) in [
            (3, 1, 1, 8),
            (3, 1, 1, 7),
            (3, 1, 1, 4),
            (1, 1, 0, 8),
            (3, 2, 0, 9),
            (3, 2, 0, 10),
            (3, 2, 1, 9),
            (3, 1, 0, 7),
        ] {
            compare(
                [2, 5, size, size],
                [6, 5, k, k],
                |x, w| conv2d(x, w, stride, pad).expect("the kernel applies"),
                |x, w| {
                    let options = ConvOptions::new([stride; 2], [pad; 2], [1, 1], 1);
                    module::conv2d(x, w, None, options)
                },
            );
        }
    }

    #[test]
    fn transposed_convolution_gradients_equal_burns() {
        for k in [3, 1] {
            compare(
                [2, 5, 4, 4],
                [5, 6, k, k],
                |x, w| conv_transpose2d(x, w, 2).expect("the kernel applies"),
                |x, w| {
                    let options = ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1);
                    module::conv_transpose2d(x, w, None, options)
                },
            );
        }
    }

    #[test]
    fn plain_tensors_take_the_winograd_and_the_transposed_convolution() {
        let dev = Default::default();
        let normal = Distribution::Normal(0.0, 1.0);
        let x = Tensor::<Flex, 4>::random([2, 5, 7, 6], normal, &dev);
        let w = Tensor::<Flex, 4>::random([4, 5, 3, 3], normal, &dev);
        let ours = conv2d(x.clone(), w.clone(), 1, 1).expect("3x3, stride 1, padding 1");
        let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let burns = module::conv2d(x.clone(), w.clone(), None, options);
        assert!(max_rel(ours, burns) < 1e-5);
        assert!(conv2d(x.clone(), w.clone(), 2, 1).is_err());
        assert!(conv2d(x.clone(), w.clone(), 1, 0).is_err());
        let w = w.swap_dims(0, 1);
        let ours = conv_transpose2d(x.clone(), w.clone(), 2).expect("transposed, stride 2");
        let options = ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1);
        assert!(max_rel(ours, module::conv_transpose2d(x, w, None, options)) < 1e-5);
    }
}

//! The epilogue of a StyleGAN2 layer,
//! `clamp(gain · lrelu(x · demod + noise + bias), ±limit)`, as one pass forward and one
//! backward.
//!
//! The official `SynthesisLayer.forward` scales the convolution's output by the
//! demodulation coefficients (`modulated_conv2d`, StyleGAN2 §2.2), adds the per-pixel noise
//! (`x.add_(noise)`) and calls `bias_act` (bias, leaky ReLU, gain, clamp); `Conv2dLayer` and
//! `FullyConnectedLayer` call `bias_act` alone. Through burn the scaling and each addition
//! are a broadcast pass over the activations, and their gradients reduction passes; here
//! they and the activation tail are one pass over the activations, and the gradients of
//! all four inputs come from one pass over the output gradient:
//! `g = dy · tail'(z)`, `dx = g · demod`, `d demod[n, c] = Σ g · x` over the pixels,
//! `d pixel[r, p] = Σ g` over the channels (and the samples sharing row r),
//! `d channel[c] = Σ g` over samples and pixels.
//!
//! The tail is either the activation computed from `z = x · demod + pixel + channel`
//! ([`LreluClamp`]), or a pattern recorded on the activation tape and replayed
//! (`y = z · scale + offset`, see [`crate::tape`]).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::activation::LreluClamp;
use super::{back, contiguous_values, slice, OnCpu};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;
/// Pixels per parallel task of the per-pixel gradient sum.
const PIXEL_SPAN: usize = 1 << 10;

/// What is scaled and added before the tail; any may be absent.
#[derive(Debug, Clone)]
pub struct Terms<B: Backend> {
    /// `[N, C]`: multiplies every pixel of a sample's channel (the demodulation).
    pub scale: Option<Tensor<B, 2>>,
    /// `[1 or N, pixels]`: added to every channel (the noise).
    pub pixel: Option<Tensor<B, 2>>,
    /// `[C]`: added to every pixel (the bias).
    pub channel: Option<Tensor<B, 1>>,
}

impl<B: Backend> Terms<B> {
    /// A bias alone.
    pub fn bias(channel: Option<Tensor<B, 1>>) -> Self {
        Self {
            scale: None,
            pixel: None,
            channel,
        }
    }
}

/// What follows the additions.
#[derive(Debug, Clone)]
pub enum Tail<B: Backend> {
    /// The activation, computed from the sum.
    Act(LreluClamp),
    /// A recorded pattern, `y = z · scale + offset`, both flattened like the output.
    Pattern {
        scale: Tensor<B, 1>,
        offset: Option<Tensor<B, 1>>,
    },
}

/// How the inputs line up: `x` is `[n, channels, pixels]` (any trailing dims flattened),
/// the per-pixel term `[rows, pixels]` with `rows` 1 (shared by the batch) or `n`.
#[derive(Debug, Clone, Copy)]
struct Layout {
    n: usize,
    channels: usize,
    pixels: usize,
    rows: usize,
}

impl Layout {
    fn row_of(&self, plane: usize) -> usize {
        if self.rows == 1 {
            0
        } else {
            plane / self.channels
        }
    }
}

/// The terms as values.
#[derive(Clone, Copy)]
struct TermValues<'a> {
    scale: Option<&'a [f32]>,
    pixel: Option<&'a [f32]>,
    channel: Option<&'a [f32]>,
}

/// The tail as values.
enum TailValues<'a> {
    Act(LreluClamp),
    Pattern(&'a [f32], Option<&'a [f32]>),
}

/// `y = tail(z)` with `z = x · scale + pixel + channel`, and `z` itself when `keep_sum`.
fn forward(
    x: &[f32],
    layout: Layout,
    terms: TermValues,
    tail: &TailValues,
    keep_sum: bool,
) -> (Vec<f32>, Vec<f32>) {
    if x.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let p = layout.pixels;
    let planes_per_task = (CHUNK / p).max(1);
    let span = planes_per_task * p;
    let zeros = vec![0f32; p];
    // Per plane (a sample's channel, in cache): the sum, then the tail in place.
    let fill = |task: usize, y: &mut [f32], mut z: Option<&mut [f32]>| {
        let first = task * planes_per_task;
        for (k, ys) in y.chunks_mut(p).enumerate() {
            let plane = first + k;
            let row = (terms.pixel).map_or(&zeros[..], |a| &a[layout.row_of(plane) * p..][..p]);
            let bias = (terms.channel).map_or(0.0, |b| b[plane % layout.channels]);
            let scale = (terms.scale).map_or(1.0, |d| d[plane]);
            let at = plane * p;
            for ((y, &x), &a) in ys.iter_mut().zip(&x[at..at + p]).zip(row) {
                *y = x * scale + a + bias;
            }
            if let Some(z) = z.as_deref_mut() {
                z[k * p..(k + 1) * p].copy_from_slice(ys);
            }
            match tail {
                TailValues::Act(op) => ys.iter_mut().for_each(|y| *y = op.at(*y)),
                TailValues::Pattern(scale, offset) => {
                    for (y, &s) in ys.iter_mut().zip(&scale[at..at + p]) {
                        *y *= s;
                    }
                    if let Some(offset) = offset {
                        for (y, &o) in ys.iter_mut().zip(&offset[at..at + p]) {
                            *y += o;
                        }
                    }
                }
            }
        }
    };
    let mut y = vec![0f32; x.len()];
    let mut z = vec![0f32; if keep_sum { x.len() } else { 0 }];
    if keep_sum {
        y.par_chunks_mut(span)
            .zip(z.par_chunks_mut(span))
            .enumerate()
            .for_each(|(t, (y, z))| fill(t, y, Some(z)));
    } else {
        y.par_chunks_mut(span)
            .enumerate()
            .for_each(|(t, y)| fill(t, y, None));
    }
    (y, z)
}

/// `dy · tail'(z)`, the tail's derivative taken from `saved` (the sum or the pattern's
/// scale) element by element.
fn gradient(dy: &[f32], saved: &[f32], derivative: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut g = vec![0f32; dy.len()];
    g.par_chunks_mut(CHUNK)
        .zip(dy.par_chunks(CHUNK).zip(saved.par_chunks(CHUNK)))
        .for_each(|(g, (dy, saved))| {
            for ((g, &dy), &s) in g.iter_mut().zip(dy).zip(saved) {
                *g = dy * derivative(s);
            }
        });
    g
}

/// Lanes of the vectorised sums.
const LANES: usize = 8;

/// `Σ a · b` over eight interleaved partial sums (vectorised, and closer to the exact sum
/// than one running total).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (a_body, a_rest) = a.split_at(a.len() / LANES * LANES);
    let (b_body, b_rest) = b.split_at(a_body.len());
    for (a, b) in a_body.chunks_exact(LANES).zip(b_body.chunks_exact(LANES)) {
        for k in 0..LANES {
            acc[k] += a[k] * b[k];
        }
    }
    let rest: f32 = a_rest.iter().zip(b_rest).map(|(a, b)| a * b).sum();
    acc.iter().sum::<f32>() + rest
}

/// `Σ a`, as [`dot`].
fn total(a: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (body, rest) = a.split_at(a.len() / LANES * LANES);
    for a in body.chunks_exact(LANES) {
        for k in 0..LANES {
            acc[k] += a[k];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Per plane (sample and channel), `Σ g · x` over its pixels: the gradient of its scale.
fn plane_products(g: &[f32], x: &[f32], p: usize) -> Vec<f32> {
    g.par_chunks(p.max(1))
        .zip(x.par_chunks(p.max(1)))
        .map(|(g, x)| dot(g, x))
        .collect()
}

/// Multiplies every plane of `g` by its scale.
fn scale_planes(g: &mut [f32], scale: &[f32], p: usize) {
    g.par_chunks_mut(p.max(1))
        .zip(scale.par_iter())
        .for_each(|(g, &s)| g.iter_mut().for_each(|v| *v *= s));
}

/// Per channel, the sum of `g` over samples and pixels.
fn channel_sums(g: &[f32], layout: Layout) -> Vec<f32> {
    let (c, p) = (layout.channels, layout.pixels);
    (0..c)
        .into_par_iter()
        .map(|ch| {
            (0..layout.n)
                .map(|s| total(&g[(s * c + ch) * p..][..p]))
                .sum()
        })
        .collect()
}

/// Per row of the per-pixel term and pixel, the sum of `g` over the planes that row was
/// added to.
fn pixel_sums(g: &[f32], layout: Layout) -> Vec<f32> {
    let (c, p) = (layout.channels, layout.pixels);
    let mut out = vec![0f32; layout.rows * p];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(p).enumerate().for_each(|(row, sums)| {
        let planes = if layout.rows == 1 {
            0..layout.n * c
        } else {
            row * c..(row + 1) * c
        };
        sums.par_chunks_mut(PIXEL_SPAN)
            .enumerate()
            .for_each(|(k, sums)| {
                for plane in planes.clone() {
                    let src = &g[plane * p + k * PIXEL_SPAN..][..sums.len()];
                    for (s, &v) in sums.iter_mut().zip(src) {
                        *s += v;
                    }
                }
            });
    });
    out
}

/// What the backward pass keeps.
#[derive(Debug, Clone)]
struct Saved {
    dims: Vec<usize>,
    layout: Layout,
    derivative: SavedDerivative,
    /// The per-plane scale, and the input when the scale's gradient is needed.
    scale: Option<(FlexTensor, Option<FlexTensor>)>,
}

#[derive(Debug, Clone)]
enum SavedDerivative {
    /// The activation and its input sum.
    Act(LreluClamp, FlexTensor),
    /// The replayed pattern's scale.
    Pattern(FlexTensor),
}

#[derive(Debug)]
struct EpilogueBackward;

impl Backward<Flex, 4> for EpilogueBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, scale_node, pixel_node, channel_node] = ops.parents;
        let s = ops.state;
        let (_, dy) = contiguous_values(&grads.consume::<Flex>(&ops.node));
        let mut g = match &s.derivative {
            SavedDerivative::Act(op, z) => gradient(slice(&dy), slice(z), |z| op.derivative(z)),
            SavedDerivative::Pattern(scale) => gradient(slice(&dy), slice(scale), |s| s),
        };
        let l = s.layout;
        if let Some(node) = channel_node {
            let sums = channel_sums(&g, l);
            grads.register::<Flex>(node.id, flex(sums, vec![l.channels]));
        }
        if let Some(node) = pixel_node {
            let sums = pixel_sums(&g, l);
            grads.register::<Flex>(node.id, flex(sums, vec![l.rows * l.pixels]));
        }
        if let Some((scale, x)) = &s.scale {
            if let (Some(node), Some(x)) = (scale_node, x) {
                let products = plane_products(&g, slice(x), l.pixels);
                grads.register::<Flex>(node.id, flex(products, vec![l.n * l.channels]));
            }
            scale_planes(&mut g, slice(scale), l.pixels);
        }
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, flex(g, s.dims));
        }
    }
}

fn flex(values: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, dims))
}

/// The values of a CPU tensor, without its autodiff node.
fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> FlexTensor {
    let t = match OnCpu::of(t) {
        Ok(OnCpu::Plain(t)) => t,
        Ok(OnCpu::Tracked(t)) => t.inner(),
        Err(_) => panic!("the epilogue kernel runs on the CPU backend only"),
    };
    contiguous_values(&t.into_primitive().tensor()).1
}

/// `tail(x · scale + pixel + channel)` with `x` `[N, C, …]` and the [`Terms`] beside it, on
/// the CPU backend; call only where [`super::applies`] holds for `B`.
pub fn epilogue<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    terms: Terms<B>,
    tail: Tail<B>,
) -> Tensor<B, D> {
    let dims = x.dims();
    let layout = Layout {
        n: dims[0],
        channels: dims.get(1).copied().unwrap_or(1),
        pixels: dims.iter().skip(2).product(),
        rows: terms.pixel.as_ref().map_or(1, |a| a.dims()[0]),
    };
    if let Some(a) = &terms.pixel {
        assert!(
            a.dims()[1] == layout.pixels && (layout.rows == 1 || layout.rows == layout.n),
            "per-pixel term {:?} for activations {dims:?}",
            a.dims()
        );
    }
    if let Some(d) = &terms.scale {
        assert_eq!(d.dims(), [layout.n, layout.channels], "per-plane scale");
    }
    if let Some(b) = &terms.channel {
        assert_eq!(b.dims()[0], layout.channels, "per-channel term");
    }
    let (op, pattern) = match tail {
        Tail::Act(op) => (Some(op), None),
        Tail::Pattern { scale, offset } => (None, Some((values(scale), offset.map(values)))),
    };
    let tail_values = match (op, &pattern) {
        (Some(op), _) => TailValues::Act(op),
        (None, Some((scale, offset))) => {
            TailValues::Pattern(slice(scale), offset.as_ref().map(slice))
        }
        (None, None) => unreachable!("a tail is an activation or a pattern"),
    };
    let scale = terms.scale.clone().map(values);
    let pixel = terms.pixel.clone().map(values);
    let channel = terms.channel.clone().map(values);
    let term_values = TermValues {
        scale: scale.as_ref().map(slice),
        pixel: pixel.as_ref().map(slice),
        channel: channel.as_ref().map(slice),
    };
    let y = match OnCpu::of(x) {
        Ok(OnCpu::Plain(x)) => {
            let x = contiguous_values(&x.into_primitive().tensor()).1;
            let (y, _) = forward(slice(&x), layout, term_values, &tail_values, false);
            let y = flex(y, dims.to_vec());
            OnCpu::Plain(Tensor::from_primitive(TensorPrimitive::Float(y)))
        }
        Ok(OnCpu::Tracked(x)) => {
            let node_of = |t: Option<Tensor<Autodiff<Flex>, 1>>| {
                let t = t.unwrap_or_else(|| Tensor::zeros([1], &Default::default()));
                t.into_primitive().tensor().node
            };
            let flat = |t: Tensor<B, 2>| {
                let count = t.dims().iter().product::<usize>();
                tracked(t).reshape([count])
            };
            // The two-dimensional terms enter flattened (their gradients are registered so).
            let scale_node = node_of(terms.scale.map(flat));
            let scale_tracked = !scale_node.requirement.is_none();
            let pixel_node = node_of(terms.pixel.map(flat));
            let channel_node = node_of(terms.channel.map(tracked));
            let x = x.into_primitive().tensor();
            let x_values = contiguous_values(&x.primitive).1;
            let (y, z) = forward(
                slice(&x_values),
                layout,
                term_values,
                &tail_values,
                op.is_some(),
            );
            let derivative = match (op, pattern) {
                (Some(op), _) => SavedDerivative::Act(op, flex(z, dims.to_vec())),
                (None, Some((scale, _))) => SavedDerivative::Pattern(scale),
                (None, None) => unreachable!("a tail is an activation or a pattern"),
            };
            let saved = Saved {
                dims: dims.to_vec(),
                layout,
                derivative,
                scale: scale.map(|d| (d, scale_tracked.then_some(x_values))),
            };
            let y = flex(y, dims.to_vec());
            let y = match EpilogueBackward
                .prepare::<NoCheckpointing>([x.node.clone(), scale_node, pixel_node, channel_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(saved, y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            OnCpu::Tracked(Tensor::from_primitive(TensorPrimitive::Float(y)))
        }
        Err(_) => panic!("the epilogue kernel runs on the CPU backend only"),
    };
    back(y)
}

/// A tensor of backend `B` on the tracked CPU backend (which it is when `x` was).
fn tracked<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<Autodiff<Flex>, D> {
    match OnCpu::of(t) {
        Ok(OnCpu::Tracked(t)) => t,
        _ => panic!("the terms live on the same backend as the activations"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::apply_terms;
    use burn::tensor::activation::leaky_relu;
    use burn::tensor::Distribution;

    type Ad = Autodiff<Flex>;
    /// burn's composition a fused tail is checked against.
    type Reference<'a> = &'a dyn Fn(Tensor<Ad, 4>) -> Tensor<Ad, 4>;

    fn random<const D: usize>(shape: [usize; D], std: f64) -> Tensor<Flex, D> {
        Tensor::random(shape, Distribution::Normal(0.0, std), &Default::default())
    }

    fn diff<const D: usize>(a: Tensor<Flex, D>, b: Tensor<Flex, D>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    fn leaf<const D: usize>(t: &Tensor<Flex, D>) -> Tensor<Ad, D> {
        Tensor::from_inner(t.clone()).require_grad()
    }

    /// The fused epilogue's output and the gradients of all four inputs against burn's
    /// broadcast operations followed by burn's leaky ReLU, gain and clamp (or the replayed
    /// linear map), with and without a per-plane scale, for per-sample and shared
    /// per-pixel terms and without one.
    #[test]
    fn fused_epilogue_equals_burns_composition() {
        let (n, c, h, w) = (3, 4, 5, 6);
        let x = random([n, c, h, w], 2.0);
        let r = random([n, c, h, w], 1.0);
        let channel = random([c], 1.0);
        let plane_scale = random([n, c], 1.0);
        let scale = random([n * c * h * w], 1.0);
        let offset = random([n * c * h * w], 0.5);
        for (rows, scaled) in [(0, false), (1, true), (n, true), (n, false)] {
            let pixel = (rows > 0).then(|| random([rows, h * w], 1.0));
            for limit in [Some(1.5f32), None] {
                let op = LreluClamp {
                    alpha: 0.2,
                    gain: std::f32::consts::SQRT_2,
                    limit,
                };
                let act = |z: Tensor<Ad, 4>| {
                    let y = leaky_relu(z, 0.2).mul_scalar(op.gain);
                    limit.map_or(y.clone(), |c| y.clamp(-c, c))
                };
                let pattern = |z: Tensor<Ad, 4>| {
                    z * Tensor::from_inner(scale.clone()).reshape([n, c, h, w])
                        + Tensor::from_inner(offset.clone()).reshape([n, c, h, w])
                };
                let tails: [(Tail<Ad>, Reference); 2] = [
                    (Tail::Act(op), &act),
                    (
                        Tail::Pattern {
                            scale: Tensor::from_inner(scale.clone()),
                            offset: Some(Tensor::from_inner(offset.clone())),
                        },
                        &pattern,
                    ),
                ];
                for (tail, reference) in tails {
                    let run = |fused: bool| {
                        let xa = leaf(&x);
                        let (sa, pa) =
                            (scaled.then(|| leaf(&plane_scale)), pixel.as_ref().map(leaf));
                        let ca = leaf(&channel);
                        // The terms as a layer computes them: from tracked parameters.
                        let terms = Terms {
                            scale: sa.clone().map(|t| t.mul_scalar(2.0)),
                            pixel: pa.clone().map(|t| t.mul_scalar(2.0)),
                            channel: Some(ca.clone().mul_scalar(2.0)),
                        };
                        let y = if fused {
                            epilogue(xa.clone(), terms, tail.clone())
                        } else {
                            reference(apply_terms(xa.clone(), terms))
                        };
                        let g = (y.clone() * Tensor::from_inner(r.clone())).sum().backward();
                        let grad2 = |t: Option<Tensor<Ad, 2>>| t.map(|t| t.grad(&g).unwrap());
                        let dc = ca.grad(&g).unwrap();
                        let dx = xa.grad(&g).unwrap();
                        (y.inner(), dx, grad2(sa), grad2(pa), dc)
                    };
                    let (y1, dx1, ds1, dp1, dc1) = run(true);
                    let (y2, dx2, ds2, dp2, dc2) = run(false);
                    let case = format!("rows {rows}, scaled {scaled}, limit {limit:?}, {tail:?}");
                    assert!(diff(y1, y2) < 1e-5, "{case}: output");
                    assert!(diff(dx1, dx2) < 1e-5, "{case}: input gradient");
                    assert!(diff(dc1, dc2) < 1e-4, "{case}: channel gradient");
                    for (name, a, b) in [("scale", ds1, ds2), ("pixel", dp1, dp2)] {
                        assert_eq!(a.is_some(), b.is_some(), "{case}: {name}");
                        if let (Some(a), Some(b)) = (a, b) {
                            assert!(diff(a, b) < 1e-4, "{case}: {name} gradient");
                        }
                    }
                }
            }
        }
    }

    /// Without autodiff, and on a fully connected layer's [N, C] activations.
    #[test]
    fn fused_epilogue_on_plain_tensors_and_vectors() {
        let x = random([5, 7], 2.0);
        let channel = random([7], 1.0);
        let op = LreluClamp {
            alpha: 0.2,
            gain: 2.0,
            limit: Some(1.0),
        };
        let y = epilogue(x.clone(), Terms::bias(Some(channel.clone())), Tail::Act(op));
        let z = apply_terms(x, Terms::bias(Some(channel)));
        let reference = leaky_relu(z, 0.2).mul_scalar(2.0).clamp(-1.0, 1.0);
        assert!(diff(y, reference) < 1e-6);
    }
}

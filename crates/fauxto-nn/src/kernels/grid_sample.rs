//! Bilinear resampling of images at a sampling grid (`grid_sample` with bilinear
//! interpolation, zero padding and `align_corners = false`, as PyTorch defines it), forward
//! and backward to the images: the geometric stage of ADA's augmentation pipeline (Karras et
//! al. 2020, §2.2; the official `grid_sample_gradfix`), which resamples every image the
//! discriminator sees.
//!
//! Every output pixel reads four input pixels with bilinear weights, the same four for every
//! channel of an image: the indices and weights are worked out once per image ([`Plan`]),
//! then each channel plane is one gather (forward) or one scatter-add of the output
//! gradient (backward), spread over the cores plane by plane. The grid is a constant here
//! (ADA draws it); a grid that a gradient flows to goes back to burn's operation.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::{back, contiguous_values, record_unary, slice, OnCpu};

/// The offset of a neighbour outside the image.
const OUTSIDE: u32 = u32::MAX;

/// The four input pixels and bilinear weights of every output pixel of every image.
#[derive(Debug)]
struct Plan {
    /// [N, C, H, W] of the input.
    input: [usize; 4],
    /// Output height and width.
    output: [usize; 2],
    /// Per image and output pixel: the plane offsets of the four neighbours ([`OUTSIDE`]
    /// where the neighbour lies outside the image: zero padding, never read).
    index: Vec<[u32; 4]>,
    weight: Vec<[f32; 4]>,
}

impl Plan {
    /// The plan of `grid` [N, Ho, Wo, 2] (x, y in [−1, 1]) over images of `input` size.
    fn new(grid: &[f32], input: [usize; 4], output: [usize; 2]) -> Plan {
        let [n, _, h, w] = input;
        let pixels = n * output[0] * output[1];
        assert_eq!(grid.len(), pixels * 2, "grid size");
        // Unnormalised source position (align_corners = false), (g + 1) · size/2 − 1/2, and
        // the bilinear weights, in double precision: a grid that lands on pixel centres
        // gives weights of exactly 0 and 1.
        let source = |g: f32, size: usize| (g as f64 + 1.0) * (size as f64 / 2.0) - 0.5;
        let (index, weight) = grid
            .par_chunks_exact(2)
            .map(|xy| {
                let (ix, iy) = (source(xy[0], w), source(xy[1], h));
                let (x0, y0) = (ix.floor(), iy.floor());
                let (wx1, wy1) = (ix - x0, iy - y0);
                let (wx0, wy0) = (1.0 - wx1, 1.0 - wy1);
                let mut index = [OUTSIDE; 4];
                let mut weight = [0f32; 4];
                let corners = [
                    (x0, y0, wx0 * wy0),
                    (x0 + 1.0, y0, wx1 * wy0),
                    (x0, y0 + 1.0, wx0 * wy1),
                    (x0 + 1.0, y0 + 1.0, wx1 * wy1),
                ];
                for (k, (x, y, wk)) in corners.into_iter().enumerate() {
                    if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h {
                        index[k] = (y as usize * w + x as usize) as u32;
                        weight[k] = wk as f32;
                    }
                }
                (index, weight)
            })
            .unzip();
        Plan {
            input,
            output,
            index,
            weight,
        }
    }

    fn pixels(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// `x` [N, C, H, W] sampled: [N, C, Ho, Wo].
    fn sample(&self, x: &[f32]) -> Vec<f32> {
        let [n, c, h, w] = self.input;
        let pixels = self.pixels();
        let mut y = vec![0f32; n * c * pixels];
        y.par_chunks_mut(pixels).enumerate().for_each(|(p, out)| {
            let plane = &x[p * h * w..][..h * w];
            let image = p / c;
            let index = &self.index[image * pixels..][..pixels];
            let weight = &self.weight[image * pixels..][..pixels];
            for ((o, idx), wt) in out.iter_mut().zip(index).zip(weight) {
                *o = (0..4)
                    .filter(|&k| idx[k] != OUTSIDE)
                    .map(|k| wt[k] * plane[idx[k] as usize])
                    .sum();
            }
        });
        y
    }

    /// The adjoint of [`Plan::sample`]: `dy` [N, C, Ho, Wo] scattered back, [N, C, H, W].
    fn scatter(&self, dy: &[f32]) -> Vec<f32> {
        let [n, c, h, w] = self.input;
        let pixels = self.pixels();
        let mut dx = vec![0f32; n * c * h * w];
        dx.par_chunks_mut(h * w).enumerate().for_each(|(p, plane)| {
            let grad = &dy[p * pixels..][..pixels];
            let image = p / c;
            let index = &self.index[image * pixels..][..pixels];
            let weight = &self.weight[image * pixels..][..pixels];
            for ((g, idx), wt) in grad.iter().zip(index).zip(weight) {
                for k in (0..4).filter(|&k| idx[k] != OUTSIDE) {
                    plane[idx[k] as usize] += wt[k] * g;
                }
            }
        });
        dx
    }
}

/// The plan of a grid tensor for images of `input` size.
fn plan_of(grid: FlexTensor, input: [usize; 4]) -> Plan {
    let (dims, grid) = contiguous_values(&grid);
    Plan::new(slice(&grid), input, [dims[1], dims[2]])
}

/// `x` sampled by `plan`, as a tensor.
fn sampled(plan: &Plan, x: FlexTensor) -> FlexTensor {
    let (_, x) = contiguous_values(&x);
    let y = plan.sample(slice(&x));
    let [n, c, ..] = plan.input;
    FlexTensor::from_data(TensorData::new(y, [n, c, plan.output[0], plan.output[1]]))
}

/// Whether a gradient flows to `t`: a leaf that requires one, or a tensor computed from one.
fn tracked(t: &Tensor<burn::backend::Autodiff<Flex>, 4>) -> bool {
    !t.clone()
        .into_primitive()
        .tensor()
        .node
        .requirement
        .is_none()
}

/// The backward pass: the output gradient scattered back through the saved plan.
#[derive(Debug)]
struct GridSampleBackward;

impl Backward<Flex, 1> for GridSampleBackward {
    type State = std::sync::Arc<Plan>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let plan = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
            let (_, grad) = contiguous_values(&grad);
            let dx = plan.scatter(slice(&grad));
            FlexTensor::from_data(TensorData::new(dx, plan.input))
        });
    }
}

/// `grid_sample(x, grid)` (bilinear, zero padding, `align_corners = false`) with fauxto's
/// kernel: `x` [N, C, H, W], `grid` [N, Ho, Wo, 2] → [N, C, Ho, Wo], its gradient taken
/// to `x` only. Both come back unchanged when the kernel does not apply (another backend,
/// kernels off, not float32, a grid a gradient flows to, empty images or grids, images too
/// large for 32-bit offsets).
#[allow(clippy::type_complexity)]
pub fn bilinear<B: Backend>(
    x: Tensor<B, 4>,
    grid: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, (Tensor<B, 4>, Tensor<B, 4>)> {
    let [n, c, h, w] = x.dims();
    let [gn, ho, wo, two] = grid.dims();
    let fits = h * w > 0 && h * w < OUTSIDE as usize && ho * wo > 0 && gn == n && two == 2;
    if x.dtype() != DType::F32 || grid.dtype() != DType::F32 || !fits {
        return Err((x, grid));
    }
    let input = [n, c, h, w];
    let (x, grid) = match (OnCpu::of(x), OnCpu::of(grid)) {
        (Ok(x), Ok(grid)) => (x, grid),
        (x, grid) => return Err((x.map_or_else(|x| x, back), grid.map_or_else(|g| g, back))),
    };
    let y = match (x, grid) {
        (OnCpu::Plain(x), OnCpu::Plain(grid)) => {
            let plan = plan_of(grid.into_primitive().tensor(), input);
            let y = sampled(&plan, x.into_primitive().tensor());
            OnCpu::Plain(Tensor::from_primitive(TensorPrimitive::Float(y)))
        }
        (OnCpu::Tracked(x), OnCpu::Tracked(grid)) if !tracked(&grid) => {
            let grid = grid.inner().into_primitive().tensor();
            let plan = std::sync::Arc::new(plan_of(grid, input));
            let x = x.into_primitive().tensor();
            let out = sampled(&plan, x.primitive.clone());
            OnCpu::Tracked(record_unary(GridSampleBackward, &x, || plan, out))
        }
        (x, grid) => return Err((back(x), back(grid))),
    };
    Ok(back(y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
    use burn::tensor::Distribution;

    type AB = burn::backend::Autodiff<Flex>;

    fn options() -> GridSampleOptions {
        GridSampleOptions::new(InterpolateMode::Bilinear)
            .with_padding_mode(GridSamplePaddingMode::Zeros)
            .with_align_corners(false)
    }

    fn max_diff(a: Tensor<Flex, 4>, b: Tensor<Flex, 4>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar()
    }

    /// Forward on Flex and Autodiff<Flex>, and the gradient to the images, equal burn's own
    /// `grid_sample_2d`, on grids that reach past every border (zero padding), land on
    /// pixel centres and fall between them, and do not cover the image evenly.
    #[test]
    fn kernel_equals_burns_grid_sample_forward_and_backward() {
        let dev = Default::default();
        for [h, w, ho, wo] in [[8, 8, 8, 8], [7, 10, 12, 5], [16, 16, 33, 33]] {
            let x = Tensor::<Flex, 4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &dev);
            let grid =
                Tensor::<Flex, 4>::random([2, ho, wo, 2], Distribution::Uniform(-1.3, 1.3), &dev);
            let reference = x.clone().grid_sample_2d(grid.clone(), options());
            let ours = bilinear(x.clone(), grid.clone()).expect("the kernel applies on Flex");
            assert!(
                max_diff(ours, reference.clone()) < 1e-5,
                "{h}x{w} → {ho}x{wo}"
            );

            let r =
                Tensor::<Flex, 4>::random(reference.dims(), Distribution::Normal(0.0, 1.0), &dev);
            let grad_of = |y: Tensor<AB, 4>, x: &Tensor<AB, 4>| {
                let grads = (y * Tensor::from_inner(r.clone())).sum().backward();
                x.grad(&grads).expect("x is tracked")
            };
            let ga = Tensor::<AB, 4>::from_inner(grid.clone());
            let xa = Tensor::<AB, 4>::from_inner(x.clone()).require_grad();
            let ya = bilinear(xa.clone(), ga.clone()).expect("the kernel applies on autodiff");
            let xb = Tensor::<AB, 4>::from_inner(x.clone()).require_grad();
            let yb = xb.clone().grid_sample_2d(ga, options());
            assert!(max_diff(ya.clone().inner(), yb.clone().inner()) < 1e-5);
            let (ours, theirs) = (grad_of(ya, &xa), grad_of(yb, &xb));
            assert!(
                max_diff(ours, theirs) < 1e-5,
                "{h}x{w} → {ho}x{wo} gradient"
            );
        }
    }

    /// Exact values: the identity grid gives the image back, and a shift by half a pixel
    /// averages neighbours, with zeros beyond the border.
    #[test]
    fn identity_and_half_pixel_shift() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::from_floats([[[[1.0, 2.0, 3.0, 4.0]]]], &dev);
        // align_corners = false: pixel j of 4 sits at (2j + 1) / 4 − 1.
        let at = |xs: [f32; 4]| {
            let grid: Vec<f32> = xs.iter().flat_map(|&gx| [gx, 0.0]).collect();
            let grid = Tensor::<Flex, 4>::from_data(TensorData::new(grid, [1, 1, 4, 2]), &dev);
            let y = bilinear(x.clone(), grid).expect("applies");
            y.into_data().to_vec::<f32>().expect("floats")
        };
        assert_eq!(at([-0.75, -0.25, 0.25, 0.75]), vec![1.0, 2.0, 3.0, 4.0]);
        // Half a pixel right: between neighbours; the last one is half the border's zero.
        assert_eq!(at([-0.5, 0.0, 0.5, 1.0]), vec![1.5, 2.5, 3.5, 2.0]);
    }

    /// A grid a gradient flows to (a leaf, or computed from one) goes to burn's operation,
    /// which differentiates it; so do empty images and grids.
    #[test]
    fn tracked_grids_and_empty_shapes_are_handed_back() {
        let dev = Default::default();
        let x = Tensor::<AB, 4>::zeros([1, 1, 4, 4], &dev).require_grad();
        let leaf = Tensor::<AB, 4>::zeros([1, 2, 2, 2], &dev).require_grad();
        assert!(bilinear(x.clone(), leaf.clone()).is_err());
        assert!(bilinear(x, leaf.mul_scalar(0.5)).is_err());
        let empty = Tensor::<Flex, 4>::zeros([1, 1, 0, 4], &dev);
        let grid = Tensor::<Flex, 4>::zeros([1, 2, 2, 2], &dev);
        assert!(bilinear(empty, grid.clone()).is_err());
        let x = Tensor::<Flex, 4>::zeros([1, 1, 4, 4], &dev);
        assert!(bilinear(x, Tensor::<Flex, 4>::zeros([1, 0, 2, 2], &dev)).is_err());
    }

    /// Zero padding is never read: a non-finite pixel does not reach outputs whose other
    /// corners fall outside the image (as in PyTorch, which skips them).
    #[test]
    fn corners_outside_the_image_are_not_read() {
        let dev = Default::default();
        let x = Tensor::<Flex, 4>::from_floats([[[[f32::INFINITY, 1.0], [1.0, 1.0]]]], &dev);
        // Pixel (1, 1)'s centre, and half a pixel past the bottom-right corner.
        let grid = Tensor::<Flex, 4>::from_floats([[[[0.5, 0.5], [1.0, 1.0]]]], &dev);
        let y = bilinear(x, grid)
            .expect("applies")
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(y, vec![1.0, 0.25]);
    }
}

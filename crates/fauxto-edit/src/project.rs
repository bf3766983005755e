//! Projection of a real photo into the generator's latent space: the w (W) or the w of every
//! layer (W+) whose image matches an aligned photo.
//!
//! The optimisation follows the official StyleGAN2-ADA projector (`projector.py`): Adam from
//! the mean w, a learning rate ramped up over the first 5 % of the steps and down along a
//! cosine over the last 25 %, and Gaussian noise on w, scaled by the spread of W and fading
//! out over the first 75 %, so the search can leave the mean's basin. Its perceptual loss
//! needs VGG16 weights fauxto does not have; the loss here is built from what it has:
//!
//! - pixels: the mean squared error at full, half and quarter resolution;
//! - identity: the squared distance between face-api's 128-D descriptors of the photo's face
//!   and the image's (the same crop of both, as dlib aligns faces for its descriptor);
//! - landmarks: the squared error of the 68-landmark network's outputs on both.
//!
//! W+ starts from the W result (Abdal et al. 2019, "Image2StyleGAN"): the first part of the
//! steps searches W, the rest lets every layer's w move on its own.

use anyhow::{bail, Result};
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::avg_pool2d;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use fauxto_face::embedded::Network;
use fauxto_face::geometry::Point;
use fauxto_face::landmarks::Landmarks68;
use fauxto_face::recognition::MEAN_RGB;
use fauxto_face::{DenseFeatureNet, RecognitionNet};
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::seed::NumpyRandomState;
use fauxto_nn::{Generator, NoiseMode};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::latent::LatentRenderer;

/// How to search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectOptions {
    /// Optimisation steps in all.
    pub steps: usize,
    /// Search W+ after W (else W only).
    pub plus: bool,
    /// Share of the steps spent in W before W+.
    pub w_share: f64,
    /// Adam's peak learning rate in W, and in W+.
    pub lr: f64,
    pub lr_plus: f64,
    /// Noise on w at the start, as a share of W's spread.
    pub initial_noise: f64,
    pub pixel_weight: f64,
    pub identity_weight: f64,
    pub landmark_weight: f64,
    /// Seed of the noise on w (numpy's `RandomState`, one stream for the whole search).
    pub seed: u32,
}

impl Default for ProjectOptions {
    fn default() -> Self {
        ProjectOptions {
            steps: 200,
            plus: true,
            w_share: 0.5,
            lr: 0.1,
            lr_plus: 0.02,
            initial_noise: 0.05,
            pixel_weight: 1.0,
            identity_weight: 0.1,
            landmark_weight: 10.0,
            seed: 0,
        }
    }
}

/// The official projector's learning-rate schedule at progress `t` ∈ [0, 1).
pub fn lr_ramp(t: f64) -> f64 {
    let down = ((1.0 - t) / 0.25).min(1.0);
    let down = 0.5 - 0.5 * (down * std::f64::consts::PI).cos();
    down * (t / 0.05).min(1.0)
}

/// The noise on w at progress `t`, as a share of its initial strength.
pub fn noise_ramp(t: f64) -> f64 {
    (1.0 - t / 0.75).max(0.0).powi(2)
}

/// One step's losses (unweighted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLoss {
    pub pixel: f64,
    pub identity: f64,
    pub landmarks: f64,
}

/// The found latent.
#[derive(Debug, Clone)]
pub struct Projection {
    /// `num_ws · w_dim` values (W+), or `w_dim` (W).
    pub ws: Vec<f32>,
    pub plus: bool,
    /// Losses every step.
    pub trace: Vec<StepLoss>,
}

/// A square region of an image, in pixels (its corner and side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Square {
    pub x: f64,
    pub y: f64,
    pub side: f64,
}

impl Square {
    fn around(centre: Point, side: f64) -> Square {
        Square {
            x: centre.x - side / 2.0,
            y: centre.y - side / 2.0,
            side,
        }
    }

    /// dlib's face chip: side = mean eye-to-mouth distance / 0.45, the eye/mouth centroid
    /// 50 % across and 43 % down (face-api's `alignDlib`, unrounded and unclipped).
    pub fn dlib(landmarks: &Landmarks68) -> Square {
        let [l, r, m] = crate::align::anchors(landmarks);
        let side = (m.distance(l) + m.distance(r)) / 2.0 / 0.45;
        let c = Point::centre(&[l, r, m]);
        Square {
            x: c.x - 0.5 * side,
            y: c.y - 0.43 * side,
            side,
        }
    }

    /// The landmarks' bounding box grown by 20 %, squared around its centre.
    pub fn landmark_box(landmarks: &Landmarks68) -> Square {
        let r = landmarks.aligned_rect();
        let centre = Point {
            x: r.x + r.width / 2.0,
            y: r.y + r.height / 2.0,
        };
        Square::around(centre, r.width.max(r.height))
    }
}

/// Bilinear resampling matrix `[out, size]` taking `out` samples across `[start,
/// start + len)` of an axis of `size` pixels (pixel centres at i + ½, edges extended).
pub fn resampling_matrix(start: f64, len: f64, size: usize, out: usize) -> Vec<f32> {
    let mut m = vec![0f32; out * size];
    let last = size as i64 - 1;
    for j in 0..out {
        let c = start + (j as f64 + 0.5) * len / out as f64 - 0.5;
        let i0 = c.floor();
        let f = (c - i0) as f32;
        let i0 = i0 as i64;
        m[j * size + i0.clamp(0, last) as usize] += 1.0 - f;
        m[j * size + (i0 + 1).clamp(0, last) as usize] += f;
    }
    m
}

/// A square crop of `[N, C, size, size]` images resampled to `out`², as two matrix
/// products (differentiable wherever matrix products are).
#[derive(Debug, Clone)]
struct Crop<B: Backend> {
    /// `[size, out]` each: the transposed resampling matrices of x and y.
    across: Tensor<B, 2>,
    down: Tensor<B, 2>,
    size: usize,
    out: usize,
}

impl<B: Backend> Crop<B> {
    fn new(square: Square, size: usize, out: usize, device: &B::Device) -> Self {
        let matrix = |start: f64| {
            let m = resampling_matrix(start, square.side, size, out);
            Tensor::<B, 2>::from_data(TensorData::new(m, [out, size]), device).transpose()
        };
        Crop {
            across: matrix(square.x),
            down: matrix(square.y),
            size,
            out,
        }
    }

    fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, h, w] = x.dims();
        assert_eq!([h, w], [self.size, self.size], "crop of a square image");
        let (s, o) = (self.size, self.out);
        let rows = x.reshape([n * c * s, s]).matmul(self.across.clone());
        let cols = rows
            .reshape([n, c, s, o])
            .swap_dims(2, 3)
            .reshape([n * c * o, s])
            .matmul(self.down.clone());
        cols.reshape([n, c, o, o]).swap_dims(2, 3)
    }
}

/// Generator images in [−1, 1] → the face networks' input, `(rgb − MEAN_RGB) / 255`, with
/// rgb = 127.5·x + 128 as images are written.
fn face_input<B: Backend>(x: Tensor<B, 4>, device: &B::Device) -> Tensor<B, 4> {
    let shift: Vec<f32> = MEAN_RGB.iter().map(|m| (128.0 - m) / 255.0).collect();
    let shift = Tensor::<B, 1>::from_floats(shift.as_slice(), device).reshape([1, 3, 1, 1]);
    x.mul_scalar(127.5 / 255.0) + shift
}

/// Mean squared error at full, half and quarter resolution, summed.
fn multiscale_mse<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 1> {
    let (mut a, mut b) = (a, b);
    let mut total = (a.clone() - b.clone()).powi_scalar(2).mean();
    for _ in 0..2 {
        a = avg_pool2d(a, [2, 2], [2, 2], [0, 0], true, false);
        b = avg_pool2d(b, [2, 2], [2, 2], [0, 0], true, false);
        total = total + (a.clone() - b.clone()).powi_scalar(2).mean();
    }
    total
}

/// What the search is matched against, prepared once.
struct Target<B: Backend> {
    image: Tensor<B, 4>,
    descriptor: Tensor<B, 2>,
    landmarks: Tensor<B, 2>,
    chip: Crop<B>,
    landmark_box: Crop<B>,
}

/// Adam's moments for one tensor (β = 0.9, 0.999, as the official projector).
struct Adam<B: Backend> {
    m: Tensor<B, 2>,
    v: Tensor<B, 2>,
    t: i32,
}

impl<B: Backend> Adam<B> {
    fn new(like: &Tensor<B, 2>) -> Self {
        Adam {
            m: like.zeros_like(),
            v: like.zeros_like(),
            t: 0,
        }
    }

    fn step(&mut self, x: Tensor<B, 2>, grad: Tensor<B, 2>, lr: f64) -> Tensor<B, 2> {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        self.t += 1;
        self.m = self.m.clone().mul_scalar(b1) + grad.clone().mul_scalar(1.0 - b1);
        self.v = self.v.clone().mul_scalar(b2) + grad.powi_scalar(2).mul_scalar(1.0 - b2);
        let m_hat = self.m.clone().div_scalar(1.0 - b1.powi(self.t));
        let v_hat = self.v.clone().div_scalar(1.0 - b2.powi(self.t));
        x - m_hat.div(v_hat.sqrt().add_scalar(eps)).mul_scalar(lr)
    }
}

/// The generator and the face networks on an autodiff backend.
pub struct Projector<AB: AutodiffBackend> {
    generator: Generator<AB>,
    recognition: RecognitionNet<AB>,
    landmark_net: DenseFeatureNet<AB>,
    device: AB::Device,
    w_avg: Vec<f32>,
    /// √(E‖w − w_avg‖²) over samples of W, the official projector's `w_std`.
    w_std: f64,
    size: usize,
}

/// Samples of W for its spread.
const SPREAD_SAMPLES: usize = 2000;

impl<AB: AutodiffBackend> Projector<AB> {
    pub fn new(model: &ModelFile, device: &AB::Device) -> Result<Self> {
        let renderer = LatentRenderer::<AB::InnerBackend>::new(model, device)?;
        let seeds = crate::latent::consecutive_seeds(1 << 30, SPREAD_SAMPLES);
        let w_avg = renderer.w_avg().to_vec();
        let spread: f64 = renderer
            .w_of(&seeds)
            .iter()
            .map(|w| {
                w.iter()
                    .zip(&w_avg)
                    .map(|(&a, &m)| ((a - m) as f64).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / SPREAD_SAMPLES as f64;
        Ok(Projector {
            generator: model.generator::<AB>(device)?.no_grad(),
            recognition: RecognitionNet::load(&Network::Recognition.weights()?, device)?,
            landmark_net: DenseFeatureNet::load(&Network::Landmarks68.weights()?, device)?,
            device: device.clone(),
            w_avg,
            w_std: spread.sqrt(),
            size: model.info.generator.img_resolution,
        })
    }

    fn image_tensor(&self, image: &RgbImage) -> Tensor<AB, 4> {
        let s = self.size;
        let mut data = vec![0f32; 3 * s * s];
        for (i, px) in image.pixels().enumerate() {
            for c in 0..3 {
                data[c * s * s + i] = (px.0[c] as f32 - 128.0) / 127.5;
            }
        }
        Tensor::from_data(TensorData::new(data, [1, 3, s, s]), &self.device)
    }

    fn descriptor(&self, chip: &Crop<AB>, x: Tensor<AB, 4>) -> Tensor<AB, 2> {
        let input = face_input(chip.apply(x), &self.device);
        self.recognition.forward(input)
    }

    fn landmarks(&self, crop: &Crop<AB>, x: Tensor<AB, 4>) -> Tensor<AB, 2> {
        self.landmark_net
            .forward(face_input(crop.apply(x), &self.device))
    }

    fn target(&self, image: &RgbImage, landmarks: &Landmarks68) -> Result<Target<AB>> {
        if image.dimensions() != (self.size as u32, self.size as u32) {
            bail!(
                "the aligned photo is {}×{}; the model's images are {}²",
                image.width(),
                image.height(),
                self.size
            );
        }
        let chip = Crop::new(Square::dlib(landmarks), self.size, 150, &self.device);
        let landmark_box = Crop::new(
            Square::landmark_box(landmarks),
            self.size,
            112,
            &self.device,
        );
        let x = self.image_tensor(image);
        let descriptor = self.descriptor(&chip, x.clone()).detach();
        let landmarks = self.landmarks(&landmark_box, x.clone()).detach();
        Ok(Target {
            image: x,
            descriptor,
            landmarks,
            chip,
            landmark_box,
        })
    }

    /// The weighted loss of the image of `ws` ([1, num_ws, w_dim]) and its parts.
    fn loss(
        &self,
        ws: Tensor<AB, 3>,
        target: &Target<AB>,
        options: &ProjectOptions,
    ) -> (Tensor<AB, 1>, StepLoss) {
        let image = self.generator.synthesis.forward(ws, NoiseMode::Const);
        let pixel = multiscale_mse(image.clone(), target.image.clone());
        let mut total = pixel.clone().mul_scalar(options.pixel_weight);
        let scalar = |t: &Tensor<AB, 1>| t.clone().into_scalar().elem::<f64>();
        let mut parts = StepLoss {
            pixel: scalar(&pixel),
            ..StepLoss::default()
        };
        if options.identity_weight > 0.0 {
            let d = self.descriptor(&target.chip, image.clone());
            let identity = (d - target.descriptor.clone()).powi_scalar(2).sum();
            parts.identity = scalar(&identity);
            total = total + identity.mul_scalar(options.identity_weight);
        }
        if options.landmark_weight > 0.0 {
            let l = self.landmarks(&target.landmark_box, image);
            let landmarks = (l - target.landmarks.clone()).powi_scalar(2).mean();
            parts.landmarks = scalar(&landmarks);
            total = total + landmarks.mul_scalar(options.landmark_weight);
        }
        (total, parts)
    }

    /// Searches for the latent of `image` (the aligned photo, the model's size) whose face
    /// has `landmarks` (in `image`'s pixels); `progress` hears of every step.
    pub fn project(
        &self,
        image: &RgbImage,
        landmarks: &Landmarks68,
        options: &ProjectOptions,
        mut progress: impl FnMut(usize, &StepLoss),
    ) -> Result<Projection> {
        if options.steps == 0 {
            bail!("projection needs at least one step");
        }
        let target = self.target(image, landmarks)?;
        let (d, layers) = (self.w_avg.len(), self.generator.num_ws());
        let w_steps = if options.plus {
            ((options.steps as f64 * options.w_share).round() as usize).min(options.steps)
        } else {
            options.steps
        };
        let mut trace = Vec::with_capacity(options.steps);
        // Stage 1: one w for every layer.
        let mut w = Tensor::<AB::InnerBackend, 2>::from_data(
            TensorData::new(self.w_avg.clone(), [1, d]),
            &self.device,
        );
        let mut adam = Adam::new(&w);
        let mut rng = NumpyRandomState::new(options.seed);
        for step in 0..w_steps {
            let t = step as f64 / w_steps as f64;
            let scale = self.w_std * options.initial_noise * noise_ramp(t);
            let noise: Vec<f32> = rng.randn(d).into_iter().map(|v| v as f32).collect();
            let noise = Tensor::<AB, 1>::from_floats(noise.as_slice(), &self.device)
                .reshape([1, d])
                .mul_scalar(scale);
            let var = Tensor::<AB, 2>::from_inner(w.clone()).require_grad();
            let ws = (var.clone() + noise)
                .reshape([1, 1, d])
                .repeat_dim(1, layers);
            let (loss, parts) = self.loss(ws, &target, options);
            let grads = loss.backward();
            let grad = var.grad(&grads).expect("w is tracked");
            w = adam.step(w, grad, options.lr * lr_ramp(t));
            progress(step, &parts);
            trace.push(parts);
        }
        let mut ws = w
            .reshape([1, 1, d])
            .repeat_dim(1, layers)
            .reshape([layers, d]);
        // Stage 2: every layer's w on its own.
        let plus_steps = options.steps - w_steps;
        if plus_steps > 0 {
            let mut adam = Adam::new(&ws);
            for step in 0..plus_steps {
                let t = step as f64 / plus_steps as f64;
                let var = Tensor::<AB, 2>::from_inner(ws.clone()).require_grad();
                let (loss, parts) =
                    self.loss(var.clone().reshape([1, layers, d]), &target, options);
                let grads = loss.backward();
                let grad = var.grad(&grads).expect("ws are tracked");
                ws = adam.step(ws, grad, options.lr_plus * lr_ramp(t));
                progress(w_steps + step, &parts);
                trace.push(parts);
            }
        }
        let flat: Vec<f32> = ws
            .into_data()
            .convert::<f32>()
            .to_vec()
            .expect("float data");
        Ok(Projection {
            ws: if plus_steps > 0 {
                flat
            } else {
                flat[..d].to_vec()
            },
            plus: plus_steps > 0,
            trace,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_match_the_official_projector() {
        assert_eq!(lr_ramp(0.0), 0.0);
        assert!((lr_ramp(0.025) - 0.5).abs() < 1e-12);
        assert!((lr_ramp(0.5) - 1.0).abs() < 1e-12);
        assert!((lr_ramp(0.875) - 0.5).abs() < 1e-12);
        assert!((noise_ramp(0.0) - 1.0).abs() < 1e-12);
        assert!((noise_ramp(0.375) - 0.25).abs() < 1e-12);
        assert_eq!(noise_ramp(0.9), 0.0);
    }

    #[test]
    fn resampling_rows_sum_to_one_and_pick_pixel_centres() {
        let m = resampling_matrix(2.0, 4.0, 10, 4);
        for row in m.chunks(10) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Output j's centre is at 2 + j + ½: exactly pixel 2 + j.
        for j in 0..4 {
            assert_eq!(m[j * 10 + 2 + j], 1.0);
        }
        // Beyond the edge the last pixel repeats.
        let m = resampling_matrix(8.0, 4.0, 10, 4);
        assert_eq!(m[3 * 10 + 9], 1.0);
    }
}

//! Training the detector from scratch: balanced batches of real and generated images,
//! degraded as `augment` says, binary cross-entropy on the logit, Adam with a cosine decay;
//! then the shipped threshold calibrated on held-out images.

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use image::RgbImage;
use rayon::prelude::*;
use serde::Serialize;

use super::augment::{centred_square, resize, resize_to, Augmentation};
use super::input::batch;
use super::network::DetectorNet;
use super::score::{average_precision, calibrate, AtThreshold};
use super::GanDetector;
use crate::rng::SplitMix64;

/// Real and generated images (any sizes).
#[derive(Clone, Debug, Default)]
pub struct Examples {
    pub real: Vec<RgbImage>,
    pub generated: Vec<RgbImage>,
}

impl Examples {
    /// Each image with its class, real first.
    pub fn labelled(&self) -> impl Iterator<Item = (&RgbImage, bool)> {
        let real = self.real.iter().map(|i| (i, false));
        real.chain(self.generated.iter().map(|i| (i, true)))
    }
}

/// How to train.
#[derive(Clone, Debug, Serialize)]
pub struct TrainOptions {
    /// Seeds the initial weights, the batches and every augmentation draw.
    pub seed: u64,
    pub steps: usize,
    /// Images per step, half of each class.
    pub batch: usize,
    /// The side examples are brought to (larger images: resized whole or cropped, at random).
    pub size: u32,
    pub learning_rate: f64,
    #[serde(skip)]
    pub augmentation: Augmentation,
    /// The highest false-positive rate on the held-out real images that the shipped
    /// threshold may have.
    pub max_false_positive_rate: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 0,
            steps: 3000,
            batch: 64,
            size: 64,
            learning_rate: 1e-3,
            augmentation: Augmentation::default(),
            max_false_positive_rate: 0.005,
        }
    }
}

/// What training measured on the held-out images (clean) at the end.
#[derive(Clone, Debug, Serialize)]
pub struct Validation {
    pub real: usize,
    pub generated: usize,
    pub average_precision: f64,
    pub calibrated: AtThreshold,
    /// The same images brought to the training size and shrunk to half of it, as a
    /// thumbnail is: their AP and the threshold calibrated for small images on them.
    pub shrunk_average_precision: f64,
    pub small: AtThreshold,
}

/// Trains a detector on `train`, calibrates its threshold on `held_out`, and reports each
/// step's loss to `on_step`.
pub fn train<B: AutodiffBackend>(
    train: &Examples,
    held_out: &Examples,
    options: &TrainOptions,
    device: &B::Device,
    on_step: &mut dyn FnMut(usize, f32),
) -> (GanDetector<B::InnerBackend>, Validation) {
    assert!(
        !train.real.is_empty() && !train.generated.is_empty(),
        "training needs images of both classes"
    );
    let mut net = DetectorNet::<B>::new(options.seed, device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let half = (options.batch / 2).max(1);
    for step in 0..options.steps {
        let (images, labels) = training_batch(train, options, step, half);
        let x = batch::<B, _>(&images, device);
        let sign = Tensor::<B, 1>::from_data(TensorData::new(labels, [images.len()]), device);
        // Binary cross-entropy on the logit z with y = ±1: −log σ(y z).
        let loss = log_sigmoid(net.forward(x) * sign).mean().neg();
        on_step(step, loss.clone().into_scalar().elem::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let progress = step as f64 / options.steps.max(1) as f64;
        let lr = options.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        net = optimizer.step(lr, net, grads);
    }

    let mut detector = GanDetector::new(net.valid(), 0.5);
    let scored = detector.score(held_out);
    let calibrated = calibrate(&scored, options.max_false_positive_rate);
    detector.threshold = calibrated.threshold;
    let shrunk = shrunk_copies(held_out, options.size);
    let scored_small = detector.score(&shrunk);
    let small = calibrate(&scored_small, options.max_false_positive_rate);
    detector.small_threshold = Some(small.threshold);
    let validation = Validation {
        real: held_out.real.len(),
        generated: held_out.generated.len(),
        average_precision: average_precision(&scored).unwrap_or(f64::NAN),
        calibrated,
        shrunk_average_precision: average_precision(&scored_small).unwrap_or(f64::NAN),
        small,
    };
    (detector, validation)
}

/// `examples` as thumbnails: each image's centred square at `size`, then shrunk to half
/// of it (under [`super::SMALL_SIDE`] for the usual training sizes).
fn shrunk_copies(examples: &Examples, size: u32) -> Examples {
    let shrink = |images: &[RgbImage]| -> Vec<RgbImage> {
        images
            .par_iter()
            .map(|img| resize(&centred_square(img, size), 0.5))
            .collect()
    };
    Examples {
        real: shrink(&examples.real),
        generated: shrink(&examples.generated),
    }
}

/// Step `step`'s batch: `half` real and `half` generated images, brought to a common size
/// and degraded, with their signs (+1 generated, −1 real).
fn training_batch(
    set: &Examples,
    options: &TrainOptions,
    step: usize,
    half: usize,
) -> (Vec<RgbImage>, Vec<f32>) {
    let mut batch_rng = SplitMix64::keyed(options.seed, &[step as u64]);
    let scale = options.augmentation.batch_scale(&mut batch_rng);
    // Shrunk batches keep their size; enlarged ones are cropped back to the training size.
    let side = ((options.size as f32 * scale.min(1.0)).round() as u32).max(8);
    (0..2 * half)
        .into_par_iter()
        .map(|i| {
            let mut rng = SplitMix64::keyed(options.seed, &[step as u64, i as u64 + 1]);
            let generated = i % 2 == 1;
            let pool = if generated { &set.generated } else { &set.real };
            let img = fit(&pool[rng.below(pool.len())], options.size, &mut rng);
            let img = options.augmentation.apply(img, generated, scale, &mut rng);
            let sign = if generated { 1.0 } else { -1.0 };
            (resize_to(&img, side, side), sign)
        })
        .unzip()
}

/// An image brought to `size` x `size`: a centred square, then either resized whole or
/// (when larger, half the time) a random crop at its own resolution, so the network sees
/// real photographs both shrunk and at their native sharpness.
fn fit(img: &RgbImage, size: u32, rng: &mut SplitMix64) -> RgbImage {
    let (w, h) = img.dimensions();
    let side = w.min(h);
    let (left, top) = ((w - side) / 2, (h - side) / 2);
    if side > size && rng.chance(0.5) {
        let x = left + rng.below((side - size + 1) as usize) as u32;
        let y = top + rng.below((side - size + 1) as usize) as u32;
        return image::imageops::crop_imm(img, x, y, size, size).to_image();
    }
    centred_square(img, size)
}

//! Training the detector from scratch: balanced batches of real and generated images,
//! degraded as `augment` says, binary cross-entropy on the logit, Adam with a cosine decay;
//! then the thumbnail network, the main one trained further on shrunk images only; then
//! the shipped thresholds calibrated on held-out images.

use std::collections::HashMap;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use image::imageops::FilterType;
use image::RgbImage;
use rayon::prelude::*;
use serde::Serialize;

use super::augment::{centred_square, resize, resize_to, Augmentation};
use super::input::batch;
use super::network::DetectorNet;
use super::score::{at_threshold, average_precision, calibrate, AtThreshold};
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
    /// Steps of the thumbnail network's training (0: none, small images are judged by the
    /// main network).
    pub thumbnail_steps: usize,
    /// Its starting learning rate (it starts from the trained main network).
    pub thumbnail_learning_rate: f64,
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
            thumbnail_steps: 2000,
            thumbnail_learning_rate: 3e-4,
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

/// Trains a detector on `train`, calibrates its thresholds on `held_out`, and reports each
/// step's loss to `on_step` (the main network's steps, then the thumbnail network's).
pub fn train<B: AutodiffBackend>(
    train: &Examples,
    held_out: &Examples,
    options: &TrainOptions,
    device: &B::Device,
    on_step: &mut dyn FnMut(usize, f32),
) -> (GanDetector<B::InnerBackend>, Validation) {
    check_classes(train);
    let net = DetectorNet::<B>::new(options.seed, device);
    let net = fit(net, train, options, Stage::Main, on_step);
    let mut detector = GanDetector::new(net.valid(), 0.5);
    detector.threshold =
        calibrate(&detector.score(held_out), options.max_false_positive_rate).threshold;
    add_thumbnail::<B>(
        detector,
        train,
        held_out,
        options,
        device,
        &mut |step, loss| on_step(options.steps + step, loss),
    )
}

/// Gives `detector` a thumbnail network trained from its main network on `train` (none when
/// `options.thumbnail_steps` is 0), calibrates the threshold for small images on
/// `held_out` shrunk to half, and reports what both thresholds do there. The main network
/// and its threshold stay as they are.
pub fn add_thumbnail<B: AutodiffBackend>(
    mut detector: GanDetector<B::InnerBackend>,
    train: &Examples,
    held_out: &Examples,
    options: &TrainOptions,
    device: &B::Device,
    on_step: &mut dyn FnMut(usize, f32),
) -> (GanDetector<B::InnerBackend>, Validation) {
    detector.thumbnail = None;
    if options.thumbnail_steps > 0 {
        check_classes(train);
        let bytes = detector.net.to_safetensors(HashMap::new());
        let start = DetectorNet::<B>::from_safetensors(&bytes, device).expect("its own bytes");
        let net = fit(start, train, options, Stage::Thumbnail, on_step);
        detector = detector.with_thumbnail(net.valid());
    }
    let scored = detector.score(held_out);
    let calibrated = at_threshold(&scored, detector.threshold);
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

fn check_classes(train: &Examples) {
    assert!(
        !train.real.is_empty() && !train.generated.is_empty(),
        "training needs images of both classes"
    );
}

/// Which network a training run fits, and so which batches it sees.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    /// Images at the training size, sometimes resized by the batch (`training_batch`).
    Main,
    /// Images shrunk under the training size, as thumbnails (`thumbnail_batch`).
    Thumbnail,
}

/// Trains `net` for its stage's steps: binary cross-entropy on the logit, Adam, the
/// learning rate decaying along a cosine.
fn fit<B: AutodiffBackend>(
    mut net: DetectorNet<B>,
    set: &Examples,
    options: &TrainOptions,
    stage: Stage,
    on_step: &mut dyn FnMut(usize, f32),
) -> DetectorNet<B> {
    let device = net.head.weight.device();
    let (steps, learning_rate) = match stage {
        Stage::Main => (options.steps, options.learning_rate),
        Stage::Thumbnail => (options.thumbnail_steps, options.thumbnail_learning_rate),
    };
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let half = (options.batch / 2).max(1);
    for step in 0..steps {
        let (images, labels) = match stage {
            Stage::Main => training_batch(set, options, step, half),
            Stage::Thumbnail => thumbnail_batch(set, options, step, half),
        };
        let x = batch::<B, _>(&images, &device);
        let sign = Tensor::<B, 1>::from_data(TensorData::new(labels, [images.len()]), &device);
        // Binary cross-entropy on the logit z with y = ±1: −log σ(y z).
        let loss = log_sigmoid(net.forward(x) * sign).mean().neg();
        on_step(step, loss.clone().into_scalar().elem::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let progress = step as f64 / steps.max(1) as f64;
        let lr = learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        net = optimizer.step(lr, net, grads);
    }
    net
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
            let (img, generated) = example(set, i, options.size, &mut rng);
            let img = options.augmentation.apply(img, generated, scale, &mut rng);
            (resize_to(&img, side, side), sign(generated))
        })
        .unzip()
}

/// Example `i` of a batch: generated when `i` is odd, real when even, drawn from its
/// class with `rng` and brought to `size` x `size` (see [`fit_square`]).
fn example(set: &Examples, i: usize, size: u32, rng: &mut SplitMix64) -> (RgbImage, bool) {
    let generated = i % 2 == 1;
    let pool = if generated { &set.generated } else { &set.real };
    (
        fit_square(&pool[rng.below(pool.len())], size, rng),
        generated,
    )
}

/// A class's sign in the loss: +1 generated, −1 real.
fn sign(generated: bool) -> f32 {
    if generated {
        1.0
    } else {
        -1.0
    }
}

/// The filters thumbnails are made with (browsers, image tools and web services differ).
const THUMBNAIL_FILTERS: [FilterType; 4] = [
    FilterType::Lanczos3,
    FilterType::CatmullRom,
    FilterType::Triangle,
    FilterType::Gaussian,
];

/// The smallest and largest thumbnail side, as fractions of the training size (the largest
/// stays under [`super::SMALL_SIDE`] at the usual 64).
const THUMBNAIL_SCALES: (f32, f32) = (0.375, 0.9);

/// Step `step`'s thumbnail batch: `half` real and `half` generated images brought to the
/// training size, then degraded with a shrink to one side for the batch (drawn from
/// [`THUMBNAIL_SCALES`]), each image by a filter of its own, with their signs.
fn thumbnail_batch(
    set: &Examples,
    options: &TrainOptions,
    step: usize,
    half: usize,
) -> (Vec<RgbImage>, Vec<f32>) {
    const KEY: u64 = 0x7480_B4A1;
    let mut batch_rng = SplitMix64::keyed(options.seed, &[KEY, step as u64]);
    let (low, high) = THUMBNAIL_SCALES;
    let side = ((options.size as f32 * batch_rng.uniform(low, high)).round() as u32).max(8);
    (0..2 * half)
        .into_par_iter()
        .map(|i| {
            let mut rng = SplitMix64::keyed(options.seed, &[KEY, step as u64, i as u64 + 1]);
            let (img, generated) = example(set, i, options.size, &mut rng);
            let filter = THUMBNAIL_FILTERS[rng.below(THUMBNAIL_FILTERS.len())];
            let img = options
                .augmentation
                .apply_shrunk(img, generated, side, filter, &mut rng);
            (img, sign(generated))
        })
        .unzip()
}

/// An image brought to `size` x `size`: a centred square, then either resized whole or
/// (when larger, half the time) a random crop at its own resolution, so the network sees
/// real photographs both shrunk and at their native sharpness.
fn fit_square(img: &RgbImage, size: u32, rng: &mut SplitMix64) -> RgbImage {
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

//! The whole face-api pipeline, batched: detect faces, then for every face its 68
//! landmarks (on the detection box), head pose, age, gender and expression (on the
//! landmarks' bounding box grown by 20 %) and identity descriptor (on the dlib-aligned
//! square) — the crops face-api's `detectAllFaces(…).withFaceLandmarks()
//! .withFaceExpressions().withAgeAndGender().withFaceDescriptors()` takes.
//!
//! Each network runs once per batch of faces rather than once per face, and each batch is
//! split into one part per CPU thread, the parts running concurrently (see [`split_run`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::age_gender::AgeGenderNet;
use crate::dense_net::{DenseFeatureNet, EXPRESSIONS};
use crate::detection::{decode, Detection};
use crate::detector::{TinyFaceDetector, MEAN_RGB as DETECTOR_MEAN};
use crate::embedded::Network;
use crate::error::FaceError;
use crate::frame::{batch_tensor, Frame};
use crate::geometry::{PixelRect, Point, Rect};
use crate::host::on_cpu;
use crate::landmarks::Landmarks68;
use crate::pose::{Facing, HeadPose};
use crate::recognition::{RecognitionNet, MEAN_RGB as FACE_MEAN};

/// How faces are looked for.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Minimum detector confidence (face-api's `scoreThreshold`).
    pub score_threshold: f64,
    /// Detector input side (a multiple of 32); by default the bordered image's longest
    /// side rounded up to a multiple of 32, within 160–416.
    pub input_size: Option<usize>,
    /// Black border added on every side before detection, as a fraction of the longest
    /// side: tightly cropped faces (aligned datasets, generated portraits) are found only
    /// with some context around them.
    pub border: f64,
    /// At most this many faces per image, best first.
    pub max_faces: Option<usize>,
    /// With no detection, analyse the whole image as one face (`detected: false`) — for
    /// images known to be aligned face crops.
    pub whole_image_fallback: bool,
    /// Faces per batch. A batch is split among the CPU threads, each running the networks
    /// on its part.
    pub batch: usize,
    /// Compute identity descriptors (the slowest network); without them every
    /// [`Face::descriptor`] is empty.
    pub descriptors: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            score_threshold: 0.5,
            input_size: None,
            border: 0.125,
            max_faces: None,
            whole_image_fallback: false,
            batch: 32,
            descriptors: true,
        }
    }
}

/// Gender as the age/gender network reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
}

/// Everything known about one face. Coordinates are pixels of the analysed image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// Detector confidence; 0 for a whole-image fallback.
    pub score: f64,
    /// False when no face was detected and the whole image was analysed instead.
    pub detected: bool,
    pub bbox: Rect,
    pub landmarks: Landmarks68,
    pub pose: Option<HeadPose>,
    pub facing: Option<Facing>,
    /// Years.
    pub age: f32,
    pub gender: Gender,
    /// Probability of `gender`.
    pub gender_probability: f32,
    /// Probabilities in the order of [`EXPRESSIONS`].
    pub expressions: [f32; 7],
    /// 128-D identity descriptor (same person ≲ 0.6 apart).
    pub descriptor: Vec<f32>,
}

impl Face {
    /// The most probable expression and its probability.
    pub fn expression(&self) -> (&'static str, f32) {
        let (i, p) = self
            .expressions
            .iter()
            .enumerate()
            .fold(
                (0, f32::MIN),
                |best, (i, &p)| if p > best.1 { (i, p) } else { best },
            );
        (EXPRESSIONS[i], p)
    }
}

/// Time spent per network over an analysis, input preparation (crop, pad, resize,
/// normalise) included — what one call of the matching face-api function costs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    pub detector: Duration,
    pub landmarks: Duration,
    pub age_gender: Duration,
    pub expression: Duration,
    pub descriptor: Duration,
}

impl std::ops::AddAssign for StageTimes {
    fn add_assign(&mut self, other: Self) {
        self.detector += other.detector;
        self.landmarks += other.landmarks;
        self.age_gender += other.age_gender;
        self.expression += other.expression;
        self.descriptor += other.descriptor;
    }
}

/// All five networks on one device.
#[derive(Debug, Clone)]
pub struct FaceAnalyzer<B: Backend> {
    detector: TinyFaceDetector<B>,
    landmarks: DenseFeatureNet<B>,
    expression: DenseFeatureNet<B>,
    age_gender: AgeGenderNet<B>,
    recognition: RecognitionNet<B>,
    device: B::Device,
    /// Split batches among CPU threads (see [`split_run`]): on the CPU backend only.
    split: bool,
}

/// A face on its way through the pipeline.
struct Pending {
    image: usize,
    score: f64,
    detected: bool,
    /// In the bordered frame.
    bbox: Rect,
    crop: PixelRect,
}

impl<B: Backend> FaceAnalyzer<B> {
    /// The networks compiled into the binary.
    pub fn embedded(device: &B::Device) -> Result<Self, FaceError> {
        Ok(Self {
            detector: TinyFaceDetector::load(&Network::TinyFaceDetector.weights()?, device)?,
            landmarks: DenseFeatureNet::load(&Network::Landmarks68.weights()?, device)?,
            expression: DenseFeatureNet::load(&Network::Expression.weights()?, device)?,
            age_gender: AgeGenderNet::load(&Network::AgeGender.weights()?, device)?,
            recognition: RecognitionNet::load(&Network::Recognition.weights()?, device)?,
            device: device.clone(),
            split: on_cpu::<B>(device),
        })
    }

    /// Face crops as one network input of side `size` (the face networks' normalisation).
    fn face_batch(&self, frames: &[Frame], size: usize) -> Tensor<B, 4> {
        batch_tensor::<B>(frames, size, true, FACE_MEAN, &self.device)
    }

    /// Detections per image, best first, relative to each bordered frame.
    fn detect(
        &self,
        framed: &[Frame],
        options: &AnalyzeOptions,
        times: &mut StageTimes,
    ) -> Vec<Vec<Detection>> {
        let started = Instant::now();
        let mut by_size: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, f) in framed.iter().enumerate() {
            let side = options
                .input_size
                .unwrap_or_else(|| (f.width.max(f.height).div_ceil(32) * 32).clamp(160, 416));
            by_size.entry(side).or_default().push(i);
        }
        let mut out = vec![Vec::new(); framed.len()];
        for (size, members) in by_size {
            for chunk in members.chunks(options.batch.max(1)) {
                let frames: Vec<Frame> = chunk.iter().map(|&i| framed[i].clone()).collect();
                let grid = split_run(&frames, self.split, |part| {
                    let x = batch_tensor::<B>(part, size, false, DETECTOR_MEAN, &self.device);
                    flat(self.detector.forward(x))
                });
                let cells = size / 32;
                let per = 25 * cells * cells;
                for (k, &i) in chunk.iter().enumerate() {
                    let f = &framed[i];
                    let grid = &grid[k * per..(k + 1) * per];
                    out[i] = decode(grid, cells, f.width, f.height, options.score_threshold);
                }
            }
        }
        times.detector += started.elapsed();
        out
    }

    /// Analyses `images`; per image its faces, best detection first.
    pub fn analyze(&self, images: &[Frame], options: &AnalyzeOptions) -> Vec<Vec<Face>> {
        self.analyze_timed(images, options).0
    }

    /// [`analyze`](Self::analyze), also returning the time each network took.
    pub fn analyze_timed(
        &self,
        images: &[Frame],
        options: &AnalyzeOptions,
    ) -> (Vec<Vec<Face>>, StageTimes) {
        let mut times = StageTimes::default();
        let borders: Vec<usize> = images
            .iter()
            .map(|f| (f.width.max(f.height) as f64 * options.border).round() as usize)
            .collect();
        let framed: Vec<Frame> = images
            .iter()
            .zip(&borders)
            .map(|(f, &b)| f.with_border(b))
            .collect();
        let detections = self.detect(&framed, options, &mut times);

        let mut pending = Vec::new();
        for (image, found) in detections.into_iter().enumerate() {
            let f = &framed[image];
            let limit = options.max_faces.unwrap_or(usize::MAX);
            let mut faces: Vec<(f64, bool, Rect)> = found
                .iter()
                .take(limit)
                .map(|d| (d.score, true, d.in_pixels(f.width, f.height)))
                .collect();
            if faces.is_empty() && options.whole_image_fallback && limit > 0 {
                let b = borders[image] as f64;
                let whole = Rect {
                    x: b,
                    y: b,
                    width: images[image].width as f64,
                    height: images[image].height as f64,
                };
                faces.push((0.0, false, whole));
            }
            for (score, detected, bbox) in faces {
                if let Some(crop) = bbox.clip_to_image(f.width, f.height) {
                    pending.push(Pending {
                        image,
                        score,
                        detected,
                        bbox,
                        crop,
                    });
                }
            }
        }

        let mut results: Vec<Vec<Face>> = vec![Vec::new(); images.len()];
        for chunk in pending.chunks(options.batch.max(1)) {
            let described = self.describe(&framed, chunk, options.descriptors, &mut times);
            for (p, face) in chunk.iter().zip(described) {
                let b = borders[p.image] as f64;
                results[p.image].push(shift_face(face, -b, -b));
            }
        }
        (results, times)
    }

    /// Landmarks, pose, attributes and (when `descriptors`) the identity descriptor for
    /// detected boxes (in the bordered frames).
    fn describe(
        &self,
        framed: &[Frame],
        faces: &[Pending],
        descriptors: bool,
        times: &mut StageTimes,
    ) -> Vec<Face> {
        let mut started = Instant::now();
        let mut lap = |stage: &mut Duration| {
            *stage += started.elapsed();
            started = Instant::now();
        };
        let crops: Vec<Frame> = faces.iter().map(|p| framed[p.image].crop(p.crop)).collect();
        let raw = split_run(&crops, self.split, |part| {
            flat(self.landmarks.forward(self.face_batch(part, 112)))
        });
        let landmarks: Vec<Landmarks68> = faces
            .iter()
            .zip(raw.chunks_exact(136))
            .map(|(p, raw)| {
                let origin = Point {
                    x: p.bbox.x,
                    y: p.bbox.y,
                };
                Landmarks68::from_network(raw, p.crop, origin)
            })
            .collect();
        lap(&mut times.landmarks);

        let clip = |p: &Pending, r: Rect| {
            let f = &framed[p.image];
            r.clip_to_image(f.width, f.height).unwrap_or(p.crop)
        };
        let aligned: Vec<Frame> = faces
            .iter()
            .zip(&landmarks)
            .map(|(p, l)| framed[p.image].crop(clip(p, l.aligned_rect())))
            .collect();
        // Per face: age, p(male), p(female).
        let age_gender = split_run(&aligned, self.split, |part| {
            let out = self.age_gender.forward(self.face_batch(part, 112));
            let n = part.len();
            flat(Tensor::cat(
                vec![out.age.reshape([n, 1]), out.gender_probs],
                1,
            ))
        });
        lap(&mut times.age_gender);
        let expressions = split_run(&aligned, self.split, |part| {
            flat(self.expression.probabilities(self.face_batch(part, 112)))
        });
        lap(&mut times.expression);

        let descriptors = if descriptors {
            let dlib: Vec<Frame> = faces
                .iter()
                .zip(&landmarks)
                .map(|(p, l)| {
                    framed[p.image].crop(clip(p, l.dlib_rect(p.crop.width, p.crop.height)))
                })
                .collect();
            split_run(&dlib, self.split, |part| {
                flat(self.recognition.forward(self.face_batch(part, 150)))
            })
        } else {
            Vec::new()
        };
        lap(&mut times.descriptor);

        faces
            .iter()
            .zip(landmarks)
            .enumerate()
            .map(|(i, (p, landmarks))| {
                let [age, male, female] = age_gender[3 * i..3 * i + 3] else {
                    unreachable!("three values per face")
                };
                let (gender, gender_probability) = if male > female {
                    (Gender::Male, male)
                } else {
                    (Gender::Female, female)
                };
                let pose = HeadPose::estimate(&landmarks);
                Face {
                    score: p.score,
                    detected: p.detected,
                    bbox: p.bbox,
                    pose,
                    facing: pose.map(|p| p.facing()),
                    landmarks,
                    age,
                    gender,
                    gender_probability,
                    expressions: expressions[7 * i..7 * i + 7].try_into().unwrap(),
                    descriptor: descriptors
                        .get(128 * i..128 * i + 128)
                        .map_or_else(Vec::new, <[f32]>::to_vec),
                }
            })
            .collect()
    }
}

/// Runs `net` on `items` split into one part per thread of rayon's pool, the parts
/// concurrently, and concatenates their outputs in order (with `split` false, on the whole
/// batch at once).
///
/// On burn's CPU backend every operation spreads over all threads by itself, but the
/// networks' small operations scale poorly that way: running independent parts of the batch
/// side by side, each operation then mostly on one thread, made the age/gender and
/// expression networks about 1.6x faster on 2 cores than one batch spread operation by
/// operation (`bench/faces.sh`). On other backends (a GPU) the batch runs whole.
fn split_run<T: Sync>(items: &[T], split: bool, net: impl Fn(&[T]) -> Vec<f32> + Sync) -> Vec<f32> {
    if items.is_empty() {
        return Vec::new();
    }
    if !split {
        return net(items);
    }
    let part = items.len().div_ceil(rayon::current_num_threads().max(1));
    items.par_chunks(part).map(&net).flatten_iter().collect()
}

/// A network output's values, in order.
fn flat<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec()
        .expect("converted to f32")
}

fn shift_face(mut face: Face, dx: f64, dy: f64) -> Face {
    face.bbox = face.bbox.shift(dx, dy);
    for p in &mut face.landmarks.points {
        p.x += dx;
        p.y += dy;
    }
    face
}

#[cfg(test)]
mod tests {
    use super::split_run;

    #[test]
    fn split_runs_keep_the_order_of_the_batch() {
        let items: Vec<u32> = (0..37).collect();
        // A "network" with two outputs per item, as the age/gender packing has three.
        let net = |part: &[u32]| -> Vec<f32> {
            part.iter().flat_map(|&i| [i as f32, -(i as f32)]).collect()
        };
        let expected: Vec<f32> = items
            .iter()
            .flat_map(|&i| [i as f32, -(i as f32)])
            .collect();
        for split in [true, false] {
            assert_eq!(split_run(&items, split, net), expected);
        }
        assert!(split_run(&items[..0], true, net).is_empty());
    }
}

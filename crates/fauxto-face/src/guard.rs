//! The memorisation guard: does a generated face show a person from the training set?
//! Each output's identity descriptor — of the image and of its mirror image, the smaller
//! distance counting, since a mirrored training face is the same face — is compared with
//! every training face's; closer than the threshold means the output reproduces a
//! training identity.
//!
//! The threshold: face-api's same-person convention for one-to-one comparisons is 0.6,
//! but a search over tens of thousands of faces finds someone within 0.6 for almost every
//! face. Measured on UTKFace at 128x128 (`bench/guard.sh`, 22,314 faces searched): at 0.6
//! all of 1,000 held-out faces are flagged; at [`DEFAULT_THRESHOLD`] (0.35) 99.6 % of
//! planted training faces (mirrored, cropped, brightened, JPEG 75) are caught and 19 % of
//! held-out faces are flagged.

use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use crate::analyzer::{AnalyzeOptions, FaceAnalyzer};
use crate::frame::Frame;
use crate::index::{FaceIndex, FaceStatus, DESCRIPTOR_DIM};

/// face-api's "same person" distance for comparing two faces.
pub const SAME_PERSON_THRESHOLD: f32 = 0.6;
/// The guard's default: calibrated for a search over a whole training set (see above).
pub const DEFAULT_THRESHOLD: f32 = 0.35;

/// What the guard found for one image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuardCheck {
    /// The nearest training face (of the image or its mirror image).
    pub nearest: Option<NearestIdentity>,
    /// Whether the detector found the face (else the whole image was compared).
    pub detected: bool,
    /// Closer than the threshold: the image shows a training identity.
    pub reproduces_training_face: bool,
}

/// The training face nearest to an output.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NearestIdentity {
    /// Image index in the training dataset.
    pub image: usize,
    /// Euclidean descriptor distance.
    pub distance: f32,
}

/// Nearest-identity search over a dataset's face index.
#[derive(Debug, Clone)]
pub struct IdentityGuard {
    /// Descriptors, one row of 128 per indexed face.
    descriptors: Vec<f32>,
    /// Dataset image of each row.
    images: Vec<usize>,
    pub threshold: f32,
}

impl IdentityGuard {
    /// All faces of `index` that have a descriptor.
    pub fn from_index(index: &FaceIndex, threshold: f32) -> Self {
        Self::from_rows(
            index
                .records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.status != FaceStatus::Missing)
                .map(|(i, r)| (i, r.descriptor.as_slice())),
            threshold,
        )
    }

    /// From `(image, descriptor)` pairs.
    pub fn from_rows<'a>(
        rows: impl IntoIterator<Item = (usize, &'a [f32])>,
        threshold: f32,
    ) -> Self {
        let mut descriptors = Vec::new();
        let mut images = Vec::new();
        for (image, d) in rows {
            assert_eq!(d.len(), DESCRIPTOR_DIM, "128-D descriptors");
            descriptors.extend_from_slice(d);
            images.push(image);
        }
        Self {
            descriptors,
            images,
            threshold,
        }
    }

    /// Faces searched.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The nearest training face (`None` for an empty index).
    pub fn nearest(&self, descriptor: &[f32]) -> Option<NearestIdentity> {
        assert_eq!(descriptor.len(), DESCRIPTOR_DIM, "128-D descriptor");
        let (row, d2) = self
            .descriptors
            .chunks_exact(DESCRIPTOR_DIM)
            .map(|row| {
                row.iter()
                    .zip(descriptor)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
            })
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        Some(NearestIdentity {
            image: self.images[row],
            distance: d2.sqrt(),
        })
    }

    /// The nearest training face if it is the same person (closer than the threshold).
    pub fn reproduced(&self, descriptor: &[f32]) -> Option<NearestIdentity> {
        self.nearest(descriptor)
            .filter(|n| n.distance < self.threshold)
    }

    /// Checks aligned face images (one face each; the whole image when none is detected)
    /// and their mirror images against the training faces.
    pub fn check<B: Backend>(
        &self,
        analyzer: &FaceAnalyzer<B>,
        images: &[Frame],
        options: &AnalyzeOptions,
    ) -> Vec<GuardCheck> {
        let options = AnalyzeOptions {
            max_faces: Some(1),
            whole_image_fallback: true,
            ..options.clone()
        };
        let mirrored: Vec<Frame> = images.iter().map(Frame::flip_horizontal).collect();
        let both: Vec<Frame> = images.iter().cloned().chain(mirrored).collect();
        let faces = analyzer.analyze(&both, &options);
        let (plain, mirror) = faces.split_at(images.len());
        plain
            .iter()
            .zip(mirror)
            .map(|(a, b)| {
                let nearest = a
                    .iter()
                    .chain(b)
                    .filter_map(|f| self.nearest(&f.descriptor))
                    .min_by(|x, y| x.distance.total_cmp(&y.distance));
                GuardCheck {
                    nearest,
                    detected: a.first().is_some_and(|f| f.detected),
                    reproduces_training_face: nearest.is_some_and(|n| n.distance < self.threshold),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(axis: usize, scale: f32) -> Vec<f32> {
        let mut v = vec![0.0; DESCRIPTOR_DIM];
        v[axis] = scale;
        v
    }

    #[test]
    fn finds_the_nearest_training_face_and_applies_the_threshold() {
        let rows = [unit(0, 1.0), unit(1, 1.0), unit(2, 1.0)];
        let guard = IdentityGuard::from_rows(
            rows.iter().enumerate().map(|(i, r)| (10 + i, r.as_slice())),
            SAME_PERSON_THRESHOLD,
        );
        assert_eq!(guard.len(), 3);
        let mut query = unit(1, 1.0);
        query[0] = 0.3;
        let n = guard.nearest(&query).unwrap();
        assert_eq!(n.image, 11);
        assert!((n.distance - 0.3).abs() < 1e-6);
        assert_eq!(guard.reproduced(&query), Some(n));
        query[0] = 0.7;
        assert_eq!(guard.nearest(&query).unwrap().image, 11);
        assert_eq!(
            guard.reproduced(&query),
            None,
            "0.7 apart is another person"
        );
    }

    #[test]
    fn empty_guard_finds_nothing() {
        let guard = IdentityGuard::from_rows(std::iter::empty(), 0.6);
        assert!(guard.is_empty());
        assert_eq!(guard.nearest(&unit(0, 1.0)), None);
    }
}

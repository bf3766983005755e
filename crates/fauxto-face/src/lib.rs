//! Face analysis with the pretrained networks of face-api (`@vladmandic/face-api` 1.7.15,
//! MIT; weights in `assets/face-api/`), reimplemented on burn.
//!
//! | module | network |
//! | --- | --- |
//! | [`weights`] | TensorFlow.js weight manifests and shards (uint8-quantised tensors) |
//! | [`tf_ops`] | TensorFlow layouts and `same` padding on burn |
//! | [`detector`] | the tiny face detector (Tiny YOLOv2 with separable convolutions), raw grid |
//! | [`recognition`] | the 128-D face descriptor (ResNet-34 style) |
//! | [`age_gender`] | age (years) and gender (Tiny Xception) |
//! | [`dense_net`] | 68 face landmarks and 7 expressions (dense blocks of separable convolutions) |
//! | [`frame`] | images and face-api's input preparation (pad to square, bilinear resize, normalise) |
//! | [`geometry`] | boxes and points |
//! | [`detection`] | detector grid → boxes, non-maximum suppression |
//! | [`landmarks`] | the 68 points and the crops aligned on them |
//! | [`pose`] | yaw, pitch and roll from the landmarks |
//! | [`analyzer`] | the batched pipeline: faces with landmarks, pose, age, gender, expression, descriptor |
//! | [`index`] | the face index stored beside a dataset (resumable) |
//! | [`guard`] | nearest training identity of a generated face |
//! | [`embedded`] | the weights compiled into the binary |
//! | [`metrics`] | generator quality in descriptor space: Fréchet distance, KID, k-NN precision and recall |

pub mod age_gender;
pub mod analyzer;
pub mod dense_net;
pub mod detection;
pub mod detector;
pub mod embedded;
pub mod error;
pub mod frame;
pub mod geometry;
pub mod guard;
pub mod host;
pub mod im2col;
pub mod index;
pub mod landmarks;
pub mod metrics;
pub mod pool;
pub mod pose;
pub mod recognition;
pub mod tf_ops;
pub mod weights;

pub use age_gender::AgeGenderNet;
pub use analyzer::{AnalyzeOptions, Face, FaceAnalyzer, Gender, StageTimes};
pub use dense_net::DenseFeatureNet;
pub use detector::TinyFaceDetector;
pub use error::FaceError;
pub use frame::Frame;
pub use guard::{
    GuardCheck, IdentityGuard, NearestIdentity, DEFAULT_THRESHOLD, SAME_PERSON_THRESHOLD,
};
pub use index::{FaceIndex, FaceRecord, FaceStatus, IndexHeader, IndexWriter};
pub use pose::{Facing, HeadPose};
pub use recognition::RecognitionNet;
pub use weights::WeightMap;

/// Reproducible test inputs.
#[cfg(test)]
mod test_noise {
    /// `len` values in [-0.5, 0.5) from a linear congruential generator seeded with `seed`.
    pub fn noise(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }
}

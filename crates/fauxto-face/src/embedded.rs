//! The face-api weights (`assets/face-api/`, MIT licence in `assets/face-api/LICENSE`),
//! compiled into the binary so analysis needs no files and no network.

use crate::error::FaceError;
use crate::weights::WeightMap;

/// One of the five pretrained networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    TinyFaceDetector,
    Landmarks68,
    Recognition,
    AgeGender,
    Expression,
}

macro_rules! asset {
    ($name:literal) => {
        (
            include_bytes!(concat!(
                "../../../assets/face-api/",
                $name,
                "-weights_manifest.json"
            ))
            .as_slice(),
            include_bytes!(concat!("../../../assets/face-api/", $name, ".bin")).as_slice(),
        )
    };
}

impl Network {
    /// The manifest and shard bytes.
    pub fn files(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Network::TinyFaceDetector => asset!("tiny_face_detector_model"),
            Network::Landmarks68 => asset!("face_landmark_68_model"),
            Network::Recognition => asset!("face_recognition_model"),
            Network::AgeGender => asset!("age_gender_model"),
            Network::Expression => asset!("face_expression_model"),
        }
    }

    /// The decoded weights.
    pub fn weights(self) -> Result<WeightMap, FaceError> {
        let (manifest, shards) = self.files();
        WeightMap::from_bytes(manifest, shards)
    }
}

//! The face networks as judges of generated faces: one face per aligned image (the best
//! detection, else the whole image), every attribute's score, and the identity
//! descriptor when asked for.

use burn::tensor::backend::Backend;
use fauxto_app::guard::frame_of;
use fauxto_face::{AnalyzeOptions, Face, FaceAnalyzer, Frame};
use image::DynamicImage;

use crate::attribute::{scores, Scores};

/// What the judges say about one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub scores: Scores,
    /// The most probable of the expression network's seven expressions.
    pub expression: Option<&'static str>,
    /// 128-D identity descriptor; empty unless descriptors were asked for.
    pub descriptor: Vec<f32>,
}

/// The face networks with the settings for aligned portraits.
pub struct Judge<B: Backend> {
    analyzer: FaceAnalyzer<B>,
    options: AnalyzeOptions,
}

impl<B: Backend> Judge<B> {
    /// The networks compiled into the binary.
    pub fn embedded(device: &B::Device) -> anyhow::Result<Self> {
        Ok(Judge {
            analyzer: FaceAnalyzer::embedded(device)?,
            options: AnalyzeOptions {
                max_faces: Some(1),
                whole_image_fallback: true,
                ..AnalyzeOptions::default()
            },
        })
    }

    /// One verdict per image; with `descriptors`, identity descriptors too (slower).
    pub fn judge(&self, images: &[DynamicImage], descriptors: bool) -> Vec<Verdict> {
        self.faces(images, descriptors)
            .into_iter()
            .map(verdict)
            .collect()
    }

    /// The face the verdicts read, per image: the best detection, else the whole image
    /// analysed as one face (`detected` false); `None` only for an image too small to read.
    pub fn faces(&self, images: &[DynamicImage], descriptors: bool) -> Vec<Option<Face>> {
        let options = AnalyzeOptions {
            descriptors,
            ..self.options.clone()
        };
        let frames: Vec<Frame> = images.iter().map(frame_of).collect();
        self.analyzer
            .analyze(&frames, &options)
            .into_iter()
            .map(|faces| faces.into_iter().next())
            .collect()
    }

    /// The most confidently detected face of a photo (any size, any framing), descriptor
    /// included; `None` when no face is found.
    pub fn photo_face(&self, photo: &DynamicImage) -> Option<Face> {
        let options = AnalyzeOptions {
            max_faces: Some(1),
            ..AnalyzeOptions::default()
        };
        self.analyzer
            .analyze(&[frame_of(photo)], &options)
            .into_iter()
            .next()?
            .into_iter()
            .next()
    }

    /// The verdict on [`photo_face`](Self::photo_face).
    pub fn judge_photo(&self, photo: &DynamicImage) -> Option<Verdict> {
        self.photo_face(photo).map(|face| verdict(Some(face)))
    }
}

fn verdict(face: Option<Face>) -> Verdict {
    Verdict {
        scores: scores(face.as_ref()),
        expression: face.as_ref().map(|f| f.expression().0),
        descriptor: face.map(|f| f.descriptor).unwrap_or_default(),
    }
}

/// Euclidean distance of two descriptors (face-api's same-person threshold is 0.6);
/// `None` when either is missing.
pub fn descriptor_distance(a: &[f32], b: &[f32]) -> Option<f64> {
    (!a.is_empty() && a.len() == b.len()).then(|| {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
            .sum::<f64>()
            .sqrt()
    })
}

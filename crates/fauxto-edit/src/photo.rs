//! A real photo through projection: its face found, framed as the model frames faces,
//! projected, and the result judged — by PSNR and by the judges the loss does not see
//! (age and gender) as well as by those it does (descriptor, landmarks).

use anyhow::{Context, Result};
use burn::tensor::backend::AutodiffBackend;
use fauxto_face::Face;
use fauxto_nn::model_file::hex;
use fauxto_trust::watermark::psnr;
use image::{DynamicImage, RgbImage};
use sha2::{Digest, Sha256};

use crate::align::{align, anchors, FaceTemplate};
use crate::judge::{descriptor_distance, Judge};
use crate::latent::LatentRenderer;
use crate::project::{ProjectOptions, Projection, Projector, StepLoss};
use crate::projected::{Fidelity, ProjectedLatent, FORMAT_VERSION, MAX_PSNR};

/// Mean distance between corresponding landmarks over the distance between the eye
/// centres of `reference`.
pub fn landmark_error(reference: &Face, other: &Face) -> f64 {
    let [l, r, _] = anchors(&reference.landmarks);
    let sum: f64 = reference
        .landmarks
        .points
        .iter()
        .zip(&other.landmarks.points)
        .map(|(a, b)| a.distance(*b))
        .sum();
    sum / reference.landmarks.points.len() as f64 / l.distance(r)
}

/// How `image` compares with `photo`, both judged the same way.
pub fn fidelity(photo_image: &RgbImage, image: &RgbImage, photo: &Face, made: &Face) -> Fidelity {
    let descriptor_distance = descriptor_distance(&photo.descriptor, &made.descriptor);
    Fidelity {
        psnr: psnr(photo_image, image).min(MAX_PSNR),
        descriptor_distance,
        landmark_error: Some(landmark_error(photo, made)).filter(|e| e.is_finite()),
        age: Some((photo.age as f64, made.age as f64)),
        female: Some((female(photo), female(made))),
    }
}

fn female(face: &Face) -> f64 {
    crate::attribute::scores(Some(face))[crate::Attribute::Gender.index()].unwrap_or(f64::NAN)
}

/// A projected photo: its latent, the aligned photo and the latent's image.
pub struct ProjectedPhoto {
    pub latent: ProjectedLatent,
    pub aligned: RgbImage,
    pub image: RgbImage,
    pub trace: Vec<StepLoss>,
}

/// Everything projection needs of one model, loaded once for many photos.
pub struct PhotoProjector<AB: AutodiffBackend> {
    projector: Projector<AB>,
    renderer: LatentRenderer<AB::InnerBackend>,
    judge: Judge<AB::InnerBackend>,
    template: FaceTemplate,
    model_sha256: String,
}

impl<AB: AutodiffBackend> PhotoProjector<AB> {
    pub fn new(model: &fauxto_nn::model_file::ModelFile, device: &AB::Device) -> Result<Self> {
        let renderer = LatentRenderer::new(model, device)?;
        let judge = Judge::embedded(device)?;
        let template = FaceTemplate::of_model(&renderer, &judge)?;
        Ok(PhotoProjector {
            projector: Projector::new(model, device)?,
            renderer,
            judge,
            template,
            model_sha256: model.sha256.clone(),
        })
    }

    pub fn template(&self) -> &FaceTemplate {
        &self.template
    }

    /// Finds the face of `photo` (file `name`, bytes `bytes` for its hash), aligns and
    /// projects it; `progress` hears of every step.
    pub fn project(
        &self,
        photo: &DynamicImage,
        name: &str,
        bytes: &[u8],
        options: &ProjectOptions,
        progress: impl FnMut(usize, &StepLoss),
    ) -> Result<ProjectedPhoto> {
        let face = match self.judge.photo_face(photo) {
            Some(face) => face,
            // A photo cropped tight to the face can defeat the detector: read the whole
            // photo as the face when its landmarks look like one.
            None => self
                .judge
                .faces(std::slice::from_ref(photo), false)
                .remove(0)
                .filter(|f| plausible(&f.landmarks, photo.width().min(photo.height())))
                .context("no face found in the photo")?,
        };
        let aligned = align(photo, &face.landmarks, &self.template)?.image;
        let aligned_dyn = DynamicImage::ImageRgb8(aligned.clone());
        let photo_face = self
            .judge
            .faces(std::slice::from_ref(&aligned_dyn), true)
            .remove(0)
            .with_context(|| {
                format!(
                    "the face networks cannot read the photo's face at the model's {}² size",
                    self.template.size
                )
            })?;
        let Projection { ws, plus, trace } =
            self.projector
                .project(&aligned, &photo_face.landmarks, options, progress)?;
        let image = self.renderer.render(std::slice::from_ref(&ws))?.remove(0);
        let made = self
            .judge
            .faces(std::slice::from_ref(&image), true)
            .remove(0)
            .with_context(|| {
                format!(
                    "the face networks cannot read the model's {}² image",
                    self.template.size
                )
            })?;
        let image = image.to_rgb8();
        let fidelity = fidelity(&aligned, &image, &photo_face, &made);
        Ok(ProjectedPhoto {
            latent: ProjectedLatent {
                format: FORMAT_VERSION,
                model_sha256: self.model_sha256.clone(),
                photo_name: name.to_string(),
                photo_sha256: hex(&Sha256::digest(bytes)),
                photo_mime: mime_by_content(bytes).to_string(),
                plus,
                num_ws: self.renderer.num_ws(),
                w_dim: self.renderer.w_dim(),
                options: options.clone(),
                fidelity,
                ws,
            },
            aligned,
            image,
            trace,
        })
    }
}

/// Whether landmarks read from a whole image of side `side` look like a face: the eyes
/// level-ish, apart by a fifth of the image or more, and the mouth below them.
fn plausible(landmarks: &fauxto_face::landmarks::Landmarks68, side: u32) -> bool {
    let [l, r, m] = anchors(landmarks);
    let eyes = l.distance(r);
    let eye_y = (l.y + r.y) / 2.0;
    eyes > 0.2 * side as f64 && (l.y - r.y).abs() < 0.5 * eyes && m.y > eye_y + 0.3 * eyes
}

/// The MIME type of an image file by its content.
pub fn mime_by_content(bytes: &[u8]) -> &'static str {
    image::guess_format(bytes)
        .map(|f| f.to_mime_type())
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;
    use fauxto_face::geometry::Point;
    use fauxto_face::landmarks::Landmarks68;

    /// 68 points: the eyes' six points each at `left` and `right`, the mouth's at `mouth`,
    /// the rest in the middle.
    fn face(left: (f64, f64), right: (f64, f64), mouth: (f64, f64)) -> Landmarks68 {
        let at = |(x, y): (f64, f64)| Point { x, y };
        let points = (0..68)
            .map(|i| match i {
                36..=41 => at(left),
                42..=47 => at(right),
                48..=67 => at(mouth),
                _ => at((50.0, 50.0)),
            })
            .collect();
        Landmarks68 { points }
    }

    #[test]
    fn a_whole_photo_reads_as_a_face_only_when_its_landmarks_look_like_one() {
        assert!(plausible(
            &face((35.0, 45.0), (65.0, 45.0), (50.0, 75.0)),
            100
        ));
        // Eyes too close for a photo cropped to the face.
        assert!(!plausible(
            &face((48.0, 45.0), (52.0, 45.0), (50.0, 75.0)),
            100
        ));
        // Mouth above the eyes.
        assert!(!plausible(
            &face((35.0, 45.0), (65.0, 45.0), (50.0, 30.0)),
            100
        ));
        // One eye far below the other.
        assert!(!plausible(
            &face((35.0, 30.0), (65.0, 60.0), (50.0, 90.0)),
            100
        ));
    }
}

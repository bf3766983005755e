//! The JSON shapes of the API: faces, pages, models, look-alikes. Defined here rather than
//! serialised from the library's types so that the API stays stable while the catalogue
//! changes, and so that each shape documents itself in the OpenAPI document.

use std::collections::BTreeMap;

use fauxto_face::dense_net::EXPRESSIONS;
use fauxto_library::{FaceEntry, ModelRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// One stored size of a face's image.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImageLink {
    /// Pixels per side.
    pub size: u32,
    /// Where to fetch it (a labelled PNG).
    pub url: String,
}

/// A catalogued face: what the face networks saw in it and where it came from.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FaceView {
    pub id: i64,
    /// SHA-256 of the model file that generated it.
    pub model_sha256: String,
    pub seed: u32,
    pub truncation: f64,
    /// When it was catalogued (RFC 3339).
    pub created_at: String,
    /// Estimated age in years.
    pub age: f32,
    /// infant, child, young-adult, adult or elderly.
    pub age_band: String,
    /// male or female.
    pub gender: String,
    /// Probability of that gender.
    pub gender_probability: f32,
    /// The most probable expression.
    pub expression: String,
    /// Probability of each of the seven expressions.
    pub expressions: BTreeMap<String, f32>,
    /// Head pose in degrees.
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    /// left, frontal or right.
    pub facing: String,
    /// Face detector confidence.
    pub detection_score: f32,
    /// The watermark payload its images carry (12 hex digits).
    pub watermark: Option<String>,
    /// Its image at each stored size, largest first.
    pub images: Vec<ImageLink>,
}

impl FaceView {
    pub fn of(face: &FaceEntry) -> Self {
        FaceView {
            id: face.id,
            model_sha256: face.model_sha256.clone(),
            seed: face.seed,
            truncation: face.truncation,
            created_at: face.created_at.clone(),
            age: face.age,
            age_band: face.age_band.name().into(),
            gender: face.gender.clone(),
            gender_probability: face.gender_probability,
            expression: face.expression.clone(),
            expressions: EXPRESSIONS
                .iter()
                .zip(face.expressions)
                .map(|(name, p)| (name.to_string(), p))
                .collect(),
            yaw: face.yaw,
            pitch: face.pitch,
            roll: face.roll,
            facing: face.facing.clone(),
            detection_score: face.detection_score,
            watermark: face.watermark.clone(),
            images: face
                .sizes
                .iter()
                .map(|&size| ImageLink {
                    size,
                    url: format!("/api/faces/{}/image?size={size}", face.id),
                })
                .collect(),
        }
    }
}

/// One page of a search.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FacePage {
    /// Faces matching the filters, in all.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub faces: Vec<FaceView>,
}

/// A model faces come from.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ModelView {
    pub sha256: String,
    pub name: String,
    /// Image side in pixels.
    pub resolution: u32,
    /// The licence of the model and its images.
    pub license: String,
    /// Merkle root of the training data's manifest, when recorded.
    pub training_data_root: Option<String>,
    /// Its model card (Markdown).
    pub card: String,
    /// Faces of it in the library.
    pub faces: u64,
    /// This studio generates images of it on demand (and runs jobs with it).
    pub generates: bool,
}

impl ModelView {
    pub fn of(model: &ModelRecord, faces: u64, generates: bool) -> Self {
        ModelView {
            sha256: model.sha256.clone(),
            name: model.name.clone(),
            resolution: model.resolution,
            license: model.license.clone(),
            training_data_root: model.training_data_root.clone(),
            card: model.card.clone(),
            faces,
            generates,
        }
    }
}

/// What the Content Credential of a face's image says.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CredentialSummary {
    /// Whether the image carries a credential.
    pub present: bool,
    /// Its validation state (`Valid`, `Trusted`, `Invalid`).
    pub state: String,
    pub tampered: bool,
    /// Who signed it.
    pub signer: Option<String>,
    /// The IPTC digital source type (e.g. trainedAlgorithmicMedia).
    pub digital_source_type: Option<String>,
}

/// A face with its model and its credential.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FaceDetail {
    pub face: FaceView,
    pub model: Option<ModelView>,
    pub credential: CredentialSummary,
}

/// A face like the query, and how far its identity is (Euclidean descriptor distance; the
/// same person is under about 0.6).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LookAlike {
    pub distance: f32,
    pub face: FaceView,
}

/// Look-alikes, nearest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LookAlikes {
    pub faces: Vec<LookAlike>,
}

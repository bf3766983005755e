//! Content Credentials (C2PA manifests) for the images fauxto makes and the photos it signs.
//!
//! Every generated image gets a manifest with a `c2pa.created` action whose digital source
//! type is IPTC's `trainedAlgorithmicMedia`, the software agent, a `org.fauxto.generation`
//! assertion (model name and SHA-256, the training-data manifest's Merkle root and licence,
//! seed, truncation, noise mode, class) and, when the image carries the invisible watermark,
//! a `c2pa.soft-binding` assertion naming it, so the credential can be found again after the
//! metadata was stripped. Signing is local: ECDSA P-256 keys made by [`keys::init`], pure-Rust
//! crypto, no network.

pub mod keys;
mod sign;
mod verify;

pub use sign::{
    sign_capture, sign_generated, sign_generated_from, Generation, InputPhoto, LocalSigner, Parent,
    SignError,
};
pub use verify::{verify, Verification, VerifyError};

/// IPTC digital source types (<https://cv.iptc.org/newscodes/digitalsourcetype/>) of what
/// fauxto writes: each image's credential says which of these it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceType {
    /// Made by a trained generative model (a generated image, a grid or an animation of
    /// generated images).
    TrainedAlgorithmicMedia,
    /// A composite that includes generated content (generated faces beside real photos).
    CompositeWithTrainedAlgorithmicMedia,
    /// A composite of captured photographs (a grid of real training images).
    CompositeCapture,
    /// A representation of data (a chart).
    DataDrivenMedia,
    /// A photograph taken with a camera.
    DigitalCapture,
}

impl SourceType {
    pub const ALL: [SourceType; 5] = [
        SourceType::TrainedAlgorithmicMedia,
        SourceType::CompositeWithTrainedAlgorithmicMedia,
        SourceType::CompositeCapture,
        SourceType::DataDrivenMedia,
        SourceType::DigitalCapture,
    ];

    /// The IPTC term's last path segment, e.g. `trainedAlgorithmicMedia`.
    pub fn term(self) -> &'static str {
        match self {
            SourceType::TrainedAlgorithmicMedia => "trainedAlgorithmicMedia",
            SourceType::CompositeWithTrainedAlgorithmicMedia => {
                "compositeWithTrainedAlgorithmicMedia"
            }
            SourceType::CompositeCapture => "compositeCapture",
            SourceType::DataDrivenMedia => "dataDrivenMedia",
            SourceType::DigitalCapture => "digitalCapture",
        }
    }

    /// The full IPTC URI that C2PA actions carry.
    pub fn uri(self) -> String {
        format!("{IPTC_SOURCE_TYPES}{}", self.term())
    }

    /// The source type of a URI (or bare term), if it is one of these.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let term = uri.rsplit('/').next().unwrap_or(uri);
        Self::ALL.into_iter().find(|t| t.term() == term)
    }

    /// Whether images of this type contain pixels a generative model made.
    pub fn contains_generated(self) -> bool {
        matches!(
            self,
            SourceType::TrainedAlgorithmicMedia | SourceType::CompositeWithTrainedAlgorithmicMedia
        )
    }
}

/// Prefix of the IPTC digital source type URIs.
const IPTC_SOURCE_TYPES: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";
/// IPTC digital source type of images made by a trained generative model.
pub const TRAINED_ALGORITHMIC_MEDIA: &str =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
/// IPTC digital source type of photographs taken with a camera.
pub const DIGITAL_CAPTURE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture";
/// Label of fauxto's own assertion.
pub const GENERATION_LABEL: &str = "org.fauxto.generation";
/// The soft-binding algorithm name of fauxto's watermark.
pub const WATERMARK_ALG: &str = "org.fauxto.watermark.2";

/// MIME type of an image file by its extension (the formats fauxto writes and signs).
pub fn mime_for(path: &std::path::Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        "gif" => Some("image/gif"),
        _ => None,
    }
}

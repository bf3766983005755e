//! Signing: a manifest built from what is known about an image, embedded with c2pa's Builder.

use std::io::Cursor;
use std::path::Path;

use c2pa::crypto::raw_signature::{signer_from_cert_chain_and_private_key, RawSigner};
use c2pa::{Builder, Context, Ingredient, Relationship, SigningAlg};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::keys::KeyPaths;
use super::{SourceType, GENERATION_LABEL, WATERMARK_ALG};

/// Errors signing an image.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("no signing key in {0} (run `fauxto keys init`, or give --keys DIR)")]
    NoKeys(std::path::PathBuf),
    #[error("reading {path}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("Content Credentials: {0}")]
    C2pa(#[from] c2pa::Error),
}

/// What fauxto knows about a generated image, recorded in the `org.fauxto.generation`
/// assertion.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Generation {
    pub model_name: String,
    pub model_sha256: String,
    /// Merkle root of the training-data manifest the model card names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_data_root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_data_license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The seeds of the generated images a composite (grid, style-mixing grid, animation,
    /// training snapshot, report) shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
    /// What the image is, when it is more than one generated image (e.g. "style-mixing
    /// grid, rows 1,2, columns 3-5, styles 0-3").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub truncation: f64,
    pub noise_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<usize>,
    /// The invisible watermark's payload (12 hex digits), when the image carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// The real photo the image depicts, when it was made from one (a projected photo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<InputPhoto>,
}

/// A real photo an image was made from, known by its hash alone: it enters the manifest as
/// an `inputTo` ingredient whose instance id is `sha256:<hash>`, without a thumbnail or its
/// file name (the photo is a person's, and a file name often names them: the credential
/// lets whoever holds the photo prove it was the input, and tells nobody else about it).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct InputPhoto {
    pub sha256: String,
    pub mime: String,
}

/// A signer from a key directory: the certificate chain and the private key, parsed once.
///
/// It is `Send + Sync`, so one signer labels images on several threads at once.
pub struct LocalSigner {
    signer: SharedSigner,
}

/// c2pa's raw ECDSA signer (which is `Send + Sync`) as a [`c2pa::Signer`]: c2pa's own
/// adapter is boxed as a plain `dyn Signer`, which may not be shared between threads.
/// No time-stamp authority: fauxto signs offline.
struct SharedSigner(Box<dyn RawSigner + Send + Sync>);

impl c2pa::Signer for SharedSigner {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        self.0.sign(data).map_err(Into::into)
    }

    fn alg(&self) -> SigningAlg {
        self.0.alg()
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        self.0.cert_chain().map_err(Into::into)
    }

    fn reserve_size(&self) -> usize {
        self.0.reserve_size()
    }

    fn ocsp_val(&self) -> Option<Vec<u8>> {
        self.0.ocsp_response()
    }

    fn raw_signer(&self) -> Option<Box<&dyn RawSigner>> {
        Some(Box::new(&*self.0))
    }
}

impl LocalSigner {
    /// Loads the signing chain and key of a key directory made by `keys::init`.
    pub fn from_dir(dir: &Path) -> Result<Self, SignError> {
        let paths = KeyPaths::in_dir(dir);
        if !paths.exist() {
            return Err(SignError::NoKeys(dir.into()));
        }
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| SignError::Io {
                path: p.into(),
                source,
            })
        };
        let signer = signer_from_cert_chain_and_private_key(
            &read(&paths.signer_chain)?,
            &read(&paths.signer_key)?,
            SigningAlg::Es256,
            None,
        )
        .map_err(c2pa::Error::from)?;
        Ok(LocalSigner {
            signer: SharedSigner(signer),
        })
    }
}

fn software_agent() -> serde_json::Value {
    json!({"name": "fauxto", "version": env!("CARGO_PKG_VERSION")})
}

/// A signed original that an image was derived from (a smaller copy of it, say).
#[derive(Clone, Copy, Debug)]
pub struct Parent<'a> {
    /// The original file, with its own manifest.
    pub bytes: &'a [u8],
    pub mime: &'a str,
    /// How the image was made from it, e.g. "resized to 128×128 for the gallery".
    pub derivation: &'a str,
}

/// The image `bytes` (of MIME type `mime`) with a signed manifest saying it is `source` —
/// made by a trained model, a composite with such images, real training photos or a chart
/// — with `generation`'s facts about the model and its training data.
pub fn sign_generated(
    bytes: &[u8],
    mime: &str,
    source: SourceType,
    generation: &Generation,
    signer: &LocalSigner,
) -> Result<Vec<u8>, SignError> {
    sign_generated_from(bytes, mime, source, generation, None, signer)
}

/// [`sign_generated`] for an image made from `parent`: the manifest opens the parent (its
/// `parentOf` ingredient, whose own manifest travels with it), then states the derivation
/// (`c2pa.resized`) — so that a reader follows the copy back to the signed original — with
/// the same source type, generation facts and watermark binding as the original's.
pub fn sign_generated_from(
    bytes: &[u8],
    mime: &str,
    source: SourceType,
    generation: &Generation,
    parent: Option<Parent<'_>>,
    signer: &LocalSigner,
) -> Result<Vec<u8>, SignError> {
    let what = match source {
        SourceType::TrainedAlgorithmicMedia => "generated by the model",
        SourceType::CompositeWithTrainedAlgorithmicMedia => {
            "real training photos beside images generated by the model"
        }
        SourceType::CompositeCapture => "real photos from the training data of the model",
        SourceType::DataDrivenMedia => "a chart about the model",
        SourceType::DigitalCapture => "a photograph",
    };
    let title = match source {
        SourceType::TrainedAlgorithmicMedia => "generated image",
        SourceType::CompositeWithTrainedAlgorithmicMedia => "composite with generated images",
        SourceType::CompositeCapture => "training photos",
        SourceType::DataDrivenMedia => "chart",
        SourceType::DigitalCapture => "photograph",
    };
    let description = match &generation.photo {
        Some(_) => format!(
            "a real person's photo as rendered by the model {}",
            generation.model_name
        ),
        None => format!("{what} {}", generation.model_name),
    };
    let actions = match parent {
        None if generation.photo.is_some() => json!([{
            "action": "c2pa.created",
            "digitalSourceType": source.uri(),
            "softwareAgent": software_agent(),
            "description": description,
            "parameters": {"ingredientIds": [PHOTO_ID]},
        }]),
        None => json!([{
            "action": "c2pa.created",
            "digitalSourceType": source.uri(),
            "softwareAgent": software_agent(),
            "description": description,
        }]),
        Some(p) => json!([
            {
                "action": "c2pa.opened",
                "softwareAgent": software_agent(),
                "parameters": {"ingredientIds": [PARENT_ID]},
                "description": format!("the original: {description}"),
            },
            {
                "action": "c2pa.resized",
                "digitalSourceType": source.uri(),
                "softwareAgent": software_agent(),
                "description": p.derivation,
            },
        ]),
    };
    let mut assertions = vec![
        json!({"label": "c2pa.actions.v2", "data": {"actions": actions}}),
        json!({"label": GENERATION_LABEL, "data": generation}),
    ];
    if let Some(payload) = &generation.watermark {
        assertions.push(json!({
            "label": "c2pa.soft-binding",
            "data": {
                "alg": WATERMARK_ALG,
                "blocks": [{"scope": {}, "value": payload}],
            }
        }));
    }
    sign_with(
        bytes,
        mime,
        title,
        assertions,
        parent,
        generation.photo.as_ref(),
        signer,
    )
}

/// The label that ties the `c2pa.opened` action to the parent ingredient.
const PARENT_ID: &str = "original";
/// The label that ties the `c2pa.created` action to the input photo's ingredient.
const PHOTO_ID: &str = "photo";

/// The photo `bytes` with a signed manifest saying it was captured by a camera (for
/// newsrooms fingerprinting authentic images).
pub fn sign_capture(bytes: &[u8], mime: &str, signer: &LocalSigner) -> Result<Vec<u8>, SignError> {
    let actions = json!({
        "label": "c2pa.actions.v2",
        "data": {"actions": [{
            "action": "c2pa.created",
            "digitalSourceType": SourceType::DigitalCapture.uri(),
            "softwareAgent": software_agent(),
        }]}
    });
    sign_with(bytes, mime, "photograph", vec![actions], None, None, signer)
}

fn sign_with(
    bytes: &[u8],
    mime: &str,
    title: &str,
    assertions: Vec<serde_json::Value>,
    parent: Option<Parent<'_>>,
    photo: Option<&InputPhoto>,
    signer: &LocalSigner,
) -> Result<Vec<u8>, SignError> {
    let definition = json!({
        "title": title,
        "claim_generator_info": [software_agent()],
        "assertions": assertions,
    });
    // No thumbnail: the image is its own preview, and the manifest stays small.
    let context = Context::new().with_settings(
        json!({
            "builder": {"thumbnail": {"enabled": false}},
            "verify": {"verify_after_sign": false}
        })
        .to_string()
        .as_str(),
    )?;
    let mut builder =
        Builder::from_context(context).with_definition(definition.to_string().as_str())?;
    if let Some(p) = parent {
        let ingredient = json!({
            "title": "original",
            "relationship": "parentOf",
            "label": PARENT_ID,
        });
        builder.add_ingredient_from_stream(
            ingredient.to_string(),
            p.mime,
            &mut Cursor::new(p.bytes),
        )?;
    }
    if let Some(photo) = photo {
        let instance = format!("sha256:{}", photo.sha256);
        let mut ingredient =
            Ingredient::new("a real photo", photo.mime.as_str(), instance.as_str());
        ingredient
            .set_relationship(Relationship::InputTo)
            .set_description("the real photo this image depicts")
            .set_label(PHOTO_ID);
        builder.add_ingredient(ingredient);
    }
    let mut source = Cursor::new(bytes);
    let mut dest = Cursor::new(Vec::with_capacity(bytes.len() + 16 * 1024));
    builder.sign(&signer.signer, mime, &mut source, &mut dest)?;
    Ok(dest.into_inner())
}

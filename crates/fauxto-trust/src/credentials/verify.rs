//! Verification: what a Content Credential in an image says, and whether it holds.

use std::io::Cursor;

use c2pa::{Context, Reader, ValidationState};
use serde::Serialize;
use serde_json::json;

use super::GENERATION_LABEL;

/// Errors reading an image's credential (a missing credential is not one).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("Content Credentials: {0}")]
    C2pa(#[from] c2pa::Error),
    #[error("trust anchors: {0}")]
    Trust(String),
}

/// The credential of one image.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Verification {
    /// The image carries a C2PA manifest.
    pub present: bool,
    /// "trusted" (valid and chains to a trusted CA), "valid" (intact, signer not trusted),
    /// "invalid", or "absent".
    pub state: String,
    /// The manifest no longer matches the image or itself (a hash or signature failure).
    pub tampered: bool,
    /// The c2pa failure status codes.
    pub failures: Vec<String>,
    /// Who signed: the certificate's common name and organisation.
    pub signer: Option<String>,
    pub signed_at: Option<String>,
    /// IPTC digital source type of the first action that states one (`c2pa.created`, or
    /// for a copy derived from a signed original, the derivation).
    pub digital_source_type: Option<String>,
    /// fauxto's generation assertion (model, training data, seed...).
    pub generation: Option<serde_json::Value>,
    /// The label of the image's own (active) manifest.
    pub manifest: Option<String>,
    /// For a copy derived from a signed original: the label of the original's manifest,
    /// which travels with the copy as its `parentOf` ingredient.
    pub parent_manifest: Option<String>,
    /// What the image was made from (its `inputTo` ingredients, e.g. a real photo that a
    /// projected image depicts): title, MIME type and instance id (`sha256:<hash>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<serde_json::Value>,
}

/// Reads and validates the manifest of the image `bytes` (MIME type `mime`), treating the CA
/// certificates in `trust_anchors` (PEM) as trusted.
pub fn verify(
    bytes: &[u8],
    mime: &str,
    trust_anchors: Option<&str>,
) -> Result<Verification, VerifyError> {
    let mut settings = json!({
        "verify": {"verify_trust": trust_anchors.is_some()},
        "builder": {"thumbnail": {"enabled": false}},
    });
    if let Some(pem) = trust_anchors {
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(VerifyError::Trust("no PEM certificate found".into()));
        }
        settings["trust"] = json!({"trust_anchors": pem});
    }
    let context = Context::new().with_settings(settings.to_string().as_str())?;
    let reader = match Reader::from_context(context).with_stream(mime, Cursor::new(bytes)) {
        Ok(r) => r,
        Err(c2pa::Error::JumbfNotFound) | Err(c2pa::Error::ProvenanceMissing) => {
            return Ok(Verification {
                state: "absent".into(),
                ..Default::default()
            })
        }
        Err(e) => return Err(e.into()),
    };
    let failures: Vec<String> = reader
        .validation_status()
        .unwrap_or_default()
        .iter()
        .map(|s| s.code().to_string())
        .collect();
    let tampered = failures
        .iter()
        .any(|c| c.contains("mismatch") || (c.contains("signature") && !c.contains("untrusted")));
    let state = match reader.validation_state() {
        ValidationState::Trusted => "trusted",
        ValidationState::Valid => "valid",
        _ => "invalid",
    };
    let manifest = reader.active_manifest();
    let signer = manifest.and_then(|m| m.signature_info()).map(|s| {
        [s.common_name.clone(), s.issuer.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    });
    let signed_at = manifest
        .and_then(|m| m.signature_info())
        .and_then(|s| s.time.clone());
    let actions: Option<serde_json::Value> = manifest.and_then(|m| {
        m.find_assertion("c2pa.actions.v2")
            .or_else(|_| m.find_assertion("c2pa.actions"))
            .ok()
    });
    let digital_source_type = actions.as_ref().and_then(|a| {
        a["actions"]
            .as_array()?
            .iter()
            .find(|x| x["digitalSourceType"].is_string())?["digitalSourceType"]
            .as_str()
            .map(String::from)
    });
    let generation = manifest.and_then(|m| m.find_assertion(GENERATION_LABEL).ok());
    let parent_manifest = manifest.and_then(|m| {
        m.ingredients()
            .iter()
            .find(|i| *i.relationship() == c2pa::Relationship::ParentOf)?
            .active_manifest()
            .map(String::from)
    });
    let inputs = manifest
        .map(|m| {
            m.ingredients()
                .iter()
                .filter(|i| *i.relationship() == c2pa::Relationship::InputTo)
                .map(|i| {
                    json!({
                        "title": i.title(),
                        "format": i.format(),
                        "instance_id": i.instance_id(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Verification {
        present: true,
        inputs,
        state: state.into(),
        tampered,
        failures,
        signer,
        signed_at,
        digital_source_type,
        generation,
        manifest: manifest.and_then(|m| m.label()).map(String::from),
        parent_manifest,
    })
}

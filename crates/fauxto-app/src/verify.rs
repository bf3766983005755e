//! What an image says about itself: its Content Credential (C2PA: state, signer, source
//! type, the generating model and its training data), fauxto's invisible watermark
//! (payload, strength, whether it fits the credential's model) and what the GAN-image
//! detector sees in its pixels — one report for `fauxto verify` and the studio's verify
//! endpoint.

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use fauxto_trust::credentials::{self, Verification};
use fauxto_trust::detector::{GanDetector, Verdict};
use fauxto_trust::watermark::{self, Key};
use image::ImageFormat;
use serde::Serialize;

use crate::payload::MarkPayload;

/// What verifying one image found.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// The file's name (a path, or the name an upload gave).
    pub file: String,
    pub credential: Verification,
    pub watermark: Option<String>,
    /// What the watermark says (model tag, seed), in the format it was written in.
    pub watermark_payload: Option<MarkPayload>,
    /// Whether the watermark's model tag fits the model the credential names.
    pub watermark_matches_credential: Option<bool>,
    /// The watermark detector's z-score (see `fauxto_trust::watermark::Detection::z`).
    pub watermark_score: f32,
    /// Whether the credential's training data is the given dataset.
    pub dataset_match: Option<bool>,
    /// What the GAN-image detector sees in the pixels (when one was run).
    pub detector: Option<Verdict>,
}

/// The media type of an encoded image, from its content.
pub fn mime_of(bytes: &[u8]) -> Result<&'static str> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => Ok("image/png"),
        Ok(ImageFormat::Jpeg) => Ok("image/jpeg"),
        Ok(ImageFormat::WebP) => Ok("image/webp"),
        Ok(ImageFormat::Gif) => Ok("image/gif"),
        _ => anyhow::bail!("Content Credentials are read from PNG, JPEG, WebP and GIF images"),
    }
}

/// Verifies the encoded image `bytes` named `file`: its credential against `trust` (a CA
/// certificate, PEM) when given, its training data against the Merkle root `dataset_root`
/// when given, its watermark under `key`, and its pixels with `detector` when given.
pub fn verify_image<B: Backend>(
    file: &str,
    bytes: &[u8],
    trust: Option<&str>,
    dataset_root: Option<&str>,
    key: &Key,
    detector: Option<&GanDetector<B>>,
) -> Result<VerifyReport> {
    let img = crate::images::decode_image(bytes)?;
    let rgb = img.to_rgb8();
    let credential = credentials::verify(bytes, mime_of(bytes)?, trust)
        .context("cannot read the Content Credential")?;
    let found = watermark::detect(&rgb, key);
    let generation = credential.generation.as_ref();
    let named_root = generation.and_then(|g| g["training_data_root"].as_str());
    let named_model = generation.and_then(|g| g["model_sha256"].as_str());
    let decoded = found
        .payload
        .zip(found.format)
        .map(|(p, f)| MarkPayload::decode(p, f));
    Ok(VerifyReport {
        file: file.to_string(),
        dataset_match: dataset_root.map(|r| named_root == Some(r)),
        watermark: found.payload.map(|p| p.to_hex()),
        watermark_payload: decoded,
        watermark_matches_credential: decoded.zip(named_model).map(|(d, m)| d.matches_model(m)),
        watermark_score: found.z,
        credential,
        detector: detector.map(|d| d.judge(&rgb)),
    })
}

impl VerifyReport {
    /// The report as `fauxto verify` prints it.
    pub fn text(&self) -> String {
        let c = &self.credential;
        let mut out = format!("{}\n", self.file);
        if c.present {
            out += &format!(
                "  Content Credential: {}{}\n",
                c.state,
                if c.tampered { ", TAMPERED" } else { "" }
            );
            if !c.failures.is_empty() {
                out += &format!("  status codes: {}\n", c.failures.join(", "));
            }
            if let Some(s) = &c.signer {
                out += &format!("  signed by: {s}\n");
            }
            if let Some(t) = self.source_type() {
                out += &format!("  source: {t}\n");
            }
            if let Some(p) = &c.parent_manifest {
                out += &format!("  derived from: a signed original (its manifest {p})\n");
            }
            for input in &c.inputs {
                out += &format!(
                    "  made from: {} ({})\n",
                    input["title"].as_str().unwrap_or("an input"),
                    input["instance_id"].as_str().unwrap_or("no id")
                );
            }
            if let Some(g) = &c.generation {
                out += &format!(
                    "  model: {} (sha256 {})\n  training data: {} ({})\n",
                    g["model_name"].as_str().unwrap_or("?"),
                    g["model_sha256"].as_str().unwrap_or("?"),
                    g["training_data_root"].as_str().unwrap_or("not recorded"),
                    g["training_data_license"]
                        .as_str()
                        .unwrap_or("no licence recorded"),
                );
            }
        } else {
            out += "  Content Credential: none\n";
        }
        if let Some(d) = c
            .generation
            .as_ref()
            .and_then(|g| g["description"].as_str())
        {
            out += &format!("  shows: {d}\n");
        }
        let z = self.watermark_score;
        match (&self.watermark, &self.watermark_payload) {
            (Some(p), Some(d)) => {
                out += &format!(
                    "  watermark: {p} = {} (z = {z:.1}){}\n",
                    d.describe(),
                    match self.watermark_matches_credential {
                        Some(true) => ", fits the credential's model",
                        Some(false) => ", does NOT fit the credential's model",
                        None => "",
                    }
                )
            }
            (Some(p), None) => out += &format!("  watermark: {p} (z = {z:.1})\n"),
            (None, _) => out += &format!("  watermark: not found (z = {z:.1})\n"),
        }
        if let Some(v) = &self.detector {
            out += &format!("  detector: {v}\n");
        }
        if let Some(m) = self.dataset_match {
            out += &format!(
                "  training data {} the given dataset\n",
                if m { "matches" } else { "does NOT match" }
            );
        }
        out += &format!("  in short: {}\n", self.summary());
        out
    }

    /// The credential's IPTC digital source type without its vocabulary prefix.
    fn source_type(&self) -> Option<&str> {
        let t = self.credential.digital_source_type.as_deref()?;
        Some(t.rsplit('/').next().unwrap_or(t))
    }

    /// The three signals in one line, e.g. "no credential, no watermark, detector:
    /// probably generated (0.97)".
    pub fn summary(&self) -> String {
        let c = &self.credential;
        let credential = if !c.present {
            "no credential".to_string()
        } else if c.tampered {
            "a TAMPERED credential".to_string()
        } else {
            match self.source_type() {
                Some("trainedAlgorithmicMedia") => "a credential saying AI-generated".to_string(),
                Some("compositeWithTrainedAlgorithmicMedia") => {
                    "a credential saying partly AI-generated".to_string()
                }
                Some("digitalCapture") => "a credential saying camera capture".to_string(),
                Some(other) => format!("a credential ({other})"),
                None => "a credential".to_string(),
            }
        };
        let watermark = match &self.watermark_payload {
            Some(_) => "fauxto's watermark",
            None if self.watermark.is_some() => "a watermark",
            None => "no watermark",
        };
        match &self.detector {
            Some(v) => format!("{credential}, {watermark}, detector: {v}"),
            None => format!("{credential}, {watermark}"),
        }
    }
}

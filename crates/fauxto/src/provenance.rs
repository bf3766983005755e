//! The command-line options of labelling (`fauxto_app::labels`): credentials and watermark
//! on or off, signing keys, watermark key.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use fauxto_app::labels::{LabelOptions, Labeller, PUBLIC_WATERMARK_KEY};
use fauxto_nn::model_file::ModelFile;
use fauxto_trust::credentials::keys;

/// Provenance options shared by the commands that write images.
#[derive(Debug, Args, Clone)]
pub struct ProvenanceArgs {
    /// Do not sign the images with a Content Credential.
    #[arg(long)]
    pub no_credentials: bool,
    /// Do not embed the invisible watermark.
    #[arg(long)]
    pub no_watermark: bool,
    /// Signing key directory (default: $FAUXTO_KEYS, else ~/.config/fauxto/keys; created with
    /// a local CA on first use).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Watermark key passphrase.
    #[arg(long, default_value = PUBLIC_WATERMARK_KEY)]
    pub watermark_key: String,
}

impl ProvenanceArgs {
    pub fn options(&self) -> LabelOptions {
        LabelOptions {
            credentials: !self.no_credentials,
            watermark: !self.no_watermark,
            keys: self.keys.clone(),
            watermark_key: self.watermark_key.clone(),
        }
    }

    /// A labeller for `model`'s images; says so when it made a signing identity.
    pub fn labeller(&self, model: &ModelFile, truncation: f64, noise: &str) -> Result<Labeller> {
        let labeller = Labeller::new(model, &self.options(), truncation, noise)?;
        announce_keys(&labeller);
        Ok(labeller)
    }
}

/// Says so when `labeller` made a signing identity.
pub fn announce_keys(labeller: &Labeller) {
    if let Some(dir) = labeller.created_keys() {
        eprintln!(
            "created a local signing CA and key in {} (verifiers trust it with --trust {})",
            dir.display(),
            dir.join(keys::CA_CERT).display()
        );
    }
}

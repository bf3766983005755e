//! What every generated image carries: the invisible watermark and a signed Content
//! Credential naming the model and its training data (`fauxto_trust`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use fauxto_nn::model_file::ModelFile;
use fauxto_trust::credentials::{self, keys, Generation, LocalSigner};
use fauxto_trust::watermark::{self, Key, Payload};
use image::DynamicImage;

use crate::images::{encode_image, write_bytes};

/// The watermark key used unless one is given: anyone can read marks made with it.
pub const PUBLIC_WATERMARK_KEY: &str = "fauxto-public";

/// Provenance options shared by the commands that write generated images.
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

/// The key directory to use: the given one, $FAUXTO_KEYS, or the user's config directory.
pub fn key_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("FAUXTO_KEYS") {
        return dir.into();
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("fauxto").join("keys")
}

/// Creates the default signing identity in `dir`: made in a temporary directory beside it
/// and renamed into place, so that concurrent first runs never see half of one.
fn create_keys(dir: &Path) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("keys"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    keys::init(&tmp, "fauxto user", 5)
        .with_context(|| format!("creating a signing key in {}", tmp.display()))?;
    match std::fs::rename(&tmp, dir) {
        Ok(()) => eprintln!(
            "created a local signing CA and key in {} (verifiers trust it with --trust {})",
            dir.display(),
            dir.join(keys::CA_CERT).display()
        ),
        // Another run made them first: use those.
        Err(_) if keys::KeyPaths::in_dir(dir).exist() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(e).with_context(|| format!("moving keys into {}", dir.display())),
    }
    Ok(())
}

/// Labels generated images of one model.
pub struct Labeller {
    signer: Option<LocalSigner>,
    watermark_key: Option<Key>,
    facts: Generation,
    /// The first 24 bits of the model's SHA-256: the model part of every payload.
    model_id: u64,
}

impl Labeller {
    /// A labeller for `model` with `args`; creates a signing identity on first use.
    pub fn new(
        model: &ModelFile,
        args: &ProvenanceArgs,
        truncation: f64,
        noise: &str,
    ) -> Result<Self> {
        let signer = if args.no_credentials {
            None
        } else {
            let dir = key_dir(args.keys.as_deref());
            if !keys::KeyPaths::in_dir(&dir).exist() {
                create_keys(&dir)?;
            }
            Some(LocalSigner::from_dir(&dir)?)
        };
        let model_id = u64::from_str_radix(model.sha256.get(..6).unwrap_or("0"), 16).unwrap_or(0);
        let training = model.info.training_data.as_ref();
        Ok(Labeller {
            signer,
            watermark_key: (!args.no_watermark).then(|| Key::from_passphrase(&args.watermark_key)),
            facts: Generation {
                model_name: model.info.name.clone(),
                model_sha256: model.sha256.clone(),
                training_data_root: training.map(|t| t.manifest_root.clone()),
                training_data_license: training.map(|t| t.license.clone()),
                seed: None,
                truncation,
                noise_mode: noise.into(),
                class: None,
                watermark: None,
            },
            model_id,
        })
    }

    /// The watermark payload of the image of `seed`: 24 bits of model, 24 bits of seed.
    pub fn payload(&self, seed: u64) -> Payload {
        Payload::new((self.model_id << 24) | (seed & 0xFF_FFFF)).expect("48 bits")
    }

    /// Marks, encodes (by `path`'s extension), signs and writes one image.
    pub fn write(
        &self,
        img: &DynamicImage,
        seed: Option<u64>,
        class: Option<usize>,
        path: &Path,
    ) -> Result<()> {
        let mut facts = self.facts.clone();
        facts.seed = seed;
        facts.class = class;
        let img = match (&self.watermark_key, seed) {
            (Some(key), Some(seed)) => {
                let payload = self.payload(seed);
                facts.watermark = Some(payload.to_hex());
                let marked =
                    watermark::embed(&img.to_rgb8(), key, payload, watermark::DEFAULT_PSNR);
                Cow::Owned(DynamicImage::ImageRgb8(marked.image))
            }
            _ => Cow::Borrowed(img),
        };
        let bytes = encode_image(&img, path)?;
        let bytes = match (&self.signer, credentials::mime_for(path)) {
            (Some(signer), Some(mime)) => credentials::sign_generated(&bytes, mime, &facts, signer)
                .with_context(|| format!("signing {}", path.display()))?,
            _ => bytes,
        };
        write_bytes(path, &bytes)
    }
}

//! `fauxto keys init`, `fauxto sign` and `fauxto verify`: the signing identity, signing an
//! authentic photo, and reading what an image says about itself (Content Credential and
//! watermark).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use fauxto_app::keys::key_dir;
use fauxto_app::labels::PUBLIC_WATERMARK_KEY;
use fauxto_app::payload::MarkPayload;
use fauxto_app::verify::verify_image;
use fauxto_data::PackedDataset;
use fauxto_trust::credentials::{self, keys, LocalSigner, SourceType};
use fauxto_trust::watermark::{self, Key};

use crate::images::write_bytes;

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a local CA and a signing certificate it issues (ECDSA P-256, private keys 0600).
    Init {
        /// Key directory (default: $FAUXTO_KEYS, else ~/.config/fauxto/keys).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Organisation named in the certificates.
        #[arg(long, default_value = "fauxto user")]
        org: String,
        /// Validity in years.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=30))]
        years: u32,
    },
}

pub fn keys(args: &KeysArgs) -> Result<()> {
    match &args.action {
        KeysAction::Init { dir, org, years } => {
            let dir = key_dir(dir.as_deref());
            let paths = keys::init(&dir, org, *years)?;
            println!("signing chain: {}", paths.signer_chain.display());
            println!("private key:   {} (mode 0600)", paths.signer_key.display());
            println!(
                "CA certificate: {} (give it to verifiers: fauxto verify --trust {})",
                paths.ca_cert.display(),
                paths.ca_cert.display()
            );
            Ok(())
        }
    }
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The photo to sign (PNG, JPEG or WebP).
    pub photo: PathBuf,
    /// Where to write the signed copy (same format).
    #[arg(long)]
    pub out: PathBuf,
    /// Signing key directory (default: $FAUXTO_KEYS, else ~/.config/fauxto/keys).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Watermark key passphrase to look for a generator's watermark with (a watermarked
    /// image is refused).
    #[arg(long, default_value = PUBLIC_WATERMARK_KEY)]
    pub watermark_key: String,
}

fn mime(path: &Path) -> Result<&'static str> {
    credentials::mime_for(path).with_context(|| {
        format!(
            "{}: Content Credentials need a .png, .jpg or .webp file",
            path.display()
        )
    })
}

/// Signs an authentic photo as a camera capture (IPTC `digitalCapture`).
pub fn sign(args: &SignArgs) -> Result<()> {
    let (mime_in, mime_out) = (mime(&args.photo)?, mime(&args.out)?);
    if mime_in != mime_out {
        bail!("--out must have the same format as the photo ({mime_in})");
    }
    let bytes =
        std::fs::read(&args.photo).with_context(|| format!("reading {}", args.photo.display()))?;
    let img = fauxto_app::images::decode_image(&bytes)
        .with_context(|| format!("{}", args.photo.display()))?;
    refuse_generated(&args.photo, &bytes, mime_in, &img, &args.watermark_key)?;
    let signer = LocalSigner::from_dir(&key_dir(args.keys.as_deref()))?;
    let signed = credentials::sign_capture(&bytes, mime_in, &signer)?;
    write_bytes(&args.out, &signed)?;
    println!("{} -> {}", args.photo.display(), args.out.display());
    Ok(())
}

/// A photo signed as a camera capture must not be one that says it was generated: its
/// credential (a generative source type or fauxto's generation assertion) or fauxto's
/// watermark under `watermark_key`.
fn refuse_generated(
    path: &Path,
    bytes: &[u8],
    mime: &str,
    img: &image::DynamicImage,
    watermark_key: &str,
) -> Result<()> {
    let refuse = |why: String| {
        anyhow::anyhow!(
            "{}: not signed as a camera capture: {why}. Only authentic photographs can be \
             signed with `fauxto sign`",
            path.display()
        )
    };
    // An unreadable or damaged credential says nothing either way; the watermark still does.
    if let Ok(v) = credentials::verify(bytes, mime, None) {
        let source = v
            .digital_source_type
            .as_deref()
            .and_then(SourceType::from_uri);
        if let Some(source) = source.filter(|s| s.contains_generated()) {
            return Err(refuse(format!(
                "its Content Credential says it is {} (made by a generative model)",
                source.term()
            )));
        }
        if v.generation.is_some() {
            return Err(refuse(
                "its Content Credential records the model that made it".into(),
            ));
        }
    }
    let found = watermark::detect(&img.to_rgb8(), &Key::from_passphrase(watermark_key));
    if let (Some(payload), Some(format)) = (found.payload, found.format) {
        return Err(refuse(format!(
            "it carries a fauxto watermark ({}: {})",
            payload.to_hex(),
            MarkPayload::decode(payload, format).describe()
        )));
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Images to verify.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Treat this CA certificate (PEM) as trusted.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// Check that the training data the credential names is this packed dataset.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Watermark key passphrase.
    #[arg(long, default_value = PUBLIC_WATERMARK_KEY)]
    pub watermark_key: String,
    /// GAN-image detector file; default: the one that ships with fauxto.
    #[arg(long)]
    pub detector: Option<PathBuf>,
    /// Skip the GAN-image detector (credential and watermark only).
    #[arg(long, conflicts_with = "detector")]
    pub no_detector: bool,
    /// Print one JSON object per image.
    #[arg(long)]
    pub json: bool,
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    let trust = match &args.trust {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let dataset_root = match &args.dataset {
        Some(dir) => Some(PackedDataset::open(dir)?.manifest().merkle_root.clone()),
        None => None,
    };
    let key = Key::from_passphrase(&args.watermark_key);
    let detector = if args.no_detector {
        None
    } else {
        Some(super::detector::load_detector(args.detector.as_deref())?)
    };
    let mut failed = 0;
    for path in &args.images {
        let report = std::fs::read(path)
            .with_context(|| format!("reading {}", path.display()))
            .and_then(|bytes| {
                let name = path.display().to_string();
                verify_image(
                    &name,
                    &bytes,
                    trust.as_deref(),
                    dataset_root.as_deref(),
                    &key,
                    detector.as_ref(),
                )
            });
        match report {
            Ok(report) if args.json => println!("{}", serde_json::to_string(&report)?),
            Ok(report) => print!("{}", report.text()),
            Err(e) => {
                failed += 1;
                eprintln!("{}: {e:#}", path.display());
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} images could not be verified",
            args.images.len()
        );
    }
    Ok(())
}

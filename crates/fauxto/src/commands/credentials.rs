//! `fauxto keys init`, `fauxto sign` and `fauxto verify`: the signing identity, signing an
//! authentic photo, and reading what an image says about itself (Content Credential and
//! watermark).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use fauxto_app::keys::key_dir;
use fauxto_app::labels::PUBLIC_WATERMARK_KEY;
use fauxto_app::payload::MarkPayload;
use fauxto_data::PackedDataset;
use fauxto_trust::credentials::{self, keys, LocalSigner, SourceType, Verification};
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
    let mut failed = 0;
    for path in &args.images {
        match verify_one(path, trust.as_deref(), dataset_root.as_deref(), &key) {
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

/// What `verify` says about one image.
#[derive(Debug, serde::Serialize)]
struct Report {
    file: PathBuf,
    credential: Verification,
    watermark: Option<String>,
    /// What the watermark says (model tag, seed), in the format it was written in.
    watermark_payload: Option<MarkPayload>,
    /// Whether the watermark's model tag fits the model the credential names.
    watermark_matches_credential: Option<bool>,
    watermark_score: f32,
    /// Whether the credential's training data is the given dataset.
    dataset_match: Option<bool>,
}

fn verify_one(path: &Path, trust: Option<&str>, root: Option<&str>, key: &Key) -> Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let img = fauxto_app::images::decode_image(&bytes)?;
    let credential = credentials::verify(&bytes, mime(path)?, trust)?;
    let found = watermark::detect(&img.to_rgb8(), key);
    let named_root = credential
        .generation
        .as_ref()
        .and_then(|g| g["training_data_root"].as_str());
    let decoded = found
        .payload
        .zip(found.format)
        .map(|(p, f)| MarkPayload::decode(p, f));
    let named_model = credential
        .generation
        .as_ref()
        .and_then(|g| g["model_sha256"].as_str());
    Ok(Report {
        file: path.into(),
        dataset_match: root.map(|r| named_root == Some(r)),
        watermark: found.payload.map(|p| p.to_hex()),
        watermark_payload: decoded,
        watermark_matches_credential: decoded.zip(named_model).map(|(d, m)| d.matches_model(m)),
        watermark_score: found.score,
        credential,
    })
}

impl Report {
    fn text(&self) -> String {
        let c = &self.credential;
        let mut out = format!("{}\n", self.file.display());
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
            if let Some(t) = &c.digital_source_type {
                out += &format!("  source: {}\n", t.rsplit('/').next().unwrap_or(t));
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
        if let Some(g) = &c.generation {
            if let Some(d) = g["description"].as_str() {
                out += &format!("  shows: {d}\n");
            }
        }
        match (&self.watermark, &self.watermark_payload) {
            (Some(p), Some(d)) => {
                out += &format!(
                    "  watermark: {p} = {} (z = {:.1}){}\n",
                    d.describe(),
                    self.watermark_score,
                    match self.watermark_matches_credential {
                        Some(true) => ", fits the credential's model",
                        Some(false) => ", does NOT fit the credential's model",
                        None => "",
                    }
                )
            }
            (Some(p), None) => {
                out += &format!("  watermark: {p} (z = {:.1})\n", self.watermark_score)
            }
            (None, _) => {
                out += &format!("  watermark: not found (z = {:.1})\n", self.watermark_score)
            }
        }
        if let Some(m) = self.dataset_match {
            out += &format!(
                "  training data {} the given dataset\n",
                if m { "matches" } else { "does NOT match" }
            );
        }
        out
    }
}

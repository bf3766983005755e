//! `fauxto watermark embed|detect`: the invisible watermark of `fauxto_trust::watermark`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use fauxto_trust::watermark::{self, Key, Payload};
use image::DynamicImage;

use crate::images::{ensure_dir, save_image};
use fauxto_app::labels::PUBLIC_WATERMARK_KEY;

#[derive(Debug, Args)]
pub struct WatermarkArgs {
    #[command(subcommand)]
    pub action: WatermarkAction,
}

#[derive(Debug, Subcommand)]
pub enum WatermarkAction {
    /// Embed a 48-bit payload into images (written as PNG, same size).
    Embed(EmbedArgs),
    /// Look for a watermark in images; prints what was found per image.
    Detect(DetectArgs),
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Images to mark (PNG, JPEG, WebP).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Directory for the marked images (DIR/<name>.png).
    #[arg(long)]
    pub out: PathBuf,
    /// The payload: 12 hexadecimal digits (48 bits).
    #[arg(long)]
    pub payload: String,
    /// Watermark key passphrase; whoever holds it can read (and forge) the mark.
    #[arg(long, default_value = PUBLIC_WATERMARK_KEY)]
    pub key: String,
    /// Strength as the PSNR of the marked image against the original, in dB (higher is
    /// fainter and less robust). Lower values strengthen the mark only down to where every
    /// chip is fully quantized (about 37–38 dB on photographs); below that nothing changes.
    #[arg(long, default_value_t = watermark::DEFAULT_PSNR)]
    pub psnr: f64,
    /// Print one JSON line per image.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Images to examine.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Watermark key passphrase.
    #[arg(long, default_value = PUBLIC_WATERMARK_KEY)]
    pub key: String,
    /// Print one JSON line per image.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &WatermarkArgs) -> Result<()> {
    match &args.action {
        WatermarkAction::Embed(a) => embed(a),
        WatermarkAction::Detect(a) => detect(a),
    }
}

fn open(path: &Path) -> Result<DynamicImage> {
    fauxto_app::images::load_image(path)
}

fn embed(args: &EmbedArgs) -> Result<()> {
    let payload = Payload::from_hex(&args.payload).map_err(anyhow::Error::msg)?;
    if !(20.0..=60.0).contains(&args.psnr) {
        bail!("--psnr {} is outside 20..=60 dB", args.psnr);
    }
    let key = Key::from_passphrase(&args.key);
    ensure_dir(&args.out)?;
    for path in &args.images {
        let img = open(path)?;
        let marked = watermark::embed(&img.to_rgb8(), &key, payload, args.psnr)
            .with_context(|| format!("{}: not marked", path.display()))?;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let out = args.out.join(format!("{stem}.png"));
        let result = if img.color().has_alpha() {
            let mut rgba = DynamicImage::ImageRgb8(marked.image).to_rgba8();
            for (px, src) in rgba.pixels_mut().zip(img.to_rgba8().pixels()) {
                px[3] = src[3];
            }
            DynamicImage::ImageRgba8(rgba)
        } else {
            DynamicImage::ImageRgb8(marked.image)
        };
        save_image(&result, &out)?;
        if args.json {
            let line = serde_json::json!({"file": path, "out": out, "psnr": marked.psnr});
            println!("{line}");
        } else {
            println!(
                "{} -> {} (PSNR {:.1} dB)",
                path.display(),
                out.display(),
                marked.psnr
            );
        }
    }
    Ok(())
}

fn detect(args: &DetectArgs) -> Result<()> {
    let key = Key::from_passphrase(&args.key);
    let mut failed = 0usize;
    for path in &args.images {
        let img = match open(path) {
            Ok(img) => img,
            Err(e) => {
                failed += 1;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"file": path, "error": format!("{e:#}")})
                    );
                } else {
                    eprintln!("{}: {e:#}", path.display());
                }
                continue;
            }
        };
        let d = watermark::detect(&img.to_rgb8(), &key);
        if args.json {
            let line = serde_json::json!({
                "file": path,
                "found": d.found,
                "payload": d.payload.map(Payload::to_hex),
                "format": d.format,
                "decoded": d.decoded.to_hex(),
                "score": d.score,
                "z": d.z,
                "pitch": d.pitch,
                "angle": d.angle,
                "tone": d.tone.describe(),
            });
            println!("{line}");
        } else if let Some(p) = d.payload {
            println!(
                "{}: watermark {} (sync {:.1}, z = {:.1}{})",
                path.display(),
                p.to_hex(),
                d.score,
                d.z,
                geometry_note(&d)
            );
        } else {
            println!(
                "{}: no watermark (best sync {:.1}, z = {:.1})",
                path.display(),
                d.score,
                d.z
            );
        }
    }
    if failed > 0 {
        bail!("{failed} of {} images could not be read", args.images.len());
    }
    Ok(())
}

/// How the mark was found, when not as embedded: "; resized 0.73x, rotated 1.2° clockwise,
/// gain 1.10".
fn geometry_note(d: &watermark::Detection) -> String {
    let mut parts = Vec::new();
    let native = [4.0f32, 8.0];
    if !native.iter().any(|c| (d.pitch - c).abs() < 1e-3) {
        // Relative to the nearer native pitch (4 below 6 pixels, 8 above).
        let c0 = if d.pitch < 6.0 { 4.0 } else { 8.0 };
        parts.push(format!("resized {:.2}x", d.pitch / c0));
    }
    if d.angle.abs() > 0.05 {
        // The angle is in image coordinates (y down): positive turns clockwise on screen.
        let way = if d.angle > 0.0 {
            "clockwise"
        } else {
            "counter-clockwise"
        };
        parts.push(format!("rotated {:.1}° {way}", d.angle.abs()));
    }
    if d.tone != watermark::Tone::Identity {
        parts.push(d.tone.describe());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; {}", parts.join(", "))
    }
}

//! `fauxto analyze IMAGE...`: faces in photos — box, 68 landmarks, head pose, age, gender,
//! expression and (optionally) the identity descriptor, as text or JSON.

use std::path::PathBuf;

use anyhow::Result;
use burn::tensor::backend::Backend;
use clap::Args;
use fauxto_face::{Face, FaceAnalyzer, Frame, Gender};
use serde::Serialize;

use super::faces::{analyzer, load_frame, DetectionArgs};
use crate::backend::DeviceKind;
use crate::on_device;

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Images (PNG, JPEG, WebP, GIF; any colour type or bit depth).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// One JSON object per image (one per line).
    #[arg(long)]
    pub json: bool,
    /// Include the 128-D identity descriptor in the JSON output.
    #[arg(long)]
    pub descriptor: bool,
    /// Treat each image as an aligned face crop: one face, the whole image if the
    /// detector finds none.
    #[arg(long)]
    pub aligned: bool,
    #[command(flatten)]
    pub detection: DetectionArgs,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
}

/// What is printed for one image.
#[derive(Debug, Serialize)]
struct ImageReport<'a> {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    faces: Vec<FaceReport<'a>>,
}

#[derive(Debug, Serialize)]
struct FaceReport<'a> {
    #[serde(flatten)]
    face: &'a Face,
    expression: &'static str,
}

pub fn run(args: &AnalyzeArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &AnalyzeArgs) -> Result<()> {
    let analyzer = analyzer::<B>(device)?;
    let mut failed = 0usize;
    // A few images at a time: batched networks, bounded memory.
    for chunk in args.images.chunks(16) {
        let loaded: Vec<Result<Frame>> = chunk.iter().map(|p| load_frame(p)).collect();
        let frames: Vec<Frame> = loaded
            .iter()
            .filter_map(|f| f.as_ref().ok().cloned())
            .collect();
        let mut results = analyze(&analyzer, &frames, args).into_iter();
        for (path, frame) in chunk.iter().zip(&loaded) {
            let file = path.display().to_string();
            match frame {
                Ok(frame) => {
                    let mut faces = results.next().expect("one result per frame");
                    if !args.descriptor && args.json {
                        faces.iter_mut().for_each(|f| f.descriptor.clear());
                    }
                    print_report(args, &file, frame, &faces)?;
                }
                Err(e) => {
                    failed += 1;
                    if args.json {
                        let report = ImageReport {
                            file,
                            width: None,
                            height: None,
                            error: Some(format!("{e:#}")),
                            faces: Vec::new(),
                        };
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        eprintln!("error: {e:#}");
                    }
                }
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} images could not be read", args.images.len());
    }
    Ok(())
}

fn analyze<B: Backend>(
    analyzer: &FaceAnalyzer<B>,
    frames: &[Frame],
    args: &AnalyzeArgs,
) -> Vec<Vec<Face>> {
    let options = if args.aligned {
        args.detection.aligned_options()
    } else {
        args.detection.options()
    };
    analyzer.analyze(frames, &options)
}

fn print_report(args: &AnalyzeArgs, file: &str, frame: &Frame, faces: &[Face]) -> Result<()> {
    if args.json {
        let report = ImageReport {
            file: file.to_string(),
            width: Some(frame.width),
            height: Some(frame.height),
            error: None,
            faces: faces
                .iter()
                .map(|face| FaceReport {
                    face,
                    expression: face.expression().0,
                })
                .collect(),
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    match faces.len() {
        0 => println!("{file}: no face found"),
        1 => println!("{file}: 1 face"),
        n => println!("{file}: {n} faces"),
    }
    for (i, face) in faces.iter().enumerate() {
        println!("  face {}: {}", i + 1, describe(face));
    }
    Ok(())
}

/// One line about a face: where, who, how they look and where they look.
fn describe(face: &Face) -> String {
    let b = face.bbox;
    let found = if face.detected {
        format!("score {:.2}", face.score)
    } else {
        "whole image, not detected".to_string()
    };
    let gender = match face.gender {
        Gender::Male => "man",
        Gender::Female => "woman",
    };
    let (expression, p) = face.expression();
    let pose = face.pose.map_or("pose unknown".to_string(), |pose| {
        format!(
            "facing {} (yaw {:+.0}°, pitch {:+.0}°, roll {:+.0}°)",
            pose.facing().name(),
            pose.yaw,
            pose.pitch,
            pose.roll
        )
    });
    format!(
        "box {:.0},{:.0} {:.0}x{:.0} ({found}) · {gender} {:.2}, age {:.0} · {expression} {p:.2} · {pose}",
        b.x, b.y, b.width, b.height, face.gender_probability, face.age
    )
}

//! Faces from the committed UTKFace sample and the attacks a watermark must survive.

#![allow(dead_code)]

use std::io::Read;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::RgbImage;

/// The 128 UTKFace faces committed with the project (`testdata/`).
pub fn zip_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/utkface-sample.zip")
}

/// `n` faces, every `step`-th JPEG of the zip (sorted by name) from `offset`.
pub fn faces(n: usize, step: usize, offset: usize) -> Vec<RgbImage> {
    let file = std::fs::File::open(zip_path()).expect("testdata/utkface-sample.zip");
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.to_ascii_lowercase().ends_with(".jpg"))
        .collect();
    names.sort();
    names
        .iter()
        .skip(offset)
        .step_by(step)
        .take(n)
        .map(|name| {
            let mut bytes = Vec::new();
            zip.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
            image::load_from_memory(&bytes).unwrap().to_rgb8()
        })
        .collect()
}

/// A named image transformation.
pub type Attack = (&'static str, fn(&RgbImage) -> RgbImage);

pub fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(img)
        .unwrap();
    image::load_from_memory(&buf).unwrap().to_rgb8()
}

fn half_and_back(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let small = imageops::resize(img, w / 2, h / 2, FilterType::CatmullRom);
    imageops::resize(&small, w, h, FilterType::CatmullRom)
}

fn crop(img: &RgbImage, keep: f32, centred: bool) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (
        (w as f32 * keep).round() as u32,
        (h as f32 * keep).round() as u32,
    );
    let (x, y) = if centred {
        ((w - cw) / 2, (h - ch) / 2)
    } else {
        (0, 0)
    };
    imageops::crop_imm(img, x, y, cw, ch).to_image()
}

fn crop_and_resize(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    imageops::resize(&crop(img, 0.9, true), w, h, FilterType::CatmullRom)
}

/// Every channel `delta` brighter (or darker), saturating.
pub fn brighten(img: &RgbImage, delta: i16) -> RgbImage {
    let mut out = img.clone();
    for v in out.iter_mut() {
        *v = (*v as i16 + delta).clamp(0, 255) as u8;
    }
    out
}

pub const ATTACKS: [Attack; 10] = [
    ("none", |i| i.clone()),
    ("jpeg90", |i| jpeg(i, 90)),
    ("jpeg75", |i| jpeg(i, 75)),
    ("jpeg50", |i| jpeg(i, 50)),
    ("resize0.5", half_and_back),
    ("crop10-centre", |i| crop(i, 0.9, true)),
    ("crop10-corner", |i| crop(i, 0.9, false)),
    ("crop10+resize", crop_and_resize),
    ("crop10+jpeg75", |i| jpeg(&crop(i, 0.9, true), 75)),
    ("brighter5+jpeg75", |i| jpeg(&brighten(i, 5), 75)),
];

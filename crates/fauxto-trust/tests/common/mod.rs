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

/// `n` consecutive faces from `offset`, brought to `size`² with a bicubic filter.
pub fn faces_at(n: usize, size: u32, offset: usize) -> Vec<RgbImage> {
    faces(n, 1, offset)
        .iter()
        .map(|f| imageops::resize(f, size, size, FilterType::CatmullRom))
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

/// Resized by `factor` with `filter` and kept at the new size.
pub fn resized(img: &RgbImage, factor: f32, filter: FilterType) -> RgbImage {
    let (w, h) = img.dimensions();
    let size = |s: u32| ((s as f32 * factor).round() as u32).max(1);
    imageops::resize(img, size(w), size(h), filter)
}

/// A 10% crop at the top-left corner.
pub fn crop_corner(img: &RgbImage) -> RgbImage {
    crop(img, 0.9, false)
}

/// A tone change of every channel: `f` maps 0..=1 to 0..=1.
pub fn tone(img: &RgbImage, f: impl Fn(f32) -> f32) -> RgbImage {
    let table: Vec<u8> = (0..256)
        .map(|v| (f(v as f32 / 255.0) * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    let mut out = img.clone();
    for v in out.iter_mut() {
        *v = table[*v as usize];
    }
    out
}

/// Brightness gain `a`.
pub fn gain(img: &RgbImage, a: f32) -> RgbImage {
    tone(img, |v| v * a)
}

/// Contrast `a` about mid-grey.
pub fn contrast(img: &RgbImage, a: f32) -> RgbImage {
    tone(img, |v| (v - 0.5) * a + 0.5)
}

/// Gamma `g`.
pub fn gamma(img: &RgbImage, g: f32) -> RgbImage {
    tone(img, |v| v.powf(g))
}

/// Rotated by `degrees` about the centre (bilinear), at the same size: the corners the
/// rotation uncovers are black, or, with `crop`, cut away (the largest centred square
/// inside the rotated image, which is what an editor's straighten tool keeps).
pub fn rotated(img: &RgbImage, degrees: f32, crop: bool) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut out = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            // Where this output pixel's centre comes from.
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let sx = c * dx + s * dy + cx - 0.5;
            let sy = -s * dx + c * dy + cy - 0.5;
            if sx < -0.5 || sy < -0.5 || sx > w as f32 - 0.5 || sy > h as f32 - 0.5 {
                continue;
            }
            let (x0, y0) = (sx.floor().max(0.0), sy.floor().max(0.0));
            let (fx, fy) = ((sx - x0).clamp(0.0, 1.0), (sy - y0).clamp(0.0, 1.0));
            let (x0, y0) = (x0 as u32, y0 as u32);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let px = |xx: u32, yy: u32, k: usize| img.get_pixel(xx, yy)[k] as f32;
            let mut v = [0u8; 3];
            for (k, out) in v.iter_mut().enumerate() {
                let top = px(x0, y0, k) * (1.0 - fx) + px(x1, y0, k) * fx;
                let bottom = px(x0, y1, k) * (1.0 - fx) + px(x1, y1, k) * fx;
                *out = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
            out.put_pixel(x, y, image::Rgb(v));
        }
    }
    if !crop {
        return out;
    }
    // A square of side d rotated by θ fits inside the original when d (|cos θ| + |sin θ|) ≤ w.
    let keep = 1.0 / (c.abs() + s.abs());
    let side = ((w.min(h) as f32 * keep).floor() as u32).saturating_sub(2);
    let (x, y) = ((w - side) / 2, (h - side) / 2);
    imageops::crop_imm(&out, x, y, side, side).to_image()
}

/// An image edit.
pub type Edit = Box<dyn Fn(&RgbImage) -> RgbImage>;

/// The attacks a watermark must survive since it reads resized, tone-changed and rotated
/// images: each alone, and followed by a 10% corner crop and JPEG 75.
pub fn geometric_attacks() -> Vec<(String, Edit)> {
    let mut out: Vec<(String, Edit)> = Vec::new();
    for (name, f) in [
        ("bicubic", FilterType::CatmullRom),
        ("lanczos", FilterType::Lanczos3),
        ("bilinear", FilterType::Triangle),
    ] {
        for factor in [0.5f32, 0.71, 0.85, 1.3, 2.0] {
            out.push((
                format!("resize{factor}-{name}"),
                Box::new(move |i| resized(i, factor, f)),
            ));
        }
    }
    for (name, a) in [
        ("gain", 1.2f32),
        ("gain", 0.8),
        ("contrast", 1.2),
        ("contrast", 0.8),
    ] {
        let f = if name == "gain" { gain } else { contrast };
        out.push((format!("{name}{a}"), Box::new(move |i| f(i, a))));
    }
    for g in [0.8f32, 1.25] {
        out.push((format!("gamma{g}"), Box::new(move |i| gamma(i, g))));
    }
    for (deg, crop) in [(1.0f32, false), (-2.0, false), (2.0, true), (-1.0, true)] {
        let name = format!("rotate{deg}{}", if crop { "-cropped" } else { "" });
        out.push((name, Box::new(move |i| rotated(i, deg, crop))));
    }
    let alone = std::mem::take(&mut out);
    for (name, f) in alone {
        let f: std::rc::Rc<dyn Fn(&RgbImage) -> RgbImage> = f.into();
        let g = f.clone();
        out.push((name.clone(), Box::new(move |i| f(i))));
        out.push((
            format!("{name}+crop+jpeg75"),
            Box::new(move |i| jpeg(&crop_corner(&g(i)), 75)),
        ));
    }
    out
}

/// The payload the geometry tests and `examples/geometry_rates.rs` give the `i`-th face.
pub fn geometry_payload(i: usize) -> fauxto_trust::watermark::Payload {
    fauxto_trust::watermark::Payload::new(
        (i as u64 + 7).wrapping_mul(0x3C6E_F372_FE94) & 0xFFFF_FFFF_FFFF,
    )
    .unwrap()
}

/// For every geometric attack whose name passes `select`, how many of `n` sample faces
/// (from `offset`), brought to `size`² and marked with the "geometry" key, give back their
/// exact payload.
pub fn geometric_recovered(
    size: u32,
    n: usize,
    offset: usize,
    select: impl Fn(&str) -> bool,
) -> Vec<(String, usize)> {
    recovered(&faces_at(n, size, offset), select)
}

/// [`geometric_recovered`] on `faces`, the `i`-th marked with [`geometry_payload`]`(i)`.
pub fn recovered(faces: &[RgbImage], select: impl Fn(&str) -> bool) -> Vec<(String, usize)> {
    use fauxto_trust::watermark::{detect, embed, Key, DEFAULT_PSNR};
    let key = Key::from_passphrase("geometry");
    let marked: Vec<RgbImage> = faces
        .iter()
        .enumerate()
        .map(|(i, f)| {
            embed(f, &key, geometry_payload(i), DEFAULT_PSNR)
                .expect("large enough to mark")
                .image
        })
        .collect();
    let size = faces.first().map_or(0, |f| f.width());
    geometric_attacks()
        .into_iter()
        .filter(|(name, _)| select(name))
        .map(|(name, attack)| {
            let ok = marked
                .iter()
                .enumerate()
                .filter(|(i, m)| detect(&attack(m), &key).payload == Some(geometry_payload(*i)))
                .count();
            eprintln!("{size}²: {name}: {ok}/{}", marked.len());
            (name, ok)
        })
        .collect()
}

/// The share of `img`'s pixels with a channel at 255.
pub fn clipped_share(img: &RgbImage) -> f32 {
    let clipped = img.pixels().filter(|p| p.0.contains(&255)).count();
    clipped as f32 / (img.width() * img.height()) as f32
}

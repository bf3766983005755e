//! Memorisation-guard benchmark (`bench/guard.sh`): does the guard catch training faces
//! that reappear among the outputs, and how often does it flag people who are not in the
//! training set?
//!
//! From an indexed packed dataset (`fauxto index DATA`), 1,000 images are held out (every
//! 23rd, from the 12th) and the guard searches the rest. Then:
//! - **planted**: 1,000 guarded training faces (every 22nd of them), each perturbed —
//!   mirrored, cropped by 5 % at a random corner offset and resized back, brightness
//!   shifted by up to ±12 levels, saved as JPEG at quality 75 — are analysed afresh and
//!   checked as `generate` checks its outputs (image and mirror image): flagged if within
//!   the threshold; also whether the nearest face found is the planted face's own source;
//! - **held out**: the 1,000 held-out faces (other people, as far as the dataset's
//!   identities go) are checked the same way.
//!
//! A sweep over thresholds shows the trade-off between the two.
//!
//! Prints one JSON object.
//!
//! ```sh
//! cargo run --release -p fauxto-face --example guard_bench -- data/utk128
//! ```

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use fauxto_data::PackedDataset;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer, FaceIndex, FaceStatus, Frame, IdentityGuard};
use image::{codecs::jpeg::JpegEncoder, imageops, DynamicImage, RgbImage};

type B = burn::backend::Flex;

const HELD_OUT: usize = 1000;
const PLANTED: usize = 1000;
const THRESHOLD: f32 = fauxto_face::DEFAULT_THRESHOLD;

/// SplitMix64: a small deterministic generator for the perturbations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn perturb(img: &RgbImage, rng: &mut Rng) -> Frame {
    let (w, h) = img.dimensions();
    let flipped = imageops::flip_horizontal(img);
    // 5 % crop: a window of 95 % of each side at a random offset, resized back.
    let (cw, ch) = (
        (w as f64 * 0.95).round() as u32,
        (h as f64 * 0.95).round() as u32,
    );
    let x0 = (rng.uniform() * (w - cw) as f64).round() as u32;
    let y0 = (rng.uniform() * (h - ch) as f64).round() as u32;
    let cropped = imageops::crop_imm(&flipped, x0, y0, cw, ch).to_image();
    let mut resized = imageops::resize(&cropped, w, h, imageops::FilterType::Lanczos3);
    let shift = (rng.uniform() * 24.0 - 12.0).round() as i32;
    for p in resized.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (*c as i32 + shift).clamp(0, 255) as u8;
        }
    }
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode_image(&DynamicImage::ImageRgb8(resized))
        .expect("JPEG encoding");
    let decoded = image::load(Cursor::new(jpeg), image::ImageFormat::Jpeg)
        .expect("JPEG decoding")
        .to_rgb8();
    Frame::from_rgb8(w as usize, h as usize, decoded.as_raw()).expect("RGB")
}

fn quantiles(mut v: Vec<f32>) -> serde_json::Value {
    v.sort_by(f32::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    serde_json::json!({"min": q(0.0), "p05": q(0.05), "median": q(0.5), "p95": q(0.95), "max": q(1.0)})
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: guard_bench DATA"));
    let data = PackedDataset::open(&dir).expect("packed dataset");
    let index = FaceIndex::open(&dir).expect("complete face index (fauxto index DATA)");
    assert!(
        data.len() >= 23 * HELD_OUT,
        "needs at least {} images",
        23 * HELD_OUT
    );
    let held_out: Vec<usize> = (0..HELD_OUT).map(|i| 23 * i + 11).collect();
    let guarded: Vec<usize> = (0..data.len())
        .filter(|i| i % 23 != 11 || *i > 23 * HELD_OUT)
        .collect();
    let usable = |i: &usize| index.records[*i].status != FaceStatus::Missing;
    let options = AnalyzeOptions::default();
    let guard = IdentityGuard::from_rows(
        guarded
            .iter()
            .filter(|i| usable(i))
            .map(|&i| (i, index.records[i].descriptor.as_slice())),
        THRESHOLD,
    );
    let planted: Vec<usize> = guarded.iter().step_by(22).take(PLANTED).copied().collect();

    let analyzer = FaceAnalyzer::<B>::embedded(&Default::default()).expect("networks");
    let (res, bytes) = (data.resolution() as u32, data.image_bytes());
    let mut rng = Rng(20261125);
    let mut buf = vec![0u8; bytes];
    let read = |i: usize, buf: &mut Vec<u8>| {
        data.read_image(i, buf).expect("image");
        RgbImage::from_raw(res, res, buf.clone()).expect("RGB")
    };
    let started = Instant::now();
    let (mut flagged, mut own_source, mut detected) = (0usize, 0usize, 0usize);
    let mut planted_distances = Vec::new();
    for chunk in planted.chunks(32) {
        let frames: Vec<Frame> = chunk
            .iter()
            .map(|&i| perturb(&read(i, &mut buf), &mut rng))
            .collect();
        for (&source, check) in chunk.iter().zip(guard.check(&analyzer, &frames, &options)) {
            let nearest = check.nearest.expect("every image has a descriptor");
            detected += check.detected as usize;
            planted_distances.push(nearest.distance);
            flagged += check.reproduces_training_face as usize;
            own_source += (nearest.image == source) as usize;
        }
    }
    let planted_seconds = started.elapsed().as_secs_f64();

    let mut held_flagged = 0usize;
    let mut held_distances = Vec::new();
    for chunk in held_out.chunks(32) {
        let frames: Vec<Frame> = chunk
            .iter()
            .map(|&i| {
                let img = read(i, &mut buf);
                Frame::from_rgb8(res as usize, res as usize, img.as_raw()).expect("RGB")
            })
            .collect();
        for check in guard.check(&analyzer, &frames, &options) {
            held_distances.push(check.nearest.expect("descriptor").distance);
            held_flagged += check.reproduces_training_face as usize;
        }
    }
    // The trade-off at other thresholds: planted faces caught vs other people flagged.
    let rate = |d: &[f32], t: f32| d.iter().filter(|&&x| x < t).count() as f64 / d.len() as f64;
    let sweep: Vec<_> = (0..=16)
        .map(|k| 0.2 + 0.025 * k as f32)
        .map(|t| {
            serde_json::json!({
                "threshold": (t * 1000.0).round() / 1000.0,
                "planted_flagged": rate(&planted_distances, t),
                "held_out_flagged": rate(&held_distances, t),
            })
        })
        .collect();
    let report = serde_json::json!({
        "data": dir,
        "guarded_faces": guard.len(),
        "threshold": THRESHOLD,
        "planted": {
            "n": planted_distances.len(),
            "perturbation": "horizontal flip, 5% crop at a random offset resized back, brightness ±12, JPEG 75",
            "face_detected": detected,
            "flagged": flagged,
            "flagged_fraction": flagged as f64 / planted_distances.len() as f64,
            "nearest_is_own_source": own_source,
            "distance": quantiles(planted_distances),
            "seconds": planted_seconds,
        },
        "held_out": {
            "n": held_distances.len(),
            "flagged": held_flagged,
            "flagged_fraction": held_flagged as f64 / held_distances.len() as f64,
            "distance": quantiles(held_distances),
        },
        "sweep": sweep,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
}

//! Face-space metrics sanity benchmark (`bench/metrics.sh`): two disjoint halves of an
//! indexed dataset (even and odd images, 2,000 each) should score near zero, and the
//! scores should rise as one half is blurred more (Gaussian σ = 1, 2, 3, 4 px at the
//! dataset's resolution, analysed afresh).
//!
//! ```sh
//! cargo run --release -p fauxto-face --example metrics_bench -- data/utk128
//! ```

use std::path::PathBuf;

use fauxto_data::PackedDataset;
use fauxto_face::index::DESCRIPTOR_DIM;
use fauxto_face::metrics::{Descriptors, FaceSpaceMetrics};
use fauxto_face::{AnalyzeOptions, FaceAnalyzer, FaceIndex, FaceStatus, Frame};
use image::{imageops, RgbImage};

type B = burn::backend::Flex;

const HALF: usize = 2000;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: metrics_bench DATA"));
    let data = PackedDataset::open(&dir).expect("packed dataset");
    let index = FaceIndex::open(&dir).expect("complete face index (fauxto index DATA)");
    let usable = |i: &usize| index.records[*i].status != FaceStatus::Missing;
    let half = |parity: usize| -> Vec<usize> {
        (0..data.len())
            .filter(|i| i % 2 == parity)
            .filter(usable)
            .take(HALF)
            .collect()
    };
    let (a, b) = (half(0), half(1));
    let descriptors = |rows: &[usize]| -> Vec<f32> {
        rows.iter()
            .flat_map(|&i| index.records[i].descriptor.iter().copied())
            .collect()
    };
    let reference = descriptors(&a);
    let score = |fake: &[f32]| {
        FaceSpaceMetrics::compute(
            Descriptors::new(&reference, DESCRIPTOR_DIM).unwrap(),
            Descriptors::new(fake, DESCRIPTOR_DIM).unwrap(),
        )
        .expect("metrics")
    };

    let analyzer = FaceAnalyzer::<B>::embedded(&Default::default()).expect("networks");
    let options = AnalyzeOptions {
        max_faces: Some(1),
        whole_image_fallback: true,
        ..AnalyzeOptions::default()
    };
    let res = data.resolution() as u32;
    let mut buf = vec![0u8; data.image_bytes()];
    let mut rows = vec![serde_json::json!({"blur_sigma": 0.0, "metrics": score(&descriptors(&b))})];
    for sigma in [1.0f32, 2.0, 3.0, 4.0] {
        let mut fake = Vec::with_capacity(b.len() * DESCRIPTOR_DIM);
        for chunk in b.chunks(32) {
            let frames: Vec<Frame> = chunk
                .iter()
                .map(|&i| {
                    data.read_image(i, &mut buf).expect("image");
                    let img = RgbImage::from_raw(res, res, buf.clone()).expect("RGB");
                    let blurred = imageops::blur(&img, sigma);
                    Frame::from_rgb8(res as usize, res as usize, blurred.as_raw()).expect("RGB")
                })
                .collect();
            for faces in analyzer.analyze(&frames, &options) {
                fake.extend_from_slice(&faces[0].descriptor);
            }
        }
        rows.push(serde_json::json!({"blur_sigma": sigma, "metrics": score(&fake)}));
    }
    let frechet: Vec<f64> = rows
        .iter()
        .map(|r| r["metrics"]["frechet"].as_f64().unwrap())
        .collect();
    let kernel: Vec<f64> = rows
        .iter()
        .map(|r| r["metrics"]["kernel"].as_f64().unwrap())
        .collect();
    let rising = |v: &[f64]| v.windows(2).all(|w| w[1] > w[0]);
    let report = serde_json::json!({
        "data": dir,
        "halves": "even vs odd images",
        "n_per_half": HALF,
        "rows": rows,
        "frechet_rises_with_blur": rising(&frechet),
        "kernel_rises_with_blur": rising(&kernel),
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
}

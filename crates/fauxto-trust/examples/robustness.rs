//! Watermark robustness on UTKFace faces: bit accuracy and exact recovery per attack, PSNR,
//! and the detector's z-scores on unmarked faces.
//!
//!     cargo run --release -p fauxto-trust --example robustness -- [N_MARKED] [N_UNMARKED]

#[path = "../tests/common/mod.rs"]
mod common;

use fauxto_trust::watermark::{detect, embed, Key, Payload, DEFAULT_PSNR};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let n = args.first().copied().unwrap_or(50);
    let n_unmarked = args.get(1).copied().unwrap_or(200);
    let key = Key::from_passphrase("robustness");
    let size: u32 = std::env::var("SIZE")
        .ok()
        .map(|s| s.parse().unwrap())
        .unwrap_or(128);
    let faces: Vec<_> = common::faces(n, 97, 0)
        .into_iter()
        .map(|f| image::imageops::resize(&f, size, size, image::imageops::FilterType::CatmullRom))
        .collect();
    let mut psnr = Vec::new();
    let mut rows = vec![(0usize, 0usize, 0f64, 0f32, f32::MAX); common::ATTACKS.len()];
    let t0 = std::time::Instant::now();
    let mut detect_time = 0f64;
    let mut embed_time = 0f64;
    for (i, face) in faces.iter().enumerate() {
        let payload =
            Payload::new((i as u64).wrapping_mul(0x9E37_79B9_7F4A) & 0xFFFF_FFFF_FFFF).unwrap();
        let t = std::time::Instant::now();
        let marked = embed(face, &key, payload, DEFAULT_PSNR).expect("faces are large enough");
        embed_time += t.elapsed().as_secs_f64();
        psnr.push(marked.psnr);
        for (row, (_, attack)) in rows.iter_mut().zip(common::ATTACKS.iter()) {
            let t = std::time::Instant::now();
            let d = detect(&attack(&marked.image), &key);
            detect_time += t.elapsed().as_secs_f64();
            row.0 += d.found as usize;
            row.1 += (d.payload == Some(payload)) as usize;
            row.2 += 1.0 - ((d.decoded.value() ^ payload.value()).count_ones() as f64 / 48.0);
            row.3 += d.z;
            row.4 = row.4.min(d.z);
        }
    }
    println!(
        "{n} faces, PSNR mean {:.2} min {:.2} dB",
        mean(&psnr),
        psnr.iter().cloned().fold(f64::MAX, f64::min)
    );
    println!(
        "{:16} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "attack", "found", "exact", "bitacc", "mean z", "min z"
    );
    for ((name, _), r) in common::ATTACKS.iter().zip(&rows) {
        println!(
            "{name:16} {:>8.3} {:>8.3} {:>8.4} {:>8.2} {:>8.2}",
            r.0 as f64 / n as f64,
            r.1 as f64 / n as f64,
            r.2 / n as f64,
            r.3 / n as f32,
            r.4
        );
    }
    println!(
        "embed {:.1} ms, detect {:.1} ms per image; total {:.1} s",
        1000.0 * embed_time / n as f64,
        1000.0 * detect_time / (n * common::ATTACKS.len()) as f64,
        t0.elapsed().as_secs_f64()
    );
    let unmarked: Vec<_> = common::faces(n_unmarked, 13, 5)
        .into_iter()
        .map(|f| image::imageops::resize(&f, size, size, image::imageops::FilterType::CatmullRom))
        .collect();
    let mut z: Vec<f32> = Vec::new();
    let mut found = 0;
    for face in &unmarked {
        let d = detect(face, &key);
        found += d.found as usize;
        z.push(d.z);
    }
    z.sort_by(|a, b| a.total_cmp(b));
    println!(
        "unmarked: {found}/{} found; z median {:.2}, 99% {:.2}, max {:.2}",
        z.len(),
        z[z.len() / 2],
        z[z.len() * 99 / 100],
        z[z.len() - 1]
    );
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

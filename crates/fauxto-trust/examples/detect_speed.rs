//! Watermark detection time per image over a directory of images (unmarked images take the
//! longest: every one goes through the whole geometry search).
//!
//!     cargo run --release -p fauxto-trust --example detect_speed -- DIR [PASSPHRASE]

use fauxto_trust::watermark::{detect, Key};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: detect_speed DIR [PASSPHRASE]");
    let key = Key::from_passphrase(&args.next().unwrap_or_else(|| "fauxto-public".into()));
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("a readable directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png" || e == "jpg"))
        .collect();
    paths.sort();
    let images: Vec<_> = paths
        .iter()
        .map(|p| image::open(p).expect("an image").to_rgb8())
        .collect();
    let start = std::time::Instant::now();
    let mut found = 0;
    let mut best_score = 0f32;
    for img in &images {
        let d = detect(img, &key);
        found += usize::from(d.found);
        best_score = best_score.max(d.score);
    }
    let per_image = start.elapsed().as_secs_f64() * 1e3 / images.len() as f64;
    println!(
        "{} images: {per_image:.1} ms each, {found} found, best sync score {best_score:.2}",
        images.len()
    );
}

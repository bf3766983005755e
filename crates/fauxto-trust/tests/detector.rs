//! The GAN-image detector: that training learns an up-sampling trace from scratch, that the
//! shipped detector tells the committed real photographs from the committed generated faces,
//! and that its verdicts read as they should.

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, Flex};
use fauxto_trust::detector::{
    add_thumbnail, at_threshold, average_precision, centred_square, train, Attack, Augmentation,
    CpuDetector, Examples, TrainOptions,
};
use image::RgbImage;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/detector")
}

fn read_dir(dir: &Path) -> Vec<RgbImage> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| image::open(p).unwrap().to_rgb8())
        .collect()
}

/// The committed set: 24 UTKFace photographs (128x128 JPEG, from the part no detector
/// trains on) and 24 faces of the demo model (64x64 PNG, seeds no detector trains on; half
/// labelled as `fauxto generate` writes them, half bare).
fn committed() -> Examples {
    Examples {
        real: read_dir(&testdata().join("real")),
        generated: read_dir(&testdata().join("generated")),
    }
}

/// A smooth pseudo-random texture: a coarse random grid bilinearly enlarged (camera-like:
/// neighbouring pixels vary smoothly, with no 2x2 block structure).
fn smooth(seed: u64, side: u32) -> RgbImage {
    let coarse = noise(seed, side / 4 + 1);
    image::imageops::resize(&coarse, side, side, image::imageops::FilterType::Triangle)
}

/// A texture made the way a generator's last layer makes one: a half-size map enlarged by
/// nearest-neighbour 2x up-sampling, plus a little noise.
fn blocky(seed: u64, side: u32) -> RgbImage {
    let half = smooth(seed, side / 2);
    let mut up = image::imageops::resize(&half, side, side, image::imageops::FilterType::Nearest);
    let jitter = noise(seed ^ 0xABCD, side);
    for (p, j) in up.pixels_mut().zip(jitter.pixels()) {
        for c in 0..3 {
            p.0[c] = (p.0[c] as i32 + (j.0[c] as i32 - 128) / 64).clamp(0, 255) as u8;
        }
    }
    up
}

fn noise(seed: u64, side: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    RgbImage::from_fn(side, side, |_, _| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        };
        image::Rgb([next(), next(), next()])
    })
}

fn synthetic(range: std::ops::Range<u64>, side: u32) -> Examples {
    Examples {
        real: range.clone().map(|s| smooth(s, side)).collect(),
        generated: range.map(|s| blocky(s + 1_000, side)).collect(),
    }
}

#[test]
fn training_learns_an_upsampling_trace_from_scratch() {
    let train_set = synthetic(0..64, 64);
    let held_out = synthetic(100..140, 64);
    let options = TrainOptions {
        seed: 3,
        steps: 60,
        batch: 16,
        size: 64,
        learning_rate: 2e-3,
        augmentation: Augmentation::none(),
        max_false_positive_rate: 0.05,
        thumbnail_steps: 20,
        thumbnail_learning_rate: 1e-3,
    };
    let device = Default::default();
    let mut losses = Vec::new();
    let (detector, validation) =
        train::<Autodiff<Flex>>(&train_set, &held_out, &options, &device, &mut |_, l| {
            losses.push(l)
        });
    assert_eq!(
        losses.len(),
        80,
        "60 steps, then 20 of the thumbnail network"
    );
    let first: f32 = losses[..10].iter().sum::<f32>() / 10.0;
    let last: f32 = losses[50..60].iter().sum::<f32>() / 10.0;
    assert!(last < 0.5 * first, "loss {first} → {last}: {losses:?}");
    assert!(validation.average_precision > 0.95, "{validation:?}");
    assert!(validation.calibrated.false_positive_rate <= 0.05);
    // The file round trip keeps the verdicts and the calibrated threshold.
    let back = CpuDetector::from_bytes(&detector.to_bytes(), &device).unwrap();
    assert_eq!(back.threshold, detector.threshold);
    // Training at 64 also calibrates small images on 32² copies, which the thumbnail
    // network judges.
    assert!(
        validation.small.false_positive_rate <= 0.05,
        "{validation:?}"
    );
    assert_eq!(detector.small_threshold, Some(validation.small.threshold));
    assert_eq!(back.small_threshold, detector.small_threshold);
    assert!(detector.has_thumbnail_network() && back.has_thumbnail_network());
    let scored = back.score(&held_out);
    assert_eq!(scored, detector.score(&held_out));
    let thumbnails = Examples {
        real: held_out
            .real
            .iter()
            .map(|i| Attack::Resize(0.5).apply(i))
            .collect(),
        generated: held_out
            .generated
            .iter()
            .map(|i| Attack::Resize(0.5).apply(i))
            .collect(),
    };
    assert_eq!(back.score(&thumbnails), detector.score(&thumbnails));
    // Without the thumbnail network, the main one judges them: other probabilities, while
    // the 64² images are judged as before.
    let (plain, _) = add_thumbnail::<Autodiff<Flex>>(
        CpuDetector::from_bytes(&detector.to_bytes(), &device).unwrap(),
        &train_set,
        &held_out,
        &TrainOptions {
            thumbnail_steps: 0,
            ..options.clone()
        },
        &device,
        &mut |_, _| panic!("no training without thumbnail steps"),
    );
    assert!(!plain.has_thumbnail_network());
    assert_eq!(plain.threshold, detector.threshold);
    assert_eq!(plain.score(&held_out), detector.score(&held_out));
    assert_ne!(plain.score(&thumbnails), detector.score(&thumbnails));
    // Same seed, same detector.
    let (again, _) =
        train::<Autodiff<Flex>>(&train_set, &held_out, &options, &device, &mut |_, _| {});
    assert_eq!(again.to_bytes(), detector.to_bytes());
}

#[test]
fn the_shipped_detector_tells_the_committed_faces_apart() {
    let detector = CpuDetector::embedded(&Default::default());
    let set = committed();
    assert_eq!((set.real.len(), set.generated.len()), (24, 24));
    let scored = detector.score(&set);
    let ap = average_precision(&scored).unwrap();
    let at = at_threshold(&scored, detector.threshold);
    assert!(ap >= 0.95, "AP {ap}");
    assert!(at.accuracy >= 0.9, "{at:?}");
    assert!(at.false_positive_rate <= 1.0 / 24.0, "{at:?}");
    // After JPEG 75 the ranking mostly holds.
    let jpeg = Examples {
        real: set.real.iter().map(|i| Attack::Jpeg(75).apply(i)).collect(),
        generated: set
            .generated
            .iter()
            .map(|i| Attack::Jpeg(75).apply(i))
            .collect(),
    };
    let ap = average_precision(&detector.score(&jpeg)).unwrap();
    assert!(ap >= 0.9, "AP after JPEG 75: {ap}");
}

#[test]
fn enlarged_faces_are_caught_through_their_half_size_view() {
    // A generated 64x64 face shown at 128x128 carries the generator's traces at twice their
    // scale; the detector also reads every image of 128 pixels or more at half its size.
    let detector = CpuDetector::embedded(&Default::default());
    let set = committed();
    let enlarged = Examples {
        real: set.real.clone(),
        generated: set
            .generated
            .iter()
            .map(|i| Attack::Resize(2.0).apply(i))
            .collect(),
    };
    assert!(enlarged
        .generated
        .iter()
        .all(|i| i.dimensions() == (128, 128)));
    let scored = detector.score(&enlarged);
    let ap = average_precision(&scored).unwrap();
    let at = at_threshold(&scored, detector.threshold);
    assert!(ap >= 0.95, "AP on enlarged faces {ap}");
    assert!(at.true_positive_rate >= 0.9, "{at:?}");
    assert!(at.false_positive_rate <= 1.0 / 24.0, "{at:?}");
    // The half-size view is what an image of that size is also judged on.
    for img in &enlarged.generated[..4] {
        let whole = detector.probabilities(&[img])[0];
        let half = detector.probabilities(&[&Attack::Resize(0.5).apply(img)])[0];
        assert!(whole >= half, "{whole} < {half}");
    }
}

#[test]
fn verdicts_read_in_words_and_large_images_are_judged_on_a_crop() {
    let detector = CpuDetector::embedded(&Default::default());
    let set = committed();
    let fake = detector.judge(&set.generated[0]);
    let text = fake.to_string();
    if fake.generated {
        assert!(text.starts_with("probably generated ("), "{text}");
    } else {
        assert!(text.starts_with("no sign of generation ("), "{text}");
    }
    // A large image is judged on its centred crop of MAX_SIDE.
    let big = image::imageops::resize(
        &set.real[0],
        600,
        400,
        image::imageops::FilterType::Triangle,
    );
    let centre = image::imageops::crop_imm(&big, 172, 72, 256, 256).to_image();
    let (p, q) = (
        detector.probabilities(&[&big])[0],
        detector.probabilities(&[&centre])[0],
    );
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(p, q);
    // Mixed sizes in one call keep their order.
    let images: Vec<&RgbImage> = vec![&set.real[0], &set.generated[0], &set.real[1]];
    let together = detector.probabilities(&images);
    let alone: Vec<f32> = images
        .iter()
        .map(|i| detector.probabilities(&[*i])[0])
        .collect();
    for (a, b) in together.iter().zip(&alone) {
        assert!((a - b).abs() < 1e-5, "{together:?} vs {alone:?}");
    }
}

#[test]
fn small_images_are_judged_against_their_own_threshold() {
    let mut detector = CpuDetector::embedded(&Default::default());
    let face = committed().real.remove(0);
    let thumbnail = image::imageops::resize(&face, 32, 32, image::imageops::FilterType::Lanczos3);
    // A file without a threshold for small images judges every size against the one.
    let plain = detector.threshold;
    if detector.small_threshold.is_none() {
        assert_eq!(detector.judge(&thumbnail).threshold, plain);
    }
    detector.small_threshold = Some(0.0);
    let verdict = detector.judge(&thumbnail);
    assert_eq!(verdict.threshold, 0.0);
    assert!(verdict.generated, "every probability reaches 0");
    assert_eq!(detector.judge(&face).threshold, plain, "64² is not small");
    // The threshold for small images survives the file.
    let back = CpuDetector::from_bytes(&detector.to_bytes(), &Default::default()).unwrap();
    assert_eq!(back.small_threshold, Some(0.0));
}

#[test]
fn the_shipped_thumbnail_network_tells_shrunk_faces_apart() {
    // The committed faces as thumbnails: each at 64x64, as the model makes them, then
    // shrunk to half. The main network ranks these at AP 0.92; the thumbnail network, which
    // judges images under 64 pixels, at 0.98.
    let detector = CpuDetector::embedded(&Default::default());
    assert!(detector.has_thumbnail_network());
    let set = committed();
    let thumbnail = |img: &RgbImage| Attack::Resize(0.5).apply(&centred_square(img, 64));
    let shrunk = Examples {
        real: set.real.iter().map(thumbnail).collect(),
        generated: set.generated.iter().map(thumbnail).collect(),
    };
    assert!(shrunk.real.iter().all(|i| i.dimensions() == (32, 32)));
    let scored = detector.score(&shrunk);
    let ap = average_precision(&scored).unwrap();
    assert!(ap >= 0.95, "AP on thumbnails {ap}");
    let at = at_threshold(&scored, detector.threshold_for((32, 32)));
    assert!(at.false_positive_rate <= 1.0 / 24.0, "{at:?}");
    assert!(at.true_positive_rate >= 0.6, "{at:?}");
}

//! The watermark on real faces: survives the attacks it is built for, stays invisible by the
//! PSNR measure, and reads as absent without the key or without a mark.

mod common;

use common::ATTACKS;
use fauxto_trust::watermark::{
    detect, embed, embed_as, psnr, readable, Key, Payload, PayloadFormat, DEFAULT_PSNR,
};
use image::imageops::{resize, FilterType};
use image::RgbImage;

fn faces_at(n: usize, size: u32, offset: usize) -> Vec<RgbImage> {
    common::faces(n, 1, offset)
        .into_iter()
        .map(|f| resize(&f, size, size, FilterType::CatmullRom))
        .collect()
}

fn payload(i: usize) -> Payload {
    Payload::new((i as u64 + 1).wrapping_mul(0x5DEE_CE66_D1CE) & 0xFFFF_FFFF_FFFF).unwrap()
}

/// Per attack, how many of `faces` give back their exact payload.
fn recovered(faces: &[RgbImage], key: &Key) -> Vec<(&'static str, usize)> {
    let marked: Vec<RgbImage> = faces
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let m = embed(f, key, payload(i), DEFAULT_PSNR).unwrap();
            assert!(m.psnr >= 38.0, "face {i}: PSNR {:.2} dB", m.psnr);
            assert!((m.psnr - psnr(f, &m.image)).abs() < 1e-9);
            m.image
        })
        .collect();
    ATTACKS
        .iter()
        .map(|(name, attack)| {
            let ok = marked
                .iter()
                .enumerate()
                .filter(|(i, m)| detect(&attack(m), key).payload == Some(payload(*i)))
                .count();
            (*name, ok)
        })
        .collect()
}

#[test]
fn survives_jpeg_resizing_and_crops_at_256() {
    let faces = faces_at(8, 256, 0);
    let key = Key::from_passphrase("test key");
    for (name, ok) in recovered(&faces, &key) {
        eprintln!("256²: {name}: {ok}/8");
        assert_eq!(ok, 8, "{name}: payload recovered from {ok}/8 faces");
    }
}

#[test]
fn survives_jpeg_resizing_and_crops_at_native_128() {
    let faces = faces_at(16, 128, 8);
    let key = Key::from_passphrase("test key");
    for (name, ok) in recovered(&faces, &key) {
        eprintln!("128²: {name}: {ok}/16");
        assert!(ok >= 15, "{name}: payload recovered from {ok}/16 faces");
    }
}

#[test]
fn survives_jpeg_and_crops_at_64() {
    let faces = faces_at(16, 64, 24);
    let key = Key::from_passphrase("test key");
    for (name, ok) in recovered(&faces, &key) {
        eprintln!("64²: {name}: {ok}/16");
        // Halving a 64-pixel image leaves 2-pixel chips: the one attack with a lower bar.
        let needed = if name.contains("resize") { 12 } else { 15 };
        assert!(
            ok >= needed,
            "{name}: payload recovered from {ok}/16 faces, need {needed}"
        );
    }
}

#[test]
fn wrong_key_and_unmarked_images_read_as_no_watermark() {
    let key = Key::from_passphrase("right");
    let other = Key::from_passphrase("wrong");
    for size in [64, 128, 256] {
        for (i, face) in faces_at(6, size, 40).iter().enumerate() {
            let marked = embed(face, &key, payload(i), DEFAULT_PSNR).unwrap().image;
            assert_eq!(detect(&marked, &key).payload, Some(payload(i)));
            let d = detect(&marked, &other);
            assert!(
                !d.found && d.payload.is_none(),
                "{size}²: face {i} found under the wrong key: {d:?}"
            );
        }
    }
    for face in common::faces(60, 1, 64) {
        for img in [resize(&face, 64, 64, FilterType::CatmullRom), face] {
            let d = detect(&img, &key);
            assert!(!d.found, "an unmarked face reads as marked: {d:?}");
        }
    }
}

#[test]
fn degenerate_images_do_not_panic_and_unreadable_sizes_are_refused() {
    let key = Key::from_passphrase("k");
    let p = payload(0);
    for (w, h) in [
        (1, 1),
        (5, 3),
        (11, 200),
        (44, 44),
        (47, 40),
        (64, 64),
        (64, 32),
    ] {
        for fill in [0u8, 255, 128] {
            let img = RgbImage::from_pixel(w, h, image::Rgb([fill; 3]));
            let _ = detect(&img, &key);
            // Below 512 pixels chips are 4x4, and the detector needs 128 of them.
            let enough_chips = (w / 4) * (h / 4) >= 128;
            assert_eq!(readable(w, h), enough_chips, "{w}x{h}");
            let Ok(m) = embed(&img, &key, p, DEFAULT_PSNR) else {
                assert!(!enough_chips, "{w}x{h} refused");
                continue;
            };
            assert!(enough_chips, "{w}x{h} marked");
            assert_eq!(m.image.dimensions(), (w, h));
            if fill != 128 {
                // Black and white cannot move one way; nothing wraps around.
                assert!(m.image.pixels().all(|px| px[0] == px[1] && px[1] == px[2]));
            }
            let _ = detect(&m.image, &key);
        }
    }
    let err = embed(&RgbImage::new(40, 40), &key, p, DEFAULT_PSNR).unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
}

#[test]
fn both_payload_formats_are_read_and_told_apart() {
    let key = Key::from_passphrase("formats");
    for (i, face) in faces_at(4, 128, 50).iter().enumerate() {
        for format in [PayloadFormat::V1, PayloadFormat::V2] {
            let marked = embed_as(face, &key, payload(i), format, DEFAULT_PSNR).unwrap();
            let d = detect(&common::jpeg(&marked.image, 75), &key);
            assert_eq!(d.payload, Some(payload(i)), "face {i} {format:?}");
            assert_eq!(d.format, Some(format), "face {i}");
        }
    }
}

#[test]
fn images_just_large_enough_are_read() {
    // At 48x48 the chips of sub-chip phase (0, 0) fill more than half a tile but those of
    // the other phases do not; the detector must still try phase (0, 0).
    let key = Key::from_passphrase("k");
    let faces = faces_at(4, 48, 46);
    for (i, face) in faces.iter().enumerate() {
        let marked = embed(face, &key, payload(i), DEFAULT_PSNR).unwrap();
        assert_eq!(
            detect(&marked.image, &key).payload,
            Some(payload(i)),
            "face {i}"
        );
    }
    // An empty image has nothing to read.
    assert!(!detect(&RgbImage::new(0, 0), &key).found);
}

#[test]
fn payloads_outside_48_bits_are_refused() {
    assert!(Payload::new(1 << 48).is_none());
    assert!(Payload::from_hex("0123456789abc").is_err());
    assert!(Payload::from_hex("0123456789ag").is_err());
    assert_eq!(
        Payload::from_hex("0123456789ab").unwrap().to_hex(),
        "0123456789ab"
    );
}

//! Content Credentials: keys, sign → verify round trips for PNG and JPEG, trust, tampering,
//! stripping and malformed input.

mod common;

use std::io::Cursor;
use std::path::PathBuf;

use fauxto_trust::credentials::{
    keys, mime_for, sign_capture, sign_generated, sign_generated_from, verify, Generation,
    LocalSigner, Parent, SourceType, DIGITAL_CAPTURE, TRAINED_ALGORITHMIC_MEDIA,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("fauxto-credentials-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let face = common::faces(1, 1, 0).remove(0);
    let mut bytes = Vec::new();
    face.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
    bytes
}

fn generation() -> Generation {
    Generation {
        model_name: "fauxto-demo-utkface64".into(),
        model_sha256: "ab".repeat(32),
        training_data_root: Some("6092db4f".into()),
        training_data_license: Some("UTKFace: non-commercial research use only".into()),
        seed: Some(42),
        truncation: 0.7,
        noise_mode: "const".into(),
        class: None,
        watermark: Some("0123456789ab".into()),
        ..Default::default()
    }
}

fn ca_pem(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join(keys::CA_CERT)).unwrap()
}

#[test]
fn keys_are_private_and_never_overwritten() {
    let dir = scratch("keys");
    let paths = keys::init(&dir, "Example Newsroom", 2).unwrap();
    assert!(paths.exist());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [keys::SIGNER_KEY, keys::CA_KEY] {
            let mode = std::fs::metadata(dir.join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    assert!(matches!(
        keys::init(&dir, "Example Newsroom", 2),
        Err(keys::KeyError::Exists(_))
    ));
}

#[test]
fn generated_png_and_jpeg_round_trip_and_trust_follows_the_ca() {
    let dir = scratch("roundtrip");
    keys::init(&dir, "Studio", 1).unwrap();
    let other = scratch("other-ca");
    keys::init(&other, "Someone Else", 1).unwrap();
    let signer = LocalSigner::from_dir(&dir).unwrap();
    for (format, mime) in [
        (image::ImageFormat::Png, "image/png"),
        (image::ImageFormat::Jpeg, "image/jpeg"),
    ] {
        let signed = sign_generated(
            &encoded(format),
            mime,
            SourceType::TrainedAlgorithmicMedia,
            &generation(),
            &signer,
        )
        .unwrap();
        // Still a decodable image.
        image::load_from_memory(&signed).unwrap();

        let v = verify(&signed, mime, None).unwrap();
        assert!(v.present && !v.tampered, "{mime}: {v:?}");
        assert_eq!(v.state, "valid", "{mime}: {v:?}");
        assert_eq!(
            v.digital_source_type.as_deref(),
            Some(TRAINED_ALGORITHMIC_MEDIA)
        );
        let g: Generation = serde_json::from_value(v.generation.clone().unwrap()).unwrap();
        assert_eq!(g, generation());
        assert!(
            v.signer.as_deref().unwrap_or("").contains("Studio"),
            "{v:?}"
        );

        let trusted = verify(&signed, mime, Some(&ca_pem(&dir))).unwrap();
        assert_eq!(trusted.state, "trusted", "{mime}: {trusted:?}");
        let untrusted = verify(&signed, mime, Some(&ca_pem(&other))).unwrap();
        assert_eq!(untrusted.state, "valid", "{mime}: {untrusted:?}");
        assert!(!untrusted.tampered);
    }
}

#[test]
fn a_resized_copy_names_its_signed_original_as_parent() {
    let dir = scratch("derived");
    keys::init(&dir, "Studio", 1).unwrap();
    let signer = LocalSigner::from_dir(&dir).unwrap();
    let source = SourceType::TrainedAlgorithmicMedia;
    let original = sign_generated(
        &encoded(image::ImageFormat::Png),
        "image/png",
        source,
        &generation(),
        &signer,
    )
    .unwrap();
    let smaller = image::load_from_memory(&original).unwrap().resize_exact(
        32,
        32,
        image::imageops::FilterType::Lanczos3,
    );
    let mut bytes = Vec::new();
    smaller
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    let parent = Parent {
        bytes: &original,
        mime: "image/png",
        derivation: "resized to 32×32",
    };
    let copy = sign_generated_from(
        &bytes,
        "image/png",
        source,
        &generation(),
        Some(parent),
        &signer,
    )
    .unwrap();
    let v = verify(&copy, "image/png", None).unwrap();
    assert_eq!(v.state, "valid", "{v:?}");
    assert!(!v.tampered, "{v:?}");
    assert_eq!(
        v.digital_source_type.as_deref(),
        Some(TRAINED_ALGORITHMIC_MEDIA)
    );
    let g: Generation = serde_json::from_value(v.generation.clone().unwrap()).unwrap();
    assert_eq!(g, generation());
    let of_original = verify(&original, "image/png", None).unwrap();
    assert!(of_original.parent_manifest.is_none());
    assert!(of_original.manifest.is_some());
    assert_eq!(v.parent_manifest, of_original.manifest, "{v:?}");
    assert_ne!(v.manifest, of_original.manifest);
}

#[test]
fn every_source_type_and_an_animated_gif_round_trip() {
    let dir = scratch("sources");
    keys::init(&dir, "Studio", 1).unwrap();
    let signer = LocalSigner::from_dir(&dir).unwrap();
    let gif = {
        let face = common::faces(2, 1, 0);
        let mut bytes = Vec::new();
        let mut enc = image::codecs::gif::GifEncoder::new(&mut bytes);
        for f in face {
            let rgba = image::DynamicImage::ImageRgb8(f).to_rgba8();
            enc.encode_frame(image::Frame::new(rgba)).unwrap();
        }
        drop(enc);
        bytes
    };
    assert_eq!(
        mime_for(std::path::Path::new("walk.GIF")),
        Some("image/gif")
    );
    for source in SourceType::ALL {
        assert_eq!(SourceType::from_uri(&source.uri()), Some(source));
        let mut facts = generation();
        facts.seeds = vec![1, 2, 3];
        facts.description = Some(format!("a {}", source.term()));
        for (bytes, mime) in [
            (encoded(image::ImageFormat::Png), "image/png"),
            (gif.clone(), "image/gif"),
        ] {
            let signed = sign_generated(&bytes, mime, source, &facts, &signer).unwrap();
            image::load_from_memory(&signed).unwrap();
            let v = verify(&signed, mime, None).unwrap();
            assert!(v.present && !v.tampered, "{mime} {source:?}: {v:?}");
            assert_eq!(v.digital_source_type, Some(source.uri()), "{mime}");
            let g: Generation = serde_json::from_value(v.generation.unwrap()).unwrap();
            assert_eq!(g, facts);
        }
    }
}

#[test]
fn a_signed_photo_says_digital_capture() {
    let dir = scratch("capture");
    keys::init(&dir, "Newsroom", 1).unwrap();
    let signer = LocalSigner::from_dir(&dir).unwrap();
    let signed = sign_capture(&encoded(image::ImageFormat::Jpeg), "image/jpeg", &signer).unwrap();
    let v = verify(&signed, "image/jpeg", None).unwrap();
    assert_eq!(v.digital_source_type.as_deref(), Some(DIGITAL_CAPTURE));
    assert!(v.generation.is_none());
}

/// CRC-32 (IEEE) as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn one_changed_pixel_reads_as_tampered_and_stripping_removes_the_credential() {
    let dir = scratch("tamper");
    keys::init(&dir, "Studio", 1).unwrap();
    let signer = LocalSigner::from_dir(&dir).unwrap();
    let signed = sign_generated(
        &encoded(image::ImageFormat::Png),
        "image/png",
        SourceType::TrainedAlgorithmicMedia,
        &generation(),
        &signer,
    )
    .unwrap();

    // Change one byte of the compressed pixels and fix the chunk's CRC, so the file is still
    // a well-formed PNG whose pixels differ.
    let mut tampered = signed.clone();
    let at = tampered.windows(4).position(|w| w == b"IDAT").unwrap();
    let len = u32::from_be_bytes(tampered[at - 4..at].try_into().unwrap()) as usize;
    tampered[at + 4 + len / 2] ^= 0x01;
    let crc = crc32(&tampered[at..at + 4 + len]);
    tampered[at + 4 + len..at + 8 + len].copy_from_slice(&crc.to_be_bytes());
    let v = verify(&tampered, "image/png", None).unwrap();
    assert!(v.present && v.tampered, "{v:?}");
    assert_eq!(v.state, "invalid");

    // Re-encoding drops the manifest.
    let stripped = encoded_from(&signed);
    let v = verify(&stripped, "image/png", None).unwrap();
    assert!(!v.present);
    assert_eq!(v.state, "absent");
}

fn encoded_from(bytes: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(bytes).unwrap();
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn malformed_input_is_an_error_or_absent_never_a_panic() {
    let mut noise = b"\x89PNG\r\n\x1a\n".to_vec();
    noise.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    for (bytes, mime) in [
        (noise.clone(), "image/png"),
        (noise[8..].to_vec(), "image/jpeg"),
        (Vec::new(), "image/png"),
    ] {
        if let Ok(v) = verify(&bytes, mime, None) {
            assert!(!v.present || v.state == "invalid", "{v:?}");
        }
    }
    assert!(verify(
        &encoded(image::ImageFormat::Png),
        "image/png",
        Some("not pem")
    )
    .is_err());
    assert!(LocalSigner::from_dir(&scratch("empty")).is_err());
}

//! Generated images carry a Content Credential and the watermark; `fauxto verify` reads both,
//! `fauxto sign` signs photos, and both can be turned off.

mod common;

use std::path::Path;
use std::process::Output;

use common::{ok, scratch};

/// Runs fauxto with its signing keys in `keys`.
fn fauxto_with_keys(keys: &Path, args: &[&str]) -> Output {
    common::command(args)
        .env("FAUXTO_KEYS", keys)
        .output()
        .expect("fauxto runs")
}

fn verify_json(keys: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["verify", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(ok(&fauxto_with_keys(keys, &all)).trim()).unwrap()
}

#[test]
fn generated_images_are_signed_watermarked_and_verifiable() {
    let dir = scratch("credentials", "generate");
    let keys = dir.join("keys");
    let model = dir.join("m.safetensors");
    let m = model.to_str().unwrap();
    ok(&fauxto_with_keys(
        &keys,
        &[
            "init-model",
            "--preset",
            "small",
            "--res",
            "256",
            "--out",
            m,
        ],
    ));
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    ok(&fauxto_with_keys(
        &keys,
        &["generate", "--model", m, "--seeds", "7", "--out", o],
    ));
    let image = out.join("seed0007.png");
    let img = image.to_str().unwrap();
    let ca = keys.join("ca.cert.pem");

    let v = verify_json(&keys, &[img]);
    assert_eq!(v["credential"]["state"], "valid", "{v}");
    assert_eq!(v["credential"]["tampered"], false);
    assert_eq!(
        v["credential"]["digital_source_type"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    );
    assert_eq!(v["credential"]["generation"]["seed"], 7);
    let payload = v["watermark"]
        .as_str()
        .expect("watermark found")
        .to_string();
    assert_eq!(v["credential"]["generation"]["watermark"], payload.as_str());
    assert!(
        payload.ends_with("000007"),
        "{payload}: the low 24 bits are the seed"
    );

    let trusted = verify_json(&keys, &["--trust", ca.to_str().unwrap(), img]);
    assert_eq!(trusted["credential"]["state"], "trusted", "{trusted}");

    // Stripping the metadata leaves the watermark.
    let stripped = dir.join("stripped.png");
    image::open(&image).unwrap().save(&stripped).unwrap();
    let s = verify_json(&keys, &[stripped.to_str().unwrap()]);
    assert_eq!(s["credential"]["present"], false, "{s}");
    assert_eq!(s["watermark"], payload.as_str());

    // Both can be turned off.
    let plain = dir.join("plain");
    ok(&fauxto_with_keys(
        &keys,
        &[
            "generate",
            "--model",
            m,
            "--seeds",
            "7",
            "--out",
            plain.to_str().unwrap(),
            "--no-credentials",
            "--no-watermark",
        ],
    ));
    let p = verify_json(&keys, &[plain.join("seed0007.png").to_str().unwrap()]);
    assert_eq!(p["credential"]["present"], false, "{p}");
    assert!(p["watermark"].is_null(), "{p}");
}

#[test]
fn sign_marks_a_photo_as_a_capture_and_needs_keys() {
    let dir = scratch("credentials", "sign");
    let keys = dir.join("keys");
    let photo = dir.join("photo.jpg");
    image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8 * 2, y as u8 * 3, 77]))
        .save(&photo)
        .unwrap();
    let signed = dir.join("signed.jpg");
    let args = [
        "sign",
        photo.to_str().unwrap(),
        "--out",
        signed.to_str().unwrap(),
    ];
    let refused = fauxto_with_keys(&keys, &args);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("fauxto keys init"));

    ok(&fauxto_with_keys(
        &keys,
        &["keys", "init", "--org", "Daily Example"],
    ));
    let again = fauxto_with_keys(&keys, &["keys", "init"]);
    assert!(!again.status.success(), "keys init overwrote existing keys");
    ok(&fauxto_with_keys(&keys, &args));
    let v = verify_json(&keys, &[signed.to_str().unwrap()]);
    assert_eq!(
        v["credential"]["digital_source_type"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    );
    assert!(v["credential"]["signer"]
        .as_str()
        .unwrap()
        .contains("Daily Example"));
    let text = ok(&fauxto_with_keys(
        &keys,
        &["verify", photo.to_str().unwrap()],
    ));
    assert!(text.contains("Content Credential: none"), "{text}");
}

#[test]
fn sign_refuses_images_that_say_they_were_generated() {
    let dir = scratch("credentials", "sign-refuses");
    let keys = dir.join("keys");
    let model = dir.join("m.safetensors");
    ok(&fauxto_with_keys(
        &keys,
        &[
            "init-model",
            "--preset",
            "small",
            "--res",
            "64",
            "--out",
            model.to_str().unwrap(),
        ],
    ));
    let out = dir.join("gen");
    ok(&fauxto_with_keys(
        &keys,
        &[
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--seeds",
            "7",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let generated = out.join("seed0007.png");
    let sign = |path: &Path| {
        fauxto_with_keys(
            &keys,
            &[
                "sign",
                path.to_str().unwrap(),
                "--out",
                dir.join("signed.png").to_str().unwrap(),
            ],
        )
    };
    let refused = |out: &Output, needle: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("not signed as a camera capture") && err.contains(needle),
            "{err}"
        );
        assert!(!dir.join("signed.png").exists(), "nothing written");
    };
    // Its credential says trainedAlgorithmicMedia.
    refused(&sign(&generated), "trainedAlgorithmicMedia");
    // With the credential stripped (pixels re-encoded), the watermark still says so.
    let stripped = dir.join("stripped.png");
    image::open(&generated).unwrap().save(&stripped).unwrap();
    refused(&sign(&stripped), "watermark");
    // A credential alone (no watermark) is enough too.
    let unmarked = dir.join("unmarked");
    ok(&fauxto_with_keys(
        &keys,
        &[
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--seeds",
            "8",
            "--no-watermark",
            "--out",
            unmarked.to_str().unwrap(),
        ],
    ));
    refused(&sign(&unmarked.join("seed0008.png")), "Content Credential");
    // A photo is still signed.
    let photo = dir.join("photo.png");
    image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8 * 2, y as u8 * 3, 77]))
        .save(&photo)
        .unwrap();
    ok(&sign(&photo));
}

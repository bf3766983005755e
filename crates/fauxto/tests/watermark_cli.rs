//! `fauxto watermark embed|detect` end to end on a face from the shared zip.

mod common;

use std::io::Read;

use common::{fauxto, ok, scratch, utkface};

/// The first face of the zip, enlarged to 256x256 and written as PNG.
fn face_png(dir: &std::path::Path) -> std::path::PathBuf {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(utkface()).unwrap()).unwrap();
    let name = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .find(|n| n.ends_with(".jpg"))
        .unwrap();
    let mut bytes = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    let path = dir.join("face.png");
    img.resize_exact(256, 256, image::imageops::FilterType::CatmullRom)
        .save(&path)
        .unwrap();
    path
}

fn detect_json(path: &std::path::Path, key: &str) -> serde_json::Value {
    let out = ok(&fauxto(&[
        "watermark",
        "detect",
        path.to_str().unwrap(),
        "--key",
        key,
        "--json",
    ]));
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn embed_then_detect_finds_the_payload_and_only_with_the_key() {
    let dir = scratch("watermark", "roundtrip");
    let face = face_png(&dir);
    let marked_dir = dir.join("marked");
    let out = ok(&fauxto(&[
        "watermark",
        "embed",
        face.to_str().unwrap(),
        "--out",
        marked_dir.to_str().unwrap(),
        "--payload",
        "00c0ffee0042",
        "--key",
        "k1",
        "--json",
    ]));
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(line["psnr"].as_f64().unwrap() >= 38.0, "{line}");
    let marked = marked_dir.join("face.png");

    let found = detect_json(&marked, "k1");
    assert_eq!(found["found"], true, "{found}");
    assert_eq!(found["payload"], "00c0ffee0042");
    let wrong_key = detect_json(&marked, "k2");
    assert_eq!(wrong_key["found"], false, "{wrong_key}");
    assert!(wrong_key["payload"].is_null());
    let unmarked = detect_json(&face, "k1");
    assert_eq!(unmarked["found"], false, "{unmarked}");
}

#[test]
fn bad_payloads_and_unreadable_files_are_clear_errors() {
    let dir = scratch("watermark", "errors");
    let face = face_png(&dir);
    for payload in ["123", "zzzzzzzzzzzz", "0123456789abcd"] {
        let out = fauxto(&[
            "watermark",
            "embed",
            face.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--payload",
            payload,
        ]);
        assert!(!out.status.success(), "payload {payload} accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("payload")
                || String::from_utf8_lossy(&out.stderr).contains("hexadecimal")
        );
    }
    let garbage = dir.join("garbage.png");
    std::fs::write(&garbage, b"not an image").unwrap();
    let out = fauxto(&[
        "watermark",
        "detect",
        garbage.to_str().unwrap(),
        face.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("face.png: no watermark"),
        "the readable image was skipped: {stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 2 images could not be read"));
}

#[test]
fn images_too_small_to_read_back_are_not_marked() {
    let dir = scratch("watermark", "small");
    let small = dir.join("small.png");
    image::RgbImage::from_fn(40, 40, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 5) as u8, 90])
    })
    .save(&small)
    .unwrap();
    let out = fauxto(&[
        "watermark",
        "embed",
        small.to_str().unwrap(),
        "--out",
        dir.join("marked").to_str().unwrap(),
        "--payload",
        "00c0ffee0042",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("too small") && err.contains("40x40"), "{err}");
    assert!(!dir.join("marked/small.png").exists());
}

//! `fauxto detect`, `fauxto detector train|eval`, and the detector's line in `fauxto verify`.

mod common;

use std::path::{Path, PathBuf};

use common::{fauxto, ok, scratch};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/detector")
        .join(rel)
}

/// The committed images of one class, sorted.
fn committed(class: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(testdata(class))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

fn detect(image: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["detect", "--json", image.to_str().unwrap()];
    args.extend_from_slice(extra);
    serde_json::from_str(ok(&fauxto(&args)).trim()).unwrap()
}

#[test]
fn detect_and_verify_say_what_the_pixels_show() {
    // Every committed face is judged; the shipped detector calls (nearly) all of them right.
    let mut right = 0;
    let mut total = 0;
    for (class, generated) in [("real", false), ("generated", true)] {
        for path in committed(class) {
            let v = detect(&path, &[]);
            let p = v["detector"]["probability"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p));
            assert_eq!(
                v["detector"]["generated"].as_bool().unwrap(),
                p >= v["detector"]["threshold"].as_f64().unwrap()
            );
            right += (v["detector"]["generated"].as_bool().unwrap() == generated) as usize;
            total += 1;
        }
    }
    assert!(right * 10 >= total * 9, "{right} of {total} right");

    // verify: a labelled generated face has all three signals; a photograph has none.
    let labelled = testdata("generated/seed7212.png");
    let text = ok(&fauxto(&["verify", labelled.to_str().unwrap()]));
    assert!(text.contains("  detector: probably generated ("), "{text}");
    assert!(
        text.contains("in short: a credential saying AI-generated, fauxto's watermark, detector: probably generated ("),
        "{text}"
    );
    let photo = &committed("real")[0];
    let text = ok(&fauxto(&["verify", photo.to_str().unwrap()]));
    assert!(
        text.contains("in short: no credential, no watermark, detector: "),
        "{text}"
    );
    let quiet = ok(&fauxto(&[
        "verify",
        "--no-detector",
        photo.to_str().unwrap(),
    ]));
    assert!(!quiet.contains("detector:"), "{quiet}");
    assert!(
        quiet.contains("in short: no credential, no watermark\n"),
        "{quiet}"
    );
}

#[test]
fn a_detector_trained_from_the_command_line_loads_and_evaluates() {
    let dir = scratch("detector", "train");
    // Names spread over the training, calibration and test parts.
    let (real, fake) = (dir.join("real"), dir.join("fake"));
    for (src, dst, prefix, ext) in [
        ("real", &real, "r", "jpg"),
        ("generated", &fake, "g", "png"),
    ] {
        std::fs::create_dir_all(dst).unwrap();
        for (i, path) in committed(src).iter().enumerate() {
            std::fs::copy(path, dst.join(format!("{prefix}{i:02}.{ext}"))).unwrap();
        }
    }
    let out = dir.join("d.safetensors");
    let (r, f, o) = (
        real.to_str().unwrap(),
        fake.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    // (scratch paths have no spaces)
    let words = |line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>();
    let run = |line: String| {
        let args = words(line);
        fauxto(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    ok(&run(format!(
        "detector train --real {r} --fake {f} --out {o} --steps 4 --batch 8 --size 32 \
         --thumbnail-steps 3"
    )));
    let v = detect(&committed("real")[0], &["--detector", o]);
    assert!(v["detector"]["probability"].as_f64().is_some());

    // --base keeps a detector's main network and trains only its thumbnail network: images
    // of 64 pixels and more read as before, thumbnails differently.
    let rebased = dir.join("rebased.safetensors");
    let rb = rebased.to_str().unwrap();
    ok(&run(format!(
        "detector train --real {r} --fake {f} --out {rb} --base {o} --batch 8 --size 32 \
         --thumbnail-steps 3 --seed 5"
    )));
    let probability = |image: &Path, detector: &str| {
        detect(image, &["--detector", detector])["detector"]["probability"]
            .as_f64()
            .unwrap()
    };
    let face = &committed("generated")[0];
    assert_eq!(probability(face, o), probability(face, rb));
    let thumbnail = dir.join("thumbnail.png");
    image::open(face)
        .unwrap()
        .resize_exact(24, 24, image::imageops::FilterType::Lanczos3)
        .save(&thumbnail)
        .unwrap();
    assert_ne!(probability(&thumbnail, o), probability(&thumbnail, rb));
    let refused = run(format!(
        "detector train --real {r} --fake {f} --out {rb} --base {o} --thumbnail-steps 0"
    ));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--thumbnail-steps"));

    let eval = ok(&fauxto(&[
        "detector",
        "eval",
        "--real",
        r,
        "--fake",
        f,
        "--detector",
        o,
        "--part",
        "all",
        "--size",
        "64",
        "--attack",
        "jpeg75,blur1",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
    assert_eq!(report["real"], 24);
    assert_eq!(report["generated"], 24);
    let names: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["attack"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["none", "jpeg75", "blur1"]);
    for row in report["results"].as_array().unwrap() {
        let ap = row["average_precision"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ap));
    }

    // Bad input is refused with a clear message.
    let bad = fauxto(&[
        "detector", "eval", "--real", r, "--fake", f, "--attack", "sharpen2",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown attack"));
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a detector").unwrap();
    let bad = fauxto(&["detect", "--detector", junk.to_str().unwrap(), r]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a fauxto GAN-image detector"));
}

//! End-to-end tests of the face commands: `analyze`, `index` (and its resumption), the
//! memorisation guard of `generate`, and the `guard`, `report diversity` and `metrics`
//! reports.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{fauxto, ok, pack_and_index_fixture_faces};

fn scratch(name: &str) -> PathBuf {
    common::scratch("face", name)
}

fn fixture(name: &str) -> PathBuf {
    common::fixture_faces().join(name)
}

/// The fixture faces packed and indexed once for the tests below.
fn indexed_dataset() -> &'static Path {
    static DATA: OnceLock<PathBuf> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = scratch("data").join("faces64");
        pack_and_index_fixture_faces(&dir);
        dir
    })
}

/// A small random model (its outputs are not faces; the guard still has to judge them).
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = scratch("model").join("tiny.safetensors");
        ok(&fauxto(&[
            "init-model",
            "--preset",
            "small",
            "--res",
            "32",
            "--seed",
            "3",
            "--out",
            path.to_str().unwrap(),
        ]));
        path
    })
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn analyze_reports_each_face_and_keeps_going_past_bad_files() {
    let dir = scratch("analyze");
    let face = fixture("30_1_0_20170103182254417.png");
    let img = image::open(&face).unwrap();
    // Grey, RGBA, 16-bit and tiny variants of a face, a blank image and a corrupt file.
    let grey = dir.join("grey.png");
    img.to_luma8().save(&grey).unwrap();
    let rgba = dir.join("rgba.png");
    img.to_rgba8().save(&rgba).unwrap();
    let deep = dir.join("deep.png");
    image::DynamicImage::ImageRgb16(img.to_rgb16())
        .save(&deep)
        .unwrap();
    let tiny = dir.join("tiny.png");
    img.resize_exact(12, 12, image::imageops::FilterType::Triangle)
        .save(&tiny)
        .unwrap();
    let blank = dir.join("blank.png");
    image::RgbImage::from_pixel(128, 128, image::Rgb([128, 128, 128]))
        .save(&blank)
        .unwrap();
    let corrupt = dir.join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nnot really").unwrap();

    let paths = [&face, &grey, &rgba, &deep, &tiny, &blank, &corrupt];
    let args: Vec<&str> = ["analyze", "--json"]
        .into_iter()
        .chain(paths.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let out = fauxto(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a corrupt file fails the run at the end"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let reports = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(reports.len(), paths.len(), "every file gets a line");

    // face-api's own verdict on this face (crates/fauxto-face/tests/fixtures/face_api.json).
    let first = &reports[0]["faces"][0];
    assert_eq!(first["gender"], "female");
    assert!(
        (first["age"].as_f64().unwrap() - 45.1635).abs() < 0.01,
        "{}",
        first["age"]
    );
    assert_eq!(first["expression"], "happy");
    assert_eq!(first["landmarks"]["points"].as_array().unwrap().len(), 68);
    assert!(first["pose"]["yaw"].is_number());
    assert_eq!(
        first["descriptor"].as_array().unwrap().len(),
        0,
        "only with --descriptor"
    );
    for (i, name) in [(1, "grey"), (2, "rgba"), (3, "16-bit")] {
        assert_eq!(reports[i]["faces"].as_array().unwrap().len(), 1, "{name}");
    }
    assert_eq!(
        reports[2]["faces"][0]["age"], reports[0]["faces"][0]["age"],
        "alpha is dropped"
    );
    assert!(
        reports[4]["error"].is_null(),
        "a tiny image is analysed, not an error"
    );
    assert_eq!(
        reports[5]["faces"].as_array().unwrap().len(),
        0,
        "blank: no face"
    );
    assert!(reports[6]["error"]
        .as_str()
        .unwrap()
        .contains("corrupt.png"));

    let text = fauxto(&["analyze", blank.to_str().unwrap(), face.to_str().unwrap()]);
    let text = ok(&text);
    assert!(text.contains("blank.png: no face found"), "{text}");
    assert!(text.contains("1 face") && text.contains("woman"), "{text}");
}

#[test]
fn index_resumes_after_an_interruption_to_the_same_bytes() {
    let full = indexed_dataset();
    let records = std::fs::read(full.join("faces.f32")).unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&std::fs::read(full.join("faces.json")).unwrap()).unwrap();
    assert_eq!(header["count"], 24);
    assert_eq!(records.len() % 24, 0);
    let record = records.len() / 24;

    // The same images packed again and indexed, the index then cut in the middle of a
    // record as by a crash.
    let dir = scratch("resume").join("faces64");
    pack_and_index_fixture_faces(&dir);
    assert_eq!(
        std::fs::read(dir.join("faces.f32")).unwrap(),
        records,
        "deterministic"
    );
    std::fs::write(dir.join("faces.f32"), &records[..10 * record + record / 2]).unwrap();
    let out = ok(&fauxto(&[
        "index",
        dir.to_str().unwrap(),
        "--json",
        "--chunk",
        "5",
    ]));
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["resumed_at"], 10);
    assert_eq!(summary["analysed_now"], 14);
    assert_eq!(std::fs::read(dir.join("faces.f32")).unwrap(), records);

    // A complete index is left alone.
    let again = ok(&fauxto(&["index", dir.to_str().unwrap(), "--json"]));
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(again["analysed_now"], 0);

    // Another dataset's index is not silently extended. (Not the first packing's header:
    // packed in the same second, the two datasets' manifests are the same bytes.)
    let mut other = header.clone();
    let digest = other["manifest_digest"].as_str().unwrap().to_string();
    let flipped = if digest.starts_with('0') { "1" } else { "0" };
    other["manifest_digest"] = format!("{flipped}{}", &digest[1..]).into();
    std::fs::write(dir.join("faces.json"), other.to_string()).unwrap();
    let out = fauxto(&["index", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--restart"));

    // Nor is one whose header holds non-ASCII text: still a clear error, not a panic.
    let mut foreign = header.clone();
    foreign["manifest_digest"] = "é".repeat(20).into();
    std::fs::write(dir.join("faces.json"), foreign.to_string()).unwrap();
    let out = fauxto(&["index", dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--restart") && err.contains("éééé"), "{err}");
}

#[test]
fn guard_rejects_outputs_that_show_a_training_face() {
    let data = indexed_dataset();
    let out_dir = scratch("guarded");
    let run = |threshold: &str| {
        fauxto(&[
            "generate",
            "--model",
            model().to_str().unwrap(),
            "--seeds",
            "0-2",
            "--out",
            out_dir.to_str().unwrap(),
            "--guard",
            data.to_str().unwrap(),
            "--guard-threshold",
            threshold,
            "--no-credentials",
            "--json",
        ])
    };
    // Everything is "the same person" at an absurd threshold: nothing may be written.
    let report: serde_json::Value = serde_json::from_str(&ok(&run("100"))).unwrap();
    assert_eq!(report["rejected"].as_array().unwrap().len(), 3);
    assert_eq!(report["written"].as_array().unwrap().len(), 0);
    assert!(!out_dir.join("seed0000.png").exists());
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("rejected.json")).unwrap()).unwrap();
    assert_eq!(listed[0]["seed"], 0);
    assert!(listed[0]["guard"]["nearest"]["distance"].as_f64().unwrap() < 100.0);

    // At threshold 0 nothing is the same person: everything is written, with its distance.
    let report: serde_json::Value = serde_json::from_str(&ok(&run("0"))).unwrap();
    assert_eq!(report["written"].as_array().unwrap().len(), 3);
    assert!(
        report["written"][0]["guard"]["nearest"]["distance"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(out_dir.join("seed0002.png").exists());
}

#[test]
fn reports_write_their_json_and_charts() {
    let data = indexed_dataset();
    let dir = scratch("reports");
    let model_copy = dir.join("m.safetensors");
    std::fs::copy(model(), &model_copy).unwrap();
    std::fs::copy(
        model().with_extension("md"),
        model_copy.with_extension("md"),
    )
    .unwrap();
    let m = model_copy.to_str().unwrap();
    let d = data.to_str().unwrap();

    let guard_dir = dir.join("guard");
    let out = ok(&fauxto(&[
        "guard",
        "--model",
        m,
        "--index",
        d,
        "--n",
        "6",
        "--out",
        guard_dir.to_str().unwrap(),
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["generated"], 6);
    assert_eq!(report["training_faces"], 24);
    let counts: f64 = report["histogram"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .sum();
    assert_eq!(counts, 6.0, "every output is in the histogram");
    for f in ["report.json", "distances.png", "closest.png"] {
        assert!(
            image::open(guard_dir.join(f)).is_ok() || f.ends_with(".json"),
            "{f}"
        );
    }

    let div_dir = dir.join("diversity");
    let out = ok(&fauxto(&[
        "report",
        "diversity",
        "--model",
        m,
        "--data",
        d,
        "--n",
        "6",
        "--out",
        div_dir.to_str().unwrap(),
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    for attribute in ["age group", "gender", "expression", "facing"] {
        let tv = report["attributes"][attribute]["total_variation"]
            .as_f64()
            .unwrap();
        assert!((0.0..=1.0).contains(&tv), "{attribute}: {tv}");
    }
    let chart = image::open(div_dir.join("diversity.png")).unwrap();
    assert!(chart.width() > 1000 && chart.height() > 400);

    let out = ok(&fauxto(&[
        "metrics", "--model", m, "--data", d, "--n", "6", "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let metrics = &report["metrics"];
    assert_eq!(metrics["n_fake"], 6);
    assert_eq!(metrics["n_real"], 24);
    assert!(metrics["frechet"].as_f64().unwrap() > 0.0);
    let card = std::fs::read_to_string(model_copy.with_extension("md")).unwrap();
    assert!(card.contains("## Face-space metrics"), "{card}");
    assert!(card.contains("## Provenance"), "the rest of the card stays");

    // The floor: real faces at the data's own size score closer than the same faces brought
    // down to 16 pixels, and both closer than the random model's noise.
    let floor = |res: &str| -> serde_json::Value {
        let out = ok(&fauxto(&[
            "metrics", "--data", d, "--floor", res, "--n", "12", "--json",
        ]));
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["floor_resolution"], res.parse::<u32>().unwrap());
        report["metrics"].clone()
    };
    let (sharp, coarse) = (floor("64"), floor("16"));
    let frechet = |m: &serde_json::Value| m["frechet"].as_f64().unwrap();
    assert_eq!(sharp["n_real"], 24);
    assert!(sharp["n_fake"].as_u64().unwrap() >= 10, "{sharp}");
    assert!(frechet(&sharp) < frechet(&coarse), "{sharp} vs {coarse}");
    assert!(frechet(&coarse) < frechet(metrics), "{coarse} vs {metrics}");
}

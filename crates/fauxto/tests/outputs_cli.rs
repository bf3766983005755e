//! What generation writes, and what it refuses to write. Every image file fauxto writes is
//! labelled, as `fauxto verify` reads it back: the Content Credential that fits what it is
//! (IPTC digital source type, model, training data) and, where it shows generated pixels
//! and is large enough, the watermark whose payload names the model and the seed — one test
//! per command of the README's table of outputs. And the memorisation guard fails closed.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{fauxto, ok};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    common::scratch("outputs", name)
}

/// The 24 face fixtures packed at 64x64 and indexed (for the reports and a trained model).
fn indexed_dataset() -> &'static Path {
    static DATA: OnceLock<PathBuf> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = scratch("data").join("faces64");
        common::pack_and_index_fixture_faces(&dir);
        dir
    })
}

/// A tiny 64x64 model trained for two steps on the indexed faces (so that its card names
/// its training data), with its run directory.
fn trained() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let run = scratch("run");
        let _ = std::fs::remove_dir_all(&run);
        ok(&fauxto(&[
            "train",
            "--data",
            indexed_dataset().to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--batch",
            "4",
            "--channel-base",
            "256",
            "--channel-max",
            "16",
            "--kimg",
            "1",
            "--max-steps",
            "2",
            "--aug",
            "noaug",
        ]));
        let model = run.join("model.safetensors");
        (run, model)
    })
}

fn model() -> &'static str {
    trained().1.to_str().unwrap()
}

/// The bundled demo model: 64x64 faces, like the images users make.
fn demo() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/fauxto-demo-utkface64.safetensors"
    )
}

/// `fauxto verify --json` of one file.
fn verify(path: &Path) -> Value {
    let out = ok(&fauxto(&["verify", "--json", path.to_str().unwrap()]));
    serde_json::from_str(out.trim()).unwrap()
}

/// Asserts `path` carries a valid credential of IPTC source type `source`, naming the model
/// `name` and its (UTKFace) training data, and (when `watermark` is given) a watermark whose
/// payload is that seed (composite or not) of the same model.
fn assert_labelled_by(path: &Path, name: &str, source: &str, watermark: Option<(u32, bool)>) {
    let v = verify(path);
    let c = &v["credential"];
    assert_eq!(c["present"], true, "{}: {v:#}", path.display());
    assert_eq!(c["tampered"], false, "{}: {v:#}", path.display());
    assert!(
        c["digital_source_type"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{source}")),
        "{}: {v:#}",
        path.display()
    );
    let g = &c["generation"];
    assert_eq!(g["model_name"], name, "{}", path.display());
    assert!(
        g["training_data_license"]
            .as_str()
            .unwrap()
            .contains("non-commercial"),
        "{}: {g:#}",
        path.display()
    );
    match watermark {
        Some((seed, composite)) => {
            let p = &v["watermark_payload"];
            assert_eq!(p["format"], "v2", "{}: {v:#}", path.display());
            assert_eq!(p["seed"], seed, "{}", path.display());
            assert_eq!(p["composite"], composite, "{}", path.display());
            assert_eq!(
                v["watermark_matches_credential"],
                true,
                "{}",
                path.display()
            );
            assert_eq!(g["watermark"], v["watermark"], "{}", path.display());
        }
        None => assert!(v["watermark"].is_null(), "{}: {v:#}", path.display()),
    }
}

/// [`assert_labelled_by`] the tiny model trained here (its outputs are noise-like textures).
fn assert_labelled(path: &Path, source: &str, watermark: Option<(u32, bool)>) {
    assert_labelled_by(path, "run", source, watermark)
}

/// [`assert_labelled_by`] the demo model.
fn assert_labelled_demo(path: &Path, watermark: Option<(u32, bool)>) {
    assert_labelled_by(path, "demo64", "trainedAlgorithmicMedia", watermark)
}

#[test]
fn generate_labels_each_image_and_the_grid() {
    let dir = scratch("generate");
    for format in ["png", "jpg", "webp"] {
        ok(&fauxto(&[
            "generate",
            "--model",
            demo(),
            "--seeds",
            "5,4294967295",
            "--grid",
            "--format",
            format,
            "--out",
            dir.to_str().unwrap(),
            "--no-guard",
        ]));
        assert_labelled_demo(&dir.join(format!("seed0005.{format}")), Some((5, false)));
        assert_labelled_demo(
            &dir.join(format!("seed4294967295.{format}")),
            Some((u32::MAX, false)),
        );
        assert_labelled_demo(&dir.join(format!("grid.{format}")), Some((5, true)));
    }
}

#[test]
fn mix_and_interpolate_are_labelled() {
    let dir = scratch("mix");
    let mix = dir.join("mix.png");
    ok(&fauxto(&[
        "mix",
        "--model",
        demo(),
        "--rows",
        "3,4",
        "--cols",
        "7",
        "--styles",
        "0-3",
        "--out",
        mix.to_str().unwrap(),
    ]));
    assert_labelled_demo(&mix, Some((3, true)));
    let walk = dir.join("walk.gif");
    ok(&fauxto(&[
        "interpolate",
        "--model",
        demo(),
        "--seeds",
        "9,2",
        "--frames",
        "3",
        "--out",
        walk.to_str().unwrap(),
    ]));
    assert_labelled_demo(&walk, Some((9, true)));
    let v = verify(&walk);
    assert!(
        v["credential"]["generation"]["description"]
            .as_str()
            .unwrap()
            .contains("animation"),
        "{v:#}"
    );
}

#[test]
fn training_samples_are_labelled() {
    let (run, _) = trained();
    assert_labelled(
        &run.join("samples/fakes000000.png"),
        "trainedAlgorithmicMedia",
        Some((0, true)),
    );
    // Real training photos: a composite capture, not generated, no generator's watermark.
    assert_labelled(&run.join("samples/reals.png"), "compositeCapture", None);
}

#[test]
fn guard_and_diversity_reports_are_labelled() {
    let dir = scratch("reports");
    let data = indexed_dataset().to_str().unwrap();
    let guard = dir.join("guard");
    ok(&fauxto(&[
        "guard",
        "--model",
        model(),
        "--index",
        data,
        "--n",
        "4",
        "--pairs",
        "4",
        "--out",
        guard.to_str().unwrap(),
        "--json",
    ]));
    assert_labelled(&guard.join("distances.png"), "dataDrivenMedia", None);
    let closest = verify(&guard.join("closest.png"));
    assert!(
        closest["credential"]["digital_source_type"]
            .as_str()
            .unwrap()
            .ends_with("/compositeWithTrainedAlgorithmicMedia"),
        "{closest:#}"
    );
    assert_eq!(
        closest["watermark_payload"]["composite"], true,
        "{closest:#}"
    );

    let diversity = dir.join("diversity");
    ok(&fauxto(&[
        "report",
        "diversity",
        "--model",
        model(),
        "--data",
        data,
        "--n",
        "4",
        "--out",
        diversity.to_str().unwrap(),
        "--json",
    ]));
    assert_labelled(&diversity.join("diversity.png"), "dataDrivenMedia", None);
}

#[test]
fn images_too_small_for_a_watermark_are_signed_and_say_so() {
    let dir = scratch("small");
    let model = dir.join("m32.safetensors");
    ok(&fauxto(&[
        "init-model",
        "--preset",
        "small",
        "--res",
        "32",
        "--out",
        model.to_str().unwrap(),
    ]));
    let out = fauxto(&[
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--seeds",
        "1",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let report: Value = serde_json::from_str(&ok(&out)).unwrap();
    let labels = &report["written"][0]["labels"];
    assert_eq!(labels["signed"], true, "{report:#}");
    assert!(labels["watermark"].is_null(), "{report:#}");
    assert!(
        labels["unmarked"].as_str().unwrap().contains("too small"),
        "{report:#}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no watermark"), "a warning: {err}");
}

/// Runs `generate` with the trained model (whose training data has a registered index).
fn generate_guarded(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["generate", "--model", model(), "--seeds", "1", "--out"];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    fauxto(&args)
}

/// A failure that explains itself: exit code 1, no panic, naming each of `needles`.
fn assert_refused(out: &std::process::Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
}

#[test]
fn the_guard_fails_closed_when_its_registered_index_cannot_be_used() {
    let dir = scratch("guard");
    // A copy of the indexed data, registered as the index of the model's training data.
    let copy = dir.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(indexed_dataset()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let _ = trained();
    ok(&fauxto(&["index", copy.to_str().unwrap(), "--json"]));
    let out_dir = dir.join("out");
    let guarded = ok(&generate_guarded(&out_dir, &["--json"]));
    let report: Value = serde_json::from_str(&guarded).unwrap();
    assert!(
        report["written"][0]["guard"]["nearest"].is_object(),
        "the registered index was used: {report:#}"
    );

    // Incomplete: the records are gone.
    let records = copy.join("faces.f32");
    let saved = std::fs::read(&records).unwrap();
    std::fs::write(&records, &saved[..saved.len() / 2]).unwrap();
    let _ = std::fs::remove_dir_all(&out_dir);
    assert_refused(
        &generate_guarded(&out_dir, &[]),
        &[copy.to_str().unwrap(), "--no-guard", "fauxto index"],
    );
    assert!(
        !out_dir.join("seed0001.png").exists(),
        "nothing unguarded written"
    );
    // --no-guard is the way out.
    ok(&generate_guarded(&out_dir, &["--no-guard"]));
    assert!(out_dir.join("seed0001.png").exists());

    // Moved away.
    std::fs::write(&records, &saved).unwrap();
    let moved = dir.join("moved");
    std::fs::rename(&copy, &moved).unwrap();
    assert_refused(&generate_guarded(&dir.join("out2"), &[]), &["--no-guard"]);
    // Damaged header with non-ASCII text.
    std::fs::rename(&moved, &copy).unwrap();
    std::fs::write(
        copy.join("faces.json"),
        "{\"format\": \"fauxto-face-index\", \"ü\": [",
    )
    .unwrap();
    assert_refused(&generate_guarded(&dir.join("out3"), &[]), &["--no-guard"]);
    // A damaged registry.
    let registry = common::own_home().join("face-indexes.json");
    let kept = std::fs::read(&registry).unwrap();
    std::fs::write(&registry, "{ not json ü").unwrap();
    assert_refused(
        &generate_guarded(&dir.join("out4"), &[]),
        &["face-index registry"],
    );
    std::fs::write(&registry, kept).unwrap();
}

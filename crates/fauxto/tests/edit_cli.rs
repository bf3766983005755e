//! `fauxto directions` and `fauxto edit` end to end on a copy of the bundled demo model:
//! the directions file and card section, labelled edits and strips, the evaluation, and
//! the errors a user meets.

mod common;

use std::path::{Path, PathBuf};

use common::{fauxto, ok, scratch};

fn demo_copy(dir: &Path) -> PathBuf {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fauxto-demo-utkface64.safetensors");
    let model = dir.join("demo.safetensors");
    std::fs::copy(demo, &model).unwrap();
    model
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON on stdout")
}

#[test]
fn directions_are_learnt_stored_evaluated_and_drive_labelled_edits() {
    let dir = scratch("edit", "flow");
    let model = demo_copy(&dir);
    let m = model.to_str().unwrap();

    // Before any directions exist, edit says how to make them.
    let out = fauxto(&[
        "edit", "--model", m, "--seed", "1", "--yaw", "10", "--out", "x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fauxto directions --model"));

    let learnt = json(&fauxto(&[
        "directions",
        "--model",
        m,
        "--n",
        "300",
        "--extremes",
        "0.25",
        "--calibration",
        "8",
        "--attributes",
        "yaw,gender",
        "--json",
    ]));
    let names: Vec<&str> = learnt["directions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["yaw", "gender"]);
    assert!(dir.join("demo.directions.safetensors").exists());
    let card = std::fs::read_to_string(dir.join("demo.md")).unwrap();
    assert!(
        card.contains("## Attribute directions") && card.contains("| yaw |"),
        "{card}"
    );

    // One edit, labelled as a generated image with the seed in its watermark.
    let out_dir = dir.join("out");
    let o = out_dir.to_str().unwrap();
    let written = json(&fauxto(&[
        "edit", "--model", m, "--seed", "3", "--yaw", "-15", "--keep", "gender", "--out", o,
        "--json",
    ]));
    let first = &written[0];
    let path = PathBuf::from(first["path"].as_str().unwrap());
    assert_eq!(path.file_name().unwrap(), "seed0003-yaw-15.png");
    assert!(path.exists());
    assert_eq!(first["labels"]["source"], "trainedAlgorithmicMedia");
    assert_eq!(first["labels"]["watermark"]["seed"], 3);

    // A strip of five frames along gender, as one row.
    let strip = json(&fauxto(&[
        "edit", "--model", m, "--seed", "4", "--strip", "gender", "--frames", "5", "--out", o,
        "--json",
    ]));
    let values: Vec<f64> = strip[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values, [-3.0, -1.5, 0.0, 1.5, 3.0]);
    let image = image::open(strip[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (5 * 64, 64));

    // The re-scoring matrix: each direction's own column normalised to 1.
    let evaluation = json(&fauxto(&[
        "directions",
        "--model",
        m,
        "--evaluate",
        "--eval-samples",
        "6",
        "--json",
    ]));
    let normalised = evaluation["normalised"].as_array().unwrap();
    assert_eq!(normalised.len(), 2);
    for (i, row) in normalised.iter().enumerate() {
        assert_eq!(row[i].as_f64().unwrap(), 1.0);
    }

    // Errors that say what went wrong.
    let err = |args: &[&str]| {
        let out = fauxto(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        err(&["edit", "--model", m, "--seed", "1", "--age", "5", "--out", o])
            .contains("no age direction")
    );
    assert!(
        err(&["edit", "--model", m, "--seed", "1", "--yaw", "5", "--keep", "yaw", "--out", o])
            .contains("cannot move and stay put")
    );
    assert!(err(&["edit", "--model", m, "--seed", "1", "--out", o]).contains("nothing to edit"));
    assert!(
        err(&["edit", "--model", m, "--seed", "1", "--beard", "1", "--out", o]).contains("--beard")
    );
}

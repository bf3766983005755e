//! `fauxto directions`, `fauxto edit` and `fauxto anonymize` end to end on a copy of the
//! bundled demo model: the directions file and card section, labelled edits, strips and
//! age progressions, the evaluation, look-alikes of a photo, and the errors a user meets.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{fauxto, ok, scratch};

fn demo_copy(dir: &Path) -> PathBuf {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fauxto-demo-utkface64.safetensors");
    let model = dir.join("demo.safetensors");
    std::fs::copy(demo, &model).unwrap();
    model
}

/// Runs a command line (arguments split at spaces; the paths here have none).
fn run(line: &str) -> Output {
    fauxto(&line.split_whitespace().collect::<Vec<_>>())
}

/// The JSON printed by a command line that must succeed.
fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&run(line))).expect("JSON on stdout")
}

/// The error message of a command line that must fail.
fn error(line: &str) -> String {
    let out = run(line);
    assert!(!out.status.success(), "`{line}` succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn directions_are_learnt_stored_evaluated_and_drive_labelled_edits() {
    let dir = scratch("edit", "flow");
    let model = demo_copy(&dir);
    let m = model.to_str().unwrap();
    let out_dir = dir.join("out");
    let o = out_dir.to_str().unwrap();

    // Before any directions exist, edit says how to make them.
    assert!(
        error(&format!("edit --model {m} --seed 1 --yaw 10 --out {o}"))
            .contains("fauxto directions --model")
    );

    let learnt = json(&format!(
        "directions --model {m} --n 300 --extremes 0.25 --calibration 8 \
         --attributes yaw,gender,age --json"
    ));
    let names: Vec<&str> = learnt["directions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["yaw", "gender", "age"]);
    assert!(dir.join("demo.directions.safetensors").exists());
    let card = std::fs::read_to_string(dir.join("demo.md")).unwrap();
    assert!(
        card.contains("## Attribute directions") && card.contains("| yaw |"),
        "{card}"
    );

    // One edit, labelled as a generated image with the seed in its watermark.
    let written = json(&format!(
        "edit --model {m} --seed 3 --yaw -15 --keep gender --out {o} --json"
    ));
    let first = &written[0];
    let path = PathBuf::from(first["path"].as_str().unwrap());
    assert_eq!(path.file_name().unwrap(), "seed0003-yaw-15.png");
    assert!(path.exists());
    assert_eq!(first["labels"]["source"], "trainedAlgorithmicMedia");
    assert_eq!(first["labels"]["watermark"]["seed"], 3);

    // A strip of five frames along gender, as one row.
    let strip = json(&format!(
        "edit --model {m} --seed 4 --strip gender --frames 5 --out {o} --json"
    ));
    assert_eq!(floats(&strip[0]["values"]), [-3.0, -1.5, 0.0, 1.5, 3.0]);
    let image = image::open(strip[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (5 * 64, 64));

    // Age progression: two target ages as a strip; the older target is judged older.
    let aged = json(&format!(
        "edit --model {m} --seed 5 --age-to 20,60 --out {o} --json"
    ));
    let judged = floats(&aged[0]["judged_ages"]);
    assert!(judged[1] > judged[0] + 10.0, "judged ages {judged:?}");
    let image = image::open(aged[0]["path"].as_str().unwrap()).unwrap();
    assert_eq!(image.width(), 2 * 64);

    // The re-scoring matrix: each direction's own column normalised to 1 (three
    // directions, and age with gender kept).
    let summary = dir.join("evaluation.md");
    let evaluation = json(&format!(
        "directions --model {m} --evaluate --eval-samples 6 --json --markdown {}",
        summary.display()
    ));
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("| age (gender kept) |"), "{markdown}");
    let normalised = evaluation["normalised"].as_array().unwrap();
    assert_eq!(normalised.len(), 4);
    for (i, row) in normalised.iter().take(3).enumerate() {
        assert_eq!(row[i].as_f64().unwrap(), 1.0);
    }
    assert_eq!(evaluation["age_progression"]["edits"], 12);

    // The anonymiser: look-alikes of a photo's attributes, none of them its identity.
    let photo = common::fixture_faces().join("30_1_0_20170103182254417.png");
    let anon = dir.join("anon");
    let report = json(&format!(
        "anonymize {} --model {m} --n 2 --pool 300 --age-tolerance 15 --yaw-tolerance 20 \
         --out {} --json",
        photo.display(),
        anon.display()
    ));
    let target = &report["target"];
    let looks = report["written"].as_array().unwrap();
    assert!(!looks.is_empty(), "no look-alike found: {report}");
    for w in looks {
        let l = &w["look_alike"];
        assert!(l["distance"].as_f64().unwrap() >= 0.6);
        assert_eq!(l["female"], target["female"]);
        assert_eq!(l["expression"], target["expression"]);
        let age_gap = l["age"].as_f64().unwrap() - target["age"].as_f64().unwrap();
        assert!(age_gap.abs() <= 15.0);
        assert_eq!(w["labels"]["source"], "trainedAlgorithmicMedia");
        assert!(PathBuf::from(w["path"].as_str().unwrap()).exists());
    }

    // Errors that say what went wrong.
    assert!(
        error(&format!("edit --model {m} --seed 1 --pitch 5 --out {o}"))
            .contains("no pitch direction")
    );
    assert!(error(&format!(
        "edit --model {m} --seed 1 --yaw 5 --keep yaw --out {o}"
    ))
    .contains("cannot move and stay put"));
    assert!(error(&format!("edit --model {m} --seed 1 --out {o}")).contains("nothing to edit"));
    assert!(error(&format!("edit --model {m} --seed 1 --age-to 300 --out {o}")).contains("0–120"));
    assert!(error(&format!("edit --model {m} --seed 1 --beard 1 --out {o}")).contains("--beard"));
    assert!(error(&format!("anonymize missing.png --model {m} --out {o}")).contains("missing.png"));
}

#[test]
fn a_projected_photo_matches_its_face_and_its_edits_say_whose_face_it_is() {
    let dir = scratch("edit", "project");
    let model = demo_copy(&dir);
    let m = model.to_str().unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/fauxto-demo-utkface64.directions.safetensors"),
        dir.join("demo.directions.safetensors"),
    )
    .unwrap();
    let photo = common::fixture_faces().join("30_1_0_20170103182254417.png");
    let p = photo.to_str().unwrap();
    let project = |steps: usize, out: &str| {
        let out = dir.join(out);
        let report = json(&format!(
            "project {p} --model {m} --steps {steps} --out {} --json",
            out.display()
        ));
        report[0].clone()
    };
    // One step barely leaves the mean face: the search must do far better than that.
    let start = project(1, "start");
    let found = project(60, "found");
    let psnr = |r: &serde_json::Value| r["fidelity"]["psnr"].as_f64().unwrap();
    let distance = |r: &serde_json::Value| r["fidelity"]["descriptor_distance"].as_f64().unwrap();
    assert!(
        psnr(&found) > psnr(&start) + 3.0 && psnr(&found) > 18.0,
        "PSNR {} after 60 steps, {} after 1",
        psnr(&found),
        psnr(&start)
    );
    assert!(distance(&found) < distance(&start), "{found}");
    assert_eq!(found["plus"], true);
    // Age and gender are not in the loss: the judges still see the photo's person. The age
    // judge reads this photo (labelled 30) as 41.6 and the projection as 25.8–26.7 depending
    // on the convolution kernels (burn's own give 26.0): the projection is held to the
    // photo's label, and to the judge's reading of the photo within 20 years.
    let ages = floats(&found["fidelity"]["age"]);
    assert!((ages[1] - 30.0).abs() < 10.0, "ages {ages:?}");
    assert!((ages[0] - ages[1]).abs() < 20.0, "ages {ages:?}");
    let female = floats(&found["fidelity"]["female"]);
    assert_eq!(female[0] > 0.5, female[1] > 0.5, "P(female) {female:?}");

    // The rendering is labelled as a real person's photo, named by its hash.
    let projected = found["projected"].as_str().unwrap();
    assert_eq!(
        found["labels"]["source"],
        "compositeWithTrainedAlgorithmicMedia"
    );
    let verified = json(&format!("verify {projected} --json"));
    let credential = &verified["credential"];
    let photo_sha = credential["generation"]["photo"]["sha256"]
        .as_str()
        .unwrap();
    assert_eq!(photo_sha.len(), 64);
    assert_eq!(
        credential["inputs"][0]["instance_id"],
        format!("sha256:{photo_sha}")
    );
    // By hash only: a file name often names the person.
    assert!(credential["generation"]["photo"].get("name").is_none());
    assert!(
        !credential.to_string().contains("30_1_0_2017"),
        "{credential}"
    );
    // The watermark alone says so too.
    assert_eq!(verified["watermark_payload"]["composite"], true);
    assert_eq!(verified["watermark_payload"]["seed"], u32::MAX);
    assert!(ok(&run(&format!("verify {projected}"))).contains("a real person's photo"));

    // Edits of the latent carry the same label.
    let latent = found["latent"].as_str().unwrap();
    let out = dir.join("edits");
    let edited = json(&format!(
        "edit --model {m} --latent {latent} --yaw 15 --out {} --json",
        out.display()
    ));
    assert_eq!(
        edited[0]["labels"]["source"],
        "compositeWithTrainedAlgorithmicMedia"
    );
    let edited_path = edited[0]["path"].as_str().unwrap();
    let verified = json(&format!("verify {edited_path} --json"));
    assert_eq!(
        verified["credential"]["inputs"][0]["instance_id"],
        format!("sha256:{photo_sha}")
    );
    let strip = json(&format!(
        "edit --model {m} --latent {latent} --strip yaw --frames 3 --out {} --json",
        out.display()
    ));
    let strip_path = PathBuf::from(strip[0]["path"].as_str().unwrap());
    let (w, h) = image::image_dimensions(&strip_path).unwrap();
    assert_eq!((w, h), (3 * 64, 64));

    // A latent belongs to its model; seeds and a latent do not mix.
    let other = dir.join("other.safetensors");
    ok(&run(&format!(
        "init-model --preset small --res 64 --out {}",
        other.display()
    )));
    assert!(error(&format!(
        "edit --model {} --latent {latent} --yaw 5 --out {}",
        other.display(),
        out.display()
    ))
    .contains("another model"));
    assert!(error(&format!(
        "edit --model {m} --latent {latent} --seed 3 --yaw 5 --out {}",
        out.display()
    ))
    .contains("cannot be used with"));
    assert!(error(&format!(
        "project missing.png --model {m} --out {}",
        out.display()
    ))
    .contains("missing.png"));
}

//! `kill -9` at any moment of `dataset` and `index` leaves the old state or the new, never a
//! torn one, and the next run finishes the work (`train` is covered in `train_cli.rs`).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{fauxto, ok, scratch, utkface};

/// Starts `args` and SIGKILLs it after `after`.
fn kill_after(args: &[&str], after: Duration) {
    let mut child = common::command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill();
    child.wait().unwrap();
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn dataset_killed_at_any_moment_leaves_nothing_or_all() {
    let dir = scratch("crash", "dataset");
    let zip = utkface();
    let zip = zip.to_str().unwrap();
    let reference = dir.join("reference");
    ok(&fauxto(&[
        "dataset",
        zip,
        "--out",
        reference.to_str().unwrap(),
        "--res",
        "32",
    ]));
    let manifest = std::fs::read_to_string(reference.join("manifest.json")).unwrap();
    let out = dir.join("data");
    for ms in [5, 40, 120, 300, 600] {
        let _ = std::fs::remove_dir_all(&out);
        kill_after(
            &[
                "dataset",
                zip,
                "--out",
                out.to_str().unwrap(),
                "--res",
                "32",
            ],
            Duration::from_millis(ms),
        );
        if out.exists() {
            // Whole: it opens and holds every image.
            let again = std::fs::read_to_string(out.join("manifest.json")).unwrap();
            let count =
                |m: &str| serde_json::from_str::<serde_json::Value>(m).unwrap()["count"].clone();
            assert_eq!(count(&again), count(&manifest), "killed after {ms} ms");
        }
        // The next run finishes (or finds it done), and no partial directory is left behind.
        let _ = fauxto(&[
            "dataset",
            zip,
            "--out",
            out.to_str().unwrap(),
            "--res",
            "32",
            "--force",
        ]);
        assert!(out.join("manifest.json").exists(), "after {ms} ms");
        let stray: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
            .collect();
        assert!(stray.is_empty(), "partial directories left: {stray:?}");
    }
}

#[test]
fn index_killed_at_any_moment_resumes_to_the_same_bytes() {
    let dir = scratch("crash", "index");
    let images = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fauxto-face/tests/fixtures/images");
    let data = dir.join("faces");
    ok(&fauxto(&[
        "dataset",
        images.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
        "--res",
        "64",
    ]));
    let reference = dir.join("reference");
    std::fs::create_dir_all(&reference).unwrap();
    for (name, bytes) in files_of(&data) {
        std::fs::write(reference.join(name), bytes).unwrap();
    }
    ok(&fauxto(&[
        "index",
        reference.to_str().unwrap(),
        "--chunk",
        "4",
        "--json",
    ]));
    let want = files_of(&reference);
    for ms in [50, 400, 1200, 2500] {
        for f in ["faces.json", "faces.f32"] {
            let _ = std::fs::remove_file(data.join(f));
        }
        kill_after(
            &["index", data.to_str().unwrap(), "--chunk", "4"],
            Duration::from_millis(ms),
        );
        ok(&fauxto(&[
            "index",
            data.to_str().unwrap(),
            "--chunk",
            "4",
            "--json",
        ]));
        assert_eq!(files_of(&data), want, "killed after {ms} ms");
    }
}

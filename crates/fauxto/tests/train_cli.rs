//! `fauxto dataset` and `fauxto train` end to end: a packed dataset from the UTKFace zip
//! (with a corrupt file, an escaping path and a duplicate in the mix), a tiny training
//! run with its outputs, bad input, and a run killed with SIGKILL and resumed that ends
//! bit for bit where the uninterrupted run ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fauxto_nn::model_file::parse_safetensors;

mod common;
use common::{fauxto, ok, scratch, utkface};

fn fails(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked"),
        "panic instead of an error: {err}"
    );
    err
}

/// 24 real faces plus a truncated JPEG, a text file named .png, an entry escaping the
/// archive, an absolute entry, a duplicate, and the labels.
fn mixed_zip(dir: &Path) -> PathBuf {
    let mut src = zip::ZipArchive::new(std::fs::File::open(utkface()).unwrap()).unwrap();
    let path = dir.join("mixed.zip");
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut names: Vec<String> = src
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    names.sort();
    names.truncate(24);
    let mut first = Vec::new();
    for name in &names {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut src.by_name(name).unwrap(), &mut bytes).unwrap();
        if first.is_empty() {
            first = bytes.clone();
        }
        out.start_file(format!("faces/{name}"), opts).unwrap();
        out.write_all(&bytes).unwrap();
    }
    let mut labels = String::new();
    std::io::Read::read_to_string(&mut src.by_name("labels.csv").unwrap(), &mut labels).unwrap();
    out.start_file("labels.csv", opts).unwrap();
    out.write_all(labels.as_bytes()).unwrap();
    out.start_file("faces/zz_truncated.jpg", opts).unwrap();
    out.write_all(&first[..first.len() / 3]).unwrap();
    out.start_file("faces/zz_text.png", opts).unwrap();
    out.write_all(b"not an image").unwrap();
    out.start_file("../evil.png", opts).unwrap();
    out.write_all(&first).unwrap();
    out.start_file("/abs.png", opts).unwrap();
    out.write_all(&first).unwrap();
    out.start_file("faces/zz_copy.jpg", opts).unwrap();
    out.write_all(&first).unwrap();
    out.finish().unwrap();
    path
}

/// The packed 16x16 dataset shared by the tests.
fn dataset() -> &'static Path {
    static DATA: OnceLock<PathBuf> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = scratch("train-cli", "data");
        let zip = mixed_zip(&dir);
        let data = dir.join("d16");
        let out = fauxto(&[
            "dataset",
            zip.to_str().unwrap(),
            "--out",
            data.to_str().unwrap(),
            "--res",
            "16",
            "--labels",
            "labels.csv",
            "--filter",
            "box",
            "--license",
            "research only",
            "--json",
        ]);
        let report: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(report["images"], 24, "{report}");
        let skipped: Vec<String> = report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        for bad in [
            "faces/zz_truncated.jpg",
            "faces/zz_text.png",
            "../evil.png",
            "/abs.png",
        ] {
            assert!(
                skipped.iter().any(|s| s == bad),
                "{bad} not reported: {skipped:?}"
            );
        }
        assert_eq!(report["duplicates"][0]["name"], "faces/zz_copy.jpg");
        assert!(!dir.join("../evil.png").exists());
        data
    })
}

fn train_args<'a>(data: &'a str, out: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--out",
        out,
        "--batch",
        "4",
        "--channel-base",
        "128",
        "--channel-max",
        "32",
        "--max-steps",
        steps,
        "--tick",
        "0.004",
        "--snap",
        "3",
        "--seed",
        "3",
    ]
}

fn checkpoint(run: &Path) -> (fauxto_nn::StateDict, serde_json::Value) {
    let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    let (sd, meta) = parse_safetensors(&bytes).unwrap();
    (sd, serde_json::from_str(&meta["state"]).unwrap())
}

#[test]
fn train_writes_run_outputs_and_refuses_bad_input() {
    let data = dataset().to_str().unwrap().to_string();
    let run = scratch("train-cli", "run");
    let run_s = run.to_str().unwrap();
    ok(&fauxto(&train_args(&data, run_s, "5")));
    for f in [
        "checkpoint.safetensors",
        "model.safetensors",
        "model.md",
        "samples/reals.png",
        "samples/fakes000000.png",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 5, "one line per tick");
    for line in metrics.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["loss_g"].as_f64().unwrap().is_finite() && v["loss_d"].as_f64().unwrap().is_finite()
        );
    }
    let card = std::fs::read_to_string(run.join("model.md")).unwrap();
    assert!(card.contains("research only"), "{card}");
    let info = ok(&fauxto(&[
        "info",
        run.join("model.safetensors").to_str().unwrap(),
        "--json",
    ]));
    assert!(info.contains("\"origin\": \"trained\""), "{info}");
    // Training into an existing run, resuming nothing, a missing dataset.
    let err = fails(&fauxto(&train_args(&data, run_s, "5")));
    assert!(err.contains("--resume"), "{err}");
    let empty = scratch("train-cli", "empty-run");
    let err = fails(&fauxto(&[
        "train",
        "--resume",
        empty.to_str().unwrap(),
        "--data",
        &data,
    ]));
    assert!(err.contains("no checkpoint"), "{err}");
    let err = fails(&fauxto(&train_args(
        "/no/such/data",
        scratch("train-cli", "x").to_str().unwrap(),
        "5",
    )));
    assert!(err.contains("cannot open dataset"), "{err}");
}

#[test]
fn killed_run_resumes_bit_for_bit() {
    let data = dataset().to_str().unwrap().to_string();
    let steps = "40";
    let straight = scratch("train-cli", "straight");
    ok(&fauxto(&train_args(
        &data,
        straight.to_str().unwrap(),
        steps,
    )));

    let killed = scratch("train-cli", "killed");
    let mut child = common::command(&train_args(&data, killed.to_str().unwrap(), steps))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let metrics = killed.join("metrics.jsonl");
    let start = Instant::now();
    while std::fs::read_to_string(&metrics).map_or(0, |m| m.lines().count()) < 2 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (_, state) = checkpoint(&killed);
    assert!(
        state["step"].as_u64().unwrap() < 40,
        "the run finished before it could be killed"
    );
    ok(&fauxto(&[
        "train",
        "--resume",
        killed.to_str().unwrap(),
        "--max-steps",
        steps,
    ]));

    let (a, state_a) = checkpoint(&straight);
    let (b, state_b) = checkpoint(&killed);
    assert_eq!(state_a, state_b);
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, t) in &a.tensors {
        let u = &b.tensors[name];
        let same = t
            .data
            .iter()
            .zip(&u.data)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs after kill -9 and resume");
    }
}

#[test]
fn resume_extends_the_run_and_refuses_to_change_its_training() {
    let data = dataset().to_str().unwrap().to_string();
    let run = scratch("train-cli", "resume-options");
    let run_s = run.to_str().unwrap();
    ok(&fauxto(&train_args(&data, run_s, "2")));
    let resume = |extra: &[&str]| {
        let mut args = vec!["train", "--resume", run_s];
        args.extend_from_slice(extra);
        fauxto(&args)
    };
    // Everything that shapes the training is fixed by the checkpoint: a different value is
    // refused, naming the option and the run's own value; the same value is fine.
    for (flag, value, stored) in [
        ("--batch", "8", "4"),
        ("--lr", "0.01", "0.0025"),
        ("--aug", "noaug", "Ada"),
        ("--seed", "4", "3"),
        ("--channel-base", "256", "128"),
    ] {
        let err = fails(&resume(&[flag, value, "--max-steps", "3"]));
        assert!(
            err.contains(flag) && err.contains("cannot change") && err.contains(stored),
            "{flag}: {err}"
        );
    }
    let (_, state) = checkpoint(&run);
    assert_eq!(state["step"], 2, "a refused resume trains nothing");
    ok(&resume(&[
        "--batch",
        "4",
        "--seed",
        "3",
        "--max-steps",
        "3",
    ]));
    // --kimg is applied and stored: the run is extended (here shortened to end at once).
    let meta = |run: &Path| {
        let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
        let (_, meta) = parse_safetensors(&bytes).unwrap();
        serde_json::from_str::<serde_json::Value>(&meta["options"]).unwrap()
    };
    assert_eq!(meta(&run)["kimg"], 25_000.0);
    ok(&resume(&["--kimg", "0.02", "--max-steps", "4"]));
    assert_eq!(meta(&run)["kimg"], 0.02);
    // Stored options are validated like new ones: a damaged checkpoint is a clear error.
    let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut options = meta(&run);
    options["batch"] = 1.into();
    header["__metadata__"]["options"] = options.to_string().into();
    let header = serde_json::to_vec(&header).unwrap();
    let mut patched = (header.len() as u64).to_le_bytes().to_vec();
    patched.extend_from_slice(&header);
    patched.extend_from_slice(&bytes[8 + n..]);
    let damaged = scratch("train-cli", "damaged");
    std::fs::copy(run.join("dataset.txt"), damaged.join("dataset.txt")).unwrap();
    std::fs::write(damaged.join("checkpoint.safetensors"), patched).unwrap();
    let err = fails(&fauxto(&["train", "--resume", damaged.to_str().unwrap()]));
    assert!(err.contains("batch 1 is too small"), "{err}");
}

#[test]
fn a_dataset_of_four_channels_is_a_clear_error() {
    let src = dataset();
    let dir = scratch("train-cli", "four-channels");
    let data = dir.join("d");
    std::fs::create_dir_all(&data).unwrap();
    for f in ["dataset.json", "manifest.json", "images.u8"] {
        std::fs::copy(src.join(f), data.join(f)).unwrap();
    }
    let header = std::fs::read_to_string(data.join("dataset.json")).unwrap();
    let mut header: serde_json::Value = serde_json::from_str(&header).unwrap();
    header["channels"] = 4.into();
    std::fs::write(data.join("dataset.json"), header.to_string()).unwrap();
    let count = header["count"].as_u64().unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(data.join("images.u8"))
        .unwrap();
    f.set_len(count * 16 * 16 * 4).unwrap();
    let d = data.to_str().unwrap();
    let err = fails(&fauxto(&train_args(
        d,
        dir.join("run").to_str().unwrap(),
        "1",
    )));
    assert!(err.contains("4 channels"), "{err}");
    let err = fails(&fauxto(&["index", d]));
    assert!(err.contains("4 channels"), "{err}");
}

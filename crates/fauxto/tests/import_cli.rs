//! `fauxto import` end to end: official-format pickles and state dicts (fixtures of
//! fauxto-interop) into model files that `generate` uses; hostile files refused by name.

mod common;

use std::path::PathBuf;

use common::{fauxto, ok, scratch};

fn interop_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fauxto-interop/tests/fixtures")
        .join(name)
}

#[test]
fn imported_pickle_generates_images_and_says_where_it_came_from() {
    let dir = scratch("import", "pickle");
    let model = dir.join("cond.safetensors");
    let out = ok(&fauxto(&[
        "import",
        interop_fixture("cond.pkl").to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]));
    assert!(out.contains("16x16") && out.contains("4 classes"), "{out}");
    assert!(out.contains("with discriminator"), "{out}");

    let info: serde_json::Value =
        serde_json::from_str(&ok(&fauxto(&["info", model.to_str().unwrap(), "--json"]))).unwrap();
    let m = &info["model"];
    assert_eq!(m["provenance"]["origin"], "imported");
    let source = m["provenance"]["source"].as_str().unwrap();
    assert!(source.starts_with("cond.pkl (pickle, SHA-256 "), "{source}");
    assert_eq!(m["generator"]["c_dim"], 4);
    assert_eq!(m["discriminator"]["c_dim"], 4);
    let card = std::fs::read_to_string(dir.join("cond.md")).unwrap();
    assert!(card.contains("imported from cond.pkl"), "{card}");
    assert!(card.contains("Not recorded"), "{card}");

    let images = dir.join("images");
    ok(&fauxto(&[
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--seeds",
        "0-1",
        "--class",
        "2",
        "--out",
        images.to_str().unwrap(),
    ]));
    let pngs: Vec<_> = std::fs::read_dir(&images)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .collect();
    assert_eq!(pngs.len(), 2);
    let img = image::open(pngs[0].path()).unwrap();
    assert_eq!((img.width(), img.height()), (16, 16));
}

#[test]
fn generator_only_import_of_a_state_dict() {
    let dir = scratch("import", "state-dict");
    let model = dir.join("g.safetensors");
    let out = ok(&fauxto(&[
        "import",
        interop_fixture("fp16_G_ema.pt").to_str().unwrap(),
        "--conv-clamp",
        "256",
        "--out",
        model.to_str().unwrap(),
    ]));
    assert!(out.contains("state dict") && out.contains("32x32"), "{out}");
    assert!(out.contains("reduced precision"), "{out}");
    assert!(!out.contains("with discriminator"), "{out}");
}

#[test]
fn hostile_and_broken_files_are_one_line_errors() {
    let dir = scratch("import", "hostile");
    for (file, needle) in [
        ("malformed/os_system.pkl", "posix.system"),
        ("malformed/builtins_eval.pkl", "builtins.eval"),
        ("malformed/truncated.pkl", "malformed pickle"),
        ("malformed/no_networks.pkl", "not a network pickle"),
    ] {
        let out = fauxto(&[
            "import",
            interop_fixture(file).to_str().unwrap(),
            "--out",
            dir.join("x.safetensors").to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
        assert!(err.contains(needle), "{file}: expected {needle:?} in {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{file}: one line: {err}");
        assert!(
            !dir.join("x.safetensors").exists(),
            "{file}: nothing written"
        );
    }
}

//! Helpers shared by the end-to-end tests of the `fauxto` binary.
#![allow(dead_code)]

pub mod http;
pub mod services;
pub mod studio;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory that stands in for the user's home, config and data directories in this
/// test process: nothing a test runs ever reads or writes the real ones.
pub fn own_home() -> PathBuf {
    std::env::temp_dir().join(format!("fauxto-test-home-{}", std::process::id()))
}

/// The binary under test, with `args`, its signing keys, its registry of face indexes and
/// its home directory in [`own_home`] (never the user's own), and no `FAUXTO_*` setting
/// inherited from the environment.
pub fn command(args: &[&str]) -> Command {
    let home = own_home();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauxto"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FAUXTO_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("FAUXTO_KEYS", home.join("keys"))
        .env("FAUXTO_INDEXES", home.join("face-indexes.json"));
    cmd
}

/// Runs the binary under test (see [`command`]).
pub fn fauxto(args: &[&str]) -> Output {
    command(args).output().expect("fauxto runs")
}

/// Standard output of a run that must succeed.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "fauxto failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh directory `<tmp>/fauxto-<group>-<pid>/<name>`.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("fauxto-{group}-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The 128 UTKFace faces committed with the project (`testdata/`), with their labels.
pub fn utkface() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/utkface-sample.zip")
}

/// The 24 face photos of the face-analysis fixtures.
pub fn fixture_faces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fauxto-face/tests/fixtures/images")
}

/// Packs the fixture faces as a 64x64 dataset in `dir` (UTKFace's licence recorded) and
/// indexes it.
pub fn pack_and_index_fixture_faces(dir: &Path) {
    ok(&fauxto(&[
        "dataset",
        fixture_faces().to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--res",
        "64",
        "--license",
        "UTKFace: non-commercial research use only",
    ]));
    ok(&fauxto(&["index", dir.to_str().unwrap(), "--json"]));
}

//! Helpers shared by the end-to-end tests of the `fauxto` binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the binary under test, with its signing keys and its registry of face indexes
/// in a directory of this test process (never the user's own).
pub fn fauxto(args: &[&str]) -> Output {
    let own = std::env::temp_dir().join(format!("fauxto-test-keys-{}", std::process::id()));
    Command::new(env!("CARGO_BIN_EXE_fauxto"))
        .args(args)
        .env("FAUXTO_KEYS", &own)
        .env("FAUXTO_INDEXES", own.join("face-indexes.json"))
        .output()
        .expect("fauxto runs")
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

/// The shared UTKFace zip beside the project.
pub fn utkface() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/utkface-128.zip")
}

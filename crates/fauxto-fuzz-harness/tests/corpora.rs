//! Replays every committed fuzzing input — the minimised corpora (`fuzz/corpora/TARGET/`)
//! and the cases that once crashed (`fuzz/regressions/TARGET/`) — through the code each fuzz
//! target runs. No fuzzing here: the inputs are fixed.

use std::path::{Path, PathBuf};

use fauxto_fuzz_harness::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_fuzz_input_runs_without_panicking() {
    let mut total = 0;
    for (target, run) in TARGETS {
        let mut count = 0;
        for kind in ["corpora", "regressions"] {
            for file in inputs(&fuzz_dir().join(kind).join(target)) {
                let data = std::fs::read(&file).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target}: {} panics", file.display());
                count += 1;
            }
        }
        eprintln!("{target}: {count} inputs");
        assert!(
            count > 0,
            "{target}: no committed inputs in fuzz/corpora or fuzz/regressions"
        );
        total += count;
    }
    eprintln!("{total} inputs replayed");
}

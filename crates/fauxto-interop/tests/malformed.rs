//! Hostile and broken inputs: each is a clear error, never a panic, never code execution,
//! and memory stays bounded by the input (declared sizes are checked before allocating).

mod common;

use common::*;
use fauxto_interop::{import, ImportError, ImportOptions};

fn import_bytes(bytes: &[u8]) -> Result<fauxto_interop::Imported, ImportError> {
    import(
        bytes,
        &ImportOptions {
            discriminator: true,
            ..Default::default()
        },
    )
}

fn err(name: &str) -> ImportError {
    match import_bytes(&fixture_bytes(&format!("malformed/{name}"))) {
        Ok(_) => panic!("{name}: imported without error"),
        Err(e) => e,
    }
}

#[test]
fn code_execution_attempts_are_refused_by_name() {
    for (file, module, name) in [
        ("os_system.pkl", "os", "system"),
        ("builtins_eval.pkl", "builtins", "eval"),
        ("subprocess.pkl", "subprocess", "Popen"),
    ] {
        match err(file) {
            ImportError::RefusedGlobal {
                module: m, name: n, ..
            } => {
                assert!(
                    m == module || (module == "os" && m == "posix"),
                    "{file}: {m}"
                );
                assert_eq!(n, name, "{file}");
                let text = ImportError::RefusedGlobal {
                    module: m.clone(),
                    name: n.clone(),
                    offset: 0,
                }
                .to_string();
                assert!(
                    text.contains(&format!("{m}.{n}")),
                    "{file}: message names it: {text}"
                );
            }
            other => panic!("{file}: expected a refusal, got {other}"),
        }
    }
}

#[test]
fn broken_streams_are_malformed_pickle_errors() {
    for file in [
        "huge_binbytes.pkl",
        "huge_binunicode.pkl",
        "stack_underflow_setitems.pkl",
        "wrong_protocol.pkl",
        "empty.pkl",
        "not_a_pickle.pkl",
        "truncated.pkl",
        "memo_bad_get.pkl",
        "stack_underflow.pkl",
    ] {
        match err(file) {
            ImportError::Malformed { .. } => {}
            other => panic!("{file}: expected a malformed-pickle error, got {other}"),
        }
    }
}

#[test]
fn well_formed_but_wrong_content_is_a_format_error() {
    for (file, needle) in [
        ("huge_storage.pkl", "storage"),
        ("out_of_bounds_view.pkl", "view reaches"),
        ("self_list.pkl", "not a network pickle"),
        ("self_dict.pkl", "not a network pickle"),
        ("no_networks.pkl", "not a network pickle"),
        ("zip_huge_entry.pt", "declares"),
    ] {
        let e = err(file);
        let text = e.to_string();
        assert!(
            matches!(e, ImportError::Format(_)) && text.contains(needle),
            "{file}: expected a format error mentioning {needle:?}, got {text}"
        );
    }
}

#[test]
fn deep_nesting_is_read_without_recursion() {
    // 200 000 nested containers: the reader is iterative, so this is an ordinary error
    // (no networks) or a malformed stream, not a stack overflow.
    let e = err("deep_nesting.pkl");
    assert!(
        matches!(e, ImportError::Format(_) | ImportError::Malformed { .. }),
        "{e}"
    );
}

#[test]
fn every_truncation_of_a_real_pickle_is_an_error() {
    let bytes = fixture_bytes("cond.pkl");
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(bytes.len() / 400 + 1).collect();
    cuts.extend(0..200.min(bytes.len()));
    cuts.extend(bytes.len() - 200.min(bytes.len())..bytes.len());
    for cut in cuts {
        assert!(
            import_bytes(&bytes[..cut]).is_err(),
            "cut at {cut} imported"
        );
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Deterministic corruption (xorshift): single bytes, short runs and length fields of a
    // real pickle. Any outcome but a panic is acceptable.
    let bytes = fixture_bytes("cond.pkl");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..600 {
        let mut b = bytes.clone();
        let flips = 1 + (next() % 4) as usize;
        for _ in 0..flips {
            let at = (next() % b.len() as u64) as usize;
            b[at] = next() as u8;
        }
        let _ = import_bytes(&b);
    }
}

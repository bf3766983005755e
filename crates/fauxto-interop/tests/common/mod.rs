//! Fixture access for the import tests (`tools/make_pickle_fixtures.py` writes them).
#![allow(dead_code)]

use std::path::PathBuf;

use fauxto_nn::model_file::parse_safetensors;
use fauxto_nn::state::StateDict;

pub type B = burn::backend::Flex;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// `reference.safetensors`: tensors (float32) and the `config` metadata.
pub fn reference() -> (StateDict, serde_json::Value) {
    let bytes = fixture_bytes("reference.safetensors");
    let (state, meta) = parse_safetensors(&bytes).expect("reference parses");
    let config = serde_json::from_str(meta.get("config").expect("config metadata")).unwrap();
    (state, config)
}

/// The seeds of the reference images, read exactly (int64).
pub fn seeds() -> Vec<u32> {
    let bytes = fixture_bytes("reference.safetensors");
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    raw.tensor("seeds")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32)
        .collect()
}

/// Largest absolute difference divided by the largest absolute reference value.
pub fn relative_error(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "element count");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs() as f64));
    let err = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (a, b)| m.max((*a as f64 - *b as f64).abs()));
    err / scale.max(1e-30)
}

/// `prefix.*` tensors of the reference with the prefix stripped.
pub fn reference_network(reference: &StateDict, prefix: &str) -> StateDict {
    reference.sub(prefix)
}

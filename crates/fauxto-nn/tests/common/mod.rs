//! Shared helpers of the golden tests: fixture loading and tolerance checks.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::Tensor;
use fauxto_nn::model_file::parse_safetensors;
use fauxto_nn::state::{HostTensor, StateDict};

/// The backend under test: the CPU backend, or the CUDA backend with `--features cuda`.
#[cfg(not(feature = "cuda-tests"))]
pub type B = burn::backend::Flex;
#[cfg(feature = "cuda-tests")]
pub type B = burn::backend::Cuda;

pub fn device() -> burn::tensor::Device<B> {
    Default::default()
}

/// A fixture file; `FAUXTO_FIXTURES` overrides the folder (for test binaries run elsewhere).
pub fn fixture_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("FAUXTO_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    dir.join(name)
}

/// A fixture's tensors and its `config` metadata (JSON).
pub fn fixture(name: &str) -> (StateDict, serde_json::Value) {
    let bytes = std::fs::read(fixture_path(name)).expect("fixture present");
    let (state, meta) = parse_safetensors(&bytes).expect("fixture parses");
    let config = meta
        .get("config")
        .map(|c| serde_json::from_str(c).expect("config is JSON"))
        .unwrap_or(serde_json::Value::Null);
    (state, config)
}

pub fn input<const D: usize>(sd: &StateDict, name: &str) -> Tensor<B, D> {
    sd.get(name)
        .unwrap_or_else(|| panic!("fixture lacks {name}"))
        .to_tensor(&device())
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

/// Asserts that `got` matches the fixture tensor `name` in shape and within `tol`.
pub fn assert_matches<const D: usize>(sd: &StateDict, name: &str, got: Tensor<B, D>, tol: f64) {
    let want = sd
        .get(name)
        .unwrap_or_else(|| panic!("fixture lacks {name}"));
    let got = HostTensor::from_tensor(&got);
    assert_eq!(got.shape, want.shape, "{name}: shape");
    let err = relative_error(&got.data, &want.data);
    assert!(err <= tol, "{name}: relative error {err:.3e} > {tol:.0e}");
    // A reference of all zeros would make the check vacuous.
    assert!(
        want.data.iter().any(|v| *v != 0.0),
        "{name}: reference is all zeros"
    );
}

/// Tolerance of the golden tests: float32 against a float64 reference.
#[cfg(not(feature = "cuda-tests"))]
pub const TOL: f64 = 1e-4;
/// On CUDA, burn's matrix-multiply and convolution kernels run float32 inputs through
/// TF32 tensor cores (10-bit mantissa), as PyTorch does for convolutions by default, so
/// results carry relative errors around 1e-3 (measured on an H100: up to 1.25e-3).
#[cfg(feature = "cuda-tests")]
pub const TOL: f64 = 5e-3;

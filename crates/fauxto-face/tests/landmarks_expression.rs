//! The landmark and expression networks against face-api on tfjs-wasm: the same 112×112
//! faces in, the same 136 landmark coordinates and 7 expression logits out.

mod common;

use common::*;
use fauxto_face::{DenseFeatureNet, WeightMap};

fn run(manifest: &str, input: &str, output: &str, tol: f32) {
    let map = WeightMap::load(&assets(), manifest).unwrap();
    assert_eq!(map.tensors.len(), 49);
    let net = DenseFeatureNet::<B>::load(&map, &Default::default()).unwrap();
    let bytes = tensors_file();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for i in 0..4 {
        let got: Vec<f32> = net
            .forward(nchw_input(&raw, &format!("{input}.{i}")))
            .into_data()
            .to_vec()
            .unwrap();
        let (_, want) = fixture_tensor(&raw, &format!("{output}.{i}"));
        let err = max_abs_diff(&got, &want);
        eprintln!("{manifest} face {i}: max |difference| {err:e}");
        assert!(err < tol, "face {i}: {err}");
    }
}

#[test]
fn landmarks_match_face_api() {
    // Relative coordinates: 1e-4 of a 112-pixel crop is about 0.01 px.
    run(
        "face_landmark_68_model-weights_manifest.json",
        "landmarks.in",
        "landmarks.out",
        1e-4,
    );
}

#[test]
fn expression_logits_match_face_api() {
    // face-api feeds the expression network the age/gender crop (stored once).
    run(
        "face_expression_model-weights_manifest.json",
        "age_gender.in",
        "expression.out.logits",
        1e-3,
    );
}

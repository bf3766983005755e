//! Age and gender against face-api on tfjs-wasm: the same 112×112 faces in, the same age
//! (years) and gender logits and probabilities out.

mod common;

use common::*;
use fauxto_face::{AgeGenderNet, WeightMap};

#[test]
fn age_and_gender_match_face_api() {
    let map = WeightMap::load(&assets(), "age_gender_model-weights_manifest.json").unwrap();
    assert_eq!(map.tensors.len(), 51);
    let net = AgeGenderNet::<B>::load(&map, &Default::default()).unwrap();
    let bytes = tensors_file();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for i in 0..4 {
        let out = net.forward(nchw_input(&raw, &format!("age_gender.in.{i}")));
        let age: Vec<f32> = out.age.into_data().to_vec().unwrap();
        let logits: Vec<f32> = out.gender_logits.into_data().to_vec().unwrap();
        let probs: Vec<f32> = out.gender_probs.into_data().to_vec().unwrap();
        let (_, want_age) = fixture_tensor(&raw, &format!("age_gender.out.age.{i}"));
        let (_, want_logits) = fixture_tensor(&raw, &format!("age_gender.out.gender_logits.{i}"));
        let (_, want_probs) = fixture_tensor(&raw, &format!("age_gender.out.gender_probs.{i}"));
        eprintln!(
            "face {i}: age {:.3} vs {:.3}, p(male) {:.5} vs {:.5}",
            age[0], want_age[0], probs[0], want_probs[0]
        );
        assert!((age[0] - want_age[0]).abs() < 0.1, "face {i}: age");
        assert!(
            max_abs_diff(&logits, &want_logits) < 1e-3,
            "face {i}: logits"
        );
        assert!(
            max_abs_diff(&probs, &want_probs) < 1e-3,
            "face {i}: probabilities"
        );
    }
}

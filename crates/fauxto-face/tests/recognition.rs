//! The descriptor network against face-api on tfjs-wasm (`tools/face/make_face_fixtures.mjs`):
//! the same preprocessed 150×150 faces in, the same 128-D descriptors out.

mod common;

use common::*;
use fauxto_face::{RecognitionNet, WeightMap};

#[test]
fn descriptors_match_face_api() {
    let map = WeightMap::load(&assets(), "face_recognition_model-weights_manifest.json").unwrap();
    assert_eq!(map.tensors.len(), 117);
    let net = RecognitionNet::<B>::load(&map, &Default::default()).unwrap();
    let bytes = tensors_file();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for i in 0..4 {
        let x = nchw_input(&raw, &format!("recognition.in.{i}"));
        assert_eq!(x.dims(), [1, 3, 150, 150]);
        let got: Vec<f32> = net.forward(x).into_data().to_vec().unwrap();
        let (_, want) = fixture_tensor(&raw, &format!("recognition.out.{i}"));
        let err = max_abs_diff(&got, &want);
        eprintln!("face {i}: max |descriptor difference| {err:e}");
        assert!(err < 1e-3, "face {i}: {err}");
    }
}

//! The tiny face detector against face-api on tfjs-wasm: the same 160×160 input in, the
//! same raw 5×5×25 grid out.

mod common;

use common::*;
use fauxto_face::{TinyFaceDetector, WeightMap};

#[test]
fn detector_grid_matches_face_api() {
    let map = WeightMap::load(&assets(), "tiny_face_detector_model-weights_manifest.json").unwrap();
    assert_eq!(map.tensors.len(), 19);
    let net = TinyFaceDetector::<B>::load(&map, &Default::default()).unwrap();
    let bytes = tensors_file();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for i in 0..2 {
        let grid = net.forward(nchw_input(&raw, &format!("detector.in.{i}")));
        assert_eq!(grid.dims(), [1, 25, 5, 5]);
        // The fixture is NHWC.
        let got: Vec<f32> = grid.permute([0, 2, 3, 1]).into_data().to_vec().unwrap();
        let (shape, want) = fixture_tensor(&raw, &format!("detector.out.{i}"));
        assert_eq!(shape, [1, 5, 5, 25]);
        let err = max_abs_diff(&got, &want);
        eprintln!("image {i}: max |grid difference| {err:e}");
        assert!(err < 1e-3, "image {i}: {err}");
    }
}

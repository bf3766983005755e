//! The descriptor network against face-api on tfjs-wasm (`tools/face/make_face_fixtures.mjs`):
//! the same preprocessed 150×150 faces in, the same 128-D descriptors out.

use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData};
use fauxto_face::{RecognitionNet, WeightMap};

type B = burn::backend::Flex;

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/face-api")
}

fn fixture_tensor(raw: &safetensors::SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = raw
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture lacks {name}"));
    let data = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (t.shape().to_vec(), data)
}

#[test]
fn descriptors_match_face_api() {
    let map = WeightMap::load(&assets(), "face_recognition_model-weights_manifest.json").unwrap();
    assert_eq!(map.tensors.len(), 117);
    let device = Default::default();
    let net = RecognitionNet::<B>::load(&map, &device).unwrap();
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/face_api_tensors.safetensors"),
    )
    .unwrap();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for i in 0..4 {
        let (shape, nhwc) = fixture_tensor(&raw, &format!("recognition.in.{i}"));
        assert_eq!(shape, [1, 150, 150, 3]);
        let x = Tensor::<B, 4>::from_data(TensorData::new(nhwc, [1, 150, 150, 3]), &device)
            .permute([0, 3, 1, 2]);
        let got: Vec<f32> = net.forward(x).into_data().to_vec().unwrap();
        let (_, want) = fixture_tensor(&raw, &format!("recognition.out.{i}"));
        let max_abs = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        eprintln!("face {i}: max |descriptor difference| {max_abs:e}");
        assert!(max_abs < 1e-3, "face {i}: {max_abs}");
    }
}

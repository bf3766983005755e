//! Fixture access for the face-api parity tests (`tools/face/make_face_fixtures.mjs`).
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData};

pub type B = burn::backend::Flex;

pub fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/face-api")
}

pub fn tensors_file() -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/face_api_tensors.safetensors"),
    )
    .expect("fixture present")
}

pub fn fixture_tensor(raw: &safetensors::SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
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

/// A fixture image tensor stored NHWC, as burn's NCHW.
pub fn nchw_input(raw: &safetensors::SafeTensors, name: &str) -> Tensor<B, 4> {
    let (shape, data) = fixture_tensor(raw, name);
    let [n, h, w, c] = shape[..] else {
        panic!("{name}: not 4-D")
    };
    Tensor::<B, 4>::from_data(TensorData::new(data, [n, h, w, c]), &Default::default())
        .permute([0, 3, 1, 2])
}

pub fn max_abs_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
}

/// The fixture description written by `tools/face/make_face_fixtures.mjs`.
pub fn fixture_json() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/face_api.json");
    serde_json::from_slice(&std::fs::read(path).expect("fixture present")).unwrap()
}

/// Fixture image `i` as a frame.
pub fn fixture_frame(json: &serde_json::Value, i: usize) -> fauxto_face::Frame {
    let png = json["images"][i]["png"].as_str().unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(png);
    let img = image::open(&path).unwrap().to_rgb8();
    fauxto_face::Frame::from_rgb8(img.width() as usize, img.height() as usize, img.as_raw())
        .unwrap()
}

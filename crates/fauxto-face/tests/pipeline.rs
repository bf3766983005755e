//! The whole pipeline against face-api on tfjs-wasm: input preparation bit for bit, then
//! per face the box, landmarks, descriptor, age, gender and expressions, within the
//! tolerances face-api parity asks for.

mod common;

use burn::tensor::Tensor;
use common::*;
use fauxto_face::detector::MEAN_RGB as DETECTOR_MEAN;
use fauxto_face::frame::batch_tensor;
use fauxto_face::geometry::{PixelRect, Rect};
use fauxto_face::recognition::MEAN_RGB as FACE_MEAN;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer, Frame, Gender};
use serde_json::Value;

fn pixel_rect(v: &Value) -> PixelRect {
    let n = |k: &str| v[k].as_u64().unwrap() as usize;
    PixelRect {
        x: n("x"),
        y: n("y"),
        width: n("width"),
        height: n("height"),
    }
}

fn rect(v: &Value) -> Rect {
    let n = |k: &str| v[k].as_f64().unwrap();
    Rect {
        x: n("x"),
        y: n("y"),
        width: n("width"),
        height: n("height"),
    }
}

fn nhwc_values(x: Tensor<B, 4>) -> Vec<f32> {
    x.permute([0, 2, 3, 1]).into_data().to_vec().unwrap()
}

#[test]
fn inputs_are_prepared_as_face_api_prepares_them() {
    let json = fixture_json();
    let bytes = tensors_file();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let device = Default::default();
    let mut worst = 0f32;
    for i in 0..4 {
        let padded = fixture_frame(&json, i).with_border(16);
        let crops = &json["images"][i]["crops"];
        for (crop, size, tensor) in [
            ("landmarks", 112, "landmarks.in"),
            ("age_gender_expression", 112, "age_gender.in"),
            ("recognition", 150, "recognition.in"),
        ] {
            let face = padded.crop(pixel_rect(&crops[crop]));
            let got = nhwc_values(batch_tensor::<B>(&[face], size, true, FACE_MEAN, &device));
            let (_, want) = fixture_tensor(&raw, &format!("{tensor}.{i}"));
            let err = max_abs_diff(&got, &want);
            eprintln!("image {i} {tensor}: max |difference| {err:e}");
            worst = worst.max(err);
        }
        if i < 2 {
            let got = nhwc_values(batch_tensor::<B>(
                std::slice::from_ref(&padded),
                160,
                false,
                DETECTOR_MEAN,
                &device,
            ));
            let (_, want) = fixture_tensor(&raw, &format!("detector.in.{i}"));
            worst = worst.max(max_abs_diff(&got, &want));
        }
    }
    // Resizing is the only arithmetic; one float32 rounding at most.
    assert!(worst < 1e-6, "inputs differ by {worst}");
}

#[test]
fn faces_match_face_api() {
    let json = fixture_json();
    let images: Vec<Frame> = (0..json["images"].as_array().unwrap().len())
        .map(|i| fixture_frame(&json, i))
        .collect();
    let analyzer = FaceAnalyzer::<B>::embedded(&Default::default()).unwrap();
    let options = AnalyzeOptions::default();
    let results = analyzer.analyze(&images, &options);
    let (mut iou_min, mut lm, mut desc, mut age, mut prob, mut expr) =
        (1f64, 0f64, 0f32, 0f32, 0f32, 0f32);
    for (i, faces) in results.iter().enumerate() {
        let want = &json["images"][i];
        assert_eq!(faces.len(), 1, "image {i}: one face, as face-api found");
        let face = &faces[0];
        assert!(face.detected);
        let score = want["detection"]["score"].as_f64().unwrap();
        assert!((face.score - score).abs() < 1e-4, "image {i} score");
        iou_min = iou_min.min(face.bbox.iou(&rect(&want["detection"]["box"])));
        for (p, q) in face
            .landmarks
            .points
            .iter()
            .zip(want["landmarks"].as_array().unwrap())
        {
            lm = lm.max((p.x - q[0].as_f64().unwrap()).abs());
            lm = lm.max((p.y - q[1].as_f64().unwrap()).abs());
        }
        let d: Vec<f32> = serde_json::from_value(want["descriptor"].clone()).unwrap();
        desc = desc.max(max_abs_diff(&face.descriptor, &d));
        age = age.max((face.age - want["age"].as_f64().unwrap() as f32).abs());
        let gender = match want["gender"].as_str().unwrap() {
            "male" => Gender::Male,
            _ => Gender::Female,
        };
        assert_eq!(face.gender, gender, "image {i} gender");
        prob = prob.max(
            (face.gender_probability - want["genderProbability"].as_f64().unwrap() as f32).abs(),
        );
        for (k, name) in fauxto_face::dense_net::EXPRESSIONS.iter().enumerate() {
            let p = want["expressions"][name].as_f64().unwrap() as f32;
            expr = expr.max((face.expressions[k] - p).abs());
        }
    }
    eprintln!(
        "{} faces: box IoU ≥ {iou_min:.6}, landmarks ≤ {lm:.2e} px, descriptor ≤ {desc:.2e}, \
         age ≤ {age:.2e} y, gender p ≤ {prob:.2e}, expressions ≤ {expr:.2e}",
        results.len()
    );
    assert!(iou_min >= 0.99, "box IoU {iou_min}");
    assert!(lm <= 0.5, "landmarks {lm} px");
    assert!(desc <= 1e-3, "descriptor {desc}");
    assert!(age <= 0.1, "age {age}");
    assert!(prob <= 1e-3, "gender probability {prob}");
    assert!(expr <= 1e-3, "expressions {expr}");
}

#[test]
fn mirrored_faces_turn_the_other_way() {
    let json = fixture_json();
    let analyzer = FaceAnalyzer::<B>::embedded(&Default::default()).unwrap();
    let options = AnalyzeOptions::default();
    let images: Vec<Frame> = (0..6).map(|i| fixture_frame(&json, i)).collect();
    let mirrored: Vec<Frame> = images.iter().map(Frame::flip_horizontal).collect();
    let a = analyzer.analyze(&images, &options);
    let b = analyzer.analyze(&mirrored, &options);
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        let (pa, pb) = (a[0].pose.unwrap(), b[0].pose.unwrap());
        eprintln!("image {i}: {pa:?} mirrored {pb:?}");
        // The network sees a different image, so only approximately mirrored.
        assert!((pa.yaw + pb.yaw).abs() < 6.0, "image {i} yaw");
        assert!((pa.roll + pb.roll).abs() < 4.0, "image {i} roll");
        assert!((pa.pitch - pb.pitch).abs() < 6.0, "image {i} pitch");
        // Same person: descriptors of a face and its mirror image are close.
        let d: f32 = a[0]
            .descriptor
            .iter()
            .zip(&b[0].descriptor)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt();
        assert!(d < 0.6, "image {i}: mirror at distance {d}");
    }
}

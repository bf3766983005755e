//! The `bgc` augmentation against the PyTorch reference of the official pipeline
//! (`tools/ada_ref.py`, fixture by `tools/make_augment_fixtures.py`): every single
//! transform, the identity (which still resamples, as officially) and a full draw at
//! p = 1, with the same explicit parameters on both sides.

use burn::backend::Flex;
use burn::tensor::Tensor;
use fauxto_nn::model_file::parse_safetensors;
use fauxto_nn::state::{HostTensor, StateDict};
use fauxto_train::augment::pipeline::SYM6;
use fauxto_train::augment::{augment, draw_params, AugmentParams};

type B = Flex;

/// Largest absolute difference allowed (float32 here, float64 reference).
const TOL: f32 = 2e-6;

fn fixture() -> (StateDict, serde_json::Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/augment.safetensors"
    );
    let (sd, meta) = parse_safetensors(&std::fs::read(path).unwrap()).unwrap();
    (sd, serde_json::from_str(&meta["config"]).unwrap())
}

fn params(sd: &StateDict, case: &str) -> Vec<AugmentParams> {
    let get = |name: &str| &sd.get(&format!("params.{case}.{name}")).unwrap().data;
    (0..get("xflip").len())
        .map(|i| {
            let v = |name: &str| get(name)[i] as f64;
            AugmentParams {
                xflip: v("xflip"),
                rot90: v("rot90"),
                xint: [v("xint_x"), v("xint_y")],
                scale: v("scale"),
                rot_pre: v("rot_pre"),
                aniso: v("aniso"),
                rot_post: v("rot_post"),
                xfrac: [v("xfrac_x"), v("xfrac_y")],
                brightness: v("brightness"),
                contrast: v("contrast"),
                lumaflip: v("lumaflip"),
                hue: v("hue"),
                saturation: v("saturation"),
            }
        })
        .collect()
}

#[test]
fn every_case_matches_the_reference() {
    let (sd, config) = fixture();
    let images: Tensor<B, 4> = sd.get("in.images").unwrap().to_tensor(&Default::default());
    let mut failures = Vec::new();
    for case in config["cases"].as_array().unwrap() {
        let case = case.as_str().unwrap();
        let got = HostTensor::from_tensor(&augment(images.clone(), &params(&sd, case)));
        let want = sd.get(&format!("out.{case}")).unwrap();
        assert_eq!(got.shape, want.shape, "{case}");
        let err = got
            .data
            .iter()
            .zip(&want.data)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!("{case}: max abs error {err:.2e}");
        if err > TOL {
            failures.push(format!("{case}: {err:.2e}"));
        }
    }
    assert!(failures.is_empty(), "cases over {TOL:.0e}: {failures:?}");
}

#[test]
fn the_geometric_filter_is_sym6() {
    let (sd, _) = fixture();
    let want = &sd.get("filter.hz_geom").unwrap().data;
    let sum: f64 = SYM6.iter().sum();
    for (a, b) in SYM6.iter().zip(want) {
        assert!((a / sum - *b as f64).abs() < 1e-7, "{a} vs {b}");
    }
}

#[test]
fn draws_follow_the_probabilities() {
    let mut rng = fauxto_nn::seed::NumpyRandomState::new(3);
    let none = draw_params(&mut rng, 1000, 32, 0.0);
    assert!(none.iter().all(|p| *p == AugmentParams::default()));
    let n = 20000;
    let all = draw_params(&mut rng, n, 32, 0.5);
    let frac =
        |f: &dyn Fn(&AugmentParams) -> bool| all.iter().filter(|p| f(p)).count() as f64 / n as f64;
    // x-flip applies with p and then flips half the time; rot90 is non-zero 3/4 of p.
    assert!((frac(&|p| p.xflip == 1.0) - 0.25).abs() < 0.015);
    assert!((frac(&|p| p.rot90 != 0.0) - 0.375).abs() < 0.015);
    assert!((frac(&|p| p.brightness != 0.0) - 0.5).abs() < 0.015);
    // One of the two rotations applies with probability p.
    assert!((frac(&|p| p.rot_pre != 0.0 || p.rot_post != 0.0) - 0.5).abs() < 0.015);
    assert!(all
        .iter()
        .all(|p| p.xint.iter().all(|t| t.fract() == 0.0 && t.abs() <= 4.0)));
}

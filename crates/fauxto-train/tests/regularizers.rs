//! The finite-difference R1 and path-length gradients against PyTorch's exact double
//! backward (float64), on the small G and D of `tools/make_train_fixtures.py`.
//!
//! Error relative to the largest reference gradient, measured: R1 1.5e-4 (step rms 0.003
//! per pixel), path length 1.1e-4 (step rms 0.001 per w component).

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use fauxto_nn::model_file::parse_safetensors;
use fauxto_nn::state::{build_strict, HostTensor, StateDict};
use fauxto_nn::{
    ActivationTape, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NoiseMode,
};
use fauxto_train::params::{build_named, ParamNames};
use fauxto_train::phases::{
    d_r1, mapping_with_mixing, path_lengths, weighted_length_gradient, BatchPart, GenInput,
};

type AB = Autodiff<Flex>;

/// Relative error of the R1 parameter gradient.
const R1_TOL: f64 = 5e-4;
/// Relative error of the path-length parameter gradient.
const PL_TOL: f64 = 5e-4;

fn fixture() -> (StateDict, serde_json::Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/regularizers.safetensors"
    );
    let bytes = std::fs::read(path).expect("fixture present");
    let (sd, meta) = parse_safetensors(&bytes).expect("fixture parses");
    let config = serde_json::from_str(meta.get("config").expect("config")).expect("json");
    (sd, config)
}

fn tensor<const D: usize>(sd: &StateDict, name: &str) -> Tensor<AB, D> {
    sd.get(name)
        .unwrap_or_else(|| panic!("fixture lacks {name}"))
        .to_tensor(&Default::default())
}

/// Every named parameter's gradient, by official name.
struct Grads<'a> {
    names: &'a ParamNames,
    grads: &'a <AB as AutodiffBackend>::Gradients,
    out: Vec<(String, HostTensor)>,
}

impl ModuleVisitor<AB> for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
        if let (Some(name), Some(g)) = (self.names.get(&param.id), param.val().grad(self.grads)) {
            self.out
                .push((name.to_string(), HostTensor::from_tensor(&g)));
        }
    }
}

/// Largest |got − want| over all parameters, divided by the largest |want|.
fn compare(got: &[(String, HostTensor)], want: &StateDict, prefix: &str) -> f64 {
    let mut err = 0f64;
    let mut scale = 0f64;
    let mut seen = 0;
    for (name, g) in got {
        let w = want
            .get(&format!("{prefix}.{name}"))
            .unwrap_or_else(|| panic!("reference lacks {prefix}.{name}"));
        assert_eq!(g.data.len(), w.data.len(), "{name}");
        for (a, b) in g.data.iter().zip(&w.data) {
            err = err.max((a - b).abs() as f64);
            scale = scale.max(b.abs() as f64);
        }
        seen += 1;
    }
    let expected = want
        .tensors
        .keys()
        .filter(|k| k.starts_with(&format!("{prefix}.")))
        .count();
    assert_eq!(seen, expected, "every reference gradient was compared");
    assert!(scale > 0.0, "reference gradients are not all zero");
    err / scale
}

#[test]
fn r1_gradient_matches_double_backward() {
    let (sd, config) = fixture();
    let cfg: DiscriminatorConfig = serde_json::from_value(config["D"].clone()).expect("D config");
    let (d, names) = build_strict(&sd.sub("D"), &Default::default(), |src| {
        build_named(src, |s| Discriminator::<AB>::new(s, "", &cfg))
    })
    .expect("D builds");
    let x = tensor::<4>(&sd, "in.r1.x");
    let n = x.dims()[0] as f64;
    // gamma = 2, gain = 1: the surrogate's gradient is ∇θ mean_n ‖g_n‖²; the reference
    // holds ∇θ Σ_n ‖g_n‖².
    let r1 = d_r1(
        &d,
        x,
        None,
        2.0 * n,
        1.0,
        None,
        &BatchPart::whole(n as usize),
    )
    .unwrap();
    let want_penalty = sd.get("out.r1.penalty").expect("penalty");
    let mean = want_penalty.data.iter().map(|v| *v as f64).sum::<f64>() / n;
    assert!(
        (r1.penalty - mean).abs() <= 1e-4 * mean.abs(),
        "{} vs {mean}",
        r1.penalty
    );
    let mut visit = Grads {
        names: &names,
        grads: &r1.grads,
        out: Vec::new(),
    };
    d.visit(&mut visit);
    let err = compare(&visit.out, &sd, "r1grad");
    println!("R1 gradient relative error: {err:.3e}");
    assert!(
        err <= R1_TOL,
        "R1 gradient relative error {err:.3e} > {R1_TOL:.0e}"
    );
}

#[test]
fn path_length_gradient_matches_double_backward() {
    let (sd, config) = fixture();
    let cfg: GeneratorConfig = serde_json::from_value(config["G"].clone()).expect("G config");
    let (g, names) = build_strict(&sd.sub("G"), &Default::default(), |src| {
        build_named(src, |s| Generator::<AB>::new(s, "", &cfg))
    })
    .expect("G builds");
    let input = GenInput::<AB> {
        z: tensor::<2>(&sd, "in.pl.z"),
        mix: None,
        c: None,
    };
    let y = tensor::<4>(&sd, "in.pl.y");
    let coef: Vec<f64> = sd
        .get("in.pl.coef")
        .expect("coef")
        .data
        .iter()
        .map(|&v| v as f64)
        .collect();
    let want_len = &sd.get("out.pl.lengths").expect("lengths").data;
    let (ws, _) = mapping_with_mixing(&g, &input);
    let n = ws.dims()[0];
    let lengths = path_lengths(&g, &ws, &y, NoiseMode::Const, ActivationTape::record());
    for (a, b) in lengths.lengths.iter().zip(want_len) {
        assert!(
            (a - *b as f64).abs() <= 1e-4 * (*b as f64).abs(),
            "length {a} vs {b}"
        );
    }
    let grads = weighted_length_gradient(&g, ws, y, lengths, &coef, &BatchPart::whole(n)).unwrap();
    let mut visit = Grads {
        names: &names,
        grads: &grads,
        out: Vec::new(),
    };
    g.visit(&mut visit);
    let err = compare(&visit.out, &sd, "plgrad");
    println!("path-length gradient relative error: {err:.3e}");
    assert!(
        err <= PL_TOL,
        "path-length gradient relative error {err:.3e} > {PL_TOL:.0e}"
    );
}

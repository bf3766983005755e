//! Official-format network pickles and a zip state dict, imported and checked against
//! the PyTorch reference (`tools/make_pickle_fixtures.py`): every tensor bit for bit, the
//! configuration, and the images the official pipeline makes for fixed seeds.

mod common;

use burn::tensor::{Tensor, TensorData};
use common::*;
use fauxto_interop::torch::DType;
use fauxto_interop::{import, GeneratorChoice, ImportOptions, Imported};
use fauxto_nn::sample::latents;
use fauxto_nn::state::StateDict;
use fauxto_nn::{Generator, NoiseMode, Truncation};

const TOL: f64 = 1e-4;

fn import_fixture(name: &str, options: &ImportOptions) -> Imported {
    import(&fixture_bytes(name), options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn with_d() -> ImportOptions {
    ImportOptions {
        discriminator: true,
        ..Default::default()
    }
}

/// Every tensor of `got` (under `got_prefix`) equals the reference network exactly, and
/// no tensor is missing or extra.
fn assert_same_tensors(got: &StateDict, got_prefix: &str, want: &StateDict, what: &str) {
    let got = got.sub(got_prefix);
    let got_names: Vec<_> = got.tensors.keys().collect();
    let want_names: Vec<_> = want.tensors.keys().collect();
    assert_eq!(got_names, want_names, "{what}: tensor names");
    assert!(!want.tensors.is_empty(), "{what}: reference has tensors");
    for (name, w) in &want.tensors {
        let g = &got.tensors[name];
        assert_eq!(g.shape, w.shape, "{what}: shape of {name}");
        let same = g
            .data
            .iter()
            .zip(&w.data)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{what}: values of {name} differ");
    }
}

fn images(g: &Generator<B>, c_dim: usize, seeds: &[u32], psi: f64) -> Vec<f32> {
    let device = Default::default();
    let z = latents::<B>(seeds, g.config.z_dim, &device);
    let c = (c_dim > 0).then(|| {
        let mut onehot = vec![0f32; seeds.len() * c_dim];
        for i in 0..seeds.len() {
            onehot[i * c_dim + i % c_dim] = 1.0;
        }
        Tensor::<B, 2>::from_data(TensorData::new(onehot, [seeds.len(), c_dim]), &device)
    });
    let trunc = Truncation { psi, cutoff: None };
    g.forward(z, c, trunc, NoiseMode::Const)
        .into_data()
        .to_vec::<f32>()
        .unwrap()
}

fn check_model(file: &str, model: &str) {
    let (reference, config) = reference();
    let imported = import_fixture(file, &with_d());
    assert_eq!(imported.format, "pickle");

    assert_same_tensors(
        &imported.state,
        "G_ema",
        &reference.sub(&format!("{model}.G_ema")),
        &format!("{file} G_ema"),
    );
    assert_same_tensors(
        &imported.state,
        "D",
        &reference.sub(&format!("{model}.D")),
        &format!("{file} D"),
    );

    let g_kwargs = &config[model]["G"];
    let g_cfg = &imported.generator;
    assert_eq!(g_cfg.z_dim as u64, g_kwargs["z_dim"].as_u64().unwrap());
    assert_eq!(g_cfg.c_dim as u64, g_kwargs["c_dim"].as_u64().unwrap());
    assert_eq!(
        g_cfg.img_resolution as u64,
        g_kwargs["img_resolution"].as_u64().unwrap()
    );
    assert_eq!(
        g_cfg.mapping.num_layers as u64,
        g_kwargs["mapping_kwargs"]["num_layers"].as_u64().unwrap()
    );
    assert_eq!(
        g_cfg.synthesis.num_fp16_res as u64,
        g_kwargs["synthesis_kwargs"]["num_fp16_res"]
            .as_u64()
            .unwrap()
    );
    assert_eq!(
        g_cfg.synthesis.conv_clamp,
        g_kwargs["synthesis_kwargs"]["conv_clamp"].as_f64()
    );
    let d_cfg = imported
        .discriminator
        .as_ref()
        .expect("discriminator imported");
    assert_eq!(d_cfg.c_dim, g_cfg.c_dim);

    let device = Default::default();
    let g = Generator::<B>::from_state_dict(&imported.state.sub("G_ema"), g_cfg, &device)
        .expect("imported tensors fit the imported configuration");
    let seeds = seeds();
    assert_eq!(seeds, [0, 1, 42, 4_294_967_295]);
    for (psi, tag) in [(1.0, "psi1"), (0.7, "psi0.7")] {
        let got = images(&g, g_cfg.c_dim, &seeds, psi);
        let want = &reference
            .get(&format!("{model}.img.{tag}"))
            .expect("reference image")
            .data;
        let err = relative_error(&got, want);
        eprintln!("{file} {tag}: relative error {err:e}");
        assert!(err < TOL, "{file} {tag}: relative error {err:e}");
    }
}

#[test]
fn conditional_pickle_imports_exactly_and_generates_the_reference_images() {
    check_model("cond.pkl", "cond");
}

#[test]
fn fp16_pickle_with_strided_and_shared_storages_matches_the_reference() {
    check_model("fp16.pkl", "fp16");
    let imported = import_fixture("fp16.pkl", &ImportOptions::default());
    assert!(
        imported
            .converted
            .iter()
            .any(|(k, t)| *t == DType::F16 && k.contains(".b32.")),
        "the b32 block's float16 tensors are reported: {:?}",
        imported.converted
    );
    assert!(
        imported.discriminator.is_none(),
        "D left out unless asked for"
    );
    assert!(imported
        .state
        .tensors
        .keys()
        .all(|k| k.starts_with("G_ema.")));
}

#[test]
fn protocol_2_pickle_reads_the_same_as_the_default_protocol() {
    check_model("fp16_protocol2.pkl", "fp16");
}

#[test]
fn protocol_3_pickle_as_the_published_models_are_written() {
    check_model("cond_protocol3.pkl", "cond");
}

#[test]
fn the_raw_generator_can_be_chosen_instead_of_the_average() {
    let (reference, _) = reference();
    let options = ImportOptions {
        generator: GeneratorChoice::G,
        ..Default::default()
    };
    let imported = import_fixture("cond.pkl", &options);
    assert_same_tensors(&imported.state, "G_ema", &reference.sub("cond.G"), "cond G");
}

#[test]
fn training_set_arguments_are_kept() {
    let imported = import_fixture("cond.pkl", &ImportOptions::default());
    let t = imported.training_set.expect("training_set_kwargs");
    assert!(t["path"].is_string(), "{t}");
}

#[test]
fn zip_state_dict_imports_with_an_inferred_configuration() {
    let (reference, config) = reference();
    let imported = import_fixture("cond_G_ema.pt", &ImportOptions::default());
    assert_eq!(imported.format, "state dict");
    assert_same_tensors(
        &imported.state,
        "G_ema",
        &reference.sub("cond.G_ema"),
        "cond_G_ema.pt",
    );
    let from_pickle = import_fixture("cond.pkl", &ImportOptions::default()).generator;
    let inferred = &imported.generator;
    assert_eq!(inferred.z_dim, from_pickle.z_dim);
    assert_eq!(inferred.c_dim, from_pickle.c_dim);
    assert_eq!(inferred.w_dim, from_pickle.w_dim);
    assert_eq!(inferred.img_resolution, from_pickle.img_resolution);
    assert_eq!(inferred.img_channels, from_pickle.img_channels);
    assert_eq!(inferred.mapping.num_layers, from_pickle.mapping.num_layers);
    assert_eq!(inferred.channels(4), from_pickle.channels(4));
    assert_eq!(
        inferred.channels(inferred.img_resolution),
        from_pickle.channels(from_pickle.img_resolution)
    );
    assert!(config["cond"]["G"]["synthesis_kwargs"]["conv_clamp"].is_null());
    let g = Generator::<B>::from_state_dict(
        &imported.state.sub("G_ema"),
        inferred,
        &Default::default(),
    )
    .unwrap();
    let got = images(&g, inferred.c_dim, &seeds(), 1.0);
    let err = relative_error(&got, &reference.get("cond.img.psi1").unwrap().data);
    assert!(err < TOL, "state dict images: relative error {err:e}");
}

#[test]
fn zip_state_dict_with_half_strided_and_shared_storages() {
    let (reference, _) = reference();
    let options = ImportOptions {
        unstated: fauxto_interop::Unstated {
            conv_clamp: Some(256.0),
            ..Default::default()
        },
        ..Default::default()
    };
    let imported = import_fixture("fp16_G_ema.pt", &options);
    assert_same_tensors(
        &imported.state,
        "G_ema",
        &reference.sub("fp16.G_ema"),
        "fp16_G_ema.pt",
    );
    assert!(imported.converted.iter().any(|(_, t)| *t == DType::F16));
    let g = Generator::<B>::from_state_dict(
        &imported.state.sub("G_ema"),
        &imported.generator,
        &Default::default(),
    )
    .unwrap();
    let got = images(&g, 0, &seeds(), 0.7);
    let err = relative_error(&got, &reference.get("fp16.img.psi0.7").unwrap().data);
    assert!(err < TOL, "state dict images: relative error {err:e}");
}

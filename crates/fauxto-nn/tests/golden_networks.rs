//! Whole generators and discriminators against the independent PyTorch reference
//! (`tools/make_fixtures.py`), block by block and end to end.

mod common;

use common::*;
use fauxto_nn::{
    Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NoiseMode, StateDict,
    Truncation,
};

/// A fixture's parameters (without its `in.*` inputs and `out.*` outputs) and config.
fn params_and_config<C: serde::de::DeserializeOwned>(name: &str) -> (StateDict, C, StateDict) {
    let (sd, config) = fixture(name);
    let cfg = serde_json::from_value(config).expect("config");
    let mut params = sd.clone();
    params
        .tensors
        .retain(|k, _| !k.starts_with("in.") && !k.starts_with("out."));
    (params, cfg, sd)
}

fn generator(name: &str) -> (Generator<B>, StateDict) {
    let (params, cfg, sd) = params_and_config::<GeneratorConfig>(name);
    let g = Generator::from_state_dict(&params, &cfg, &device()).expect("G loads");
    (g, sd)
}

fn discriminator(name: &str) -> (Discriminator<B>, StateDict) {
    let (params, cfg, sd) = params_and_config::<DiscriminatorConfig>(name);
    let d = Discriminator::from_state_dict(&params, &cfg, &device()).expect("D loads");
    (d, sd)
}

fn trunc(psi: f64, cutoff: Option<usize>) -> Truncation {
    Truncation { psi, cutoff }
}

#[test]
fn generator_mapping_and_truncation() {
    let (g, sd) = generator("g_small.safetensors");
    let z = input::<2>(&sd, "in.z");
    assert_matches(
        &sd,
        "out.ws",
        g.mapping_ws(z.clone(), None, trunc(1.0, None)),
        TOL,
    );
    assert_matches(
        &sd,
        "out.ws_psi0.7",
        g.mapping_ws(z.clone(), None, trunc(0.7, None)),
        TOL,
    );
    assert_matches(
        &sd,
        "out.ws_psi0.5_cutoff2",
        g.mapping_ws(z, None, trunc(0.5, Some(2))),
        TOL,
    );
}

#[test]
fn generator_blocks_and_images() {
    let (g, sd) = generator("g_small.safetensors");
    let z = input::<2>(&sd, "in.z");
    let ws = g.mapping_ws(z.clone(), None, trunc(1.0, None));
    let img = g
        .synthesis
        .forward_traced(ws, NoiseMode::Const, |res, x, img| {
            assert_matches(&sd, &format!("out.blocks.b{res}.x"), x.clone(), TOL);
            assert_matches(&sd, &format!("out.blocks.b{res}.img"), img.clone(), TOL);
        });
    assert_matches(&sd, "out.img.const", img, TOL);
    let none = g.forward(z.clone(), None, trunc(1.0, None), NoiseMode::None);
    assert_matches(&sd, "out.img.none", none, TOL);
    let psi = g.forward(z, None, trunc(0.7, None), NoiseMode::Const);
    assert_matches(&sd, "out.img.psi0.7", psi, TOL);
}

#[test]
fn conditional_generator_with_clamp() {
    let (g, sd) = generator("g_cond.safetensors");
    let (z, c) = (input::<2>(&sd, "in.z"), input::<2>(&sd, "in.c"));
    assert_matches(
        &sd,
        "out.ws",
        g.mapping_ws(z.clone(), Some(c.clone()), trunc(1.0, None)),
        TOL,
    );
    let img = g.forward(
        z.clone(),
        Some(c.clone()),
        trunc(1.0, None),
        NoiseMode::Const,
    );
    assert_matches(&sd, "out.img.const", img, TOL);
    let img = g.forward(z, Some(c), trunc(1.0, None), NoiseMode::None);
    assert_matches(&sd, "out.img.none", img, TOL);
}

#[test]
fn discriminator_blocks_and_logits() {
    let (d, sd) = discriminator("d_small.safetensors");
    let logits = d.forward_traced(input(&sd, "in.img"), None, |res, x| {
        assert_matches(&sd, &format!("out.blocks.b{res}.x"), x.clone(), TOL);
    });
    assert_matches(&sd, "out.logits", logits, TOL);
}

#[test]
fn conditional_discriminator_with_clamp() {
    let (d, sd) = discriminator("d_cond.safetensors");
    let logits = d.forward(input(&sd, "in.img"), Some(input(&sd, "in.c")));
    assert_matches(&sd, "out.logits", logits, TOL);
}

#[test]
fn state_dict_round_trip_keeps_every_official_name() {
    let (g, sd) = generator("g_small.safetensors");
    let saved = g.state_dict();
    let is_param = |k: &str| {
        !k.starts_with("in.") && !k.starts_with("out.") && !k.ends_with("resample_filter")
    };
    for (name, t) in &sd.tensors {
        if !is_param(name) {
            continue;
        }
        let mine = saved
            .get(name)
            .unwrap_or_else(|| panic!("{name} not saved"));
        assert_eq!(mine.shape, t.shape, "{name}");
        assert_eq!(mine.data, t.data, "{name}");
    }
    let params = sd.tensors.keys().filter(|k| is_param(k));
    assert_eq!(params.count(), saved.tensors.len());
}

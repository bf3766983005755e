//! Each StyleGAN2 layer against the independent PyTorch reference
//! (`tools/make_fixtures.py` → `tests/fixtures/layers.safetensors`).

mod common;

use common::*;
use fauxto_nn::discriminator::minibatch_stddev;
use fauxto_nn::fir::{downsample2d, upsample2d};
use fauxto_nn::layers::conv::{Conv2dLayer, ConvLayerOptions};
use fauxto_nn::layers::fc::{FcOptions, FullyConnectedLayer};
use fauxto_nn::layers::{NoiseMode, SynthesisLayer, ToRgbLayer};
use fauxto_nn::ops::Activation;
use fauxto_nn::state::StateDictSource;

#[test]
fn fir_up_and_down() {
    let (sd, _) = fixture("layers.safetensors");
    let x = input::<4>(&sd, "fir.in.x");
    assert_matches(&sd, "fir.out.up", upsample2d(x.clone()), TOL);
    assert_matches(&sd, "fir.out.down", downsample2d(x), TOL);
}

#[test]
fn fully_connected_with_lr_multiplier() {
    let (sd, _) = fixture("layers.safetensors");
    let mut src = StateDictSource::<B>::new(&sd, &device());
    let opts = FcOptions {
        activation: Activation::Lrelu,
        lr_multiplier: 0.01,
        ..FcOptions::default()
    };
    let fc = FullyConnectedLayer::new(&mut src, "fc", 16, 12, opts).unwrap();
    assert_matches(&sd, "fc.out", fc.forward(input(&sd, "fc.in.x")), TOL);
}

fn synthesis_layer(prefix: &str, res: usize, up: usize, clamp: Option<f64>) -> SynthesisLayer<B> {
    let (sd, _) = fixture("layers.safetensors");
    let mut src = StateDictSource::<B>::new(&sd, &device());
    SynthesisLayer::new(&mut src, prefix, 8, 6, 16, res, up, clamp).unwrap()
}

#[test]
fn modulated_synthesis_layer() {
    let (sd, _) = fixture("layers.safetensors");
    let layer = synthesis_layer("syn", 8, 1, None);
    let (x, w) = (input::<4>(&sd, "syn.in.x"), input::<2>(&sd, "syn.in.w"));
    let out = layer.forward(x.clone(), w.clone(), NoiseMode::Const, 1.0);
    assert_matches(&sd, "syn.out.const", out, TOL);
    assert_matches(
        &sd,
        "syn.out.none",
        layer.forward(x, w, NoiseMode::None, 1.0),
        TOL,
    );
}

#[test]
fn modulated_synthesis_layer_upsampling() {
    let (sd, _) = fixture("layers.safetensors");
    let layer = synthesis_layer("synup", 16, 2, None);
    let (x, w) = (input::<4>(&sd, "synup.in.x"), input::<2>(&sd, "synup.in.w"));
    let out = layer.forward(x.clone(), w.clone(), NoiseMode::Const, 1.0);
    assert_matches(&sd, "synup.out.const", out, TOL);
    assert_matches(
        &sd,
        "synup.out.none",
        layer.forward(x, w, NoiseMode::None, 1.0),
        TOL,
    );
}

#[test]
fn synthesis_layer_clamp() {
    let (sd, _) = fixture("layers.safetensors");
    let layer = synthesis_layer("synclamp", 8, 1, Some(0.25));
    let (x, w) = (
        input::<4>(&sd, "synclamp.in.x"),
        input::<2>(&sd, "synclamp.in.w"),
    );
    assert_matches(
        &sd,
        "synclamp.out.const",
        layer.forward(x, w, NoiseMode::Const, 1.0),
        TOL,
    );
}

#[test]
fn to_rgb() {
    let (sd, _) = fixture("layers.safetensors");
    let mut src = StateDictSource::<B>::new(&sd, &device());
    let layer = ToRgbLayer::new(&mut src, "torgb", 8, 3, 16, None).unwrap();
    let out = layer.forward(input(&sd, "torgb.in.x"), input(&sd, "torgb.in.w"));
    assert_matches(&sd, "torgb.out", out, TOL);
}

#[test]
fn downsampling_convolutions() {
    let (sd, _) = fixture("layers.safetensors");
    let mut src = StateDictSource::<B>::new(&sd, &device());
    let conv = Conv2dLayer::new(
        &mut src,
        "conv",
        6,
        8,
        3,
        ConvLayerOptions {
            activation: Activation::Lrelu,
            down: 2,
            ..ConvLayerOptions::default()
        },
    )
    .unwrap();
    assert_matches(
        &sd,
        "conv.out",
        conv.forward(input(&sd, "conv.in.x"), 1.0),
        TOL,
    );
    let skip = Conv2dLayer::new(
        &mut src,
        "skip",
        6,
        8,
        1,
        ConvLayerOptions {
            bias: false,
            down: 2,
            ..ConvLayerOptions::default()
        },
    )
    .unwrap();
    let x = if sd.get("skip.in.x").is_some() {
        input(&sd, "skip.in.x")
    } else {
        input(&sd, "conv.in.x")
    };
    assert_matches(
        &sd,
        "skip.out",
        skip.forward(x, std::f64::consts::FRAC_1_SQRT_2),
        TOL,
    );
}

#[test]
fn minibatch_standard_deviation() {
    let (sd, _) = fixture("layers.safetensors");
    let x = input::<4>(&sd, "mbstd.in.x");
    assert_matches(
        &sd,
        "mbstd.out.g4",
        minibatch_stddev(x.clone(), Some(4), 1),
        TOL,
    );
    assert_matches(&sd, "mbstd.out.g4c2", minibatch_stddev(x, Some(4), 2), TOL);
    let x2 = input::<4>(&sd, "mbstd.in.x2");
    assert_matches(&sd, "mbstd.out.g4n2", minibatch_stddev(x2, Some(4), 1), TOL);
}

//! The whole pipeline of the official `generate.py`: seed → numpy latent → generator
//! (constant noise, truncation) → 8-bit pixels, against the PyTorch reference
//! (`tools/make_fixtures.py` → `g_seeds.safetensors`, weights from `g_small.safetensors`).

mod common;

use common::*;
use fauxto_nn::sample::{latents, to_pixels};
use fauxto_nn::{Generator, GeneratorConfig, NoiseMode, Truncation};

#[test]
fn seeds_give_the_reference_images_and_pixels() {
    let (weights, config) = fixture("g_small.safetensors");
    let mut params = weights.clone();
    params
        .tensors
        .retain(|k, _| !k.starts_with("in.") && !k.starts_with("out."));
    let cfg: GeneratorConfig = serde_json::from_value(config).unwrap();
    let g = Generator::<B>::from_state_dict(&params, &cfg, &device()).unwrap();

    let (sd, _) = fixture("g_seeds.safetensors");
    // Read the seeds exactly (float32 cannot hold 4294967295).
    let bytes = std::fs::read(fixture_path("g_seeds.safetensors")).unwrap();
    let raw = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let seeds: Vec<u32> = raw
        .tensor("seeds")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32)
        .collect();
    assert_eq!(seeds, vec![0, 1, 42, 4_294_967_295]);
    for (psi, tag) in [(1.0, "psi1"), (0.7, "psi0.7")] {
        let z = latents::<B>(&seeds, cfg.z_dim, &device());
        let trunc = Truncation { psi, cutoff: None };
        let img = g.forward(z, None, trunc, NoiseMode::Const);
        assert_matches(&sd, &format!("out.img.{tag}"), img.clone(), TOL);

        let pixels = to_pixels(img);
        let want = &sd.get(&format!("out.pixels.{tag}")).unwrap().data;
        assert_eq!(pixels.pixels.len(), want.len());
        // A value within float32 rounding of a uint8 boundary may land on either side.
        let mut off_by_one = 0;
        for (got, want) in pixels.pixels.iter().zip(want) {
            let diff = (*got as f32 - want).abs();
            assert!(diff <= 1.0, "{tag}: pixel {got} vs {want}");
            off_by_one += (diff > 0.0) as usize;
        }
        assert!(
            off_by_one <= want.len() / 500,
            "{tag}: {off_by_one} pixels off by one"
        );
    }
}

/// A model that tracks no average w (an official pickle with `w_avg_beta=None`) truncates
/// toward the average of w over the official projector's 10,000 latents
/// (`RandomState(123).randn(10000, z_dim)`), computed here independently in one batch.
#[test]
fn truncation_without_a_tracked_w_avg_uses_the_sample_average() {
    use burn::tensor::Tensor;
    use fauxto_nn::seed::NumpyRandomState;

    let (weights, config) = fixture("g_small.safetensors");
    let mut params = weights.clone();
    params
        .tensors
        .retain(|k, _| !k.starts_with("in.") && !k.starts_with("out.") && k != "mapping.w_avg");
    let mut cfg: GeneratorConfig = serde_json::from_value(config).unwrap();
    cfg.mapping.w_avg_beta = None;
    let g = Generator::<B>::from_state_dict(&params, &cfg, &device()).unwrap();
    assert!(g.mapping.w_avg.is_none());

    let n = fauxto_nn::mapping::W_AVG_SAMPLES;
    let z: Vec<f32> = NumpyRandomState::new(123)
        .randn(n * cfg.z_dim)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let z = Tensor::<B, 1>::from_floats(z.as_slice(), &device()).reshape([n, cfg.z_dim]);
    let want: Vec<f32> = g
        .mapping
        .forward(Some(z), None)
        .mean_dim(0)
        .into_data()
        .to_vec()
        .unwrap();

    // ψ = 0 puts every seed's w on the average.
    let seeds = [0, 7, 42];
    let trunc = Truncation {
        psi: 0.0,
        cutoff: None,
    };
    let ws = g.mapping_ws(latents::<B>(&seeds, cfg.z_dim, &device()), None, trunc);
    let got: Vec<f32> = ws.into_data().to_vec().unwrap();
    for (i, chunk) in got.chunks(cfg.w_dim).enumerate() {
        let err = relative_error(chunk, &want);
        assert!(err < 1e-5, "w {i}: relative error {err}");
    }
    // And ψ = 0.7 makes images, the same ones on a second call (estimated once).
    let trunc = Truncation {
        psi: 0.7,
        cutoff: None,
    };
    let a = g.forward(
        latents::<B>(&seeds, cfg.z_dim, &device()),
        None,
        trunc,
        NoiseMode::Const,
    );
    let b = g.forward(
        latents::<B>(&seeds, cfg.z_dim, &device()),
        None,
        trunc,
        NoiseMode::Const,
    );
    assert_eq!(a.into_data(), b.into_data());
}

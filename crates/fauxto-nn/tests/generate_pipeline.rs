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

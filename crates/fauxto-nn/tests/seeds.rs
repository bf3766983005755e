//! Seeds give exactly the latents `numpy.random.RandomState(seed).randn(1, z_dim)` gives
//! (fixture written by numpy in `tools/make_fixtures.py`).

mod common;

use fauxto_nn::seed::{latent_from_seed, NumpyRandomState};
use safetensors::tensor::{Dtype, SafeTensors};

fn f64s(st: &SafeTensors<'_>, name: &str) -> Vec<f64> {
    let v = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture lacks {name}"));
    assert_eq!(v.dtype(), Dtype::F64, "{name}");
    v.data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn latents_match_numpy_bit_for_bit() {
    let bytes = std::fs::read(common::fixture_path("seeds.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for seed in [0u32, 1, 42, 1234, 2_147_483_648, 4_294_967_295] {
        assert_eq!(
            latent_from_seed(seed, 512),
            f64s(&st, &format!("z.{seed}")),
            "seed {seed}"
        );
        assert_eq!(
            latent_from_seed(seed, 7),
            f64s(&st, &format!("z7.{seed}")),
            "seed {seed}, 7"
        );
    }
}

#[test]
fn seeding_matches_numpy_state() {
    let bytes = std::fs::read(common::fixture_path("seeds.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    for seed in [0u32, 42, 4_294_967_295] {
        let name = format!("mtstate.{seed}");
        let Ok(view) = st.tensor(&name) else { continue };
        let want: Vec<u64> = match view.dtype() {
            Dtype::I64 => view
                .data()
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u64)
                .collect(),
            Dtype::U32 => view
                .data()
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as u64)
                .collect(),
            other => panic!("{name}: unexpected dtype {other:?}"),
        };
        let rng = NumpyRandomState::new(seed);
        let got: Vec<u64> = rng.state_words()[..want.len()]
            .iter()
            .map(|&w| w as u64)
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

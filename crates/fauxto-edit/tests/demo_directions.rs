//! Directions learnt on the bundled demo model (a few hundred samples, so that the test
//! stays short) and judged by the face networks on faces they were not fitted to: each
//! direction moves its attribute the way it says, far more than a random direction of the
//! same spread does.

use std::path::PathBuf;

use fauxto_edit::attribute::Attribute;
use fauxto_edit::edit::sigma_step;
use fauxto_edit::fit::{learn, mean, std_dev, FitOptions};
use fauxto_edit::latent::{dot, moved};
use fauxto_edit::{Judge, LatentRenderer};
use fauxto_nn::model_file::ModelFile;

type B = burn::backend::Flex;

fn demo_model() -> ModelFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fauxto-demo-utkface64.safetensors");
    ModelFile::load(&path).expect("the bundled demo model")
}

/// Mean change of `attribute` from `ws` moved by `-step` to `ws` moved by `+step`.
fn judged_change(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    ws: &[Vec<f32>],
    step: &[f32],
    attribute: Attribute,
) -> f64 {
    let both: Vec<Vec<f32>> = ws
        .iter()
        .flat_map(|w| [moved(w, step, 1.0), moved(w, step, -1.0)])
        .collect();
    let verdicts = judge.judge(&renderer.render(&both).unwrap(), false);
    let changes: Vec<f64> = verdicts
        .chunks_exact(2)
        .filter_map(|p| Some(p[0].scores[attribute.index()]? - p[1].scores[attribute.index()]?))
        .collect();
    assert!(changes.len() >= ws.len() / 2, "most moved faces are scored");
    mean(&changes)
}

#[test]
fn learnt_directions_move_their_attribute_on_unseen_faces() {
    let device = Default::default();
    let model = demo_model();
    let renderer = LatentRenderer::<B>::new(&model, &device).unwrap();
    let judge = Judge::<B>::embedded(&device).unwrap();
    let options = FitOptions {
        samples: 1000,
        extremes: 0.15,
        calibration_samples: 12,
        batch: 50,
        attributes: vec![Attribute::Gender, Attribute::Yaw, Attribute::Age],
        ..FitOptions::default()
    };
    let directions = learn(
        &renderer,
        &judge,
        &model.sha256,
        &options,
        &mut |_, _, _| {},
    )
    .unwrap();
    let accuracy = |a| directions.get(a).unwrap().validation_accuracy;
    assert!(
        accuracy(Attribute::Gender) >= 0.85,
        "gender {}",
        accuracy(Attribute::Gender)
    );
    assert!(
        accuracy(Attribute::Yaw) >= 0.9,
        "yaw {}",
        accuracy(Attribute::Yaw)
    );
    // Age is the hardest to judge at 64x64: about 100 held-out extremes here, chance 0.5.
    assert!(
        accuracy(Attribute::Age) >= 0.7,
        "age {}",
        accuracy(Attribute::Age)
    );
    // The measured rates point the way the attribute grows, by a visible amount.
    assert!(directions.get(Attribute::Yaw).unwrap().per_sigma > 4.0);
    assert!(directions.get(Attribute::Age).unwrap().per_sigma > 1.5);

    // Faces the directions never saw.
    let seeds: Vec<u32> = (900_000..900_016).collect();
    let ws = renderer.w_of(&seeds);
    // A control: a fixed pseudo-random unit direction, moved by 3 of its own σ.
    let mut state = 12345u32;
    let mut random: Vec<f32> = (0..renderer.w_dim())
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect();
    let norm = dot(&random, &random).sqrt() as f32;
    random.iter_mut().for_each(|v| *v /= norm);
    let spread = std_dev(
        &renderer
            .w_of(&(0..300).collect::<Vec<u32>>())
            .iter()
            .map(|w| dot(w, &random))
            .collect::<Vec<_>>(),
    );
    let control: Vec<f32> = random.iter().map(|v| v * (3.0 * spread) as f32).collect();

    for (attribute, at_least) in [(Attribute::Gender, 0.3), (Attribute::Yaw, 20.0)] {
        let step = sigma_step(&directions, attribute, 3.0, &[]).unwrap();
        let along = judged_change(&renderer, &judge, &ws, &step, attribute);
        let by_chance = judged_change(&renderer, &judge, &ws, &control, attribute);
        assert!(
            along > at_least && along > 3.0 * by_chance.abs(),
            "{attribute}: ±3σ changes it by {along:.3}, a random direction by {by_chance:.3}"
        );
    }
}

//! Synthetic catalogue rows for benchmarks and tests: attributes drawn from plausible
//! distributions, random unit descriptors, no images. Never used by `add`.

use anyhow::Result;

use crate::entry::{AgeBand, FaceEntry};
use crate::library::{insert_face, Library};

const EXPRESSIONS: [&str; 7] = [
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
];

/// SplitMix64: a small, seedable generator (the same library for the same seed).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-7), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// A synthetic face: ages skewed to adults as in face datasets, genders even, expressions
/// mostly neutral and happy, yaw spread ±40°.
pub fn synthetic(rng: &mut Rng, model: &str, seed: u32) -> FaceEntry {
    let age = (rng.normal() * 18.0 + 33.0).clamp(1.0, 95.0);
    let mut expressions = [0f32; 7];
    let weights = [3.0, 3.0, 1.0, 0.5, 0.3, 0.2, 0.8];
    for (e, w) in expressions.iter_mut().zip(weights) {
        *e = rng.uniform() * w;
    }
    let sum: f32 = expressions.iter().sum();
    expressions.iter_mut().for_each(|e| *e /= sum);
    let top = (0..7)
        .max_by(|&a, &b| expressions[a].total_cmp(&expressions[b]))
        .unwrap();
    let yaw = rng.normal() * 20.0;
    let mut descriptor: Vec<f32> = (0..128).map(|_| rng.normal()).collect();
    let norm = descriptor.iter().map(|x| x * x).sum::<f32>().sqrt();
    descriptor.iter_mut().for_each(|x| *x /= norm);
    FaceEntry {
        id: 0,
        model_sha256: model.into(),
        seed,
        truncation: 1.0,
        created_at: String::new(),
        age,
        age_band: AgeBand::of(age),
        gender: if rng.uniform() < 0.5 {
            "male"
        } else {
            "female"
        }
        .into(),
        gender_probability: 0.5 + rng.uniform() / 2.0,
        expression: EXPRESSIONS[top].into(),
        expressions,
        yaw,
        pitch: rng.normal() * 8.0,
        roll: rng.normal() * 5.0,
        facing: if yaw < -10.0 {
            "left"
        } else if yaw > 10.0 {
            "right"
        } else {
            "frontal"
        }
        .into(),
        detection_score: 0.7 + rng.uniform() * 0.3,
        descriptor,
        group_rank: 0,
        sizes: vec![256, 128],
        watermark: None,
    }
}

/// Catalogues synthetic faces for `seeds` (attributes drawn from `rng_seed`) of a synthetic
/// model.
pub async fn fill(library: &Library, seeds: std::ops::Range<u32>, rng_seed: u64) -> Result<()> {
    let model = "be9c0000000000000000000000000000000000000000000000000000000000aa";
    sqlx::query(
        "INSERT INTO models (sha256, name, resolution, license, card, added_at) \
         VALUES ($1, 'synthetic', 256, 'CC0-1.0 (synthetic benchmark rows)', '', '') \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(model)
    .execute(&library.db.pool)
    .await?;
    let mut rng = Rng(rng_seed);
    for chunk in seeds.collect::<Vec<_>>().chunks(1000) {
        let mut tx = library.db.pool.begin().await?;
        for &seed in chunk {
            insert_face(&mut tx, &synthetic(&mut rng, model, seed)).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

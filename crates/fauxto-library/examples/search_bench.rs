//! Search latency over a large library (`bench/library.sh` runs it beside its peer).
//!
//!     search_bench --library DIR|postgres://… [--faces 100000] [--repeat 200]
//!
//! Fills the library, when it is empty, with synthetic faces — attributes drawn from
//! plausible distributions, random unit descriptors; no images — then times every query of
//! `bench/library_queries.json` and look-alike searches for random catalogued faces, and
//! prints one JSON object of latencies (milliseconds: p50, p99, max).

use std::time::Instant;

use anyhow::{Context, Result};
use fauxto_library::entry::{AgeBand, FaceEntry};
use fauxto_library::library::insert_face;
use fauxto_library::{DescriptorIndex, FaceQuery, Library, Location, Sort};
use serde_json::{json, Value};

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
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-7), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// A synthetic face: ages skewed to adults as in face datasets, genders even, expressions
/// mostly neutral and happy, yaw spread ±40°.
fn synthetic(rng: &mut Rng, model: &str, seed: u32) -> FaceEntry {
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

async fn fill(library: &Library, faces: u64) -> Result<()> {
    let model = "be9c0000000000000000000000000000000000000000000000000000000000aa";
    sqlx::query(
        "INSERT INTO models (sha256, name, resolution, license, card, added_at) \
         VALUES ($1, 'synthetic', 256, 'CC0-1.0 (synthetic benchmark rows)', '', '') \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(model)
    .execute(&library.db.pool)
    .await?;
    let mut rng = Rng(2026);
    let started = Instant::now();
    for chunk in (0..faces as u32).collect::<Vec<_>>().chunks(1000) {
        let mut tx = library.db.pool.begin().await?;
        for &seed in chunk {
            insert_face(&mut tx, &synthetic(&mut rng, model, seed)).await?;
        }
        tx.commit().await?;
    }
    eprintln!(
        "filled {faces} synthetic faces in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// p50, p99 and max of `ms`.
fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    json!({ "p50": at(0.5), "p99": at(0.99), "max": at(1.0), "n": ms.len() })
}

fn query_of(spec: &Value) -> Result<FaceQuery> {
    let text = |k: &str| spec[k].as_str().map(str::to_string);
    Ok(FaceQuery {
        age: spec["age"]
            .as_array()
            .map(|a| (a[0].as_f64().unwrap() as f32, a[1].as_f64().unwrap() as f32)),
        age_band: text("age_band").and_then(|b| AgeBand::from_name(&b)),
        gender: text("gender"),
        expression: text("expression"),
        facing: text("facing"),
        sort: match spec["sort"].as_str().unwrap_or("newest") {
            "random" => Sort::Random(spec["seed"].as_u64().unwrap_or(0)),
            "diverse" => Sort::Diverse,
            _ => Sort::Newest,
        },
        page: spec["page"].as_u64().unwrap_or(1) as u32,
        per_page: spec["per_page"].as_u64().unwrap_or(24) as u32,
        ..FaceQuery::default()
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let location: Location = arg("--library")
        .context("--library DIR|postgres://…")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let faces: u64 = arg("--faces").map_or(Ok(100_000), |s| s.parse())?;
    let repeat: usize = arg("--repeat").map_or(Ok(200), |s| s.parse())?;
    let queries: Value = serde_json::from_str(&std::fs::read_to_string(
        arg("--queries").map_or("bench/library_queries.json", String::as_str),
    )?)?;

    let library = match Library::open(&location).await {
        Ok(l) => l,
        Err(_) => {
            let images = match &location {
                Location::Embedded(_) => None,
                Location::Postgres(_) => Some("file:///tmp/fauxto-bench-images"),
            };
            Library::init(&location, images).await?
        }
    };
    if library.count().await? == 0 {
        fill(&library, faces).await?;
        library.analyze().await?;
    }
    let catalogued = library.count().await?;

    let mut results = serde_json::Map::new();
    let mut all = Vec::new();
    for spec in queries.as_array().context("a list of queries")? {
        let query = query_of(spec)?;
        let _ = query.run(&library.db).await?; // warm
        let mut ms = Vec::with_capacity(repeat);
        let mut total = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            let page = query.run(&library.db).await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            total = page.total;
        }
        all.extend_from_slice(&ms);
        let mut s = summary(ms);
        s["matches"] = json!(total);
        results.insert(spec["name"].as_str().unwrap_or("?").to_string(), s);
    }

    let t = Instant::now();
    let mut index = DescriptorIndex::default();
    library.load_descriptors(&mut index).await?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut rng = Rng(7);
    let mut similar = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let id = 1 + (rng.next() % catalogued) as i64;
        let face = library.face(id).await?.context("face")?;
        let t = Instant::now();
        let found = index.nearest(&face.descriptor, 10, Some(id));
        similar.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(found.len(), 10);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "library": location.to_string(),
            "faces": catalogued,
            "search": results,
            "search_all": summary(all),
            "similar": summary(similar),
            "similar_index_load_ms": load_ms,
        }))?
    );
    Ok(())
}

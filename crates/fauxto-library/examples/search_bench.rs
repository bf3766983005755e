//! Search latency over a large library (`bench/library.sh` runs it beside its peer).
//!
//!     search_bench --library DIR|postgres://… [--faces 100000] [--repeat 200]
//!
//! Fills the library, when it is empty, with synthetic faces — attributes drawn from
//! plausible distributions, random unit descriptors; no images — then times every query of
//! `bench/library_queries.json` (through the catalogue's SQL, then through the in-memory
//! facet index) and look-alike searches for random catalogued faces, and
//! prints one JSON object of latencies (milliseconds: p50, p99, max).

use std::time::Instant;

use anyhow::{Context, Result};
use fauxto_library::synthetic::{fill, Rng};
use fauxto_library::{AgeBand, DescriptorIndex, FaceQuery, FacetIndex, Library, Location, Sort};
use serde_json::{json, Value};

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
        let started = Instant::now();
        fill(&library, 0..faces as u32, 2026).await?;
        eprintln!(
            "filled {faces} synthetic faces in {:.1} s",
            started.elapsed().as_secs_f64()
        );
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

    // The same queries through the in-memory facet index (refreshed on every query, as a
    // server does).
    let t = Instant::now();
    let mut facets = FacetIndex::default();
    facets.refresh(&library).await?;
    let facets_load_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut facet_results = serde_json::Map::new();
    let mut facet_all = Vec::new();
    for spec in queries.as_array().context("a list of queries")? {
        let query = query_of(spec)?;
        let mut ms = Vec::with_capacity(repeat);
        let mut total = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            let page = library.search_facets(&mut facets, &query).await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            total = page.total;
        }
        facet_all.extend_from_slice(&ms);
        let mut s = summary(ms);
        s["matches"] = json!(total);
        facet_results.insert(spec["name"].as_str().unwrap_or("?").to_string(), s);
    }

    let t = Instant::now();
    let mut index = DescriptorIndex::default();
    library.load_descriptors(&mut index).await?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut rng = Rng(7);
    let mut similar = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let id = 1 + (rng.next_u64() % catalogued) as i64;
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
            "facets": facet_results,
            "facets_all": summary(facet_all),
            "facets_load_ms": facets_load_ms,
            "similar": summary(similar),
            "similar_index_load_ms": load_ms,
        }))?
    );
    Ok(())
}

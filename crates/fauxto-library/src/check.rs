//! `library check`: the catalogue and the image store agree — every catalogued face has its
//! image at each of its sizes, and no image is left that no face names (an orphan).

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Serialize;
use sqlx::Row;

use crate::library::Library;
use crate::store::ImageStore;

/// What `check` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    pub faces: u64,
    pub images: u64,
    /// Images the catalogue names that the store lacks.
    pub missing: Vec<String>,
    /// Images in the store that no catalogued face names.
    pub orphans: Vec<String>,
    /// Images of seeds a worker holds (or held when it stopped) and has not catalogued
    /// yet: kept or swept when the range is done.
    pub pending: u64,
    /// Open or half-done job ranges (work a later `add` will finish).
    pub unfinished_ranges: u64,
}

impl CheckReport {
    pub fn consistent(&self) -> bool {
        self.missing.is_empty() && self.orphans.is_empty()
    }
}

impl Library {
    /// Compares the catalogue with the image store.
    ///
    /// Safe to run beside workers: a range only moves forward (claimed → catalogued → done),
    /// its images are stored while it is claimed and its faces catalogued before it is done,
    /// so the store is listed first, the held ranges read next and the faces last. An image
    /// that still looks orphaned was either swept by its worker since the listing (gone from
    /// a second listing) or is a true orphan.
    pub async fn check(&self) -> Result<CheckReport> {
        let stored: BTreeSet<String> = self.images.list().await?.into_iter().collect();
        let held = self.held_prefixes().await?;
        let rows = sqlx::query("SELECT model_sha256, truncation, seed, sizes FROM faces")
            .fetch_all(&self.db.pool)
            .await?;
        let mut named = BTreeSet::new();
        for row in &rows {
            let sha: String = row.try_get(0)?;
            let truncation: f64 = row.try_get(1)?;
            let seed = u32::try_from(row.try_get::<i64, _>(2)?)?;
            let sizes: Vec<u32> = serde_json::from_str(&row.try_get::<String, _>(3)?)?;
            for size in sizes {
                named.insert(ImageStore::key(&sha, truncation, seed, size));
            }
        }
        let (pending, mut orphans): (Vec<String>, Vec<String>) =
            stored.difference(&named).cloned().partition(|key| {
                key.rsplit_once('/')
                    .is_some_and(|(dir, _)| held.contains(dir))
            });
        if !orphans.is_empty() {
            let still_there: BTreeSet<String> = self.images.list().await?.into_iter().collect();
            orphans.retain(|key| still_there.contains(key));
        }
        let unfinished: i64 =
            sqlx::query("SELECT COUNT(*) FROM ranges WHERE state NOT IN ('done', 'cancelled')")
                .fetch_one(&self.db.pool)
                .await?
                .try_get(0)?;
        Ok(CheckReport {
            faces: rows.len() as u64,
            images: stored.len() as u64,
            missing: named.difference(&stored).cloned().collect(),
            orphans,
            pending: pending.len() as u64,
            unfinished_ranges: unfinished.max(0) as u64,
        })
    }

    /// The image directories (`faces/<model>/<truncation>/<seed>`) of the seeds of every
    /// claimed range not yet done.
    async fn held_prefixes(&self) -> Result<BTreeSet<String>> {
        let rows = sqlx::query(
            "SELECT j.model_sha256, j.options, r.first_seed, r.last_seed FROM ranges r \
             JOIN jobs j ON r.job_id = j.id WHERE r.state IN ('claimed', 'catalogued')",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut held = BTreeSet::new();
        for row in rows {
            let sha: String = row.try_get(0)?;
            let options: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>(1)?)?;
            let truncation = options["truncation"].as_f64().unwrap_or(1.0);
            let (first, last): (i64, i64) = (row.try_get(2)?, row.try_get(3)?);
            for seed in first..=last {
                let key = ImageStore::key(&sha, truncation, u32::try_from(seed)?, 0);
                if let Some((dir, _)) = key.rsplit_once('/') {
                    held.insert(dir.to_string());
                }
            }
        }
        Ok(held)
    }
}

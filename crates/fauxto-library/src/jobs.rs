//! Bulk jobs: a seed list split into ranges that workers claim through the catalogue. A
//! claim is a single UPDATE of one open range (on PostgreSQL its row is picked with
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other); a worker keeps
//! its claim fresh with a heartbeat, and a range whose worker stopped beating (or, on the
//! same machine, whose process is gone) is claimed again.
//!
//! A range moves `open` → `claimed` → `catalogued` → `done`. Its faces are catalogued in the
//! one transaction that marks it `catalogued`, so a worker killed before that leaves
//! nothing half-done: the range is redone, writing the same image keys again. After it, the
//! images of the range's seeds that were not catalogued are deleted and the range marked
//! `done`; a worker killed in between leaves a `catalogued` range whose next claimant only
//! deletes those images. Either way no image is left that no face names.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sqlx::Row;

use crate::db::Backend;
use crate::library::Library;

/// How long a claim lives without a heartbeat before another worker may take the range.
pub const STALE_AFTER_SECS: i64 = 60;

/// The per-range sums of a job's status: done ranges, seeds, done seeds, then the counts.
const JOB_SUMS: [&str; 10] = [
    "CASE WHEN state = 'done' THEN 1 ELSE 0 END",
    "last_seed - first_seed + 1",
    "CASE WHEN state = 'done' THEN last_seed - first_seed + 1 ELSE 0 END",
    "added",
    "no_face",
    "several_faces",
    "weak_detection",
    "memorised",
    "near_duplicate",
    "already_there",
];

/// A claimed range of seeds, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub id: i64,
    pub job: i64,
    pub first: u32,
    pub last: u32,
    /// Its faces are catalogued already; only the sweep of uncatalogued images is left.
    pub catalogued: bool,
}

impl Range {
    pub fn seeds(&self) -> impl Iterator<Item = u32> {
        self.first..=self.last
    }
}

/// Why outputs were not catalogued, and how many were, over a range or a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: u64,
    pub no_face: u64,
    pub several_faces: u64,
    pub weak_detection: u64,
    pub memorised: u64,
    pub near_duplicate: u64,
    /// Already in the library (the same model, seed and truncation).
    pub already_there: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.added
            + self.no_face
            + self.several_faces
            + self.weak_detection
            + self.memorised
            + self.near_duplicate
            + self.already_there
    }

    pub fn add(&mut self, other: &Counts) {
        self.added += other.added;
        self.no_face += other.no_face;
        self.several_faces += other.several_faces;
        self.weak_detection += other.weak_detection;
        self.memorised += other.memorised;
        self.near_duplicate += other.near_duplicate;
        self.already_there += other.already_there;
    }
}

/// A job's progress.
#[derive(Clone, Debug, Serialize)]
pub struct JobStatus {
    pub id: i64,
    /// `open` (work left), `done`, or `cancelled` (no new range is started; one in flight
    /// finishes).
    pub state: String,
    pub ranges: u64,
    pub done_ranges: u64,
    pub seeds: u64,
    pub done_seeds: u64,
    pub counts: Counts,
}

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// This process as a worker: `host:pid`.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Whether `worker` is a process of this machine that no longer runs.
fn dead_here(worker: &str) -> bool {
    let Some((host, pid)) = worker.rsplit_once(':') else {
        return false;
    };
    let this_host = worker_name();
    let this_host = this_host.rsplit_once(':').map_or("", |(h, _)| h);
    host == this_host
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new("/proc").join(pid).exists()
}

/// Takes the lock that serialises job creation, for the rest of `tx`: PostgreSQL's
/// transaction-scoped advisory lock; in SQLite, the database's write lock, taken by a first
/// write (a deferred transaction that only read first could not upgrade under contention).
async fn lock_jobs(tx: &mut sqlx::Transaction<'_, sqlx::Any>, backend: Backend) -> Result<()> {
    let statement = match backend {
        Backend::Postgres => "SELECT pg_advisory_xact_lock(7458271)",
        Backend::Sqlite => "UPDATE settings SET value = value WHERE key = 'format'",
    };
    sqlx::query(statement).execute(&mut **tx).await?;
    Ok(())
}

/// Consecutive runs of `seeds` (in order), each cut into ranges of at most `size`.
pub fn split_ranges(seeds: &[u32], size: u32) -> Vec<(u32, u32)> {
    let size = size.max(1);
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &s in seeds {
        match out.last_mut() {
            Some((first, last)) if s as u64 == *last as u64 + 1 && s - *first < size => *last = s,
            _ => out.push((s, s)),
        }
    }
    out
}

/// `seeds` written back as a seed list (`0-99,120,200-299`): the name of a job's seeds.
pub fn describe_seeds(seeds: &[u32]) -> String {
    split_ranges(seeds, u32::MAX)
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Library {
    /// The unfinished job of the same spec, or a new one whose ranges cover `seeds`.
    pub async fn job_for(
        &self,
        model_sha256: &str,
        model_path: &str,
        options: &serde_json::Value,
        seeds: &str,
        seed_list: &[u32],
        range_size: u32,
    ) -> Result<(i64, bool)> {
        let options_text = options.to_string();
        // One transaction, serialised against every other job_for, so that workers started
        // together agree on one job.
        let mut tx = self.db.pool.begin().await?;
        lock_jobs(&mut tx, self.db.backend).await?;
        let existing = sqlx::query(
            "SELECT id FROM jobs WHERE model_sha256 = $1 AND options = $2 AND seeds = $3 \
             AND state = 'open' ORDER BY id LIMIT 1",
        )
        .bind(model_sha256.to_string())
        .bind(options_text.clone())
        .bind(seeds.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            return Ok((row.try_get(0)?, true));
        }
        if seed_list.is_empty() {
            bail!("no seeds to add");
        }
        // Two unfinished jobs over the same images would sweep each other's files.
        let lo = seed_list.iter().min().copied().unwrap_or(0) as i64;
        let hi = seed_list.iter().max().copied().unwrap_or(0) as i64;
        let overlapping = sqlx::query(
            "SELECT j.seeds, r.first_seed, r.last_seed FROM jobs j JOIN ranges r ON r.job_id = j.id \
             WHERE j.model_sha256 = $1 AND j.options = $2 AND j.state = 'open' \
             AND r.last_seed >= $3 AND r.first_seed <= $4",
        )
        .bind(model_sha256.to_string())
        .bind(options_text.clone())
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *tx)
        .await?;
        for row in overlapping {
            let (first, last): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
            if seed_list
                .iter()
                .any(|&s| (first..=last).contains(&(s as i64)))
            {
                let seeds: String = row.try_get(0)?;
                bail!(
                    "an unfinished add of the same model and truncation covers some of these \
                     seeds ({seeds}): finish it first (`library add --seeds {seeds}`)"
                );
            }
        }
        let id: i64 = sqlx::query(
            "INSERT INTO jobs (model_sha256, model_path, options, seeds, created_at, state) \
             VALUES ($1, $2, $3, $4, $5, 'open') RETURNING id",
        )
        .bind(model_sha256.to_string())
        .bind(model_path.to_string())
        .bind(options_text)
        .bind(seeds.to_string())
        .bind(fauxto_nn::model_file::now_rfc3339())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        for (first, last) in split_ranges(seed_list, range_size) {
            sqlx::query(
                "INSERT INTO ranges (job_id, first_seed, last_seed, state) VALUES ($1, $2, $3, 'open')",
            )
            .bind(id)
            .bind(first as i64)
            .bind(last as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((id, false))
    }

    /// Claims an open range of `job` for `worker` (or one whose worker is gone).
    pub async fn claim_range(&self, job: i64, worker: &str) -> Result<Option<Range>> {
        // Ranges left by dead processes of this machine may be claimed at once.
        let claimed = sqlx::query(
            "SELECT id, worker FROM ranges WHERE job_id = $1 AND state IN ('claimed', 'catalogued')",
        )
        .bind(job)
        .fetch_all(&self.db.pool)
        .await?;
        for row in claimed {
            let w: Option<String> = row.try_get(1)?;
            if w.as_deref().is_some_and(dead_here) {
                sqlx::query("UPDATE ranges SET heartbeat = 0 WHERE id = $1 AND worker = $2")
                    .bind(row.try_get::<i64, _>(0)?)
                    .bind(w)
                    .execute(&self.db.pool)
                    .await?;
            }
        }
        // A cancelled job hands out no new range, but a range left half-done is always
        // finished, so that no stored image is left that no face names.
        let job_state = self.job_state(job).await?;
        let now = now_secs();
        let pick = match self.db.backend {
            Backend::Postgres => {
                "SELECT id FROM ranges WHERE job_id = $3 AND ((state = 'open' AND $5 = 'open') OR \
                 (state IN ('claimed', 'catalogued') AND heartbeat < $4)) ORDER BY id LIMIT 1 \
                 FOR UPDATE SKIP LOCKED"
            }
            Backend::Sqlite => {
                "SELECT id FROM ranges WHERE job_id = $3 AND ((state = 'open' AND $5 = 'open') OR \
                 (state IN ('claimed', 'catalogued') AND heartbeat < $4)) ORDER BY id LIMIT 1"
            }
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE ranges SET worker = $1, heartbeat = $2, \
             state = CASE WHEN state = 'catalogued' THEN 'catalogued' ELSE 'claimed' END \
             WHERE id = ({pick}) RETURNING id, job_id, first_seed, last_seed, state"
        )))
        .bind(worker.to_string())
        .bind(now)
        .bind(job)
        .bind(now - STALE_AFTER_SECS)
        .bind(job_state)
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(|r| -> Result<Range> {
            Ok(Range {
                id: r.try_get(0)?,
                job: r.try_get(1)?,
                first: u32::try_from(r.try_get::<i64, _>(2)?)?,
                last: u32::try_from(r.try_get::<i64, _>(3)?)?,
                catalogued: r.try_get::<String, _>(4)? == "catalogued",
            })
        })
        .transpose()
    }

    /// Keeps `worker`'s claim on `range` fresh; false when it has lost the claim.
    pub async fn heartbeat(&self, range: &Range, worker: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ranges SET heartbeat = $1 WHERE id = $2 AND worker = $3 AND state = 'claimed'",
        )
        .bind(now_secs())
        .bind(range.id)
        .bind(worker.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The seeds of `range` catalogued for `model_sha256` at `truncation`.
    pub async fn catalogued_seeds(
        &self,
        model_sha256: &str,
        truncation: f64,
        range: &Range,
    ) -> Result<std::collections::HashSet<u32>> {
        let rows = sqlx::query(
            "SELECT seed FROM faces WHERE model_sha256 = $1 AND truncation = $2 \
             AND seed >= $3 AND seed <= $4",
        )
        .bind(model_sha256.to_string())
        .bind(truncation)
        .bind(range.first as i64)
        .bind(range.last as i64)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(u32::try_from(r.try_get::<i64, _>(0)?)?))
            .collect()
    }

    /// Marks `worker`'s catalogued `range` done (after its sweep); false when the claim
    /// was lost meanwhile.
    pub async fn finish_range(&self, range: &Range, worker: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ranges SET state = 'done' WHERE id = $1 AND worker = $2 AND state = 'catalogued'",
        )
        .bind(range.id)
        .bind(worker.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Job `job`'s state: `open`, `done` or `cancelled`.
    async fn job_state(&self, job: i64) -> Result<String> {
        sqlx::query("SELECT state FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_optional(&self.db.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .with_context(|| format!("no job #{job}"))
    }

    /// The job's progress and counts; marks it done when every range is.
    /// (Sums are cast back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC.)
    pub async fn job_status(&self, job: i64) -> Result<JobStatus> {
        let sums = JOB_SUMS.map(|e| format!("CAST(COALESCE(SUM({e}), 0) AS BIGINT)"));
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), {} FROM ranges WHERE job_id = $1",
            sums.join(", ")
        )))
        .bind(job)
        .fetch_one(&self.db.pool)
        .await?;
        let n = |i: usize| -> Result<u64> { Ok(row.try_get::<i64, _>(i)?.max(0) as u64) };
        let mut status = JobStatus {
            id: job,
            state: String::new(),
            ranges: n(0)?,
            done_ranges: n(1)?,
            seeds: n(2)?,
            done_seeds: n(3)?,
            counts: Counts {
                added: n(4)?,
                no_face: n(5)?,
                several_faces: n(6)?,
                weak_detection: n(7)?,
                memorised: n(8)?,
                near_duplicate: n(9)?,
                already_there: n(10)?,
            },
        };
        if status.ranges > 0 && status.done_ranges == status.ranges {
            sqlx::query("UPDATE jobs SET state = 'done' WHERE id = $1 AND state = 'open'")
                .bind(job)
                .execute(&self.db.pool)
                .await?;
        }
        status.state = self.job_state(job).await?;
        Ok(status)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::location::Location;

    /// A fresh embedded library named `name`, holding model `abc`, and its directory.
    pub(crate) async fn library_with_a_model(name: &str) -> (Library, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("fauxto-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let lib = Library::init(&Location::Embedded(dir.clone()), None)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO models (sha256, name, resolution, license, card, added_at) \
             VALUES ('abc', 'm', 64, 'CC0', '', '')",
        )
        .execute(&lib.db.pool)
        .await
        .unwrap();
        (lib, dir)
    }

    #[tokio::test]
    async fn a_claim_without_heartbeat_goes_stale_and_passes_to_another_worker() {
        let (lib, dir) = library_with_a_model("jobs").await;
        let seeds: Vec<u32> = (0..20).collect();
        let options = serde_json::json!({ "truncation": 1.0 });
        let (job, resumed) = lib
            .job_for("abc", "m", &options, "0-19", &seeds, 10)
            .await
            .unwrap();
        assert!(!resumed);
        // The same spec continues the job; an overlapping one is refused while it is open.
        assert_eq!(
            lib.job_for("abc", "m", &options, "0-19", &seeds, 10)
                .await
                .unwrap(),
            (job, true)
        );
        let err = lib
            .job_for(
                "abc",
                "m",
                &options,
                "15-25",
                &(15..26).collect::<Vec<_>>(),
                10,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("finish it first"), "{err}");

        // Workers on other machines (their processes cannot be looked up from here).
        let (a, b) = ("elsewhere:1", "faraway:2");
        let first = lib.claim_range(job, a).await.unwrap().unwrap();
        let second = lib.claim_range(job, b).await.unwrap().unwrap();
        assert_ne!(first.id, second.id);
        assert!(
            lib.claim_range(job, b).await.unwrap().is_none(),
            "all claimed"
        );
        assert!(lib.heartbeat(&first, a).await.unwrap());
        // a stops beating: after STALE_AFTER_SECS its range passes to b.
        sqlx::query("UPDATE ranges SET heartbeat = $1 WHERE id = $2")
            .bind(now_secs() - STALE_AFTER_SECS - 1)
            .bind(first.id)
            .execute(&lib.db.pool)
            .await
            .unwrap();
        let taken = lib.claim_range(job, b).await.unwrap().unwrap();
        assert_eq!(
            (taken.id, taken.first, taken.catalogued),
            (first.id, 0, false)
        );
        assert!(!lib.heartbeat(&first, a).await.unwrap(), "a lost its claim");
        assert!(lib.heartbeat(&taken, b).await.unwrap());
        assert!(
            !lib.finish_range(&taken, b).await.unwrap(),
            "not catalogued yet"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn seeds_split_into_consecutive_ranges() {
        let seeds: Vec<u32> = (0..10).chain([42, 43, 100]).collect();
        assert_eq!(
            split_ranges(&seeds, 4),
            [(0, 3), (4, 7), (8, 9), (42, 43), (100, 100)]
        );
        assert_eq!(
            split_ranges(&[u32::MAX - 1, u32::MAX], 8),
            [(u32::MAX - 1, u32::MAX)]
        );
        assert!(split_ranges(&[], 8).is_empty());
        assert_eq!(describe_seeds(&seeds), "0-9,42-43,100");
    }
}

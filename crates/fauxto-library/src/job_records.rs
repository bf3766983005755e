//! Jobs as records: what a job is (model, options, seeds, who started it), listing them,
//! cancelling one, and finding the ones a studio should resume when it starts.

use anyhow::{Context, Result};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::jobs::now_secs;
use crate::library::Library;

/// Who started a job, and so who resumes it after a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobOrigin {
    /// `fauxto library add`: running the same command again continues it.
    Cli,
    /// The studio's job API: the studio continues it when it starts.
    Studio,
}

impl JobOrigin {
    fn as_str(self) -> &'static str {
        match self {
            JobOrigin::Cli => "cli",
            JobOrigin::Studio => "studio",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "studio" => JobOrigin::Studio,
            _ => JobOrigin::Cli,
        }
    }
}

/// A job as stored: what it adds.
#[derive(Clone, Debug, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub model_sha256: String,
    /// Where the model file was when the job started.
    pub model_path: String,
    /// The seeds, as a seed list (`0-99,120`).
    pub seeds: String,
    pub truncation: f64,
    pub created_at: String,
    /// `open`, `done` or `cancelled`.
    pub state: String,
    pub origin: JobOrigin,
}

const JOB_COLUMNS: &str = "id, model_sha256, model_path, options, seeds, created_at, state, origin";

fn record_of(row: &AnyRow) -> Result<JobRecord> {
    let options: String = row.try_get(3)?;
    let options: serde_json::Value =
        serde_json::from_str(&options).context("a job's options are not JSON")?;
    Ok(JobRecord {
        id: row.try_get(0)?,
        model_sha256: row.try_get(1)?,
        model_path: row.try_get(2)?,
        truncation: options["truncation"].as_f64().unwrap_or(1.0),
        seeds: row.try_get(4)?,
        created_at: row.try_get(5)?,
        state: row.try_get(6)?,
        origin: JobOrigin::parse(&row.try_get::<String, _>(7)?),
    })
}

impl Library {
    /// Job `id`, if there is one.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        row.as_ref().map(record_of).transpose()
    }

    /// The newest `limit` jobs, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit as i64)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(record_of).collect()
    }

    /// Records who started job `id`.
    pub async fn set_job_origin(&self, id: i64, origin: JobOrigin) -> Result<()> {
        sqlx::query("UPDATE jobs SET origin = $1 WHERE id = $2")
            .bind(origin.as_str())
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Cancels job `id`: its ranges not yet started are marked `cancelled` and no worker
    /// starts one; the ranges in flight finish. False when the job was not open (done, or cancelled already).
    pub async fn cancel_job(&self, id: i64) -> Result<bool> {
        let mut tx = self.db.pool.begin().await?;
        let done =
            sqlx::query("UPDATE jobs SET state = 'cancelled' WHERE id = $1 AND state = 'open'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        // Its ranges not yet started are left undone for good.
        sqlx::query("UPDATE ranges SET state = 'cancelled' WHERE job_id = $1 AND state = 'open'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether a worker is at work on job `id` now (a range claimed with a fresh heartbeat).
    pub async fn job_running(&self, id: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM ranges WHERE job_id = $1 AND state IN ('claimed', 'catalogued') \
             AND heartbeat >= $2",
        )
        .bind(id)
        .bind(now_secs() - crate::jobs::STALE_AFTER_SECS)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Jobs of `origin` with work left, oldest first: open ones, and cancelled ones with a
    /// range left half-done.
    pub async fn unfinished_jobs(&self, origin: JobOrigin) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE origin = $1 AND (state = 'open' OR \
             (state = 'cancelled' AND EXISTS (SELECT 1 FROM ranges WHERE ranges.job_id = jobs.id \
             AND ranges.state IN ('claimed', 'catalogued')))) ORDER BY id"
        )))
        .bind(origin.as_str())
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(record_of).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::STALE_AFTER_SECS;

    #[tokio::test]
    async fn a_cancelled_job_starts_no_range_but_finishes_the_one_left_half_done() {
        let (lib, dir) = crate::jobs::tests::library_with_a_model("job-records").await;
        let seeds: Vec<u32> = (0..30).collect();
        let options = serde_json::json!({ "truncation": 0.7 });
        let (job, _) = lib
            .job_for("abc", "m.safetensors", &options, "0-29", &seeds, 10)
            .await
            .unwrap();
        lib.set_job_origin(job, JobOrigin::Studio).await.unwrap();
        let record = lib.job(job).await.unwrap().unwrap();
        assert_eq!(
            (record.seeds.as_str(), record.truncation, record.origin),
            ("0-29", 0.7, JobOrigin::Studio)
        );
        assert!(lib.job(job + 1).await.unwrap().is_none());
        assert_eq!(lib.jobs(10).await.unwrap().len(), 1);

        let worker = "elsewhere:1";
        let first = lib.claim_range(job, worker).await.unwrap().unwrap();
        assert!(lib.job_running(job).await.unwrap());
        assert!(lib.cancel_job(job).await.unwrap());
        assert!(!lib.cancel_job(job).await.unwrap(), "cancelled already");
        assert_eq!(lib.job_status(job).await.unwrap().state, "cancelled");
        assert!(
            lib.claim_range(job, worker).await.unwrap().is_none(),
            "no new range of a cancelled job"
        );
        // Its worker stops: the half-done range is still to be finished, by anyone.
        assert_eq!(
            lib.unfinished_jobs(JobOrigin::Studio).await.unwrap()[0].id,
            job
        );
        assert!(lib
            .unfinished_jobs(JobOrigin::Cli)
            .await
            .unwrap()
            .is_empty());
        sqlx::query("UPDATE ranges SET heartbeat = $1 WHERE id = $2")
            .bind(now_secs() - STALE_AFTER_SECS - 1)
            .bind(first.id)
            .execute(&lib.db.pool)
            .await
            .unwrap();
        assert!(!lib.job_running(job).await.unwrap());
        let again = lib.claim_range(job, "faraway:2").await.unwrap().unwrap();
        assert_eq!(again.id, first.id);
        sqlx::query("UPDATE ranges SET state = 'done' WHERE id = $1")
            .bind(first.id)
            .execute(&lib.db.pool)
            .await
            .unwrap();
        assert!(lib
            .unfinished_jobs(JobOrigin::Studio)
            .await
            .unwrap()
            .is_empty());
        let status = lib.job_status(job).await.unwrap();
        assert_eq!(
            (status.state.as_str(), status.done_seeds),
            ("cancelled", 10)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

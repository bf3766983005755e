//! Bulk jobs in the studio: a worker thread that runs `library add` jobs one after another,
//! in-process, through the same resumable range claims as the command line. Progress lives
//! in the catalogue (each range is marked done in the transaction that catalogues its faces),
//! so it survives a restart, is the same whether the studio or a `fauxto library add` on
//! another machine does the work, and is what the API reports. When the studio starts it
//! resumes the jobs it had started that still have work left.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use fauxto_app::guard::GuardOptions;
use fauxto_app::labels::LabelOptions;
use fauxto_library::add::{AddOptions, DEFAULT_DEDUPE_THRESHOLD, DEFAULT_MIN_SCORE};
use fauxto_library::{JobOrigin, Library};
use tokio::runtime::Handle;

/// Seeds per range of a studio job: one forward pass, so a cancel takes effect within one
/// batch and progress moves at least that often.
pub const RANGE_SIZE: u32 = 16;

/// What the job worker labels and guards with, and where it finds models.
#[derive(Clone, Debug)]
pub struct JobSettings {
    pub labels: LabelOptions,
    pub guard: GuardOptions,
    /// Model files by SHA-256 (the studio's models), used before the path a job recorded.
    pub models: HashMap<String, PathBuf>,
}

/// The studio's job worker.
pub struct JobRunner {
    sender: Mutex<mpsc::Sender<i64>>,
    /// The error that stopped a job, by job id (shown in its status).
    errors: Arc<Mutex<HashMap<i64, String>>>,
}

impl JobRunner {
    /// Starts the worker thread on `device`; `rt` runs the catalogue's queries.
    pub fn start<B: Backend>(
        device: &B::Device,
        library: Library,
        rt: Handle,
        settings: JobSettings,
    ) -> Result<Self>
    where
        B::Device: Send + Sync,
    {
        let (sender, receiver) = mpsc::channel::<i64>();
        let errors: Arc<Mutex<HashMap<i64, String>>> = Arc::default();
        let device = device.clone();
        let failures = errors.clone();
        std::thread::Builder::new()
            .name("library-jobs".into())
            .spawn(move || {
                while let Ok(job) = receiver.recv() {
                    match run_job::<B>(&rt, &library, &device, &settings, job) {
                        Ok(()) => {
                            if let Ok(mut e) = failures.lock() {
                                e.remove(&job);
                            }
                        }
                        Err(e) => {
                            tracing::error!("job #{job} stopped: {e:#}");
                            if let Ok(mut errors) = failures.lock() {
                                errors.insert(job, format!("{e:#}"));
                            }
                        }
                    }
                }
            })
            .context("cannot start the job thread")?;
        Ok(JobRunner {
            sender: Mutex::new(sender),
            errors,
        })
    }

    /// Queues job `id` (made with [`fauxto_library::add::open_job`]).
    pub fn submit(&self, id: i64) -> Result<()> {
        self.sender
            .lock()
            .map_err(|_| anyhow::anyhow!("the job thread failed"))?
            .send(id)
            .map_err(|_| anyhow::anyhow!("the job thread has stopped"))
    }

    /// Queues every job the studio started that still has work left; returns their ids.
    pub async fn resume_unfinished(&self, library: &Library) -> Result<Vec<i64>> {
        let jobs = library.unfinished_jobs(JobOrigin::Studio).await?;
        for job in &jobs {
            self.submit(job.id)?;
        }
        Ok(jobs.iter().map(|j| j.id).collect())
    }

    /// The error that stopped job `id`, if one did.
    pub fn error(&self, id: i64) -> Option<String> {
        self.errors.lock().ok()?.get(&id).cloned()
    }
}

/// Runs job `id` until no range of it is left to claim.
fn run_job<B: Backend>(
    rt: &Handle,
    library: &Library,
    device: &B::Device,
    settings: &JobSettings,
    id: i64,
) -> Result<()>
where
    B::Device: Send + Sync,
{
    let record = rt
        .block_on(library.job(id))?
        .with_context(|| format!("no job #{id}"))?;
    let model = settings
        .models
        .get(&record.model_sha256)
        .cloned()
        .unwrap_or_else(|| PathBuf::from(&record.model_path));
    let options = AddOptions {
        model,
        seeds: Vec::new(),
        job: Some(id),
        truncation: record.truncation,
        batch: RANGE_SIZE as usize,
        range_size: RANGE_SIZE,
        min_score: DEFAULT_MIN_SCORE,
        dedupe_threshold: DEFAULT_DEDUPE_THRESHOLD,
        labels: settings.labels.clone(),
        guard: settings.guard.clone(),
    };
    let report = fauxto_library::add::add::<B>(rt, library, device, &options, &|_, _| {})?;
    tracing::info!(
        "job #{id}: {} added this run, {} of {} seeds done",
        report.this_run.added,
        report.job_status.done_seeds,
        report.job_status.seeds
    );
    Ok(())
}

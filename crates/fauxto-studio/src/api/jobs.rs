//! Bulk jobs: start a `library add` of a seed list, follow its progress (polling, or
//! server-sent events), cancel it. A job's state is the catalogue's (see `crate::jobs`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use fauxto_library::jobs::Counts;
use fauxto_library::{JobOrigin, JobRecord, Scope};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::generate::{truncation, worker};
use super::path_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::jobs::RANGE_SIZE;
use crate::state::Studio;

/// How often an event stream looks at the catalogue for progress.
const EVENT_POLL: Duration = Duration::from_millis(500);
/// How many jobs the list shows.
const LISTED: usize = 50;

/// A job to start.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct JobRequest {
    /// Seeds to add, as a seed list: `0-999`, `0-99,500-599` (at most 1,000,000).
    pub seeds: String,
    /// SHA-256 (or a prefix) of the model; may be left out when the studio serves one.
    pub model: Option<String>,
    /// Truncation ψ in [0, 2] (default 1: none).
    pub truncation: Option<f64>,
}

/// Why seeds were not catalogued, and how many were.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobCounts {
    pub added: u64,
    /// No face detected.
    pub no_face: u64,
    pub several_faces: u64,
    /// A face too weakly detected.
    pub weak_detection: u64,
    /// Withheld by the memorisation guard.
    pub memorised: u64,
    /// Too like a face already in the library.
    pub near_duplicate: u64,
    /// In the library already (same model, seed and truncation).
    pub already_there: u64,
}

impl From<Counts> for JobCounts {
    fn from(c: Counts) -> Self {
        JobCounts {
            added: c.added,
            no_face: c.no_face,
            several_faces: c.several_faces,
            weak_detection: c.weak_detection,
            memorised: c.memorised,
            near_duplicate: c.near_duplicate,
            already_there: c.already_there,
        }
    }
}

/// A job and its progress.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub model_sha256: String,
    /// The seeds, as a seed list.
    pub seeds: String,
    pub truncation: f64,
    /// When it was started (RFC 3339).
    pub created_at: String,
    /// `open` (work left), `done` or `cancelled`.
    pub state: String,
    /// `studio` (resumed by the studio when it restarts) or `cli` (`fauxto library add`).
    pub origin: String,
    /// A worker is at it now.
    pub running: bool,
    /// Seeds in the job, and seeds done.
    pub total_seeds: u64,
    pub done_seeds: u64,
    pub counts: JobCounts,
    /// What stopped the studio's worker on it, if something did.
    pub error: Option<String>,
}

/// The newest jobs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

async fn view(studio: &Studio, record: JobRecord) -> ApiResult<JobView> {
    let status = studio.library.job_status(record.id).await?;
    Ok(JobView {
        id: record.id,
        model_sha256: record.model_sha256,
        seeds: record.seeds,
        truncation: record.truncation,
        created_at: record.created_at,
        state: status.state,
        origin: match record.origin {
            JobOrigin::Cli => "cli",
            JobOrigin::Studio => "studio",
        }
        .into(),
        running: studio.library.job_running(record.id).await?,
        total_seeds: status.seeds,
        done_seeds: status.done_seeds,
        counts: status.counts.into(),
        error: studio.jobs.as_ref().and_then(|j| j.error(record.id)),
    })
}

async fn record(studio: &Studio, id: i64) -> ApiResult<JobRecord> {
    studio
        .library
        .job(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job #{id}")))
}

/// Starts adding faces of a seed list to the library (or continues the unfinished job of the
/// same seeds); the studio resumes it after a restart.
#[utoipa::path(post, path = "/api/jobs", tag = "jobs", request_body = JobRequest,
    responses((status = 202, body = JobView, description = "Started (or continued)"),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "An unfinished job covers some of the seeds")))]
pub async fn start(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    request: Result<Json<JobRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    caller.require(&studio, Scope::Admin)?;
    let Json(request) = request.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let seeds = fauxto_nn::seed::parse_seed_list(&request.seeds)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let psi = truncation(request.truncation)?;
    let worker = worker(&studio, request.model.as_deref())?;
    let runner = studio
        .jobs
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this studio runs no jobs"))?;
    let (id, _) = fauxto_library::add::open_job(
        &studio.library,
        &worker.record,
        &worker.path,
        psi,
        &seeds,
        RANGE_SIZE,
    )
    .await
    .map_err(|e| {
        if e.to_string().contains("finish it first") {
            ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
        } else {
            ApiError::internal(e)
        }
    })?;
    studio.library.set_job_origin(id, JobOrigin::Studio).await?;
    runner.submit(id)?;
    let record = record(&studio, id).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&studio, record).await?)))
}

/// The newest 50 jobs, newest first.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs",
    responses((status = 200, body = JobList), (status = 401, body = ErrorBody)))]
pub async fn list(State(studio): State<Arc<Studio>>, caller: Caller) -> ApiResult<Json<JobList>> {
    caller.require(&studio, Scope::Read)?;
    let mut jobs = Vec::new();
    for record in studio.library.jobs(LISTED).await? {
        jobs.push(view(&studio, record).await?);
    }
    Ok(Json(JobList { jobs }))
}

/// One job and its progress.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<JobView>> {
    caller.require(&studio, Scope::Read)?;
    let id = path_id(id)?;
    let record = record(&studio, id).await?;
    Ok(Json(view(&studio, record).await?))
}

/// Cancels a job: no new range of it is started; the one in flight (at most 16 seeds)
/// finishes, so nothing is left half-catalogued.
#[utoipa::path(delete, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Done or cancelled already")))]
pub async fn cancel(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<JobView>> {
    caller.require(&studio, Scope::Admin)?;
    let id = path_id(id)?;
    let record = record(&studio, id).await?;
    if !studio.library.cancel_job(id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("job #{id} is {} already", record.state),
        ));
    }
    Ok(Json(view(&studio, record).await?))
}

/// The job's progress as server-sent events: a `progress` event (a JobView) whenever it
/// changes, and a last `end` event once the job is done or cancelled with nothing in flight.
#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, content_type = "text/event-stream", description = "JobView events"),
              (status = 404, body = ErrorBody)))]
pub async fn events(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    caller.require(&studio, Scope::Read)?;
    let id = path_id(id)?;
    record(&studio, id).await?;
    // (studio, last JSON sent, finished)
    let stream = futures_util::stream::unfold(
        (studio, String::new(), false),
        move |(studio, last, finished)| async move {
            if finished {
                return None;
            }
            loop {
                let view = match record(&studio, id).await {
                    Ok(r) => view(&studio, r).await,
                    Err(e) => Err(e),
                };
                let view = match view {
                    Ok(v) => v,
                    Err(e) => {
                        let event = Event::default().event("error").data(e.message);
                        return Some((Ok(event), (studio, last, true)));
                    }
                };
                let over = view.state != "open" && !view.running;
                let json = serde_json::to_string(&view).unwrap_or_default();
                if over {
                    let event = Event::default().event("end").data(json);
                    return Some((Ok(event), (studio, String::new(), true)));
                }
                if json != last {
                    let event = Event::default().event("progress").data(json.clone());
                    return Some((Ok(event), (studio, json, false)));
                }
                tokio::time::sleep(EVENT_POLL).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

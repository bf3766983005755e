//! Generate on demand: labelled images of seeds, batched onto the network with whatever
//! other requests arrive at the same time (see `crate::generate`).

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use fauxto_library::Scope;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::generate::{ModelWorker, Outcome, MAX_BATCH};
use crate::state::Studio;

/// The model and truncation of a generation.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GenerateParams {
    /// SHA-256 (or a prefix) of the model; may be left out when the studio serves one.
    pub model: Option<String>,
    /// Truncation ψ in [0, 2] (default 1: none).
    pub truncation: Option<f64>,
}

/// A batch to generate.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct GenerateRequest {
    /// SHA-256 (or a prefix) of the model; may be left out when the studio serves one.
    pub model: Option<String>,
    /// 1 to 16 seeds.
    pub seeds: Vec<u32>,
    /// Truncation ψ in [0, 2] (default 1: none).
    pub truncation: Option<f64>,
}

/// One generated image.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GeneratedImage {
    pub seed: u32,
    pub truncation: f64,
    /// The watermark payload it carries.
    pub watermark: Option<String>,
    /// The labelled PNG, base64.
    pub png_base64: String,
}

/// A seed whose image the memorisation guard withheld.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WithheldImage {
    pub seed: u32,
    /// Descriptor distance to the nearest training face.
    pub distance: f32,
}

/// The images of a batch.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GeneratedBatch {
    pub model_sha256: String,
    pub images: Vec<GeneratedImage>,
    /// Seeds whose image showed a face from the training data.
    pub withheld: Vec<WithheldImage>,
}

pub(crate) fn truncation(value: Option<f64>) -> ApiResult<f64> {
    match value.unwrap_or(1.0) {
        t if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(ApiError::bad_request("truncation is between 0 and 2")),
    }
}

/// The model a request names (by SHA-256 prefix), or the studio's only one.
pub(crate) fn worker<'a>(studio: &'a Studio, model: Option<&str>) -> ApiResult<&'a ModelWorker> {
    let workers = &studio.generators;
    match model {
        None if workers.len() == 1 => Ok(&workers[0]),
        None if workers.is_empty() => Err(ApiError::not_found(
            "this studio generates no images (started without models)",
        )),
        None => Err(ApiError::bad_request(
            "this studio serves several models: name one with model=SHA256",
        )),
        Some(prefix) => {
            let prefix = prefix.to_ascii_lowercase();
            let found: Vec<&ModelWorker> = workers
                .iter()
                .filter(|w| w.sha256.starts_with(&prefix))
                .collect();
            match found[..] {
                [one] if !prefix.is_empty() => Ok(one),
                [] => Err(ApiError::not_found(format!(
                    "this studio serves no model {prefix:?}"
                ))),
                _ => Err(ApiError::bad_request(format!(
                    "model {prefix:?} names more than one model: give more digits"
                ))),
            }
        }
    }
}

/// The labelled image of one seed (PNG). The same seed, model and truncation always give
/// the same image.
#[utoipa::path(get, path = "/api/generate/{seed}", tag = "generate",
    params(("seed" = u32, Path, description = "Seed"), GenerateParams),
    responses((status = 200, content_type = "image/png", description = "The labelled image"),
              (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "The guard withheld it")))]
pub async fn one(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    seed: Result<Path<String>, PathRejection>,
    params: Result<Query<GenerateParams>, QueryRejection>,
) -> ApiResult<Response> {
    caller.require(&studio, Scope::Generate)?;
    let Path(seed) = seed.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let seed: u32 = seed
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{seed:?} is not a seed (0 to 4294967295)")))?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let psi = truncation(params.truncation)?;
    let worker = worker(&studio, params.model.as_deref())?;
    match worker.generate(seed, psi).await? {
        Outcome::Refused { distance } => Err(withheld(seed, distance)),
        Outcome::Made(image) => {
            let mut response = image.png.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!(
                    "inline; filename=\"fauxto-{}-seed{seed}.png\"",
                    &worker.sha256[..12]
                ))
                .map_err(|e| anyhow::anyhow!(e))?,
            );
            if let Some(w) = image.watermark {
                headers.insert(
                    HeaderName::from_static("x-fauxto-watermark"),
                    HeaderValue::from_str(&w).map_err(|e| anyhow::anyhow!(e))?,
                );
            }
            Ok(response)
        }
    }
}

fn withheld(seed: u32, distance: f32) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "withheld",
        format!(
            "seed {seed} shows a face from the training data (descriptor distance {distance:.3}); \
             the memorisation guard withheld it"
        ),
    )
}

/// Labelled images of up to 16 seeds, as base64 PNGs in JSON.
#[utoipa::path(post, path = "/api/generate", tag = "generate", request_body = GenerateRequest,
    responses((status = 200, body = GeneratedBatch), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn batch(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    request: Result<Json<GenerateRequest>, JsonRejection>,
) -> ApiResult<Json<GeneratedBatch>> {
    caller.require(&studio, Scope::Generate)?;
    let Json(request) = request.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if request.seeds.is_empty() || request.seeds.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "give 1 to {MAX_BATCH} seeds"
        )));
    }
    let psi = truncation(request.truncation)?;
    let worker = worker(&studio, request.model.as_deref())?;
    let outcomes =
        futures_util::future::join_all(request.seeds.iter().map(|&s| worker.generate(s, psi)))
            .await;
    let mut out = GeneratedBatch {
        model_sha256: worker.sha256.clone(),
        images: Vec::new(),
        withheld: Vec::new(),
    };
    for (outcome, &seed) in outcomes.into_iter().zip(&request.seeds) {
        match outcome? {
            Outcome::Made(image) => out.images.push(GeneratedImage {
                seed: image.seed,
                truncation: image.truncation,
                watermark: image.watermark,
                png_base64: base64::engine::general_purpose::STANDARD.encode(&image.png),
            }),
            Outcome::Refused { distance } => out.withheld.push(WithheldImage { seed, distance }),
        }
    }
    Ok(Json(out))
}

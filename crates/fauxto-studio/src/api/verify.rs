//! Verify: what any uploaded image says about itself — its Content Credential (state,
//! signer, source type, model, training data, licence), fauxto's watermark and the
//! GAN-image detector's verdict — the same report as `fauxto verify --json`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fauxto_library::Scope;
use fauxto_trust::watermark::Key;

use super::upload;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::Studio;

/// Verify an image (the request body: PNG, JPEG, WebP or GIF).
#[utoipa::path(post, path = "/api/verify", tag = "verify",
    request_body(content = Vec<u8>, content_type = "image/*", description = "Any image"),
    responses((status = 200, description = "The report of `fauxto verify --json`", body = Object),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn verify(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    caller.require(&studio, Scope::Read)?;
    let bytes = upload::bytes(body)?;
    let studio2 = studio.clone();
    let report = tokio::task::spawn_blocking(move || -> ApiResult<String> {
        upload::decode(&studio2, &bytes)?;
        let key = Key::from_passphrase(&studio2.options.watermark_key);
        let trust = studio2.options.trust_pem.as_deref();
        let detector = Some(&studio2.detector);
        let report =
            fauxto_app::verify::verify_image("upload", &bytes, trust, None, &key, detector)
                .map_err(|e| ApiError::unprocessable(format!("{e:#}")))?;
        // Serialised as `fauxto verify --json` prints it (f32 scores at f32 precision).
        Ok(serde_json::to_string(&report).map_err(anyhow::Error::from)?)
    })
    .await
    .map_err(|e| anyhow::anyhow!("verification failed: {e}"))??;
    Ok(([(header::CONTENT_TYPE, "application/json")], report).into_response())
}

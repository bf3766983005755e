//! Routes and the middleware every request passes: panics caught (a JSON 500, the server
//! lives on), a time limit, a body limit, compression (never of images, which are already
//! compressed), and a tracing span per request.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::api::{self, faces, generate, jobs, keys, models, verify};
use crate::error::ApiError;
use crate::state::Studio;
use crate::web;

/// How often the indexes pick up faces that other processes catalogued.
const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// Every route of the studio.
pub fn router(studio: Arc<Studio>) -> Router {
    let timeout = studio.options.request_timeout;
    let max_body = studio.options.max_upload_bytes;
    Router::new()
        .route("/", get(web::index))
        .route("/studio.js", get(web::script))
        .route("/studio.css", get(web::style))
        .route("/api/docs", get(web::docs))
        .route("/api/openapi.json", get(api::openapi_json))
        .route("/api/faces", get(faces::list))
        .route("/api/faces/{id}", get(faces::detail))
        .route("/api/faces/{id}/image", get(faces::image))
        .route("/api/faces/{id}/similar", get(faces::similar_to_face))
        .route("/api/similar", post(faces::similar_to_photo))
        .route("/api/verify", post(verify::verify))
        .route("/api/models", get(models::list))
        .route("/api/keys", get(keys::list))
        .route("/api/generate", post(generate::batch))
        .route("/api/generate/{seed}", get(generate::one))
        .route("/api/jobs", get(jobs::list).post(jobs::start))
        .route("/api/jobs/{id}", get(jobs::detail).delete(jobs::cancel))
        .route("/api/jobs/{id}/events", get(jobs::events))
        .fallback(api::no_route)
        .with_state(studio)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            refuse_declared_oversize(request, next, max_body)
        }))
        // The fastest level: JSON shrinks about as much, for a fraction of the time.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response))
}

/// Refuses a request whose declared length is over `max_body` before its body is read
/// (a body without a declared length is cut off at the same size while it is read).
async fn refuse_declared_oversize(request: Request, next: Next, max_body: usize) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > max_body as u64 => ApiError::too_large(format!(
            "the body is {n} bytes; this studio accepts up to {max_body}"
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    ApiError::internal(anyhow::anyhow!("handler panicked: {what}")).into_response()
}

/// Serves `studio` on its address until interrupted; prints the URL it serves at.
pub async fn serve(studio: Studio) -> Result<()> {
    let listen = studio.options.listen;
    let studio = Arc::new(studio);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    println!("fauxto studio: http://{address}/");
    if !address.ip().is_loopback() {
        tracing::warn!("the studio listens on {address}, reachable from other machines");
    }
    let refreshing = studio.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            if let Err(e) = refreshing.refresh().await {
                tracing::warn!("cannot refresh the library's indexes: {e:#}");
            }
            refreshing.limiter.forget_quiet();
        }
    });
    axum::serve(
        listener,
        router(studio).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the server failed")
}

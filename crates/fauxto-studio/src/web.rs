//! The web studio's pages and assets, compiled into the binary: no CDN, no network, no
//! build step when it runs.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../web/index.html");
const SCRIPT: &str = include_str!("../web/studio.js");
const STYLE: &str = include_str!("../web/studio.css");
const DOCS: &str = include_str!("../web/docs.html");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'",
        ),
    );
    response
}

/// The studio page (gallery, face, look-alikes, verify; routed in the page by its hash).
pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// A page that lists the API from its OpenAPI document.
pub async fn docs() -> Response {
    asset(DOCS, "text/html; charset=utf-8")
}

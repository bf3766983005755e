//! Uploaded images: the body's size is bounded by the router (and refused with 413 beyond
//! it), and the pixels an image declares are checked from its header before anything is
//! decoded, so that a decompression bomb is refused without being allocated.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use image::DynamicImage;

use crate::error::{ApiError, ApiResult};
use crate::state::Studio;

/// The body of an upload, or the error that says why it was refused.
pub fn bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    let bytes = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large("the upload is larger than this studio accepts")
        }
        _ => ApiError::bad_request(e.body_text()),
    })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty: send the image as the body",
        ));
    }
    Ok(bytes)
}

/// Decodes an uploaded image within the studio's pixel limit: 413 for one that declares
/// more pixels, 415 for one that is not an image fauxto reads.
pub fn decode(studio: &Studio, bytes: &[u8]) -> ApiResult<DynamicImage> {
    let unreadable = |e: anyhow::Error| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{e:#}"),
        )
    };
    let limit = studio.options.max_upload_pixels;
    let declared = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok());
    if let Some((w, h)) = declared {
        if w as u64 * h as u64 > limit {
            return Err(ApiError::too_large(format!(
                "the image declares {w}x{h} pixels; this studio accepts up to {limit}"
            )));
        }
    }
    fauxto_app::images::decode_image_within(bytes, limit).map_err(unreadable)
}

//! The HTTP API: JSON over the library, described by an OpenAPI 3.1 document generated from
//! the handlers themselves (`/api/openapi.json`).

pub mod faces;
pub mod generate;
pub mod jobs;
pub mod keys;
pub mod models;
pub mod upload;
pub mod verify;
pub mod views;

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, ApiResult, ErrorBody};

/// The id in a path like `/api/faces/{id}` or `/api/jobs/{id}`.
pub fn path_id(id: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    let Path(text) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{text:?} is not an id (a number)")))
}

/// Answer for a path no route serves.
pub async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("nothing at {}", uri.path()))
}

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "fauxto studio",
        description = "Faces of people who do not exist, each labelled (Content Credential + \
            watermark): search them by attribute, find look-alikes, download them, and verify \
            any image. Authenticate with `Authorization: Bearer fxk_…` (`fauxto studio keys \
            create`); a studio may open reads to callers without a key."
    ),
    paths(faces::list, faces::detail, faces::image, faces::similar_to_face,
          faces::similar_to_photo, verify::verify, models::list, keys::list,
          generate::one, generate::batch, jobs::start, jobs::list, jobs::detail,
          jobs::cancel, jobs::events),
    components(schemas(ErrorBody, views::FacePage, views::FaceView, views::ImageLink,
                       views::FaceDetail, views::ModelView, views::CredentialSummary,
                       views::LookAlike, views::LookAlikes, keys::KeyView,
                       generate::GenerateRequest, generate::GeneratedBatch,
                       generate::GeneratedImage, generate::WithheldImage,
                       jobs::JobRequest, jobs::JobView, jobs::JobList, jobs::JobCounts)),
    modifiers(&BearerKeys),
    security(("api_key" = [])),
    tags((name = "faces", description = "Search, view and download faces"),
         (name = "look-alikes", description = "Faces like a face or a photo"),
         (name = "verify", description = "What an image says about itself"),
         (name = "models", description = "The models faces come from"),
         (name = "generate", description = "Labelled images of seeds, on demand"),
         (name = "jobs", description = "Bulk additions to the library, their progress, cancelling"),
         (name = "keys", description = "API keys (admin)"))
)]
pub struct ApiDoc;

/// Declares the bearer-key scheme the `security` section names.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("fxk_ followed by 64 hex digits")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

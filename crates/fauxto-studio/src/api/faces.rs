//! Faces: search with every library filter, one face with its provenance, its labelled
//! image at each stored size, and look-alikes by face or by an uploaded photo.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fauxto_library::store::ImageStore;
use fauxto_library::{AgeBand, FaceEntry, FaceQuery, Scope, Sort};
use serde::Deserialize;
use utoipa::IntoParams;

use super::views::{CredentialSummary, FaceDetail, FacePage, FaceView, LookAlike, LookAlikes};
use super::{path_id, upload};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::Studio;

/// Filters, order and page of a face search.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Estimated age in years: `LOW-HIGH` (e.g. `25-35`) or one age.
    pub age: Option<String>,
    /// infant, child, young-adult, adult or elderly.
    pub age_band: Option<String>,
    /// male or female.
    pub gender: Option<String>,
    /// neutral, happy, sad, angry, fearful, disgusted or surprised.
    pub expression: Option<String>,
    /// left, frontal or right.
    pub facing: Option<String>,
    /// Only faces of the model whose SHA-256 starts with these hex digits.
    pub model: Option<String>,
    /// newest (default), random or diverse.
    pub sort: Option<String>,
    /// Seed of the random order (the same seed, the same order).
    pub seed: Option<u64>,
    /// 1-based page number.
    pub page: Option<u32>,
    /// Faces per page, 1 to 100 (default 24).
    pub per_page: Option<u32>,
}

impl SearchParams {
    /// The library query these parameters ask for, checked.
    pub fn query(&self) -> Result<FaceQuery, ApiError> {
        let age = match &self.age {
            None => None,
            Some(text) => {
                let (lo, hi) = text.split_once('-').unwrap_or((text, text));
                match (lo.trim().parse::<f32>(), hi.trim().parse::<f32>()) {
                    (Ok(lo), Ok(hi)) => Some((lo, hi)),
                    _ => {
                        return Err(ApiError::bad_request(
                            "age is LOW-HIGH in years, e.g. 25-35",
                        ))
                    }
                }
            }
        };
        let age_band = match &self.age_band {
            None => None,
            Some(b) => Some(AgeBand::from_name(b).ok_or_else(|| {
                ApiError::bad_request(
                    "age_band is one of infant, child, young-adult, adult, elderly",
                )
            })?),
        };
        let sort = match self.sort.as_deref() {
            None | Some("newest") => Sort::Newest,
            Some("random") => Sort::Random(self.seed.unwrap_or(0)),
            Some("diverse") => Sort::Diverse,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "sort {other:?} is not one of newest, random, diverse"
                )))
            }
        };
        let query = FaceQuery {
            age,
            age_band,
            gender: self.gender.clone(),
            expression: self.expression.clone(),
            facing: self.facing.clone(),
            model: self.model.clone(),
            max_id: None,
            sort,
            page: self.page.unwrap_or(1),
            per_page: self.per_page.unwrap_or(24),
        };
        query
            .validate()
            .map_err(|e| ApiError::bad_request(e.to_string().replace("--model", "model")))?;
        Ok(query)
    }
}

/// Search the library.
#[utoipa::path(get, path = "/api/faces", tag = "faces", params(SearchParams),
    responses((status = 200, body = FacePage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<Response> {
    caller.require(&studio, Scope::Read)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let query = params.query()?;
    let (total, ids) = studio
        .facets
        .read()
        .await
        .search(&query)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let cached = studio
        .face_json
        .read()
        .await
        .page(total, query.page, query.per_page, &ids);
    if let Some(body) = cached {
        return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    }
    // Faces the studio has not read yet (the indexes refresh together, so this is rare).
    let faces = fauxto_library::search::faces_by_id(&studio.library.db, &ids).await?;
    Ok(Json(FacePage {
        total,
        page: query.page,
        per_page: query.per_page,
        faces: faces.iter().map(FaceView::of).collect(),
    })
    .into_response())
}

async fn face_or_404(studio: &Studio, id: i64) -> ApiResult<FaceEntry> {
    studio
        .library
        .face(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no face #{id} in the library")))
}

/// One face with its attributes, its model (card, training data, licence) and what its
/// image's Content Credential says.
#[utoipa::path(get, path = "/api/faces/{id}", tag = "faces",
    params(("id" = i64, Path, description = "Face id")),
    responses((status = 200, body = FaceDetail), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<FaceDetail>> {
    caller.require(&studio, Scope::Read)?;
    let face = face_or_404(&studio, path_id(id)?).await?;
    let models = studio.library.models().await?;
    let model = models.iter().find(|m| m.sha256 == face.model_sha256);
    let faces_of_model = super::models::faces_of(&*studio.facets.read().await, &face.model_sha256)?;
    let own = face.sizes.first().copied().unwrap_or(0);
    let bytes = studio
        .library
        .images
        .get(&ImageStore::key(
            &face.model_sha256,
            face.truncation,
            face.seed,
            own,
        ))
        .await?;
    let trust = studio.options.trust_pem.clone();
    let credential = tokio::task::spawn_blocking(move || {
        fauxto_trust::credentials::verify(&bytes, "image/png", trust.as_deref())
    })
    .await
    .map_err(|e| anyhow::anyhow!("credential check failed: {e}"))?
    .map_err(|e| anyhow::anyhow!("cannot read the stored image's credential: {e}"))?;
    Ok(Json(FaceDetail {
        face: FaceView::of(&face),
        model: model.map(|m| {
            let generates = studio.generators.iter().any(|g| g.sha256 == m.sha256);
            super::views::ModelView::of(m, faces_of_model, generates)
        }),
        credential: CredentialSummary {
            present: credential.present,
            state: credential.state,
            tampered: credential.tampered,
            signer: credential.signer,
            digital_source_type: credential.digital_source_type,
        },
    }))
}

/// Which size of a face's image.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageParams {
    /// Pixels per side: one of the face's stored sizes (default its largest).
    pub size: Option<u32>,
    /// Answer as a download (`Content-Disposition: attachment`).
    pub download: Option<bool>,
}

/// A face's image: a PNG carrying its Content Credential and watermark.
#[utoipa::path(get, path = "/api/faces/{id}/image", tag = "faces",
    params(("id" = i64, Path, description = "Face id"), ImageParams),
    responses((status = 200, content_type = "image/png", description = "The labelled image"),
              (status = 404, body = ErrorBody)))]
pub async fn image(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<ImageParams>, QueryRejection>,
) -> ApiResult<Response> {
    caller.require(&studio, Scope::Read)?;
    let id = path_id(id)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let face = face_or_404(&studio, id).await?;
    let size = params
        .size
        .or(face.sizes.first().copied())
        .ok_or_else(|| ApiError::not_found("the face has no stored image"))?;
    if !face.sizes.contains(&size) {
        return Err(ApiError::not_found(format!(
            "face #{id} is stored at {:?} pixels, not {size}",
            face.sizes
        )));
    }
    // The key is made from catalogue values alone: nothing in the URL names a path.
    let key = ImageStore::key(&face.model_sha256, face.truncation, face.seed, size);
    let bytes = studio.library.images.get(&key).await?;
    let disposition = if params.download.unwrap_or(false) {
        format!("attachment; filename=\"fauxto-face-{id}-{size}.png\"")
    } else {
        format!("inline; filename=\"fauxto-face-{id}-{size}.png\"")
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| anyhow::anyhow!(e))?,
    );
    Ok(response)
}

/// How many look-alikes.
#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SimilarParams {
    /// 1 to 100 (default 12).
    pub limit: Option<usize>,
}

impl SimilarParams {
    fn limit(&self) -> ApiResult<usize> {
        match self.limit.unwrap_or(12) {
            n @ 1..=100 => Ok(n),
            _ => Err(ApiError::bad_request("limit is 1 to 100")),
        }
    }
}

async fn look_alikes(
    studio: &Studio,
    descriptor: &[f32],
    limit: usize,
    exclude: Option<i64>,
) -> ApiResult<LookAlikes> {
    let found = studio
        .descriptors
        .read()
        .await
        .nearest(descriptor, limit, exclude);
    let ids: Vec<i64> = found.iter().map(|n| n.id).collect();
    let faces = fauxto_library::search::faces_by_id(&studio.library.db, &ids).await?;
    Ok(LookAlikes {
        faces: found
            .iter()
            .zip(&faces)
            .map(|(n, f)| LookAlike {
                distance: n.distance,
                face: FaceView::of(f),
            })
            .collect(),
    })
}

/// The faces whose identity is nearest to face `id`'s.
#[utoipa::path(get, path = "/api/faces/{id}/similar", tag = "look-alikes",
    params(("id" = i64, Path, description = "Face id"), SimilarParams),
    responses((status = 200, body = LookAlikes), (status = 404, body = ErrorBody)))]
pub async fn similar_to_face(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<SimilarParams>, QueryRejection>,
) -> ApiResult<Json<LookAlikes>> {
    caller.require(&studio, Scope::Read)?;
    let id = path_id(id)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = params.limit()?;
    let face = face_or_404(&studio, id).await?;
    let found = look_alikes(&studio, &face.descriptor, limit, Some(id)).await?;
    Ok(Json(found))
}

/// The faces that look most like the person in an uploaded photo (the request body: a
/// PNG, JPEG, WebP or GIF image).
#[utoipa::path(post, path = "/api/similar", tag = "look-alikes", params(SimilarParams),
    request_body(content = Vec<u8>, content_type = "image/*", description = "A photo of a face"),
    responses((status = 200, body = LookAlikes), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "No face found in the photo")))]
pub async fn similar_to_photo(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
    params: Result<Query<SimilarParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<LookAlikes>> {
    caller.require(&studio, Scope::Read)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = params.limit()?;
    let bytes = upload::bytes(body)?;
    let reader = studio.clone();
    let descriptor = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let image = upload::decode(&reader, &bytes)?;
        Ok(reader.faces.descriptor(&image)?)
    })
    .await
    .map_err(|e| anyhow::anyhow!("face analysis failed: {e}"))??
    .ok_or_else(|| ApiError::unprocessable("no face found in the photo"))?;
    Ok(Json(look_alikes(&studio, &descriptor, limit, None).await?))
}

//! Models: those the library's faces come from and those the studio generates with, with
//! their cards.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use fauxto_library::{FaceQuery, FacetIndex, Scope};

use super::views::ModelView;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::Studio;

/// The models of the library's faces and of the studio's generation, with their cards,
/// licences and face counts.
#[utoipa::path(get, path = "/api/models", tag = "models",
    responses((status = 200, body = Vec<ModelView>)))]
pub async fn list(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
) -> ApiResult<Json<Vec<ModelView>>> {
    caller.require(&studio, Scope::Read)?;
    let models = studio.library.models().await?;
    let facets = studio.facets.read().await;
    let generates = |sha: &str| studio.generators.iter().any(|g| g.sha256 == sha);
    let mut out = Vec::with_capacity(models.len());
    for m in &models {
        out.push(ModelView::of(
            m,
            faces_of(&facets, &m.sha256)?,
            generates(&m.sha256),
        ));
    }
    for g in &studio.generators {
        if !models.iter().any(|m| m.sha256 == g.sha256) {
            out.push(ModelView::of(&g.record, 0, true));
        }
    }
    Ok(Json(out))
}

/// How many faces of the model `sha256` the library holds.
pub fn faces_of(facets: &FacetIndex, sha256: &str) -> anyhow::Result<u64> {
    let query = FaceQuery {
        model: Some(sha256.to_string()),
        page: 1,
        per_page: 1,
        ..FaceQuery::default()
    };
    Ok(facets.search(&query)?.0)
}

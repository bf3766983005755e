//! Keys: the API keys of the library (admins only; never their secrets, which are not
//! stored). Keys are made and revoked with `fauxto studio keys`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use fauxto_library::Scope;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::state::Studio;

/// An API key as the library records it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: i64,
    pub name: String,
    /// read, generate or admin.
    pub scope: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// Every API key, revoked ones included.
#[utoipa::path(get, path = "/api/keys", tag = "keys",
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn list(
    State(studio): State<Arc<Studio>>,
    caller: Caller,
) -> ApiResult<Json<Vec<KeyView>>> {
    caller.require(&studio, Scope::Admin)?;
    let keys = studio.library.keys().await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| KeyView {
                id: k.id,
                name: k.name,
                scope: k.scope.name().into(),
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect(),
    ))
}

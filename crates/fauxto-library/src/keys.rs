//! API keys of the studio, kept in the catalogue so that every server of a library knows
//! them. A key is 32 random bytes shown once as `fxk_` + hex; the catalogue holds only the
//! SHA-256 of that text (a key of 256 random bits needs no slow hash: nothing can be
//! guessed from its digest), the scope it grants, and a name to recognise it by.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use fauxto_nn::model_file::now_rfc3339;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::library::Library;

/// What a key may do; each scope includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Search, view and download faces; look-alike search; verify images.
    Read,
    /// Also generate images on demand.
    Generate,
    /// Also start and cancel bulk jobs.
    Admin,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Generate => "generate",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scope {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "read" => Ok(Scope::Read),
            "generate" => Ok(Scope::Generate),
            "admin" => Ok(Scope::Admin),
            other => bail!("unknown scope {other:?} (read, generate or admin)"),
        }
    }
}

/// The text every key starts with, so that a leaked one is recognisable.
pub const KEY_PREFIX: &str = "fxk_";

/// A key as the catalogue knows it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// The digest under which a key's secret is stored.
pub fn secret_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn key_of(row: &sqlx::any::AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        scope: row.try_get::<String, _>(2)?.parse()?,
        created_at: row.try_get(3)?,
        revoked_at: row.try_get(4)?,
    })
}

const KEY_COLUMNS: &str = "id, name, scope, created_at, revoked_at";

impl Library {
    /// Makes a key with `scope`; returns it and its secret, which is not stored and cannot
    /// be shown again.
    pub async fn create_key(&self, scope: Scope, name: &str) -> Result<(ApiKey, String)> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
        let secret = format!("{KEY_PREFIX}{}", hex::encode(bytes));
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_keys (name, scope, secret_sha256, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {KEY_COLUMNS}"
        )))
        .bind(name.to_string())
        .bind(scope.name())
        .bind(secret_digest(&secret))
        .bind(now_rfc3339())
        .fetch_one(&self.db.pool)
        .await
        .context("cannot store the key")?;
        Ok((key_of(&row)?, secret))
    }

    /// The unrevoked key whose secret is `secret`, if any.
    pub async fn key_by_secret(&self, secret: &str) -> Result<Option<ApiKey>> {
        if !secret.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_sha256 = $1 AND revoked_at IS NULL"
        )))
        .bind(secret_digest(secret))
        .fetch_optional(&self.db.pool)
        .await?;
        row.as_ref().map(key_of).transpose()
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn keys(&self) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"
        )))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(key_of).collect()
    }

    /// Revokes key `id`; false when there is no such unrevoked key.
    pub async fn revoke_key(&self, id: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_rfc3339())
                .bind(id)
                .execute(&self.db.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_include_the_ones_below() {
        assert!(Scope::Admin > Scope::Generate && Scope::Generate > Scope::Read);
        for s in [Scope::Read, Scope::Generate, Scope::Admin] {
            assert_eq!(s.name().parse::<Scope>().unwrap(), s);
        }
        assert!("root".parse::<Scope>().is_err());
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            secret_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

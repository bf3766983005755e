//! What a library holds: faces by attribute, by model, and the licences present.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use sqlx::Row;

use crate::library::Library;

/// Counts of a library.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub faces: u64,
    /// Attribute → value → faces.
    pub attributes: BTreeMap<String, BTreeMap<String, u64>>,
    pub models: Vec<ModelStats>,
}

/// One model's share of a library.
#[derive(Clone, Debug, Serialize)]
pub struct ModelStats {
    pub sha256: String,
    pub name: String,
    pub license: String,
    pub training_data_root: Option<String>,
    pub faces: u64,
}

/// The attributes counted, as catalogue columns.
pub const COUNTED: [&str; 4] = ["age_band", "gender", "expression", "facing"];

impl Library {
    pub async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats {
            faces: self.count().await?,
            ..Stats::default()
        };
        for column in COUNTED {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {column}, COUNT(*) FROM faces GROUP BY {column} ORDER BY {column}"
            )))
            .fetch_all(&self.db.pool)
            .await?;
            let mut counts = BTreeMap::new();
            for row in rows {
                counts.insert(
                    row.try_get::<String, _>(0)?,
                    row.try_get::<i64, _>(1)? as u64,
                );
            }
            stats.attributes.insert(column.replace('_', " "), counts);
        }
        let rows = sqlx::query(
            "SELECT m.sha256, m.name, m.license, m.training_data_root, \
             (SELECT COUNT(*) FROM faces f WHERE f.model_sha256 = m.sha256) \
             FROM models m ORDER BY m.added_at, m.sha256",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for row in rows {
            stats.models.push(ModelStats {
                sha256: row.try_get(0)?,
                name: row.try_get(1)?,
                license: row.try_get(2)?,
                training_data_root: row.try_get(3)?,
                faces: row.try_get::<i64, _>(4)? as u64,
            });
        }
        Ok(stats)
    }
}

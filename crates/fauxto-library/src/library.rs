//! A library: its catalogue and its image store, made with `init` and opened by location.

use anyhow::{bail, Context, Result};
use fauxto_nn::model_file::{now_rfc3339, ModelFile};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Db;
use crate::entry::{descriptor_bytes, FaceEntry};
use crate::location::Location;
use crate::search::{entry_of, FACE_COLUMNS};
use crate::similar::DescriptorIndex;
use crate::store::ImageStore;

/// Settings keys.
const IMAGES_SETTING: &str = "images";
const FORMAT_SETTING: &str = "format";
const FORMAT: &str = "fauxto-library 1";

/// An open library.
#[derive(Clone, Debug)]
pub struct Library {
    pub location: Location,
    pub db: Db,
    pub images: ImageStore,
}

impl Library {
    /// Makes a library at `location`: for a directory, the catalogue and `images/` inside it;
    /// for PostgreSQL, `images` names the object store (`s3://bucket/prefix`), recorded in
    /// the catalogue so that every worker finds it. Refuses a location that already holds one.
    pub async fn init(location: &Location, images: Option<&str>) -> Result<Self> {
        let images_url = match (location, images) {
            (Location::Embedded(dir), None) => {
                if dir.join(Location::CATALOGUE_FILE).exists() {
                    bail!("{} already holds a library", dir.display());
                }
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let dir = dir.canonicalize()?;
                format!("file://{}", dir.join(Location::IMAGES_DIR).display())
            }
            (Location::Embedded(_), Some(_)) => {
                bail!("an embedded library keeps its images in its own directory; --images is for PostgreSQL libraries")
            }
            (Location::Postgres(_), Some(url)) => url.to_string(),
            (Location::Postgres(_), None) => {
                bail!("a PostgreSQL library needs --images s3://BUCKET/PREFIX (or file:///shared/dir)")
            }
        };
        let db = Db::connect(&location.database_url()).await?;
        if db.setting(FORMAT_SETTING).await?.is_some() {
            bail!("{location} already holds a library");
        }
        let store = ImageStore::open(&images_url)?;
        db.set_setting(IMAGES_SETTING, &images_url).await?;
        db.set_setting(FORMAT_SETTING, FORMAT).await?;
        Ok(Library {
            location: location.clone(),
            db,
            images: store,
        })
    }

    /// Opens the library at `location`.
    pub async fn open(location: &Location) -> Result<Self> {
        if let Location::Embedded(dir) = location {
            if !dir.join(Location::CATALOGUE_FILE).exists() {
                bail!(
                    "{} holds no library; make one with `fauxto library init {}`",
                    dir.display(),
                    dir.display()
                );
            }
        }
        let db = Db::connect(&location.database_url()).await?;
        match db.setting(FORMAT_SETTING).await?.as_deref() {
            Some(FORMAT) => {}
            Some(other) => bail!("{location} holds a library of another format ({other})"),
            None => bail!("{location} holds no library; make one with `fauxto library init`"),
        }
        let images_url = db
            .setting(IMAGES_SETTING)
            .await?
            .context("the catalogue does not say where its images are")?;
        Ok(Library {
            location: location.clone(),
            db,
            images: ImageStore::open(&images_url)?,
        })
    }

    /// Records `model` (once) so that faces can name it.
    pub async fn register_model(&self, model: &ModelFile) -> Result<()> {
        self.register(&ModelRecord::of(model)).await
    }

    /// Records the model of `record` (once), added now, so that faces can name it.
    pub async fn register(&self, record: &ModelRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO models (sha256, name, resolution, license, training_data_root, card, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(record.sha256.clone())
        .bind(record.name.clone())
        .bind(record.resolution as i64)
        .bind(record.license.clone())
        .bind(record.training_data_root.clone())
        .bind(record.card.clone())
        .bind(now_rfc3339())
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// The models faces were catalogued from, in the order they were first used.
    pub async fn models(&self) -> Result<Vec<ModelRecord>> {
        let rows = sqlx::query(
            "SELECT sha256, name, resolution, license, training_data_root, card, added_at \
             FROM models ORDER BY added_at, sha256",
        )
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ModelRecord {
                    sha256: row.try_get(0)?,
                    name: row.try_get(1)?,
                    resolution: row.try_get::<i64, _>(2)? as u32,
                    license: row.try_get(3)?,
                    training_data_root: row.try_get(4)?,
                    card: row.try_get(5)?,
                    added_at: row.try_get(6)?,
                })
            })
            .collect()
    }

    /// Refreshes the planner's statistics, which SQLite's choice of index for a search
    /// depends on (PostgreSQL's autovacuum keeps its own; analysing again is harmless).
    /// On PostgreSQL, VACUUM also marks the new rows all-visible, so that searches and
    /// counts read the covering index alone.
    pub async fn analyze(&self) -> Result<()> {
        let statement = match self.db.backend {
            crate::db::Backend::Sqlite => "ANALYZE",
            crate::db::Backend::Postgres => "VACUUM (ANALYZE) faces",
        };
        sqlx::query(statement).execute(&self.db.pool).await?;
        Ok(())
    }

    /// Number of catalogued faces.
    pub async fn count(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM faces")
            .fetch_one(&self.db.pool)
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    /// One face by id.
    pub async fn face(&self, id: i64) -> Result<Option<FaceEntry>> {
        let row: Option<AnyRow> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FACE_COLUMNS} FROM faces WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        row.as_ref().map(entry_of).transpose()
    }

    /// The first `limit` faces catalogued after id `after`, in id order.
    pub async fn faces_after(&self, after: i64, limit: usize) -> Result<Vec<FaceEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FACE_COLUMNS} FROM faces WHERE id > $1 ORDER BY id LIMIT $2"
        )))
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(entry_of).collect()
    }

    /// The descriptors of the faces catalogued after id `after`, added to `index`.
    pub async fn load_descriptors(&self, index: &mut DescriptorIndex) -> Result<()> {
        let rows = sqlx::query("SELECT id, descriptor FROM faces WHERE id > $1 ORDER BY id")
            .bind(index.last_id())
            .fetch_all(&self.db.pool)
            .await?;
        for row in rows {
            let bytes: Vec<u8> = row.try_get(1)?;
            let d = crate::entry::descriptor_from_bytes(&bytes)
                .filter(|d| d.len() == crate::similar::DIM)
                .context("a damaged descriptor in the catalogue")?;
            index.push(row.try_get(0)?, &d);
        }
        Ok(())
    }
}

/// A model as the catalogue records it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ModelRecord {
    pub sha256: String,
    pub name: String,
    pub resolution: u32,
    /// The licence of the model and its images.
    pub license: String,
    /// Merkle root of its training data's manifest, when recorded.
    pub training_data_root: Option<String>,
    /// Its model card (Markdown).
    pub card: String,
    pub added_at: String,
}

impl ModelRecord {
    /// The record of `model` as the library would register it now.
    pub fn of(model: &ModelFile) -> Self {
        ModelRecord {
            sha256: model.sha256.clone(),
            name: model.info.name.clone(),
            resolution: model.info.generator.img_resolution as u32,
            license: model.info.license.clone(),
            training_data_root: model
                .info
                .training_data
                .as_ref()
                .map(|t| t.manifest_root.clone()),
            card: model.card(),
            added_at: now_rfc3339(),
        }
    }
}

/// Inserts `face` in the transaction `tx` (its group rank counted there); returns its id,
/// or None when the same model, seed and truncation are already catalogued.
pub async fn insert_face(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    face: &FaceEntry,
) -> Result<Option<i64>> {
    let (band, gender, expression) = face.group();
    let rank: i64 = sqlx::query(
        "SELECT COUNT(*) FROM faces WHERE age_band = $1 AND gender = $2 AND expression = $3",
    )
    .bind(band.name())
    .bind(gender.to_string())
    .bind(expression.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    let e = &face.expressions;
    let row: Option<AnyRow> = sqlx::query(
        "INSERT INTO faces (model_sha256, seed, truncation, created_at, age, age_band, gender, \
         gender_probability, expression, neutral, happy, sad, angry, fearful, disgusted, \
         surprised, yaw, pitch, roll, facing, detection_score, descriptor, group_rank, sizes, \
         watermark) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20, $21, $22, $23, $24, $25) \
         ON CONFLICT (model_sha256, seed, truncation) DO NOTHING RETURNING id",
    )
    .bind(face.model_sha256.clone())
    .bind(face.seed as i64)
    .bind(face.truncation)
    .bind(now_rfc3339())
    .bind(face.age as f64)
    .bind(band.name())
    .bind(face.gender.clone())
    .bind(face.gender_probability as f64)
    .bind(face.expression.clone())
    .bind(e[0] as f64)
    .bind(e[1] as f64)
    .bind(e[2] as f64)
    .bind(e[3] as f64)
    .bind(e[4] as f64)
    .bind(e[5] as f64)
    .bind(e[6] as f64)
    .bind(face.yaw as f64)
    .bind(face.pitch as f64)
    .bind(face.roll as f64)
    .bind(face.facing.clone())
    .bind(face.detection_score as f64)
    .bind(descriptor_bytes(&face.descriptor))
    .bind(rank)
    .bind(serde_json::to_string(&face.sizes)?)
    .bind(face.watermark.clone())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get::<i64, _>(0))
        .transpose()
        .map_err(Into::into)
}

//! The catalogue database: SQLite (WAL mode) or PostgreSQL through sqlx's `Any` driver, with
//! versioned migrations per backend and queries written once where the two dialects agree
//! (bind parameters `$1`, `$2`… are read by both).

use anyhow::{bail, Context, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Which SQL server holds the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The catalogue's connection pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// The schema version this build writes (the number of the last migration).
pub const SCHEMA_VERSION: i64 = 3;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            bail!("unsupported catalogue URL (sqlite: or postgres://)");
        };
        let options = AnyPoolOptions::new().max_connections(match backend {
            // One writer at a time in SQLite; readers share the WAL.
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        });
        let pool = options
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        use sqlx::Executor;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .context("cannot open the catalogue database")?;
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations this build has and the database lacks; refuses a database
    /// written by a newer fauxto.
    async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => anyhow::anyhow!(
                "the catalogue was written by a newer fauxto (schema migration {v}); upgrade fauxto"
            ),
            other => anyhow::Error::new(other).context("cannot migrate the catalogue"),
        })
    }

    /// A setting, if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row: Option<AnyRow> = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    /// Sets a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

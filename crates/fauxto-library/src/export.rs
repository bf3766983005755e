//! Export: a selection of faces as one zip — each image at its own size with its Content
//! Credential, `metadata.csv` and `metadata.jsonl` (one row per face), and `LICENSE.txt`
//! with the licence of every model (and its training data) the faces come from. The zip is
//! streamed to a temporary file, face by face, and renamed into place when complete, so a
//! selection of any size needs constant memory and an interrupted export leaves nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use sqlx::Row;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::entry::FaceEntry;
use crate::library::Library;
use crate::search::{FaceQuery, Sort};
use crate::store::ImageStore;

/// Faces read from the catalogue per query.
const CHUNK: u32 = 100;

/// What an export wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    pub faces: u64,
    pub bytes: u64,
    pub models: Vec<String>,
}

const CSV_HEADER: &str = "id,file,model_sha256,seed,truncation,age,age_band,gender,\
gender_probability,expression,neutral,happy,sad,angry,fearful,disgusted,surprised,yaw,pitch,\
roll,facing,detection_score,watermark,created_at";

fn csv_row(face: &FaceEntry, file: &str) -> String {
    let e = &face.expressions;
    format!(
        "{},{file},{},{},{},{:.2},{},{},{:.4},{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.2},{:.2},{:.2},{},{:.4},{},{}",
        face.id,
        face.model_sha256,
        face.seed,
        face.truncation,
        face.age,
        face.age_band.name(),
        face.gender,
        face.gender_probability,
        face.expression,
        e[0],
        e[1],
        e[2],
        e[3],
        e[4],
        e[5],
        e[6],
        face.yaw,
        face.pitch,
        face.roll,
        face.facing,
        face.detection_score,
        face.watermark.as_deref().unwrap_or(""),
        face.created_at
    )
}

impl Library {
    /// Writes the faces `filter` selects (its sort and paging are ignored: every match, in
    /// catalogue order) to the zip `out`; `progress` hears the faces written.
    pub async fn export(
        &self,
        filter: &FaceQuery,
        out: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ExportReport> {
        let tmp = out.with_extension(format!("zip.partial-{}", std::process::id()));
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let result = self.write_export(filter, file, progress).await;
        match result {
            Ok(report) => {
                std::fs::rename(&tmp, out)
                    .with_context(|| format!("cannot move the export to {}", out.display()))?;
                Ok(report)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    async fn write_export(
        &self,
        filter: &FaceQuery,
        file: std::fs::File,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ExportReport> {
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        // The metadata goes to files beside the archive while the images stream into it,
        // and is copied in at the end: memory stays flat for any number of faces.
        let sidecar =
            |ext: &str| -> Result<(std::path::PathBuf, std::io::BufWriter<std::fs::File>)> {
                let path = std::env::temp_dir()
                    .join(format!("fauxto-export-{}-{ext}", std::process::id()));
                let f = std::fs::File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Ok((path, std::io::BufWriter::new(f)))
            };
        let (csv_path, mut csv) = sidecar("metadata.csv")?;
        let (jsonl_path, mut jsonl) = sidecar("metadata.jsonl")?;
        writeln!(csv, "{CSV_HEADER}")?;
        let mut models: BTreeMap<String, u64> = BTreeMap::new();
        let mut written = 0u64;
        let mut bytes = 0u64;
        let mut page = FaceQuery {
            sort: Sort::Newest,
            page: 1,
            per_page: CHUNK,
            ..filter.clone()
        };
        // Newest first, then read on below the last id seen: stable while faces are added.
        let mut below = i64::MAX;
        loop {
            let faces = self.faces_below(&page, below).await?;
            if faces.is_empty() {
                break;
            }
            for face in &faces {
                below = below.min(face.id);
                let size = face.sizes.first().copied().unwrap_or(0);
                let key = ImageStore::key(&face.model_sha256, face.truncation, face.seed, size);
                let image = self.images.get(&key).await?;
                let name = format!("faces/{:08}.png", face.id);
                zip.start_file(&name, stored)?;
                zip.write_all(&image)?;
                bytes += image.len() as u64;
                writeln!(csv, "{}", csv_row(face, &name))?;
                writeln!(
                    jsonl,
                    "{}",
                    serde_json::json!({ "file": name, "face": face })
                )?;
                *models.entry(face.model_sha256.clone()).or_default() += 1;
                written += 1;
                progress(written);
            }
            page.page = 1;
        }
        for (name, path, writer) in [
            ("metadata.csv", &csv_path, csv),
            ("metadata.jsonl", &jsonl_path, jsonl),
        ] {
            writer
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            zip.start_file(name, deflated)?;
            std::io::copy(&mut std::fs::File::open(path)?, &mut zip)?;
            let _ = std::fs::remove_file(path);
        }
        zip.start_file("LICENSE.txt", deflated)?;
        zip.write_all(self.licence_text(&models).await?.as_bytes())?;
        let mut inner = zip.finish()?;
        inner.flush()?;
        inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(ExportReport {
            faces: written,
            bytes,
            models: models.into_keys().collect(),
        })
    }

    /// One chunk of the faces matching `query` with ids below `below`, newest first.
    async fn faces_below(&self, query: &FaceQuery, below: i64) -> Result<Vec<FaceEntry>> {
        let mut q = query.clone();
        q.max_id = Some(below.saturating_sub(1));
        Ok(q.run(&self.db).await?.faces)
    }

    /// The licence of each model the export draws on, and its training data's.
    async fn licence_text(&self, models: &BTreeMap<String, u64>) -> Result<String> {
        let mut text = String::from(
            "Every image in this archive was made by a generative model: it shows no real \
             person. Each carries a signed Content Credential (C2PA) naming the model, its \
             training data and licence, and most carry an invisible watermark.\n\n",
        );
        for (sha, count) in models {
            let row = sqlx::query(
                "SELECT name, license, training_data_root FROM models WHERE sha256 = $1",
            )
            .bind(sha.clone())
            .fetch_optional(&self.db.pool)
            .await?;
            let Some(row) = row else { continue };
            let name: String = row.try_get(0)?;
            let license: String = row.try_get(1)?;
            let root: Option<String> = row.try_get(2)?;
            text.push_str(&format!(
                "{count} images by the model {name} (SHA-256 {sha})\n  licence: {license}\n  \
                 training data (manifest Merkle root): {}\n\n",
                root.as_deref().unwrap_or("not recorded")
            ));
        }
        Ok(text)
    }
}

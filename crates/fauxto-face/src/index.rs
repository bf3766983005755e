//! The face index of a dataset: one fixed-size record per image (identity descriptor,
//! age, gender, expressions, pose, box), stored beside the dataset so the analysis is done
//! once. Records are appended in image order and flushed in chunks, so an interrupted
//! indexing run resumes from the last whole record.
//!
//! Files, in the dataset directory:
//! - `faces.json`: [`IndexHeader`] — which dataset (manifest digest) and how it was analysed;
//! - `faces.f32`: `count` records of [`RECORD_FLOATS`] little-endian `f32`.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analyzer::{Face, Gender};
use crate::error::FaceError;
use crate::geometry::Rect;
use crate::pose::HeadPose;

pub const HEADER_FILE: &str = "faces.json";
pub const RECORDS_FILE: &str = "faces.f32";
/// Bumped when the record layout changes.
pub const FORMAT_VERSION: u32 = 1;
pub const DESCRIPTOR_DIM: usize = 128;

/// Floats per record: status, score, age, P(male), 7 expressions, yaw, pitch, roll,
/// box (x, y, w, h), descriptor.
pub const RECORD_FLOATS: usize = 4 + 7 + 3 + 4 + DESCRIPTOR_DIM;
const RECORD_BYTES: usize = RECORD_FLOATS * 4;

/// How an image's record was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceStatus {
    /// The detector found the face.
    Detected,
    /// No detection: the whole image was analysed as an aligned face crop.
    WholeImage,
    /// Nothing usable (unreadable image); the record's values are NaN.
    Missing,
}

impl FaceStatus {
    fn code(self) -> f32 {
        match self {
            FaceStatus::Detected => 1.0,
            FaceStatus::WholeImage => 2.0,
            FaceStatus::Missing => 0.0,
        }
    }

    fn from_code(code: f32) -> Result<Self, FaceError> {
        match code as u32 {
            1 => Ok(FaceStatus::Detected),
            2 => Ok(FaceStatus::WholeImage),
            0 => Ok(FaceStatus::Missing),
            _ => Err(FaceError::Index(format!("bad record status {code}"))),
        }
    }
}

/// One image's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRecord {
    pub status: FaceStatus,
    pub score: f32,
    pub age: f32,
    pub male_probability: f32,
    pub expressions: [f32; 7],
    pub pose: Option<HeadPose>,
    pub bbox: Rect,
    pub descriptor: Vec<f32>,
}

impl FaceRecord {
    pub fn from_face(face: &Face) -> Self {
        let male = match face.gender {
            Gender::Male => face.gender_probability,
            Gender::Female => 1.0 - face.gender_probability,
        };
        Self {
            status: if face.detected {
                FaceStatus::Detected
            } else {
                FaceStatus::WholeImage
            },
            score: face.score as f32,
            age: face.age,
            male_probability: male,
            expressions: face.expressions,
            pose: face.pose,
            bbox: face.bbox,
            descriptor: face.descriptor.clone(),
        }
    }

    pub fn missing() -> Self {
        Self {
            status: FaceStatus::Missing,
            score: f32::NAN,
            age: f32::NAN,
            male_probability: f32::NAN,
            expressions: [f32::NAN; 7],
            pose: None,
            bbox: Rect {
                x: f64::NAN,
                y: f64::NAN,
                width: f64::NAN,
                height: f64::NAN,
            },
            descriptor: vec![f32::NAN; DESCRIPTOR_DIM],
        }
    }

    pub fn gender(&self) -> Gender {
        if self.male_probability > 0.5 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    fn to_floats(&self) -> Vec<f32> {
        let mut v = Vec::with_capacity(RECORD_FLOATS);
        v.extend([
            self.status.code(),
            self.score,
            self.age,
            self.male_probability,
        ]);
        v.extend(self.expressions);
        match self.pose {
            Some(p) => v.extend([p.yaw as f32, p.pitch as f32, p.roll as f32]),
            None => v.extend([f32::NAN; 3]),
        }
        let b = self.bbox;
        v.extend([b.x as f32, b.y as f32, b.width as f32, b.height as f32]);
        v.extend(&self.descriptor);
        debug_assert_eq!(v.len(), RECORD_FLOATS);
        v
    }

    fn from_floats(v: &[f32]) -> Result<Self, FaceError> {
        let pose = (!v[11].is_nan()).then(|| HeadPose {
            yaw: v[11] as f64,
            pitch: v[12] as f64,
            roll: v[13] as f64,
        });
        Ok(Self {
            status: FaceStatus::from_code(v[0])?,
            score: v[1],
            age: v[2],
            male_probability: v[3],
            expressions: v[4..11].try_into().expect("7 values"),
            pose,
            bbox: Rect {
                x: v[14] as f64,
                y: v[15] as f64,
                width: v[16] as f64,
                height: v[17] as f64,
            },
            descriptor: v[18..].to_vec(),
        })
    }
}

/// `faces.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexHeader {
    pub format: String,
    pub format_version: u32,
    /// SHA-256 of the dataset's `manifest.json`: the index belongs to exactly that dataset.
    pub manifest_digest: String,
    /// The dataset's Merkle root, as model files record their training data.
    pub merkle_root: String,
    /// Images in the dataset (= records when complete).
    pub count: usize,
    /// Analysis settings, for the record.
    pub analysis: String,
}

impl IndexHeader {
    pub fn new(manifest_digest: &str, merkle_root: &str, count: usize, analysis: &str) -> Self {
        Self {
            format: "fauxto-face-index".into(),
            format_version: FORMAT_VERSION,
            manifest_digest: manifest_digest.into(),
            merkle_root: merkle_root.into(),
            count,
            analysis: analysis.into(),
        }
    }
}

/// Appends records to an index being built.
pub struct IndexWriter {
    out: BufWriter<File>,
    path: PathBuf,
    done: usize,
}

impl IndexWriter {
    /// Opens the index in `dir` for `header`'s dataset, keeping whole records already
    /// there (a resumed run) and dropping a torn last one. An index of another dataset
    /// or layout is refused unless `restart`.
    pub fn open(dir: &Path, header: &IndexHeader, restart: bool) -> Result<Self, FaceError> {
        let header_path = dir.join(HEADER_FILE);
        let path = dir.join(RECORDS_FILE);
        let existing: Option<IndexHeader> = match std::fs::read(&header_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(_) => None,
        };
        let resumable = !restart && existing.as_ref() == Some(header);
        if !resumable {
            if let (Some(old), false) = (&existing, restart) {
                return Err(FaceError::Index(format!(
                    "{} belongs to another dataset or analysis ({} images, manifest {}); \
                     pass --restart to rebuild it",
                    header_path.display(),
                    old.count,
                    old.manifest_digest.chars().take(12).collect::<String>()
                )));
            }
            // Records first, then the header: a crash between the two leaves the old header
            // over no records (refused or resumed from zero), never a new header over
            // another dataset's records.
            File::create(&path)?.sync_all()?;
            write_atomically(&header_path, &serde_json::to_vec_pretty(header).unwrap())?;
        }
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let whole = file.metadata()?.len() as usize / RECORD_BYTES;
        let done = whole.min(header.count);
        file.set_len((done * RECORD_BYTES) as u64)?;
        let mut out = BufWriter::new(file);
        out.seek(SeekFrom::End(0))?;
        Ok(Self { out, path, done })
    }

    /// Records already written: the next image to index.
    pub fn done(&self) -> usize {
        self.done
    }

    pub fn push(&mut self, record: &FaceRecord) -> Result<(), FaceError> {
        if record.descriptor.len() != DESCRIPTOR_DIM {
            return Err(FaceError::Index("descriptor is not 128-D".into()));
        }
        for v in record.to_floats() {
            self.out.write_all(&v.to_le_bytes())?;
        }
        self.done += 1;
        Ok(())
    }

    /// Makes everything pushed so far durable.
    pub fn sync(&mut self) -> Result<(), FaceError> {
        self.out.flush()?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| FaceError::Index(format!("cannot sync {}: {e}", self.path.display())))
    }
}

/// Writes `bytes` to a temporary file beside `path`, makes it durable, and renames it over
/// `path` (then makes the rename durable): a crash leaves the old file or the new, whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FaceError> {
    let tmp = path.with_extension(format!("json.tmp-{}", std::process::id()));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directory fsync is how POSIX makes a rename durable; not every platform allows it.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// A complete index, in memory.
#[derive(Debug, Clone)]
pub struct FaceIndex {
    pub header: IndexHeader,
    pub records: Vec<FaceRecord>,
}

impl FaceIndex {
    /// Reads the index in `dir`; it must be complete.
    pub fn open(dir: &Path) -> Result<Self, FaceError> {
        let header_path = dir.join(HEADER_FILE);
        let header: IndexHeader =
            serde_json::from_slice(&std::fs::read(&header_path).map_err(|e| {
                FaceError::Index(format!("no face index at {}: {e}", header_path.display()))
            })?)
            .map_err(|e| FaceError::Index(format!("{}: {e}", header_path.display())))?;
        if header.format_version != FORMAT_VERSION {
            return Err(FaceError::Index(format!(
                "{}: format version {} (this build reads {FORMAT_VERSION})",
                header_path.display(),
                header.format_version
            )));
        }
        let mut bytes = Vec::new();
        File::open(dir.join(RECORDS_FILE))?.read_to_end(&mut bytes)?;
        let have = bytes.len() / RECORD_BYTES;
        if have < header.count {
            return Err(FaceError::Index(format!(
                "the face index in {} is incomplete ({have} of {} images); run `fauxto index` to finish it",
                dir.display(),
                header.count
            )));
        }
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let records = floats
            .chunks_exact(RECORD_FLOATS)
            .take(header.count)
            .map(FaceRecord::from_floats)
            .collect::<Result<_, _>>()?;
        Ok(Self { header, records })
    }
}

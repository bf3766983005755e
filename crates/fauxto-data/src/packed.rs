//! The packed dataset on disk (see the crate documentation for the format) and its
//! reader, [`PackedDataset`].

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{io, DataError};
use crate::merkle::{hex, merkle_root, parse_hash};

/// `format` of `dataset.json`.
pub const DATASET_FORMAT: &str = "fauxto-dataset";
/// `format` of `manifest.json`.
pub const MANIFEST_FORMAT: &str = "fauxto-manifest";
/// The version of both files' layout.
pub const FORMAT_VERSION: u32 = 1;
/// The pixel file.
pub const IMAGES_FILE: &str = "images.u8";
/// The dataset description.
pub const DATASET_FILE: &str = "dataset.json";
/// The training-data manifest.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Numeric labels: one row per image, in manifest order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelTable {
    /// Column names, from the label CSV's header.
    pub columns: Vec<String>,
    /// `values[i]` holds the labels of image `i`, one per column.
    pub values: Vec<Vec<f32>>,
}

/// `dataset.json`: what `images.u8` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetHeader {
    /// Always [`DATASET_FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Number of images.
    pub count: usize,
    /// Width and height of every image.
    pub resolution: usize,
    /// Channels per pixel (3: RGB).
    pub channels: usize,
    /// Per-image labels, if the dataset was built with a label file.
    pub labels: Option<LabelTable>,
}

/// One training image in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestImage {
    /// Path inside the source folder or zip, `/`-separated.
    pub name: String,
    /// SHA-256 of the source file's bytes (lower-case hex).
    pub sha256: String,
}

/// A source file that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Path inside the source (for refused zip entries: the name as stored).
    pub name: String,
    /// Why it was skipped, in a few words.
    pub reason: String,
}

/// A source file with the same bytes as an earlier one; only the first is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// The later file.
    pub name: String,
    /// The earlier file (in sorted path order) with the same SHA-256.
    pub same_as: String,
}

/// The training-data manifest (`manifest.json`): what a dataset was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The source folder or zip, as the user gave it.
    pub source: String,
    /// The licence under which the images may be used.
    pub license: String,
    /// Creation time, RFC 3339 (UTC).
    pub created: String,
    /// Number of images.
    pub count: usize,
    /// Width and height of the packed images.
    pub resolution: usize,
    /// Merkle root over the images' SHA-256 in manifest order (hex; see [`crate::merkle`]).
    pub merkle_root: String,
    /// The images, in the order of `images.u8`.
    pub images: Vec<ManifestImage>,
    /// Source files not used, and why.
    pub skipped: Vec<Skipped>,
    /// Source files left out as copies of earlier ones.
    pub duplicates: Vec<Duplicate>,
}

impl Manifest {
    /// The per-image SHA-256 hashes, or the name of the first image whose hash is not
    /// 64 hex digits.
    pub fn image_hashes(&self) -> Result<Vec<[u8; 32]>, String> {
        self.images
            .iter()
            .map(|i| parse_hash(&i.sha256).ok_or_else(|| i.name.clone()))
            .collect()
    }
}

/// A packed dataset opened for reading. `read_image` takes `&self` and uses positioned
/// reads, so one `PackedDataset` (e.g. in an `Arc`) serves many threads.
#[derive(Debug)]
pub struct PackedDataset {
    dir: PathBuf,
    header: DatasetHeader,
    manifest: Manifest,
    manifest_digest: String,
    images: File,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(T, Vec<u8>), DataError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let value = serde_json::from_slice(&bytes).map_err(|e| DataError::NotDataset {
        path: path.display().to_string(),
        message: format!("malformed: {e}"),
    })?;
    Ok((value, bytes))
}

impl PackedDataset {
    /// Opens the dataset in `dir`, checking that `dataset.json`, `manifest.json` and
    /// `images.u8` agree: formats and versions, counts, resolution, one label row per
    /// image, the Merkle root of the listed hashes, and the size of the pixel file.
    pub fn open(dir: &Path) -> Result<Self, DataError> {
        let bad = |message: String| DataError::NotDataset {
            path: dir.display().to_string(),
            message,
        };
        if !dir.is_dir() {
            return Err(bad(
                "no such directory (make one with `fauxto dataset`)".into()
            ));
        }
        let (header, _): (DatasetHeader, _) = read_json(&dir.join(DATASET_FILE))?;
        if header.format != DATASET_FORMAT || header.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "{DATASET_FILE} is format `{}` version {}, expected `{DATASET_FORMAT}` version {FORMAT_VERSION}",
                header.format, header.format_version
            )));
        }
        if header.count == 0 || header.resolution == 0 || header.channels == 0 {
            return Err(bad(format!("{DATASET_FILE} describes no pixels")));
        }
        let (manifest, manifest_bytes): (Manifest, _) = read_json(&dir.join(MANIFEST_FILE))?;
        if manifest.format != MANIFEST_FORMAT || manifest.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "{MANIFEST_FILE} is format `{}` version {}, expected `{MANIFEST_FORMAT}` version {FORMAT_VERSION}",
                manifest.format, manifest.format_version
            )));
        }
        if manifest.count != header.count || manifest.images.len() != header.count {
            return Err(bad(format!(
                "{DATASET_FILE} counts {} images, {MANIFEST_FILE} {} ({} listed)",
                header.count,
                manifest.count,
                manifest.images.len()
            )));
        }
        if manifest.resolution != header.resolution {
            return Err(bad(format!(
                "{DATASET_FILE} says resolution {}, {MANIFEST_FILE} {}",
                header.resolution, manifest.resolution
            )));
        }
        let hashes = manifest
            .image_hashes()
            .map_err(|name| bad(format!("{MANIFEST_FILE}: bad SHA-256 for {name}")))?;
        if hex(&merkle_root(&hashes)) != manifest.merkle_root.to_ascii_lowercase() {
            return Err(bad(format!(
                "{MANIFEST_FILE}: the Merkle root does not match the listed image hashes"
            )));
        }
        if let Some(labels) = &header.labels {
            let width = labels.columns.len();
            if labels.values.len() != header.count || labels.values.iter().any(|r| r.len() != width)
            {
                return Err(bad(format!(
                    "{DATASET_FILE}: the labels need one row of {width} values per image"
                )));
            }
        }
        let path = dir.join(IMAGES_FILE);
        let images = File::open(&path).map_err(io(&path))?;
        let size = images.metadata().map_err(io(&path))?.len();
        let expected = header
            .resolution
            .checked_mul(header.resolution)
            .and_then(|n| n.checked_mul(header.channels))
            .and_then(|n| n.checked_mul(header.count))
            .ok_or_else(|| bad(format!("{DATASET_FILE}: the sizes overflow")))?;
        if size != expected as u64 {
            return Err(bad(format!(
                "{IMAGES_FILE} holds {size} bytes, {DATASET_FILE} describes {expected} (truncated or mismatched)"
            )));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            header,
            manifest,
            manifest_digest: hex(&Sha256::digest(&manifest_bytes)),
            images,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.header.count
    }

    /// Whether the dataset has no images (never true for a dataset that opened).
    pub fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    /// Width and height of every image.
    pub fn resolution(&self) -> usize {
        self.header.resolution
    }

    /// Channels per pixel (3).
    pub fn channels(&self) -> usize {
        self.header.channels
    }

    /// Bytes per image: `resolution² × channels`.
    pub fn image_bytes(&self) -> usize {
        self.header.resolution * self.header.resolution * self.header.channels
    }

    /// Copies the HWC uint8 pixels of image `index` into `out`, which must hold exactly
    /// [`image_bytes`](Self::image_bytes). Safe to call from several threads at once.
    pub fn read_image(&self, index: usize, out: &mut [u8]) -> Result<(), DataError> {
        let path = || self.dir.join(IMAGES_FILE).display().to_string();
        if index >= self.len() {
            return Err(DataError::Index {
                path: path(),
                index,
                count: self.len(),
            });
        }
        let size = self.image_bytes();
        if out.len() != size {
            return Err(DataError::Buffer {
                path: path(),
                expected: size,
                got: out.len(),
            });
        }
        self.images
            .read_exact_at(out, (index * size) as u64)
            .map_err(io(&self.dir.join(IMAGES_FILE)))
    }

    /// The per-image labels, if the dataset has them.
    pub fn labels(&self) -> Option<&LabelTable> {
        self.header.labels.as_ref()
    }

    /// The training-data manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// SHA-256 (lower-case hex) of `manifest.json`'s bytes as stored: the digest that
    /// checkpoints and model files record to name their training data.
    pub fn manifest_digest(&self) -> &str {
        &self.manifest_digest
    }

    /// The dataset directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn reader_is_shareable() {
        assert_send_sync::<PackedDataset>();
    }
}

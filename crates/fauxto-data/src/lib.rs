//! Image datasets for training: the dataset tool ([`build_dataset`]: a folder or zip of
//! images in, a packed dataset out), the packed format and its reader
//! ([`PackedDataset`]), and training-data manifests with a Merkle root over the images
//! ([`merkle_root`]), so that a model can say exactly what it was trained on.
//!
//! # The packed dataset
//!
//! A dataset is a directory of three files:
//!
//! - `images.u8`: the pixels and nothing else: `count` images one after the other in
//!   manifest order, each `resolution × resolution × channels` bytes, uint8, HWC (rows
//!   top to bottom, pixels left to right, channels R, G, B interleaved). Image `i` starts
//!   at byte `i × resolution² × channels`.
//! - `dataset.json`: what `images.u8` holds:
//!   ```json
//!   {"format": "fauxto-dataset", "format_version": 1, "count": 23314,
//!    "resolution": 64, "channels": 3,
//!    "labels": null | {"columns": ["age", "gender", "race"], "values": [[100, 0, 0], ...]}}
//!   ```
//!   `labels.values` has one row of f32 per image, in manifest order.
//! - `manifest.json`: the training-data manifest ([`Manifest`]):
//!   ```json
//!   {"format": "fauxto-manifest", "format_version": 1,
//!    "source": "<the folder or zip as given>", "license": "<licence text>",
//!    "created": "<RFC 3339 time>", "count": 23314, "resolution": 64,
//!    "merkle_root": "<hex>",
//!    "images": [{"name": "<path inside the source>", "sha256": "<hex>"}, ...],
//!    "skipped": [{"name": "...", "reason": "..."}, ...],
//!    "duplicates": [{"name": "...", "same_as": "..."}, ...]}
//!   ```
//!   `sha256` is the hash of the source file's bytes (not of the packed pixels), so anyone
//!   holding the source can check each entry; `merkle_root` is [`merkle_root`] over those
//!   hashes in manifest order. The SHA-256 of this file's bytes
//!   ([`PackedDataset::manifest_digest`]) is what checkpoints and model files record.
//!
//! A dataset is written into a temporary sibling directory and renamed into place when
//! complete: a directory with the final name is always a whole dataset.

pub mod build;
pub mod decode;
pub mod error;
pub mod labels;
pub mod merkle;
pub mod packed;
pub mod resize;
pub mod source;

pub use build::{build_dataset, BuildReport, DatasetOptions, Progress};
pub use error::DataError;
pub use labels::LabelFile;
pub use merkle::merkle_root;
pub use packed::{
    DatasetHeader, Duplicate, LabelTable, Manifest, ManifestImage, PackedDataset, Skipped,
};
pub use resize::{Crop, Filter};

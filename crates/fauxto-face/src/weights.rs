//! TensorFlow.js weight files: a JSON manifest (groups of `{name, shape, dtype,
//! quantization}` entries and the shard files they live in) and the binary shards,
//! concatenated in manifest order.
//!
//! Quantised entries hold one unsigned integer per element and dequantise to
//! `min + scale·q`; the arithmetic is done in float64 and rounded to float32 once, which
//! reproduces TensorFlow.js's own values bit for bit on the face-api weights.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::FaceError;

#[derive(Debug, Deserialize)]
struct Group {
    paths: Vec<String>,
    weights: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    #[serde(default)]
    quantization: Option<Quantization>,
}

#[derive(Debug, Deserialize)]
struct Quantization {
    dtype: String,
    scale: f64,
    min: f64,
}

/// One weight tensor, float32, in the manifest's (TensorFlow) layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// All tensors of one network by their manifest names (`conv32_down/conv/filters`, …).
#[derive(Debug, Clone, Default)]
pub struct WeightMap {
    pub tensors: BTreeMap<String, Weight>,
}

impl WeightMap {
    /// Reads `<dir>/<manifest>` and the shards it names.
    pub fn load(dir: &Path, manifest: &str) -> Result<Self, FaceError> {
        let json = std::fs::read(dir.join(manifest))?;
        let groups: Vec<Group> = serde_json::from_slice(&json)
            .map_err(|e| FaceError::Manifest(format!("{manifest}: {e}")))?;
        let mut map = WeightMap::default();
        for group in groups {
            let mut bytes = Vec::new();
            for path in &group.paths {
                bytes.extend(std::fs::read(dir.join(path))?);
            }
            map.read_group(&group.weights, &bytes)?;
        }
        Ok(map)
    }

    /// Parses a manifest and its shard bytes held in memory (e.g. embedded in the binary).
    pub fn from_bytes(manifest: &[u8], shards: &[u8]) -> Result<Self, FaceError> {
        let groups: Vec<Group> =
            serde_json::from_slice(manifest).map_err(|e| FaceError::Manifest(e.to_string()))?;
        let entries: Vec<Entry> = groups.into_iter().flat_map(|g| g.weights).collect();
        let mut map = WeightMap::default();
        map.read_group(&entries, shards)?;
        Ok(map)
    }

    fn read_group(&mut self, entries: &[Entry], bytes: &[u8]) -> Result<(), FaceError> {
        let mut at = 0usize;
        for e in entries {
            let n: usize = e.shape.iter().product();
            let bad = |what: String| FaceError::Manifest(format!("{}: {what}", e.name));
            let data = match &e.quantization {
                Some(q) => {
                    if q.dtype != "uint8" {
                        return Err(bad(format!("quantisation {} is not supported", q.dtype)));
                    }
                    let raw = bytes
                        .get(at..at + n)
                        .ok_or_else(|| bad("shard data ends early".into()))?;
                    at += n;
                    raw.iter()
                        .map(|&v| (q.min + q.scale * v as f64) as f32)
                        .collect()
                }
                None if e.dtype == "float32" => {
                    let raw = bytes
                        .get(at..at + 4 * n)
                        .ok_or_else(|| bad("shard data ends early".into()))?;
                    at += 4 * n;
                    raw.chunks_exact(4)
                        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                        .collect()
                }
                None => return Err(bad(format!("dtype {} is not supported", e.dtype))),
            };
            self.tensors.insert(
                e.name.clone(),
                Weight {
                    shape: e.shape.clone(),
                    data,
                },
            );
        }
        if at != bytes.len() {
            return Err(FaceError::Manifest(format!(
                "{} bytes of shard data are not described by the manifest",
                bytes.len() - at
            )));
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<&Weight, FaceError> {
        self.tensors
            .get(name)
            .ok_or_else(|| FaceError::Manifest(format!("no tensor `{name}`")))
    }
}

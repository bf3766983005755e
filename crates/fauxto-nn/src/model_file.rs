//! fauxto model files: safetensors holding the networks under the keys of an official
//! StyleGAN2-ADA network pickle (`G_ema.*`, optionally `G.*` and `D.*`, each followed by
//! the official state-dict names), with the configuration, licence, training-data
//! manifest and provenance in the safetensors metadata, and a markdown model card beside
//! the file.
//!
//! Files are written atomically (temporary file in the same folder, then rename), so a
//! crash never leaves a half-written model under the final name.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use half::{bf16, f16};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{DiscriminatorConfig, GeneratorConfig};
use crate::discriminator::Discriminator;
use crate::error::ModelError;
use crate::generator::Generator;
use crate::state::{HostTensor, StateDict};

/// Value of the `format` metadata key that marks a fauxto model file.
pub const FORMAT: &str = "fauxto-model";
/// Current version of the layout described above.
pub const FORMAT_VERSION: u32 = 1;

/// The dataset a model was trained on, as the dataset tool's manifest describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingData {
    /// Merkle root (hex SHA-256) over the per-image hashes of the training set.
    pub manifest_root: String,
    /// Number of training images.
    pub images: u64,
    /// Licence under which the training images may be used.
    pub license: String,
    /// Where the images came from (path or URL as the user gave it).
    pub source: String,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// Software and version that wrote the file, e.g. `fauxto 0.1.0`.
    pub software: String,
    /// RFC 3339 time the file was written.
    pub created: String,
    /// How the weights came to be: `random-init`, `trained`, `imported`.
    pub origin: String,
    /// Seed of the random initialisation, when `origin` is `random-init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_seed: Option<u32>,
    /// Thousands of training images shown, when trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kimg: Option<f64>,
    /// The file the weights were imported from (name and SHA-256), when `origin` is
    /// `imported`, and what it says about its training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Everything about a model except its tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    /// Preset the networks were built from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Licence of the model weights.
    pub license: String,
    pub generator: GeneratorConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<DiscriminatorConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_data: Option<TrainingData>,
    pub provenance: Provenance,
}

/// A model file in memory.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub info: ModelInfo,
    /// All tensors, keyed `G_ema.…`, `G.…`, `D.…`.
    pub state: StateDict,
    /// SHA-256 of the file as read (hex), empty for a model not yet saved.
    pub sha256: String,
}

impl ModelFile {
    /// Bundles networks into a model file: G_ema always, D when given.
    pub fn from_networks<B: Backend>(
        info: ModelInfo,
        g_ema: &Generator<B>,
        d: Option<&Discriminator<B>>,
    ) -> Self {
        let mut state = StateDict::default();
        for (k, v) in g_ema.state_dict().tensors {
            state.tensors.insert(format!("G_ema.{k}"), v);
        }
        if let Some(d) = d {
            for (k, v) in d.state_dict().tensors {
                state.tensors.insert(format!("D.{k}"), v);
            }
        }
        Self {
            info,
            state,
            sha256: String::new(),
        }
    }

    /// The generator used for images (the exponential moving average of G's weights).
    pub fn generator<B: Backend>(&self, device: &B::Device) -> Result<Generator<B>, ModelError> {
        let sub = self.state.sub("G_ema");
        if sub.tensors.is_empty() {
            return Err(ModelError::Format(
                "the model file holds no generator (no `G_ema.*` tensors)".into(),
            ));
        }
        Generator::from_state_dict(&sub, &self.info.generator, device)
    }

    /// The discriminator, if the file has one.
    pub fn discriminator<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<Option<Discriminator<B>>, ModelError> {
        let (Some(cfg), sub) = (&self.info.discriminator, self.state.sub("D")) else {
            return Ok(None);
        };
        if sub.tensors.is_empty() {
            return Ok(None);
        }
        Ok(Some(Discriminator::from_state_dict(&sub, cfg, device)?))
    }

    /// Number of generator parameters and buffers.
    pub fn generator_size(&self) -> usize {
        self.state
            .tensors
            .iter()
            .filter(|(k, _)| k.starts_with("G_ema."))
            .map(|(_, t)| t.data.len())
            .sum()
    }

    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Validates the bytes of a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let (state, metadata) = parse_safetensors(bytes)?;
        let format = metadata.get("format").map(String::as_str);
        if format != Some(FORMAT) {
            return Err(ModelError::Format(
                "a safetensors file, but not a fauxto model (no `format: fauxto-model` in its metadata); import foreign weights with `fauxto import`".into(),
            ));
        }
        let version: u32 = metadata
            .get("format_version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if version == 0 || version > FORMAT_VERSION {
            return Err(ModelError::Format(format!(
                "model format version {version} is not supported by this fauxto (reads up to {FORMAT_VERSION})"
            )));
        }
        let info_json = metadata
            .get("model")
            .ok_or_else(|| ModelError::Format("model metadata `model` is missing".into()))?;
        let info: ModelInfo = serde_json::from_str(info_json)
            .map_err(|e| ModelError::Format(format!("model metadata is malformed: {e}")))?;
        info.generator.validate()?;
        if let Some(d) = &info.discriminator {
            d.validate()?;
        }
        Ok(Self {
            info,
            state,
            sha256: hex(&Sha256::digest(bytes)),
        })
    }

    /// The safetensors bytes of this model.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let info = serde_json::to_string(&self.info).expect("model info serialises");
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("format_version".to_string(), FORMAT_VERSION.to_string()),
            ("model".to_string(), info),
        ]);
        serialize_state(&self.state, metadata)
    }

    /// Writes the model file and its card (`<stem>.md`) atomically; sets `sha256`.
    pub fn save(&mut self, path: &Path) -> Result<(), ModelError> {
        let bytes = self.to_bytes()?;
        write_atomic(path, &bytes)?;
        self.sha256 = hex(&Sha256::digest(&bytes));
        write_atomic(&card_path(path), self.card().as_bytes())?;
        Ok(())
    }

    /// The human-readable model card.
    pub fn card(&self) -> String {
        crate::model_card::render(self)
    }
}

/// `model.safetensors` → `model.md`.
pub fn card_path(model: &Path) -> PathBuf {
    model.with_extension("md")
}

/// Safetensors bytes (float32) of `state` with `metadata`.
pub fn serialize_state(
    state: &StateDict,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, ModelError> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = state
        .tensors
        .iter()
        .map(|(k, t)| {
            let raw = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.clone(), raw, t.shape.clone())
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(k, raw, shape)| {
            TensorView::new(Dtype::F32, shape.clone(), raw)
                .map(|v| (k.clone(), v))
                .map_err(|e| ModelError::Format(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| ModelError::Format(e.to_string()))
}

/// Parses safetensors bytes into float32 host tensors and the metadata map.
pub fn parse_safetensors(bytes: &[u8]) -> Result<(StateDict, HashMap<String, String>), ModelError> {
    let not_safetensors = |e: safetensors::SafeTensorError| {
        ModelError::Format(format!(
            "not a valid safetensors file (truncated or another format?): {e}"
        ))
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let tensors = SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let mut state = StateDict::default();
    for (name, view) in tensors.tensors() {
        let data = to_f32(&name, &view)?;
        state.tensors.insert(
            name,
            HostTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok((state, header.metadata().clone().unwrap_or_default()))
}

fn to_f32(name: &str, view: &TensorView<'_>) -> Result<Vec<f32>, ModelError> {
    let raw = view.data();
    let out = match view.dtype() {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::F16 => raw
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => raw
            .chunks_exact(2)
            .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        // Integer buffers (counters, labels) are read as float32 too.
        Dtype::I64 => raw
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::I32 => raw
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as f32)
            .collect(),
        Dtype::U8 => raw.iter().map(|&b| b as f32).collect(),
        other => {
            return Err(ModelError::Format(format!(
                "tensor `{name}` has dtype {other:?}; expected a float or integer type"
            )))
        }
    };
    Ok(out)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| ModelError::Format(format!("{} is not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The current time as RFC 3339 (seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

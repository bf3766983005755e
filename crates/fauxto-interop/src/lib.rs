//! Interoperability with the official StyleGAN2-ADA tools: their network pickles and
//! PyTorch state dicts, read without executing anything.
//!
//! | module | reads |
//! | --- | --- |
//! | [`pickle`] | the pickle byte code, into inert values; globals off [`allow::ALLOWED_GLOBALS`] are refused |
//! | [`torch`] | tensors and storages (legacy embedded blobs and zip archives), float32/16, bfloat16, any strides |
//! | [`network_pickle`] | the official snapshot dict and its persistent objects |
//! | [`state_dict`] | `torch.save(state_dict)` zip files |
//! | [`config`] | official constructor arguments (or state-dict shapes) → fauxto configurations |
//! | [`onnx`] | the other direction: a fauxto generator as an ONNX graph |
//!
//! [`import`] ties the readers together: bytes in, tensors under fauxto's model-file keys out.

pub mod allow;
pub mod config;
pub mod error;
pub mod network_pickle;
pub mod onnx;
pub mod pickle;
pub mod state_dict;
pub mod torch;

use fauxto_nn::config::{DiscriminatorConfig, GeneratorConfig};
use fauxto_nn::state::StateDict;
use serde_json::Value as Json;

pub use config::Unstated;
pub use error::ImportError;

/// Which generator of a snapshot becomes the model's generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeneratorChoice {
    /// The moving average of the generator's weights, what the official tools generate with.
    #[default]
    GEma,
    /// The raw training generator.
    G,
}

impl GeneratorChoice {
    pub fn key(self) -> &'static str {
        match self {
            Self::GEma => "G_ema",
            Self::G => "G",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub generator: GeneratorChoice,
    /// Also import the discriminator when the file has one.
    pub discriminator: bool,
    /// Settings a bare state dict does not record.
    pub unstated: Unstated,
}

/// The result of an import: tensors under model-file keys (`G_ema.*`, `D.*`) and the
/// configurations.
#[derive(Debug, Clone)]
pub struct Imported {
    pub generator: GeneratorConfig,
    pub discriminator: Option<DiscriminatorConfig>,
    pub state: StateDict,
    /// `pickle` or `state dict`.
    pub format: &'static str,
    /// The official `training_set_kwargs`, when the file has them.
    pub training_set: Option<Json>,
    /// Tensors stored in another element type than float32, by model-file key.
    pub converted: Vec<(String, torch::DType)>,
}

/// Imports an official network pickle or a zip-format generator state dict.
pub fn import(bytes: &[u8], options: &ImportOptions) -> Result<Imported, ImportError> {
    if state_dict::is_zip(bytes) {
        return import_state_dict(bytes, options);
    }
    let g_key = options.generator.key();
    let only: Vec<&str> = if options.discriminator {
        vec![g_key, "D"]
    } else {
        vec![g_key]
    };
    let file = network_pickle::read_network_pickle(bytes, &only)?;
    let g = file.networks.get(g_key).ok_or_else(|| {
        ImportError::format(format!(
            "the pickle has no `{g_key}` network (it has: {})",
            file.networks.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let generator = config::generator_config(&g.init_kwargs)?;
    let mut state = StateDict::default();
    let mut converted = Vec::new();
    add(&mut state, &mut converted, "G_ema", g);
    let discriminator = match file.networks.get("D") {
        Some(d) if options.discriminator => {
            add(&mut state, &mut converted, "D", d);
            Some(config::discriminator_config(&d.init_kwargs)?)
        }
        _ => None,
    };
    Ok(Imported {
        generator,
        discriminator,
        state,
        format: "pickle",
        training_set: file.training_set,
        converted,
    })
}

fn add(
    state: &mut StateDict,
    converted: &mut Vec<(String, torch::DType)>,
    prefix: &str,
    net: &network_pickle::Network,
) {
    for (k, v) in &net.state.tensors {
        state.tensors.insert(format!("{prefix}.{k}"), v.clone());
    }
    for (k, dtype) in net.non_f32() {
        converted.push((format!("{prefix}.{k}"), dtype));
    }
}

fn import_state_dict(bytes: &[u8], options: &ImportOptions) -> Result<Imported, ImportError> {
    let (sd, stored) = state_dict::read_state_dict(bytes, options.generator.key())?;
    let generator = config::infer_generator_config(&sd, options.unstated)?;
    let mut state = StateDict::default();
    for (k, v) in sd.tensors {
        state.tensors.insert(format!("G_ema.{k}"), v);
    }
    let converted = stored
        .into_iter()
        .filter(|(_, t)| t.dtype != torch::DType::F32)
        .map(|(k, t)| (format!("G_ema.{k}"), t.dtype))
        .collect();
    Ok(Imported {
        generator,
        discriminator: None,
        state,
        format: "state dict",
        training_set: None,
        converted,
    })
}

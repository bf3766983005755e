//! From the official constructors' keyword arguments (or, for a bare state dict, from its
//! tensor names and shapes) to fauxto's network configurations.
//!
//! Defaults are the official constructors' defaults. Arguments that change what the
//! network computes and that fauxto does not implement are refused by name; arguments that
//! only concern speed or training on the official side (`fp16_channels_last`,
//! `freeze_layers`) are accepted and have no effect here.

use fauxto_nn::config::{DiscriminatorConfig, GeneratorConfig, MappingConfig, SynthesisConfig};
use fauxto_nn::state::StateDict;
use serde_json::{Map, Value as Json};

use crate::error::ImportError;

/// Reads typed fields from a kwargs object, remembering which keys were used.
struct Kwargs<'a> {
    what: &'a str,
    map: Map<String, Json>,
}

impl<'a> Kwargs<'a> {
    fn new(what: &'a str, value: Option<&Json>) -> Result<Self, ImportError> {
        match value {
            None | Some(Json::Null) => Ok(Self {
                what,
                map: Map::new(),
            }),
            Some(Json::Object(m)) => Ok(Self {
                what,
                map: m.clone(),
            }),
            Some(other) => Err(ImportError::format(format!(
                "{what} is {other}, not keyword arguments"
            ))),
        }
    }

    fn err(&self, key: &str, expected: &str, got: &Json) -> ImportError {
        ImportError::format(format!("{}.{key} = {got}: expected {expected}", self.what))
    }

    fn usize_or(&mut self, key: &str, default: Option<usize>) -> Result<usize, ImportError> {
        match self.map.remove(key) {
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| self.err(key, "a non-negative integer", &v)),
            None => default
                .ok_or_else(|| ImportError::format(format!("{}.{key} is missing", self.what))),
        }
    }

    fn opt_usize(&mut self, key: &str) -> Result<Option<usize>, ImportError> {
        match self.map.remove(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| self.err(key, "an integer or None", &v)),
        }
    }

    fn opt_f64(&mut self, key: &str, default: Option<f64>) -> Result<Option<f64>, ImportError> {
        match self.map.remove(key) {
            None => Ok(default),
            Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.err(key, "a number or None", &v)),
        }
    }

    /// A value fauxto implements only one way: absent or equal to `supported`.
    fn only(&mut self, key: &str, supported: Json) -> Result<(), ImportError> {
        match self.map.remove(key) {
            Some(v) if v != supported && !(v.is_number() && v.as_f64() == supported.as_f64()) => {
                Err(ImportError::format(format!(
                    "{}.{key} = {v} is not supported (only {supported})",
                    self.what
                )))
            }
            _ => Ok(()),
        }
    }

    fn sub(&mut self, key: &str) -> Option<Json> {
        self.map.remove(key)
    }

    /// Drops arguments that do not change what the network computes.
    fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            self.map.remove(*k);
        }
    }

    fn finish(self) -> Result<(), ImportError> {
        if self.map.is_empty() {
            return Ok(());
        }
        let keys: Vec<_> = self.map.keys().cloned().collect();
        Err(ImportError::format(format!(
            "{}: arguments fauxto does not implement: {}",
            self.what,
            keys.join(", ")
        )))
    }
}

/// The only resampling filter fauxto implements (StyleGAN2 §B).
fn fir() -> Json {
    serde_json::json!([1, 3, 3, 1])
}

/// `MappingNetwork(**mapping_kwargs)` as the Generator or Discriminator builds it.
fn mapping(
    what: &str,
    kwargs: Option<&Json>,
    generator: bool,
) -> Result<MappingConfig, ImportError> {
    let mut k = Kwargs::new(what, kwargs)?;
    let cfg = MappingConfig {
        num_layers: k.usize_or("num_layers", Some(8))?,
        embed_features: k.opt_usize("embed_features")?,
        layer_features: k.opt_usize("layer_features")?,
        lr_multiplier: k.opt_f64("lr_multiplier", Some(0.01))?.unwrap_or(0.01),
        w_avg_beta: k.opt_f64("w_avg_beta", generator.then_some(0.995))?,
    };
    k.only("activation", "lrelu".into())?;
    k.finish()?;
    Ok(cfg)
}

/// `Generator(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs,
/// synthesis_kwargs)`.
pub fn generator_config(kwargs: &Json) -> Result<GeneratorConfig, ImportError> {
    let mut k = Kwargs::new("Generator", Some(kwargs))?;
    let z_dim = k.usize_or("z_dim", None)?;
    let c_dim = k.usize_or("c_dim", None)?;
    let w_dim = k.usize_or("w_dim", None)?;
    let img_resolution = k.usize_or("img_resolution", None)?;
    let img_channels = k.usize_or("img_channels", None)?;
    let mapping_kwargs = k.sub("mapping_kwargs");
    let mapping = mapping("Generator.mapping_kwargs", mapping_kwargs.as_ref(), true)?;
    let synthesis_kwargs = k.sub("synthesis_kwargs");
    let mut s = Kwargs::new("Generator.synthesis_kwargs", synthesis_kwargs.as_ref())?;
    let synthesis = SynthesisConfig {
        channel_base: s.usize_or("channel_base", Some(32768))?,
        channel_max: s.usize_or("channel_max", Some(512))?,
        num_fp16_res: s.usize_or("num_fp16_res", Some(0))?,
        conv_clamp: s.opt_f64("conv_clamp", None)?,
        architecture: "skip".into(),
    };
    s.only("architecture", "skip".into())?;
    s.only("resample_filter", fir())?;
    s.only("use_noise", true.into())?;
    s.only("activation", "lrelu".into())?;
    s.only("kernel_size", 3.into())?;
    s.ignore(&["fp16_channels_last"]);
    s.finish()?;
    k.finish()?;
    let cfg = GeneratorConfig {
        z_dim,
        c_dim,
        w_dim,
        img_resolution,
        img_channels,
        mapping,
        synthesis,
    };
    cfg.validate()
        .map_err(|e| ImportError::format(format!("generator: {e}")))?;
    Ok(cfg)
}

/// `Discriminator(c_dim, img_resolution, img_channels, architecture, channel_base,
/// channel_max, num_fp16_res, conv_clamp, cmap_dim, block_kwargs, mapping_kwargs,
/// epilogue_kwargs)`.
pub fn discriminator_config(kwargs: &Json) -> Result<DiscriminatorConfig, ImportError> {
    let mut k = Kwargs::new("Discriminator", Some(kwargs))?;
    let c_dim = k.usize_or("c_dim", None)?;
    let img_resolution = k.usize_or("img_resolution", None)?;
    let img_channels = k.usize_or("img_channels", None)?;
    let architecture = match k.sub("architecture") {
        None => "resnet".to_string(),
        Some(Json::String(s)) if s == "resnet" || s == "orig" => s,
        Some(other) => {
            return Err(ImportError::format(format!(
                "Discriminator.architecture = {other} is not supported (resnet or orig)"
            )))
        }
    };
    let channel_base = k.usize_or("channel_base", Some(32768))?;
    let channel_max = k.usize_or("channel_max", Some(512))?;
    let num_fp16_res = k.usize_or("num_fp16_res", Some(0))?;
    let conv_clamp = k.opt_f64("conv_clamp", None)?;
    let cmap_dim = k.opt_usize("cmap_dim")?;
    let block = k.sub("block_kwargs");
    let mut b = Kwargs::new("Discriminator.block_kwargs", block.as_ref())?;
    b.only("activation", "lrelu".into())?;
    b.only("resample_filter", fir())?;
    b.ignore(&["fp16_channels_last", "freeze_layers"]);
    b.finish()?;
    let mapping_kwargs = k.sub("mapping_kwargs");
    let mapping = mapping(
        "Discriminator.mapping_kwargs",
        mapping_kwargs.as_ref(),
        false,
    )?;
    let epilogue = k.sub("epilogue_kwargs");
    let mut e = Kwargs::new("Discriminator.epilogue_kwargs", epilogue.as_ref())?;
    let mbstd_group_size = match e.sub("mbstd_group_size") {
        None => Some(4),
        Some(Json::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| e.err("mbstd_group_size", "an integer", &v))? as usize,
        ),
    };
    let mbstd_num_channels = e.usize_or("mbstd_num_channels", Some(1))?;
    e.only("activation", "lrelu".into())?;
    e.finish()?;
    k.finish()?;
    let cfg = DiscriminatorConfig {
        c_dim,
        img_resolution,
        img_channels,
        architecture,
        channel_base,
        channel_max,
        num_fp16_res,
        conv_clamp,
        cmap_dim,
        mbstd_group_size,
        mbstd_num_channels,
        mapping,
    };
    cfg.validate()
        .map_err(|e| ImportError::format(format!("discriminator: {e}")))?;
    Ok(cfg)
}

/// What a bare generator state dict cannot say about itself; the official defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unstated {
    pub conv_clamp: Option<f64>,
    pub lr_multiplier: f64,
}

impl Default for Unstated {
    fn default() -> Self {
        Self {
            conv_clamp: None,
            lr_multiplier: 0.01,
        }
    }
}

/// The generator configuration a state dict's names and shapes imply.
pub fn infer_generator_config(
    state: &StateDict,
    unstated: Unstated,
) -> Result<GeneratorConfig, ImportError> {
    let shape = |name: &str| -> Result<&[usize], ImportError> {
        state
            .get(name)
            .map(|t| t.shape.as_slice())
            .ok_or_else(|| ImportError::format(format!("not a generator state dict: no `{name}`")))
    };
    let num_layers = (0..)
        .take_while(|i| state.get(&format!("mapping.fc{i}.weight")).is_some())
        .count();
    if num_layers == 0 {
        return Err(ImportError::format(
            "not a generator state dict: no `mapping.fc0.weight`",
        ));
    }
    let (c_dim, embed) = match state.get("mapping.embed.weight") {
        Some(t) if t.shape.len() == 2 => (t.shape[1], t.shape[0]),
        Some(_) => return Err(ImportError::format("mapping.embed.weight is not 2-D")),
        None => (0, 0),
    };
    let fc0 = shape("mapping.fc0.weight")?;
    let last = shape(&format!("mapping.fc{}.weight", num_layers - 1))?;
    let (w_dim, z_dim) = match (fc0, last) {
        ([_, fc0_in], [w, _]) if *fc0_in >= embed => (*w, fc0_in - embed),
        _ => {
            return Err(ImportError::format(
                "mapping weights have unexpected shapes",
            ))
        }
    };
    let resolutions: Vec<usize> = (2..=10)
        .map(|l| 1usize << l)
        .take_while(|r| state.get(&format!("synthesis.b{r}.torgb.weight")).is_some())
        .collect();
    let img_resolution = *resolutions.last().ok_or_else(|| {
        ImportError::format("not a generator state dict: no `synthesis.b4.torgb.weight`")
    })?;
    let img_channels = shape(&format!("synthesis.b{img_resolution}.torgb.weight"))?[0];
    let channels: Vec<(usize, usize)> = resolutions
        .iter()
        .map(|&r| Ok((r, shape(&format!("synthesis.b{r}.conv1.weight"))?[0])))
        .collect::<Result<_, ImportError>>()?;
    let channel_max = channels.iter().map(|c| c.1).max().unwrap_or(0);
    // channels(r) = min(channel_base / r, channel_max): the highest resolution whose
    // channels fall below the maximum pins channel_base.
    let channel_base = channels
        .iter()
        .rev()
        .find(|c| c.1 < channel_max)
        .map_or(channel_max * img_resolution, |&(r, c)| c * r);
    if let Some((r, c)) = channels
        .iter()
        .find(|&&(r, c)| (channel_base / r).min(channel_max) != c)
    {
        return Err(ImportError::format(format!(
            "synthesis.b{r} has {c} channels, which no channel_base/channel_max explains"
        )));
    }
    let layer_features = (num_layers > 1).then(|| fc0[0]).filter(|f| *f != w_dim);
    let cfg = GeneratorConfig {
        z_dim,
        c_dim,
        w_dim,
        img_resolution,
        img_channels,
        mapping: MappingConfig {
            num_layers,
            embed_features: (c_dim > 0 && embed != w_dim).then_some(embed),
            layer_features,
            lr_multiplier: unstated.lr_multiplier,
            w_avg_beta: Some(0.995),
        },
        synthesis: SynthesisConfig {
            channel_base,
            channel_max,
            num_fp16_res: 0,
            conv_clamp: unstated.conv_clamp,
            architecture: "skip".into(),
        },
    };
    cfg.validate()
        .map_err(|e| ImportError::format(format!("generator: {e}")))?;
    Ok(cfg)
}

//! Network configurations, in the official StyleGAN2-ADA keyword names, and the presets.
//!
//! The field names are the constructor arguments of the official `Generator`,
//! `MappingNetwork`, `SynthesisNetwork` and `Discriminator`, so a config reads the same
//! here, in a model file's metadata and in the official code.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Mapping network z (+ c) → w (StyleGAN §2, Karras et al. 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingConfig {
    /// Number of fully connected layers.
    pub num_layers: usize,
    /// Width of the label embedding; `None` means `w_dim`.
    #[serde(default)]
    pub embed_features: Option<usize>,
    /// Width of the hidden layers; `None` means `w_dim`.
    #[serde(default)]
    pub layer_features: Option<usize>,
    /// Learning-rate multiplier of the equalised-lr layers (0.01 in the paper).
    #[serde(default = "default_lr_multiplier")]
    pub lr_multiplier: f64,
    /// Decay of the tracked average of w, used for truncation.
    #[serde(default = "default_w_avg_beta")]
    pub w_avg_beta: Option<f64>,
}

fn default_lr_multiplier() -> f64 {
    0.01
}

fn default_w_avg_beta() -> Option<f64> {
    Some(0.995)
}

impl MappingConfig {
    pub fn with_layers(num_layers: usize) -> Self {
        Self {
            num_layers,
            embed_features: None,
            layer_features: None,
            lr_multiplier: default_lr_multiplier(),
            w_avg_beta: default_w_avg_beta(),
        }
    }
}

/// Synthesis network w → image (StyleGAN2 §2, Karras et al. 2020).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthesisConfig {
    /// Overall multiplier for the number of channels: a block at resolution r has
    /// `min(channel_base / r, channel_max)` channels.
    pub channel_base: usize,
    /// Most channels of any block.
    pub channel_max: usize,
    /// Number of highest resolutions the official code runs in float16 (kept for
    /// compatibility; computation here is float32).
    #[serde(default)]
    pub num_fp16_res: usize,
    /// Clamp the output of convolution layers to ±this value; `None` disables.
    #[serde(default)]
    pub conv_clamp: Option<f64>,
    /// Only `skip` (toRGB at every block, summed) is supported.
    #[serde(default = "default_synthesis_architecture")]
    pub architecture: String,
}

fn default_synthesis_architecture() -> String {
    "skip".into()
}

/// The generator: mapping + synthesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    pub z_dim: usize,
    /// Conditioning label dimensionality; 0 for unconditional models.
    #[serde(default)]
    pub c_dim: usize,
    pub w_dim: usize,
    pub img_resolution: usize,
    pub img_channels: usize,
    pub mapping: MappingConfig,
    pub synthesis: SynthesisConfig,
}

/// The discriminator (StyleGAN2 residual architecture by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminatorConfig {
    #[serde(default)]
    pub c_dim: usize,
    pub img_resolution: usize,
    pub img_channels: usize,
    /// `resnet` (StyleGAN2) or `orig` (plain, as the official cifar config).
    #[serde(default = "default_discriminator_architecture")]
    pub architecture: String,
    pub channel_base: usize,
    pub channel_max: usize,
    #[serde(default)]
    pub num_fp16_res: usize,
    #[serde(default)]
    pub conv_clamp: Option<f64>,
    /// Dimensionality of the label embedding; `None` means the channels at 4x4.
    #[serde(default)]
    pub cmap_dim: Option<usize>,
    /// Minibatch-stddev group size; `None` means the whole batch.
    #[serde(default = "default_mbstd_group_size")]
    pub mbstd_group_size: Option<usize>,
    #[serde(default = "default_mbstd_num_channels")]
    pub mbstd_num_channels: usize,
    /// The label mapping network (used when `c_dim > 0`).
    #[serde(default = "default_discriminator_mapping")]
    pub mapping: MappingConfig,
}

fn default_discriminator_architecture() -> String {
    "resnet".into()
}
fn default_mbstd_group_size() -> Option<usize> {
    Some(4)
}
fn default_mbstd_num_channels() -> usize {
    1
}
fn default_discriminator_mapping() -> MappingConfig {
    MappingConfig::with_layers(8)
}

/// Channels of a block at `resolution`.
pub fn channels_at(channel_base: usize, channel_max: usize, resolution: usize) -> usize {
    (channel_base / resolution).min(channel_max)
}

/// log2 of a resolution that must be a power of two in 4..=1024.
pub fn resolution_log2(resolution: usize) -> Result<u32, ConfigError> {
    if !(4..=1024).contains(&resolution) || !resolution.is_power_of_two() {
        return Err(ConfigError::Resolution(resolution));
    }
    Ok(resolution.trailing_zeros())
}

impl GeneratorConfig {
    /// Resolutions of the synthesis blocks: 4, 8, …, `img_resolution`.
    pub fn block_resolutions(&self) -> Vec<usize> {
        let log2 = self.img_resolution.trailing_zeros();
        (2..=log2).map(|i| 1usize << i).collect()
    }

    pub fn channels(&self, resolution: usize) -> usize {
        channels_at(
            self.synthesis.channel_base,
            self.synthesis.channel_max,
            resolution,
        )
    }

    /// Number of w vectors the synthesis network consumes: two per block above 4x4,
    /// one for the 4x4 block, plus one for the last toRGB.
    pub fn num_ws(&self) -> usize {
        2 * self.img_resolution.trailing_zeros() as usize - 2
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        resolution_log2(self.img_resolution)?;
        if self.synthesis.architecture != "skip" {
            return Err(ConfigError::Unsupported(format!(
                "synthesis architecture `{}` (only `skip`)",
                self.synthesis.architecture
            )));
        }
        if self.z_dim == 0 && self.c_dim == 0 {
            return Err(ConfigError::Unsupported("z_dim = c_dim = 0".into()));
        }
        for (what, v) in [
            ("w_dim", self.w_dim),
            ("img_channels", self.img_channels),
            ("mapping.num_layers", self.mapping.num_layers),
        ] {
            if v == 0 {
                return Err(ConfigError::Zero(what));
            }
        }
        if self.channels(self.img_resolution) == 0 {
            return Err(ConfigError::Zero("channels at the output resolution"));
        }
        Ok(())
    }
}

impl DiscriminatorConfig {
    /// Resolutions of the discriminator blocks: `img_resolution`, …, 8 (4x4 is the epilogue).
    pub fn block_resolutions(&self) -> Vec<usize> {
        let log2 = self.img_resolution.trailing_zeros();
        (3..=log2).rev().map(|i| 1usize << i).collect()
    }

    pub fn channels(&self, resolution: usize) -> usize {
        channels_at(self.channel_base, self.channel_max, resolution)
    }

    /// Width of the label embedding (0 when unconditional).
    pub fn effective_cmap_dim(&self) -> usize {
        if self.c_dim == 0 {
            0
        } else {
            self.cmap_dim.unwrap_or_else(|| self.channels(4))
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        resolution_log2(self.img_resolution)?;
        if self.img_resolution < 8 {
            return Err(ConfigError::Unsupported(
                "a discriminator needs a resolution of at least 8 (its 4x4 head follows at least one block)".into(),
            ));
        }
        if !matches!(self.architecture.as_str(), "resnet" | "orig") {
            return Err(ConfigError::Unsupported(format!(
                "discriminator architecture `{}` (only `resnet` and `orig`)",
                self.architecture
            )));
        }
        if self.channels(self.img_resolution) == 0 {
            return Err(ConfigError::Zero("channels at the input resolution"));
        }
        Ok(())
    }
}

/// Replaces the channel base and/or maximum of both networks (a preset's widths, changed).
pub fn override_widths(
    g: &mut GeneratorConfig,
    d: &mut DiscriminatorConfig,
    channel_base: Option<usize>,
    channel_max: Option<usize>,
) {
    if let Some(base) = channel_base {
        g.synthesis.channel_base = base;
        d.channel_base = base;
    }
    if let Some(max) = channel_max {
        g.synthesis.channel_max = max;
        d.channel_max = max;
    }
}

/// A named network configuration: the official `train.py --cfg` specs plus `small`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Official config F (StyleGAN2 paper): channel base 32768, 8 mapping layers.
    Stylegan2,
    /// The ADA paper's 256x256 config: channel base 16384.
    Paper256,
    /// The ADA paper's 512x512 config.
    Paper512,
    /// The ADA paper's 1024x1024 config: channel base 65536.
    Paper1024,
    /// The ADA paper's CIFAR-10 config: 2 mapping layers, mbstd group 32, plain D.
    Cifar,
    /// The official `auto` config: width by resolution, 2 mapping layers.
    Auto,
    /// A narrow network for CPU training and tests: w 256, channel base 4096, max 256.
    Small,
}

impl Preset {
    pub const ALL: [Preset; 7] = [
        Preset::Stylegan2,
        Preset::Paper256,
        Preset::Paper512,
        Preset::Paper1024,
        Preset::Cifar,
        Preset::Auto,
        Preset::Small,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Stylegan2 => "stylegan2",
            Preset::Paper256 => "paper256",
            Preset::Paper512 => "paper512",
            Preset::Paper1024 => "paper1024",
            Preset::Cifar => "cifar",
            Preset::Auto => "auto",
            Preset::Small => "small",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ConfigError::UnknownPreset(name.to_string()))
    }

    /// (z/w dim, channel base, channel max, mapping layers, mbstd group, D architecture).
    fn spec(self, resolution: usize) -> (usize, usize, usize, usize, usize, &'static str) {
        match self {
            Preset::Stylegan2 => (512, 32768, 512, 8, 4, "resnet"),
            Preset::Paper256 => (512, 16384, 512, 8, 4, "resnet"),
            Preset::Paper512 => (512, 32768, 512, 8, 4, "resnet"),
            Preset::Paper1024 => (512, 65536, 512, 8, 4, "resnet"),
            Preset::Cifar => (512, 32768, 512, 2, 32, "orig"),
            Preset::Auto => {
                let base = if resolution >= 512 { 32768 } else { 16384 };
                (512, base, 512, 2, 4, "resnet")
            }
            Preset::Small => (256, 4096, 256, 2, 4, "resnet"),
        }
    }

    /// Generator and discriminator configs at `resolution` with `c_dim` labels.
    pub fn configs(
        self,
        resolution: usize,
        img_channels: usize,
        c_dim: usize,
    ) -> Result<(GeneratorConfig, DiscriminatorConfig), ConfigError> {
        resolution_log2(resolution)?;
        let (zw, base, max, map, mbstd, d_arch) = self.spec(resolution);
        // The official training configs clamp conv outputs at 256 in G and D.
        let conv_clamp = Some(256.0);
        let g = GeneratorConfig {
            z_dim: zw,
            c_dim,
            w_dim: zw,
            img_resolution: resolution,
            img_channels,
            mapping: MappingConfig::with_layers(map),
            synthesis: SynthesisConfig {
                channel_base: base,
                channel_max: max,
                num_fp16_res: 0,
                conv_clamp,
                architecture: default_synthesis_architecture(),
            },
        };
        let d = DiscriminatorConfig {
            c_dim,
            img_resolution: resolution,
            img_channels,
            architecture: d_arch.into(),
            channel_base: base,
            channel_max: max,
            num_fp16_res: 0,
            conv_clamp,
            cmap_dim: None,
            mbstd_group_size: Some(mbstd),
            mbstd_num_channels: 1,
            mapping: default_discriminator_mapping(),
        };
        g.validate()?;
        d.validate()?;
        Ok((g, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_f_at_1024_matches_the_paper() {
        let (g, d) = Preset::Stylegan2.configs(1024, 3, 0).unwrap();
        assert_eq!(g.num_ws(), 18);
        assert_eq!(g.channels(4), 512);
        assert_eq!(g.channels(64), 512);
        assert_eq!(g.channels(128), 256);
        assert_eq!(g.channels(1024), 32);
        assert_eq!(d.block_resolutions().first(), Some(&1024));
        assert_eq!(d.block_resolutions().last(), Some(&8));
    }

    #[test]
    fn resolutions_must_be_powers_of_two_in_range() {
        for bad in [0, 2, 4, 48, 100, 2048] {
            assert!(Preset::Small.configs(bad, 3, 0).is_err(), "{bad}");
        }
        assert!(Preset::Small.configs(64, 3, 0).is_ok());
    }

    #[test]
    fn config_round_trips_through_json() {
        let (g, d) = Preset::Cifar.configs(32, 3, 10).unwrap();
        let g2: GeneratorConfig =
            serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        let d2: DiscriminatorConfig =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!((g, d), (g2, d2));
        assert_eq!(Preset::from_name("paper256").unwrap(), Preset::Paper256);
        assert!(Preset::from_name("huge").is_err());
    }
}

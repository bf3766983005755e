//! StyleGAN2 networks in Rust, generic over the burn backend.
//!
//! The layers mirror the official StyleGAN2-ADA implementation one to one, class by class
//! and parameter name by parameter name, so that official weights load directly:
//!
//! | here | official | paper |
//! | --- | --- | --- |
//! | [`layers::FullyConnectedLayer`] | `FullyConnectedLayer` | equalised lr, ProGAN §4.1 |
//! | [`layers::Conv2dLayer`] | `Conv2dLayer` | |
//! | [`layers::modulated_conv2d`] | `modulated_conv2d` | StyleGAN2 §2.2 |
//! | [`layers::SynthesisLayer`], [`layers::ToRgbLayer`] | `SynthesisLayer`, `ToRGBLayer` | StyleGAN2 Fig. 2 |
//! | [`mapping::MappingNetwork`] | `MappingNetwork` | StyleGAN §2 |
//! | [`synthesis::SynthesisNetwork`] | `SynthesisNetwork` | StyleGAN2 Fig. 7 (skip) |
//! | [`discriminator::Discriminator`] | `Discriminator` | StyleGAN2 Fig. 7 (resnet) |
//! | [`fir`] | `upfirdn2d` | StyleGAN2 §B |
//! | [`seed`] | `np.random.RandomState(seed).randn` | |
//!
//! On the CPU the slowest of burn's operations are replaced by fauxto's own ([`kernels`]).
//!
//! Tensors are NCHW float32; images inside the networks are in [-1, 1].

pub mod config;
pub mod discriminator;
pub mod error;
pub mod fir;
pub mod generator;
pub mod kernels;
pub mod layers;
pub mod mapping;
pub mod model_card;
pub mod model_file;
pub mod ops;
pub mod sample;
pub mod seed;
pub mod state;
pub mod synthesis;
pub mod tape;

pub use config::{DiscriminatorConfig, GeneratorConfig, MappingConfig, Preset, SynthesisConfig};
pub use discriminator::Discriminator;
pub use error::{ConfigError, ModelError};
pub use generator::{Generator, Truncation};
pub use layers::NoiseMode;
pub use state::{RandomInit, StateDict};
pub use tape::ActivationTape;

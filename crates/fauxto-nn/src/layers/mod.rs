//! The layers of StyleGAN2-ADA, one file per official class.

pub mod conv;
pub mod fc;
pub mod modulated;

pub use conv::Conv2dLayer;
pub use fc::FullyConnectedLayer;
pub use modulated::{modulated_conv2d, NoiseMode, SynthesisLayer, ToRgbLayer};

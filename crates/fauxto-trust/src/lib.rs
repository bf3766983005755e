//! Provenance for the images fauxto makes.
//!
//! [`credentials`]: signed C2PA Content Credentials saying what made an image, from which
//! model and training data. [`watermark`]: an invisible watermark in the luma of an image that carries a 48-bit payload
//! and survives JPEG compression, resizing and cropping. [`detector`]: a CNN that tells
//! GAN-generated images from photographs by their pixels alone.

pub mod credentials;
pub mod detector;
mod rng;
pub mod watermark;

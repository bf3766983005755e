//! Provenance for the images fauxto makes.
//!
//! [`watermark`]: an invisible watermark in the luma of an image that carries a 48-bit payload
//! and survives JPEG compression, resizing and cropping.

pub mod watermark;

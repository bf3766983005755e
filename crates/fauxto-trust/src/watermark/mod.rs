//! An invisible watermark carrying a 48-bit payload in the luma of an image.
//!
//! A tile of 16x16 chips, each a block of 4x4 pixels (8x8 on images of 512 pixels and more),
//! is repeated over the image (periodic tiling in the manner of Kalker et al.'s watermarks for
//! video, which makes a crop a cyclic shift of the tile). Each chip's mean luma carries one
//! bit by dither modulation (Chen and Wornell's quantization index modulation, see `qim`), so
//! the image itself does not interfere with the message: 116 chips hold a synchronisation
//! pattern, 140 the payload and its CRC-16 under a rate-1/2 convolutional code. Chip means
//! are low spatial frequencies, which JPEG and resizing keep; every copy of a chip is
//! quantized on its own, so copies a crop removes take nothing from the rest. The detector
//! reads chip means as phasors, sums the copies, finds the lattice's pitch, angle and offset
//! (resizes kept at their new size, rotations) and the tile's shift by search, undoes tone
//! curves (brightness, contrast, gamma) and weighs down the chips they clipped, and accepts a
//! mark only with a high synchronisation score and a valid CRC.
//!
//! ```
//! use fauxto_trust::watermark::{detect, embed, Key, Payload, DEFAULT_PSNR};
//! let img = image::RgbImage::from_fn(128, 128, |x, y| image::Rgb([(x * 2) as u8, (y * 2) as u8, 90]));
//! let key = Key::from_passphrase("example");
//! let marked = embed(&img, &key, Payload::new(0x0123_4567_89ab).unwrap(), DEFAULT_PSNR).unwrap();
//! assert!(marked.psnr >= 38.0);
//! assert_eq!(detect(&marked.image, &key).payload, Payload::new(0x0123_4567_89ab));
//! ```

mod code;
mod detect;
mod embed;
mod grid;
mod lattice;
mod layout;
mod luma;
mod qim;
mod sample;
mod search;
mod sync;
mod tone;

pub use detect::{detect, Detection, SYNC_THRESHOLD, Z_THRESHOLD};
pub use embed::{embed, embed_as, readable, Marked, TooSmall, DEFAULT_PSNR};
pub use layout::{Key, PAYLOAD_BITS};
pub use luma::psnr;
pub use tone::Tone;

/// How a payload's 48 bits are to be read. The format is carried by the CRC (its final XOR),
/// so a detector reads marks of every format in one search and says which it found; what
/// the bits mean in each format is the caller's (fauxto's generated images: see
/// `fauxto_app::labels::MarkPayload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadFormat {
    /// The first format (plain CRC-16), written before the payload formats were told apart.
    V1,
    /// The current format (CRC-16 XOR 0xFFFF).
    V2,
}

/// A 48-bit watermark payload (e.g. a model identifier and a per-image number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Payload(u64);

impl Payload {
    /// The payload `value`, or None if it does not fit in 48 bits.
    pub fn new(value: u64) -> Option<Self> {
        (value >> PAYLOAD_BITS == 0).then_some(Payload(value))
    }

    /// Parses 12 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Result<Self, String> {
        if hex.len() != PAYLOAD_BITS / 4 {
            return Err(format!(
                "a payload is {} hex digits, got {:?}",
                PAYLOAD_BITS / 4,
                hex
            ));
        }
        let v = u64::from_str_radix(hex, 16).map_err(|_| format!("not hexadecimal: {hex:?}"))?;
        Ok(Payload(v))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// 12 lowercase hexadecimal digits.
    pub fn to_hex(self) -> String {
        format!("{:012x}", self.0)
    }
}

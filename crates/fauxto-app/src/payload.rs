//! What the 48 bits of the watermark on a generated image say.
//!
//! Current format ([`PayloadFormat::V2`]), most significant bit first:
//!
//! | bits | meaning |
//! | --- | --- |
//! | 47..33 | model tag: the first 15 bits of the model file's SHA-256 |
//! | 32 | 0: the image of one seed; 1: a composite (grid, style-mixing grid, animation, training snapshot, report) |
//! | 31..0 | the seed (official seeds are 32-bit), or a composite's first seed |
//!
//! A composite flag with seed 2^32 − 1 ([`REAL_PHOTO_SEED`]) marks a real person's photo
//! rendered by the model (a projected photo, edited or not): no seed made it.
//!
//! So no two seeds of one model share a payload. The tag only narrows down the model (two
//! models share it with probability 2^-15); the Content Credential names it in full.
//!
//! The first format ([`PayloadFormat::V1`], images made before this layout) is still read:
//! bits 47..24 the first 24 bits of the model's SHA-256, bits 23..0 the low 24 bits of the
//! seed (so seeds 2^24 apart shared a payload). The detector tells the formats apart by
//! their CRC.

use fauxto_trust::watermark::{Payload, PayloadFormat};
use serde::Serialize;

/// What a generated image's watermark says, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "format", rename_all = "lowercase")]
pub enum MarkPayload {
    V2 {
        /// The first 15 bits of the model's SHA-256.
        model_tag: u16,
        /// The image is a composite of several generated images (its first seed below).
        composite: bool,
        seed: u32,
    },
    V1 {
        /// The first 24 bits of the model's SHA-256.
        model_tag: u32,
        /// The low 24 bits of the seed.
        seed_low24: u32,
    },
}

/// The seed field of a real person's photo rendered by the model (with the composite flag).
pub const REAL_PHOTO_SEED: u32 = u32::MAX;

/// The first `bits` bits of a hex SHA-256 (0 for a malformed one).
fn sha_prefix(sha256_hex: &str, bits: u32) -> u64 {
    let head = u64::from_str_radix(sha256_hex.get(..8).unwrap_or(""), 16).unwrap_or(0);
    head >> (32 - bits)
}

impl MarkPayload {
    /// The payload of the image of `seed` (or of a composite starting at it) made by the model
    /// whose file has SHA-256 `model_sha256`.
    pub fn new(model_sha256: &str, seed: u32, composite: bool) -> Self {
        MarkPayload::V2 {
            model_tag: sha_prefix(model_sha256, 15) as u16,
            composite,
            seed,
        }
    }

    /// The payload of a real person's photo rendered by the model with SHA-256
    /// `model_sha256`.
    pub fn real_photo(model_sha256: &str) -> Self {
        Self::new(model_sha256, REAL_PHOTO_SEED, true)
    }

    /// Whether the mark says the image shows a real person's photo rendered by a model.
    pub fn is_real_photo(&self) -> bool {
        matches!(
            self,
            MarkPayload::V2 {
                composite: true,
                seed: REAL_PHOTO_SEED,
                ..
            }
        )
    }

    /// The 48 bits to embed (always in the current format).
    pub fn bits(&self) -> Payload {
        let value = match *self {
            MarkPayload::V2 {
                model_tag,
                composite,
                seed,
            } => ((model_tag as u64 & 0x7FFF) << 33) | ((composite as u64) << 32) | seed as u64,
            MarkPayload::V1 {
                model_tag,
                seed_low24,
            } => ((model_tag as u64 & 0xFF_FFFF) << 24) | (seed_low24 as u64 & 0xFF_FFFF),
        };
        Payload::new(value).expect("48 bits")
    }

    /// The format [`Self::bits`] are read in.
    pub fn format(&self) -> PayloadFormat {
        match self {
            MarkPayload::V2 { .. } => PayloadFormat::V2,
            MarkPayload::V1 { .. } => PayloadFormat::V1,
        }
    }

    /// Reads detected bits in the format the detector found them in.
    pub fn decode(payload: Payload, format: PayloadFormat) -> Self {
        let v = payload.value();
        match format {
            PayloadFormat::V2 => MarkPayload::V2 {
                model_tag: (v >> 33) as u16 & 0x7FFF,
                composite: (v >> 32) & 1 == 1,
                seed: v as u32,
            },
            PayloadFormat::V1 => MarkPayload::V1 {
                model_tag: (v >> 24) as u32 & 0xFF_FFFF,
                seed_low24: v as u32 & 0xFF_FFFF,
            },
        }
    }

    /// Whether the model whose file has SHA-256 `model_sha256` could have made the mark.
    pub fn matches_model(&self, model_sha256: &str) -> bool {
        match *self {
            MarkPayload::V2 { model_tag, .. } => sha_prefix(model_sha256, 15) == model_tag as u64,
            MarkPayload::V1 { model_tag, .. } => sha_prefix(model_sha256, 24) == model_tag as u64,
        }
    }

    /// One line for people: "model tag 3c2a, seed 42".
    pub fn describe(&self) -> String {
        match *self {
            MarkPayload::V2 {
                model_tag,
                composite: false,
                seed,
            } => format!("model tag {model_tag:04x}, seed {seed}"),
            MarkPayload::V2 {
                model_tag,
                composite: true,
                seed: REAL_PHOTO_SEED,
            } => format!("model tag {model_tag:04x}, a real person's photo rendered by the model"),
            MarkPayload::V2 {
                model_tag,
                composite: true,
                seed,
            } => format!("model tag {model_tag:04x}, composite from seed {seed}"),
            MarkPayload::V1 {
                model_tag,
                seed_low24,
            } => format!(
                "model tag {model_tag:06x}, seed ≡ {seed_low24} mod 2^24 (first payload format)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "79c89e7c2112e4c6ff3efb006622eeb7d61e1ddd98f8b033a2d1c292240c8e02";

    #[test]
    fn seeds_2_to_the_24_apart_get_different_payloads() {
        let a = MarkPayload::new(SHA, 5, false).bits();
        let b = MarkPayload::new(SHA, 5 + (1 << 24), false).bits();
        let c = MarkPayload::new(SHA, 5, true).bits();
        assert_ne!(a, b);
        assert_ne!(a, c);
        // Every 32-bit seed has its own payload: the seed is the low 32 bits as it is.
        for seed in [0, 1, u32::MAX, 1 << 31, 0xDEAD_BEEF] {
            let p = MarkPayload::new(SHA, seed, false);
            assert_eq!(p.bits().value() & 0xFFFF_FFFF, seed as u64);
            assert_eq!(MarkPayload::decode(p.bits(), PayloadFormat::V2), p);
        }
    }

    #[test]
    fn a_real_photo_is_marked_apart_from_seeds_and_grids() {
        let photo = MarkPayload::real_photo(SHA);
        let decoded = MarkPayload::decode(photo.bits(), PayloadFormat::V2);
        assert!(decoded.is_real_photo());
        assert!(decoded.describe().contains("real person's photo"));
        for other in [
            MarkPayload::new(SHA, 0, true),
            MarkPayload::new(SHA, u32::MAX, false),
        ] {
            assert!(!other.is_real_photo());
            assert_ne!(other.bits(), photo.bits());
        }
    }

    #[test]
    fn the_model_tag_is_the_hash_prefix_in_both_formats() {
        let p = MarkPayload::new(SHA, 42, false);
        // 0x79c8 = 0111 1001 1100 1000; its first 15 bits are 0x3ce4.
        assert_eq!(
            p,
            MarkPayload::V2 {
                model_tag: 0x3ce4,
                composite: false,
                seed: 42
            }
        );
        assert!(p.matches_model(SHA));
        assert!(!p.matches_model(&SHA.replace("79c8", "79ca")));
        // A mark of the first format: 24 bits of model, 24 of seed.
        let old = Payload::new((0x79c89e << 24) | 42).unwrap();
        let v1 = MarkPayload::decode(old, PayloadFormat::V1);
        assert_eq!(
            v1,
            MarkPayload::V1 {
                model_tag: 0x79c89e,
                seed_low24: 42
            }
        );
        assert!(v1.matches_model(SHA));
        assert_eq!(v1.bits(), old);
    }
}

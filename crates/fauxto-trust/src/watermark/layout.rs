//! Where the watermark's chips lie in a tile, derived from the key.
//!
//! The watermark is a tile of [`TILE`] x [`TILE`] chips, each chip a `chip` x `chip`
//! block of pixels (see [`chip_size`]) whose mean luma carries one bit by dither modulation
//! (see `qim`), repeated over the whole image. A key-derived permutation assigns
//! [`SYNC_CHIPS`] chips to a known synchronisation pattern (all zero bits, which finds the
//! tile's position after cropping) and the rest to the coded message bits; every chip also
//! gets a key-derived dither, so without the key the lattice is unknown.

use sha2::{Digest, Sha256};

use super::code::{RATE_INV, TAIL};
use crate::rng::SplitMix64;

/// Pixels per chip side, by image size (see [`chip_size`]); the detector tries both.
///
/// Chips of 4 pixels and more live at low spatial frequencies, which JPEG quantizes finely and
/// halving the size keeps (a 2-pixel chip loses most of its mean to the resampling filter's
/// neighbours); larger chips suit large images, which are resized more.
pub const CHIP_SIZES: [usize; 2] = [4, 8];
/// The short side from which chips are 8 pixels.
pub const LARGE_IMAGE: usize = 512;

/// The chip size embedding uses on a `width` x `height` image.
pub fn chip_size(width: usize, height: usize) -> usize {
    if width.min(height) >= LARGE_IMAGE {
        CHIP_SIZES[1]
    } else {
        CHIP_SIZES[0]
    }
}

/// Chips per tile side: a tile is `chip * TILE` pixels square.
pub const TILE: usize = 16;
/// Chips per tile.
pub const TILE_CHIPS: usize = TILE * TILE;
/// Payload bits.
pub const PAYLOAD_BITS: usize = 48;
/// Payload followed by its CRC-16.
pub const MESSAGE_BITS: usize = PAYLOAD_BITS + 16;
/// Convolutionally coded message bits, one per data chip.
pub const CODED_BITS: usize = (MESSAGE_BITS + TAIL) * RATE_INV;
/// Chips carrying the synchronisation pattern.
pub const SYNC_CHIPS: usize = TILE_CHIPS - CODED_BITS;

/// A watermark key: 32 bytes derived from a passphrase.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl Key {
    /// The key of a passphrase (SHA-256 with a domain prefix).
    pub fn from_passphrase(passphrase: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"fauxto-watermark-key\0");
        h.update(passphrase.as_bytes());
        Key(h.finalize().into())
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// One chip of the tile: its index (`row * TILE + col`) and its dither (a fraction of the
/// quantizer step, in 0..1).
#[derive(Clone, Copy, Debug)]
pub struct Chip {
    pub index: usize,
    pub dither: f32,
}

/// The key's tile layout.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The synchronisation chips (they carry bit 0).
    pub sync: Vec<Chip>,
    /// The chip of each coded bit, in code order.
    pub data: Vec<Chip>,
}

impl Layout {
    /// The layout of `key`: a Fisher-Yates shuffle of the tile's chips and a dither per chip,
    /// drawn from SplitMix64 seeded with the key.
    pub fn new(key: &Key) -> Self {
        let mut rng = layout_stream(&key.0);
        let mut order: Vec<usize> = (0..TILE_CHIPS).collect();
        for i in (1..TILE_CHIPS).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let chips: Vec<Chip> = order
            .into_iter()
            .map(|index| Chip {
                index,
                dither: (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32,
            })
            .collect();
        let (sync, data) = chips.split_at(SYNC_CHIPS);
        Layout {
            sync: sync.to_vec(),
            data: data.to_vec(),
        }
    }

    /// Per tile chip, its dither and the bit it carries, for the coded bits `coded`.
    pub fn tile(&self, coded: &[u8]) -> [(f32, u8); TILE_CHIPS] {
        assert_eq!(coded.len(), self.data.len());
        let mut tile = [(0f32, 0u8); TILE_CHIPS];
        for chip in &self.sync {
            tile[chip.index] = (chip.dither, 0);
        }
        for (chip, &bit) in self.data.iter().zip(coded) {
            tile[chip.index] = (chip.dither, bit);
        }
        tile
    }
}

/// The layout's SplitMix64 stream: seeded with the first 8 bytes of a digest of the key.
fn layout_stream(key: &[u8; 32]) -> SplitMix64 {
    let mut h = Sha256::new();
    h.update(b"fauxto-watermark-layout-v2\0");
    h.update(key);
    let d = h.finalize();
    SplitMix64::new(u64::from_le_bytes(d[..8].try_into().unwrap()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_partitions_the_tile_and_depends_on_the_key() {
        let a = Layout::new(&Key::from_passphrase("a"));
        let mut seen = [false; TILE_CHIPS];
        for chip in a.sync.iter().chain(&a.data) {
            assert!(!seen[chip.index], "chip {} used twice", chip.index);
            seen[chip.index] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(a.data.len(), CODED_BITS);
        let b = Layout::new(&Key::from_passphrase("b"));
        let same = a
            .sync
            .iter()
            .zip(&b.sync)
            .filter(|(x, y)| x.index == y.index)
            .count();
        assert!(same < SYNC_CHIPS / 4, "{same} sync chips in the same place");
    }
}

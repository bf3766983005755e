//! The Merkle root of a training set, hashed as in RFC 6962 §2.1 (Certificate
//! Transparency): leaf `SHA-256(0x00 ‖ image hash)`, inner node
//! `SHA-256(0x01 ‖ left ‖ right)`. Levels are built pairwise from the left; an odd last
//! node is promoted to the next level unchanged (which gives the same tree as RFC 6962's
//! split at the largest power of two below the count). The empty set hashes to SHA-256 of
//! the empty string.
//!
//! One 32-byte value then stands for the exact, ordered list of training images: a model
//! file, and every image it makes, can name its training data, and anyone holding the
//! images can check the claim.

use sha2::{Digest, Sha256};

fn leaf(hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(hash);
    h.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle root of the per-image SHA-256 hashes, in dataset (manifest) order.
pub fn merkle_root(hashes: &[[u8; 32]]) -> [u8; 32] {
    if hashes.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level: Vec<[u8; 32]> = hashes.iter().map(leaf).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node(left, right),
                [odd] => *odd,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    level[0]
}

/// Parses a 64-digit hex SHA-256 (either case).
pub fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(text: &str) -> [u8; 32] {
        Sha256::digest(text.as_bytes()).into()
    }

    /// Values computed by hand with Python's hashlib:
    /// `H(b"\x01" + H(b"\x00" + a) + H(b"\x00" + b))` and so on.
    #[test]
    fn matches_hand_computed_roots() {
        let (a, b, c) = (sha("a"), sha("b"), sha("c"));
        let root = |h: &[[u8; 32]]| hex(&merkle_root(h));
        assert_eq!(
            root(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            root(&[a]),
            "a23bd5b06da9048238a65b3f1d9d0b9e15fae3dde262688e6489aa4c763d1820"
        );
        assert_eq!(
            root(&[a, b]),
            "ad5ca6cddc0b27c6a83e332bf28011769236e6c6a1f786ebf7b5267b37a5bd22"
        );
        assert_eq!(
            root(&[a, b, c]),
            "cac3d448d4e20a2ad5eae1f500e63c2a7f9217cd14572ba7fd22e26dc1ec2648"
        );
        assert_ne!(root(&[a, b]), root(&[b, a]), "order matters");
    }

    /// RFC 6962's recursive definition, written independently.
    fn rfc6962(h: &[[u8; 32]]) -> [u8; 32] {
        match h.len() {
            0 => Sha256::digest([]).into(),
            1 => leaf(&h[0]),
            n => {
                // The largest power of two strictly below n.
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                node(&rfc6962(&h[..k]), &rfc6962(&h[k..]))
            }
        }
    }

    #[test]
    fn promotion_equals_the_rfc6962_split() {
        let hashes: Vec<[u8; 32]> = (0..40).map(|i| sha(&i.to_string())).collect();
        for n in 0..=hashes.len() {
            assert_eq!(merkle_root(&hashes[..n]), rfc6962(&hashes[..n]), "n = {n}");
        }
    }

    #[test]
    fn hex_round_trips() {
        let a = sha("x");
        assert_eq!(parse_hash(&hex(&a)), Some(a));
        assert_eq!(parse_hash(&hex(&a).to_uppercase()), Some(a));
        assert_eq!(parse_hash("zz"), None);
        assert_eq!(parse_hash(&"g".repeat(64)), None);
        assert_eq!(parse_hash(&"é".repeat(32)), None);
    }
}

//! Exact-payload rates after the edits the geometry search undoes (resizes kept at the new
//! size, tone curves, small rotations, each alone and followed by a 10% crop and JPEG 75:
//! `tests/common::geometric_attacks`), on faces of the committed UTKFace sample marked with
//! the key and payloads of `tests/watermark_geometry.rs`.
//!
//!     cargo run --release -p fauxto-trust --example geometry_rates -- SIZE N [NAME_PART]
//!
//! SIZE: the side the faces are brought to before marking; N: how many faces (the first N
//! of the sample, at most 128); NAME_PART: only the attacks whose name contains it.

#[path = "../tests/common/mod.rs"]
mod common;

use fauxto_trust::watermark::{detect, embed, Key, Payload, DEFAULT_PSNR};
use image::imageops::{resize, FilterType};

fn payload(i: usize) -> Payload {
    Payload::new((i as u64 + 7).wrapping_mul(0x3C6E_F372_FE94) & 0xFFFF_FFFF_FFFF).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: geometry_rates SIZE N [NAME_PART]";
    let size: u32 = args.first().expect(usage).parse().expect(usage);
    let n: usize = args.get(1).expect(usage).parse().expect(usage);
    let part = args.get(2).cloned().unwrap_or_default();
    let key = Key::from_passphrase("geometry");
    let marked: Vec<_> = common::faces(n, 1, 0)
        .iter()
        .enumerate()
        .map(|(i, face)| {
            let face = resize(face, size, size, FilterType::CatmullRom);
            embed(&face, &key, payload(i), DEFAULT_PSNR)
                .expect("large enough to mark")
                .image
        })
        .collect();
    let (mut read, mut tried) = (0, 0);
    for (name, attack) in common::geometric_attacks()
        .into_iter()
        .filter(|(name, _)| name.contains(part.as_str()))
    {
        let ok = marked
            .iter()
            .enumerate()
            .filter(|(i, m)| detect(&attack(m), &key).payload == Some(payload(*i)))
            .count();
        println!("{size}² {name}: {ok}/{}", marked.len());
        read += ok;
        tried += marked.len();
    }
    println!("{size}² all: {read}/{tried}");
}

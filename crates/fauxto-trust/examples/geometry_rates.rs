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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: geometry_rates SIZE N [NAME_PART]";
    let size: u32 = args.first().expect(usage).parse().expect(usage);
    let n: usize = args.get(1).expect(usage).parse().expect(usage);
    let part = args.get(2).cloned().unwrap_or_default();
    let results = common::geometric_recovered(size, n, 0, |name| name.contains(part.as_str()));
    let read: usize = results.iter().map(|(_, ok)| ok).sum();
    println!("{size}² all: {read}/{}", n * results.len());
}

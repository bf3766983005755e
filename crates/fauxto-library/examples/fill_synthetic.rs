//! Adds synthetic faces to a library — attributes drawn from plausible distributions,
//! random unit descriptors, no images — so that a benchmark (`bench/studio_load.sh`) runs
//! against a catalogue of realistic size.
//!
//!     fill_synthetic --library DIR|postgres://… --faces 99000 [--first-seed 0] [--seed 1]

use anyhow::{Context, Result};
use fauxto_library::synthetic::fill;
use fauxto_library::{Library, Location};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let location: Location = arg("--library")
        .context("--library DIR|postgres://…")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let faces: u32 = arg("--faces").context("--faces N")?.parse()?;
    let first: u32 = arg("--first-seed").map_or(Ok(0), |s| s.parse())?;
    let seed: u64 = arg("--seed").map_or(Ok(1), |s| s.parse())?;
    let library = Library::open(&location).await?;
    fill(&library, first..first + faces, seed).await?;
    library.analyze().await?;
    println!("{faces} synthetic faces added");
    Ok(())
}

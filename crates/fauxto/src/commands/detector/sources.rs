//! The detector's examples: real photographs from folders or zips, generated images from
//! folders, zips or model files, each split the same way every time into training,
//! calibration and test parts, so that `train` and `eval` never share an image.

use std::str::FromStr;

use anyhow::{Context, Result};
use fauxto_app::render::Renderer;
use fauxto_data::source::{is_image_name, Source};
use fauxto_nn::{NoiseMode, Truncation};
use fauxto_trust::detector::Examples;
use image::RgbImage;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::SetArgs;
use crate::backend::Cpu;
use crate::commands::load_model;
use crate::progress;

/// A part of the examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// 80% of the files by name hash; model seeds 0 .. 0.8 n.
    Train,
    /// 10%; seeds 0.8 n .. 0.9 n — the threshold is chosen here.
    Calibration,
    /// 10%; seeds 0.9 n .. n — figures are reported here.
    Test,
    /// Everything (for images that no detector trained on).
    All,
}

impl FromStr for Part {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "train" => Ok(Part::Train),
            "calibration" => Ok(Part::Calibration),
            "test" => Ok(Part::Test),
            "all" => Ok(Part::All),
            _ => Err(format!(
                "unknown part {s:?} (train, calibration, test, all)"
            )),
        }
    }
}

impl Part {
    /// The part a file named `name` belongs to (SHA-256 of the name, in tenths).
    fn of_name(name: &str) -> Part {
        Part::of_tenth(Sha256::digest(name.as_bytes())[0] as usize % 10)
    }

    /// The part of the `i`-th of `n` generated images.
    fn of_index(i: usize, n: usize) -> Part {
        Part::of_tenth(i * 10 / n.max(1))
    }

    fn of_tenth(t: usize) -> Part {
        match t {
            0..=7 => Part::Train,
            8 => Part::Calibration,
            _ => Part::Test,
        }
    }

    fn holds(self, other: Part) -> bool {
        self == Part::All || self == other
    }
}

/// The `part` of the examples `args` names. Model files are generated from: image `i` has
/// seed `i`, truncation ψ cycling through 1, 0.85, 0.7, 0.5 and noise alternating between
/// random and the model's constant noise, so the detector sees the outputs a user makes.
pub fn load_set(args: &SetArgs, part: Part, quiet: bool) -> Result<Examples> {
    let mut set = Examples::default();
    for path in &args.real {
        set.real
            .extend(load_source(path, part, args.max_real, quiet)?);
    }
    for path in &args.fake {
        let is_model = path.extension().is_some_and(|e| e == "safetensors");
        let images = if is_model {
            generate(path, args.per_model as usize, part, quiet)?
        } else {
            load_source(path, part, None, quiet)?
        };
        set.generated.extend(images);
    }
    if set.real.is_empty() || set.generated.is_empty() {
        anyhow::bail!(
            "the {part:?} part holds {} real and {} generated images; both are needed",
            set.real.len(),
            set.generated.len()
        );
    }
    Ok(set)
}

/// The images of one folder or zip that fall in `part` (at most `max`, evenly by name).
fn load_source(
    path: &std::path::Path,
    part: Part,
    max: Option<usize>,
    quiet: bool,
) -> Result<Vec<RgbImage>> {
    let source = Source::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (mut entries, _) = source.entries()?;
    entries.retain(|e| is_image_name(&e.name));
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(max) = max.filter(|&m| m < entries.len()) {
        let stride = entries.len() as f64 / max as f64;
        entries = (0..max)
            .map(|i| entries[(i as f64 * stride) as usize].clone())
            .collect();
    }
    entries.retain(|e| part.holds(Part::of_name(&e.name)));
    let bar = progress::bar(entries.len() as u64, "reading", quiet);
    let mut bytes = Vec::with_capacity(entries.len());
    let mut reader = source.reader()?;
    for e in &entries {
        bytes.push((e.name.clone(), reader.read(e).map_err(anyhow::Error::msg)?));
        bar.inc(1);
    }
    bar.finish_and_clear();
    bytes
        .into_par_iter()
        .map(|(name, b)| {
            let img = fauxto_app::images::decode_image(&b)
                .with_context(|| format!("{}: {name}", path.display()))?;
            Ok(img.to_rgb8())
        })
        .collect()
}

/// The `part` of `n` images generated from the model at `path`.
fn generate(path: &std::path::Path, n: usize, part: Part, quiet: bool) -> Result<Vec<RgbImage>> {
    const PSI: [f64; 4] = [1.0, 0.85, 0.7, 0.5];
    const NOISE: [NoiseMode; 2] = [NoiseMode::Random, NoiseMode::Const];
    const BATCH: usize = 32;
    let model = load_model(path)?;
    let renderer = Renderer::<Cpu>::new(&model, &Default::default())?;
    let class = (renderer.config.c_dim > 0).then_some(0);
    let seeds: Vec<u32> = (0..n)
        .filter(|&i| part.holds(Part::of_index(i, n)))
        .map(|i| i as u32)
        .collect();
    let bar = progress::bar(seeds.len() as u64, "generating", quiet);
    let mut out = Vec::with_capacity(seeds.len());
    // One forward pass per (ψ, noise) setting and batch of seeds.
    for (k, (psi, noise)) in PSI
        .iter()
        .flat_map(|&p| NOISE.iter().map(move |&m| (p, m)))
        .enumerate()
    {
        let mine: Vec<u32> = seeds
            .iter()
            .copied()
            .filter(|&s| s as usize % (PSI.len() * NOISE.len()) == k)
            .collect();
        for chunk in mine.chunks(BATCH) {
            let truncation = Truncation { psi, cutoff: None };
            // Random noise from a generator seeded by the batch's first seed, so that the
            // same command trains on the same images.
            let images = match noise {
                NoiseMode::Random => {
                    renderer.render_seeded_noise(chunk, truncation, class, chunk[0])?
                }
                _ => renderer.render(chunk, truncation, noise, class)?,
            };
            for img in images {
                out.push(img.to_rgb8());
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_and_clear();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_names_and_seeds_apart() {
        let names: Vec<String> = (0..5000).map(|i| format!("face{i}.jpg")).collect();
        let count = |p: Part| names.iter().filter(|n| Part::of_name(n) == p).count();
        let (train, cal, test) = (
            count(Part::Train),
            count(Part::Calibration),
            count(Part::Test),
        );
        assert_eq!(train + cal + test, 5000);
        assert!(
            (3800..4200).contains(&train) && (400..600).contains(&test),
            "{train} {test}"
        );
        let seeds = |p: Part| (0..100).filter(|&i| Part::of_index(i, 100) == p).count();
        assert_eq!(
            (
                seeds(Part::Train),
                seeds(Part::Calibration),
                seeds(Part::Test)
            ),
            (80, 10, 10)
        );
        assert!(Part::All.holds(Part::Test) && !Part::Train.holds(Part::Test));
    }

    /// Fakes with random noise come out the same on every run: the same command trains on
    /// the same images.
    #[test]
    fn generated_examples_are_the_same_on_every_run() {
        let model = std::path::Path::new(crate::commands::DEMO_MODEL);
        let first = generate(model, 16, Part::All, true).unwrap();
        let second = generate(model, 16, Part::All, true).unwrap();
        assert_eq!(first.len(), 16);
        assert!(first == second, "two runs generated different images");
    }
}

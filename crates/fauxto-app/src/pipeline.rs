//! The generation pipeline every front end shares: seeds → images ([`Renderer`]) →
//! memorisation guard ([`Guard`]: an output that shows a training identity is not written)
//! → labels ([`Labeller`]: Content Credential + watermark) → file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::{NoiseMode, Truncation};
use image::DynamicImage;

use crate::guard::{Guard, GuardOptions};
use crate::labels::{Depiction, LabelOptions, Labelled, Labeller};
use crate::render::Renderer;
use fauxto_face::GuardCheck;

/// How images are generated, checked and labelled.
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    pub truncation: Truncation,
    pub noise: NoiseMode,
    /// Class of a conditional model.
    pub class: Option<usize>,
    pub labels: LabelOptions,
    pub guard: GuardOptions,
}

/// What became of one seed.
#[derive(Debug)]
pub enum Output {
    /// Written to `path` with `labels`; the guard's check, when it ran.
    Written {
        seed: u32,
        path: PathBuf,
        image: DynamicImage,
        guard: Option<GuardCheck>,
        labels: Labelled,
    },
    /// Not written: it shows a training identity.
    Rejected { seed: u32, guard: GuardCheck },
}

/// A model's pipeline, loaded once for many batches.
pub struct Pipeline<B: Backend> {
    pub renderer: Renderer<B>,
    pub guard: Option<Guard<B>>,
    pub labeller: Labeller,
    options: PipelineOptions,
}

impl<B: Backend> Pipeline<B> {
    /// Loads `model`'s generator, the guard its options ask for (failing closed), and a
    /// labeller for its images.
    pub fn new(device: &B::Device, model: &ModelFile, options: PipelineOptions) -> Result<Self> {
        let cfg = &model.info.generator;
        check_class(options.class, cfg.c_dim)?;
        if let Some(cut) = options.truncation.cutoff {
            if cut > cfg.num_ws() {
                bail!(
                    "--trunc-cutoff {cut} exceeds the model's {} w layers",
                    cfg.num_ws()
                );
            }
        }
        let noise = format!("{:?}", options.noise).to_lowercase();
        Ok(Pipeline {
            renderer: Renderer::new(model, device)?,
            guard: Guard::resolve(device, &options.guard, model)?,
            labeller: Labeller::new(model, &options.labels, options.truncation.psi, &noise)?,
            options,
        })
    }

    /// Generates `seeds` (one forward pass), checks them, and writes each one the guard
    /// passes to `path_of(seed)`, labelled.
    pub fn run(&self, seeds: &[u32], path_of: &dyn Fn(u32) -> PathBuf) -> Result<Vec<Output>> {
        let o = &self.options;
        let images = self
            .renderer
            .render(seeds, o.truncation, o.noise, o.class)?;
        let checks = self.guard.as_ref().map(|g| g.check(&images));
        let mut out = Vec::with_capacity(seeds.len());
        for (i, (&seed, image)) in seeds.iter().zip(images).enumerate() {
            let guard = checks.as_ref().map(|c| c[i]);
            if let Some(check) = guard.filter(|c| c.reproduces_training_face) {
                out.push(Output::Rejected { seed, guard: check });
                continue;
            }
            let path = path_of(seed);
            let labels = self.write(&image, seed, &path)?;
            out.push(Output::Written {
                seed,
                path,
                image,
                guard,
                labels,
            });
        }
        Ok(out)
    }

    fn write(&self, image: &DynamicImage, seed: u32, path: &Path) -> Result<Labelled> {
        let depiction = Depiction::Seed {
            seed,
            class: self.options.class,
        };
        self.labeller.write(image, &depiction, path)
    }
}

/// Checks the class label against the model, as the official tool does.
pub fn check_class(class: Option<usize>, c_dim: usize) -> Result<()> {
    match (class, c_dim) {
        (Some(_), 0) => bail!("--class given, but the model is unconditional"),
        (None, c) if c > 0 => {
            bail!(
                "the model is conditional: choose a class with --class 0..{}",
                c - 1
            )
        }
        (Some(k), c) if k >= c => {
            bail!(
                "--class {k} is out of range: the model has classes 0..{}",
                c - 1
            )
        }
        _ => Ok(()),
    }
}

//! Generation on demand: one worker thread per model owns its generator, memorisation guard
//! and labellers, and renders the requests that arrive together as one batch — a forward
//! pass over 16 images costs far less than 16 passes over one — so that concurrent callers
//! share the network instead of queueing for it. Every image passes the guard (failing
//! closed as `generate` does) and leaves labelled: Content Credential and watermark.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;
use fauxto_app::guard::{Guard, GuardOptions};
use fauxto_app::labels::{Depiction, LabelOptions, Labeller};
use fauxto_app::render::Renderer;
use fauxto_library::ModelRecord;
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::{NoiseMode, Truncation};
use rayon::prelude::*;
use tokio::sync::oneshot;

/// The most images one forward pass renders.
pub const MAX_BATCH: usize = 16;

/// How long a batch waits, after its first request, for others to join it. Callers that
/// were answered together ask again within about a millisecond of each other; without the
/// wait the first of them would start a batch of one and the rest queue behind it.
pub const BATCH_WINDOW: Duration = Duration::from_millis(4);

/// One labelled image made on demand.
#[derive(Clone, Debug)]
pub struct Generated {
    pub seed: u32,
    pub truncation: f64,
    /// The labelled PNG.
    pub png: Vec<u8>,
    /// The watermark payload it carries (12 hex digits).
    pub watermark: Option<String>,
}

/// What became of one request.
#[derive(Debug)]
pub enum Outcome {
    Made(Generated),
    /// The memorisation guard found a training identity in it (descriptor distance).
    Refused {
        distance: f32,
    },
}

struct Request {
    seed: u32,
    truncation: f64,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// A model the studio generates from.
pub struct ModelWorker {
    pub sha256: String,
    pub name: String,
    pub resolution: u32,
    /// The model file.
    pub path: PathBuf,
    /// Its name, licence, training data and card.
    pub record: ModelRecord,
    sender: mpsc::Sender<Request>,
}

impl ModelWorker {
    /// Loads `path` onto `device` with its guard and starts its worker thread.
    pub fn start<B: Backend>(
        device: &B::Device,
        path: &Path,
        labels: LabelOptions,
        guard: GuardOptions,
    ) -> Result<Self>
    where
        B::Device: Send + Sync,
    {
        let model = ModelFile::load(path)
            .with_context(|| format!("cannot load model {}", path.display()))?;
        if model.info.generator.c_dim > 0 {
            anyhow::bail!(
                "{}: the studio generates from unconditional models",
                path.display()
            );
        }
        let renderer = Renderer::<B>::new(&model, device)?;
        let guard = Guard::<B>::resolve(device, &guard, &model)?;
        let (sender, receiver) = mpsc::channel::<Request>();
        let worker = ModelWorker {
            sha256: model.sha256.clone(),
            name: model.info.name.clone(),
            resolution: model.info.generator.img_resolution as u32,
            path: path.to_path_buf(),
            record: ModelRecord::of(&model),
            sender,
        };
        std::thread::Builder::new()
            .name(format!("generate-{}", &worker.sha256[..12]))
            .spawn(move || {
                let mut state = WorkerState {
                    model,
                    renderer,
                    guard,
                    labels,
                    labellers: HashMap::new(),
                };
                while let Ok(first) = receiver.recv() {
                    let mut batch = vec![first];
                    let deadline = Instant::now() + BATCH_WINDOW;
                    while batch.len() < MAX_BATCH {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match receiver.recv_timeout(left) {
                            Ok(r) => batch.push(r),
                            Err(_) => break,
                        }
                    }
                    state.serve(batch);
                }
            })
            .context("cannot start a generation thread")?;
        Ok(worker)
    }

    /// The labelled image of `seed` at `truncation`.
    pub async fn generate(&self, seed: u32, truncation: f64) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request {
                seed,
                truncation,
                reply,
            })
            .map_err(|_| anyhow::anyhow!("the generation thread has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the generation thread failed"))?
    }
}

struct WorkerState<B: Backend> {
    model: ModelFile,
    renderer: Renderer<B>,
    guard: Option<Guard<B>>,
    labels: LabelOptions,
    /// One labeller per truncation (the truncation is part of what a credential states).
    labellers: HashMap<u64, Labeller>,
}

impl<B: Backend> WorkerState<B> {
    /// Renders a batch, one forward pass per truncation in it, and answers each request.
    fn serve(&mut self, batch: Vec<Request>) {
        let mut by_truncation: HashMap<u64, Vec<Request>> = HashMap::new();
        for r in batch {
            by_truncation
                .entry(r.truncation.to_bits())
                .or_default()
                .push(r);
        }
        for (bits, group) in by_truncation {
            let seeds: Vec<u32> = group.iter().map(|r| r.seed).collect();
            match self.render(f64::from_bits(bits), &seeds) {
                Ok(outcomes) => {
                    for (r, outcome) in group.into_iter().zip(outcomes) {
                        let _ = r.reply.send(outcome);
                    }
                }
                Err(e) => {
                    for r in group {
                        let _ = r.reply.send(Err(anyhow::anyhow!("{e:#}")));
                    }
                }
            }
        }
    }

    fn render(&mut self, psi: f64, seeds: &[u32]) -> Result<Vec<Result<Outcome>>> {
        let truncation = Truncation { psi, cutoff: None };
        let images = self
            .renderer
            .render(seeds, truncation, NoiseMode::Const, None)?;
        let checks = self.guard.as_ref().map(|g| g.check(&images));
        let labeller = match self.labellers.entry(psi.to_bits()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Labeller::new(&self.model, &self.labels, psi, "const")?)
            }
        };
        let name = Path::new("generated.png");
        // Labelling (watermark read back, credential, PNG) runs between forward passes, when
        // the cores are otherwise idle: spread it over all of them.
        let labeller = &*labeller;
        Ok(seeds
            .par_iter()
            .zip(&images)
            .enumerate()
            .map(|(i, (&seed, image))| {
                if let Some(check) = checks.as_ref().map(|c| c[i]) {
                    if check.reproduces_training_face {
                        return Ok(Outcome::Refused {
                            distance: check.nearest.map_or(0.0, |n| n.distance),
                        });
                    }
                }
                let depiction = Depiction::Seed { seed, class: None };
                let (png, labelled) = labeller.encode(image, &depiction, name)?;
                Ok(Outcome::Made(Generated {
                    seed,
                    truncation: psi,
                    png,
                    watermark: labelled.watermark.map(|p| p.bits().to_hex()),
                }))
            })
            .collect())
    }
}

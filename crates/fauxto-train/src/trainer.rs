//! The training loop of StyleGAN2-ADA (official `training_loop.py`), one step at a time:
//! per step a real batch, then the phases Gmain, Greg (every `g_reg_interval` steps),
//! Dmain, Dreg (every `d_reg_interval` steps), then the G EMA update.

use std::sync::Arc;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use fauxto_data::PackedDataset;
use fauxto_nn::config::override_widths;
use fauxto_nn::model_file::{now_rfc3339, ModelFile, ModelInfo, Provenance, TrainingData};
use fauxto_nn::sample::{latents, select_rows, to_pixels, PixelBatch};
use fauxto_nn::seed::NumpyRandomState;
use fauxto_nn::{
    ActivationTape, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NoiseMode,
    Preset, RandomInit, StateDict, Truncation,
};
use serde::{Deserialize, Serialize};

use crate::adam::{Adam, AdamConfig};
use crate::augment::{adjust_p, draw_params, AugmentMode, ADA_INTERVAL};
use crate::data::{HostBatch, RealImages};
use crate::ema::{ema_beta, update_ema};
use crate::error::TrainError;
use crate::grads::NamedGrads;
use crate::options::TrainOptions;
use crate::parallel::{shard_rows, Peer};
use crate::params::{build_named, ParamNames};
use crate::phases::{
    augmented, d_main, d_r1, g_main, g_path_length, mapping_with_mixing, track_w_avg, BatchPart,
    GenInput, PathLengthWeights,
};
use crate::rng::{derive_seed, stream_rng, Stream};

/// The counters and running values that, with the networks and optimiser moments, make
/// up the whole state of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Steps taken.
    pub step: u64,
    /// Real images shown to D so far.
    pub cur_nimg: u64,
    /// Running mean of the path lengths.
    pub pl_mean: f64,
    /// Augmentation probability.
    pub ada_p: f64,
    /// Sum of the mean signs of D(real) since the last ADA adjustment.
    #[serde(default)]
    pub ada_sign_sum: f64,
    pub g_opt_steps: u64,
    pub d_opt_steps: u64,
}

/// What one step measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepStats {
    pub loss_g: f64,
    pub loss_d: f64,
    /// Mean ‖∇x D‖² when R1 ran this step.
    pub r1_penalty: Option<f64>,
    /// Mean path-length penalty when it ran this step.
    pub pl_penalty: Option<f64>,
    /// Mean sign of D on reals.
    pub real_sign: f64,
}

/// The networks and optimisers of a run.
pub struct Trainer<AB: AutodiffBackend> {
    pub opts: TrainOptions,
    pub g_cfg: GeneratorConfig,
    pub d_cfg: DiscriminatorConfig,
    pub state: TrainState,
    pub(crate) g: Generator<AB>,
    pub(crate) d: Discriminator<AB>,
    pub(crate) g_ema: Generator<AB::InnerBackend>,
    g_names: ParamNames,
    d_names: ParamNames,
    pub(crate) g_opt: Adam<AB::InnerBackend>,
    pub(crate) d_opt: Adam<AB::InnerBackend>,
    real: RealImages,
    pub(crate) training_data: TrainingData,
    pub(crate) manifest_digest: String,
    device: AB::Device,
    /// This copy's place among the data-parallel peers (alone by default).
    peer: Peer,
}

/// Network configs of a run: the preset at the dataset's resolution, with overrides.
pub fn network_configs(
    opts: &TrainOptions,
    resolution: usize,
    channels: usize,
    c_dim: usize,
) -> Result<(GeneratorConfig, DiscriminatorConfig), TrainError> {
    let preset = Preset::from_name(&opts.preset)?;
    let (mut g, mut d) = preset.configs(resolution, channels, c_dim)?;
    override_widths(&mut g, &mut d, opts.channel_base, opts.channel_max);
    d.mbstd_group_size = Some(opts.mbstd_group());
    g.validate()?;
    d.validate()?;
    Ok((g, d))
}

pub(crate) fn optimisers(opts: &TrainOptions) -> (AdamConfig, AdamConfig) {
    let g_interval = (opts.pl_weight > 0.0).then_some(opts.g_reg_interval);
    let d_interval = (opts.gamma > 0.0).then_some(opts.d_reg_interval);
    (
        AdamConfig::stylegan2(opts.g_lr, g_interval),
        AdamConfig::stylegan2(opts.d_lr, d_interval),
    )
}

impl<AB: AutodiffBackend> Trainer<AB> {
    /// A fresh run: networks initialised from `opts.seed` as the official code does.
    pub fn new(
        opts: TrainOptions,
        dataset: Arc<PackedDataset>,
        device: &AB::Device,
    ) -> Result<Self, TrainError> {
        opts.validate().map_err(TrainError::Options)?;
        opts.augment.supported().map_err(TrainError::Options)?;
        let real = RealImages::new(dataset.clone(), opts.mirror, opts.seed, &opts.cond)?;
        let (g_cfg, d_cfg) =
            network_configs(&opts, real.resolution(), real.channels(), real.c_dim())?;
        let mut init = RandomInit::<AB>::new(opts.seed as u32, device);
        let (g, g_names) = build_named(&mut init, |src| Generator::new(src, "", &g_cfg))?;
        let (d, d_names) = build_named(&mut init, |src| Discriminator::new(src, "", &d_cfg))?;
        let g_ema = g.valid();
        let (g_adam, d_adam) = optimisers(&opts);
        let state = TrainState {
            step: 0,
            cur_nimg: 0,
            pl_mean: 0.0,
            ada_p: opts.augment.initial_p(),
            ada_sign_sum: 0.0,
            g_opt_steps: 0,
            d_opt_steps: 0,
        };
        Ok(Self::from_parts(
            opts,
            state,
            real,
            (g, g_names, d, d_names),
            g_ema,
            (Adam::new(g_adam), Adam::new(d_adam)),
            device,
        ))
    }

    /// Assembles a run from its parts (a fresh run, or one loaded from a checkpoint).
    pub(crate) fn from_parts(
        opts: TrainOptions,
        state: TrainState,
        real: RealImages,
        nets: (Generator<AB>, ParamNames, Discriminator<AB>, ParamNames),
        g_ema: Generator<AB::InnerBackend>,
        (g_opt, d_opt): (Adam<AB::InnerBackend>, Adam<AB::InnerBackend>),
        device: &AB::Device,
    ) -> Self {
        let (g, g_names, d, d_names) = nets;
        Self {
            g_cfg: g.config.clone(),
            d_cfg: d.config.clone(),
            training_data: training_data(real.dataset()),
            manifest_digest: real.dataset().manifest_digest().to_string(),
            state,
            g,
            g_names,
            d,
            d_names,
            g_ema,
            g_opt,
            d_opt,
            real,
            opts,
            device: device.clone(),
            peer: Peer::SINGLE,
        }
    }

    /// Makes this copy one of several data-parallel peers: from now on it computes its
    /// share of every batch and sums the gradients with the others.
    pub fn set_peer(&mut self, peer: Peer) -> Result<(), TrainError> {
        self.check_split(peer.world())?;
        self.peer = peer;
        Ok(())
    }

    /// Whether every batch of this run splits over `world` peers
    /// ([`TrainOptions::check_split`]).
    pub fn check_split(&self, world: usize) -> Result<(), TrainError> {
        self.opts.check_split(world)
    }

    /// A sum over every parameter of G and D: equal on peers that hold the same networks.
    pub fn parameter_checksum(&self) -> f64 {
        let sum = |sd: StateDict| -> f64 {
            sd.tensors
                .values()
                .flat_map(|t| t.data.iter())
                .map(|&v| v as f64)
                .sum()
        };
        sum(self.g.state_dict()) + sum(self.d.state_dict())
    }

    pub fn device(&self) -> &AB::Device {
        &self.device
    }

    pub fn kimg(&self) -> f64 {
        self.state.cur_nimg as f64 / 1000.0
    }

    pub fn done(&self) -> bool {
        self.kimg() >= self.opts.kimg
    }

    fn host_to_device<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<AB, D> {
        Tensor::from_data(TensorData::new(data, shape), &self.device)
    }

    fn real_batch(&self, batch: HostBatch) -> (Tensor<AB, 4>, Option<Tensor<AB, 2>>) {
        let (res, ch) = (self.real.resolution(), self.real.channels());
        let c_dim = self.real.c_dim();
        let n = batch.len;
        let img = self.host_to_device(batch.images, [n, ch, res, res]);
        let c = batch.labels.map(|l| self.host_to_device(l, [n, c_dim]));
        (img, c)
    }

    /// Latents, style-mixing draw and labels for `n` generated images, of which this
    /// peer keeps `rows` (all are drawn, so that a sample's draw depends on its index in
    /// the batch, not on the peer).
    fn gen_input(&self, rng: &mut NumpyRandomState, n: usize, rows: &[usize]) -> GenInput<AB> {
        let z_dim = self.g_cfg.z_dim;
        let mut randn = |count: usize| -> Vec<f32> {
            (0..count)
                .map(|_| rng.next_gauss() as f32)
                .collect::<Vec<_>>()
        };
        let z = randn(n * z_dim);
        let num_ws = self.g_cfg.num_ws();
        let mix = if self.opts.style_mixing_prob > 0.0 && num_ws > 1 {
            let cutoff = 1 + (rng.next_f64() * (num_ws - 1) as f64) as usize;
            let mixes = rng.next_f64() < self.opts.style_mixing_prob;
            mixes.then(|| {
                let z2: Vec<f32> = (0..n * z_dim).map(|_| rng.next_gauss() as f32).collect();
                (cutoff.min(num_ws - 1), z2)
            })
        } else {
            None
        };
        let c_dim = self.real.c_dim();
        let c = self
            .real
            .random_labels(n, || rng.next_f64())
            .map(|l| self.host_to_device(select_rows(&l, c_dim, rows), [rows.len(), c_dim]));
        let local =
            |z: Vec<f32>| self.host_to_device(select_rows(&z, z_dim, rows), [rows.len(), z_dim]);
        GenInput {
            z: local(z),
            mix: mix.map(|(k, z2)| (k, local(z2))),
            c,
        }
    }

    /// This peer's samples of a `n`-sample batch whose D groups have `group` members.
    fn rows(&self, n: usize, group: usize) -> Result<Vec<usize>, TrainError> {
        shard_rows(n, group, self.peer.rank(), self.peer.world())
    }

    /// A free tape drawing the noise of seed `seed` for this peer's `rows` of `n`.
    fn noise_tape<B: Backend>(&self, seed: u32, n: usize, rows: &[usize]) -> ActivationTape<B> {
        let tape = ActivationTape::free().with_noise_seed(seed);
        match self.peer.world() {
            1 => tape,
            _ => tape.with_noise_rows(n, rows.to_vec()),
        }
    }

    /// A phase's gradients and batch values reduced over the peers: `grads_are_means`
    /// when each peer's gradient is a mean over its own share (then the peers' are
    /// averaged; otherwise summed); `values` and `w_mean` are means and averaged.
    #[allow(clippy::type_complexity)]
    fn reduced(
        &self,
        grads: NamedGrads<AB::InnerBackend>,
        grads_are_means: bool,
        values: &[f64],
        w_mean: Option<Tensor<AB::InnerBackend, 1>>,
    ) -> Result<
        (
            NamedGrads<AB::InnerBackend>,
            Vec<f64>,
            Option<Tensor<AB::InnerBackend, 1>>,
        ),
        TrainError,
    > {
        let world = self.peer.world();
        if world == 1 {
            return Ok((grads, values.to_vec(), w_mean));
        }
        let inv = 1.0 / world as f64;
        let inner = self.device.clone();
        let local: Vec<f32> = values.iter().map(|v| (v * inv) as f32).collect();
        let mut extras = Vec::new();
        if !local.is_empty() {
            extras.push(Tensor::<AB::InnerBackend, 1>::from_floats(
                local.as_slice(),
                &inner,
            ));
        }
        let has_w = w_mean.is_some();
        extras.extend(w_mean.map(|w| w.mul_scalar(inv)));
        let scale = if grads_are_means { inv } else { 1.0 };
        let (grads, mut extras) = grads.summed(&self.peer, scale, extras)?;
        let w_mean = has_w.then(|| extras.pop().expect("w mean"));
        let values = match extras.pop() {
            Some(v) => v.into_data().convert::<f64>().to_vec().expect("float data"),
            None => Vec::new(),
        };
        Ok((grads, values, w_mean))
    }

    /// One training step over `batch` real images.
    pub fn step(&mut self) -> Result<StepStats, TrainError> {
        let step = self.state.step;
        let seed = self.opts.seed;
        let batch = self.opts.batch;
        let group = self.d_cfg.mbstd_group_size.unwrap_or(batch);
        let rows = self.rows(batch, group)?;
        // Noise seeds of the three phases that run G with random noise.
        let noise_seed = |phase: u64| derive_seed(seed, step * 4 + phase, Stream::Noise) as u32;
        let mut rng = stream_rng(seed, step, Stream::Latents);
        let host = self.real.batch_rows(self.state.cur_nimg, &rows)?;
        let (real, real_c) = self.real_batch(host);
        let mut stats = StepStats::default();

        // Augmentation draws of the three D passes that see augmented images.
        let mut aug_rng = stream_rng(seed, step, Stream::Augment);
        let res = self.g_cfg.img_resolution;
        let mut draw = |n: usize| {
            (self.opts.augment != AugmentMode::Noaug).then(|| {
                let all = draw_params(&mut aug_rng, n, res, self.state.ada_p);
                rows.iter().map(|&r| all[r]).collect::<Vec<_>>()
            })
        };
        let (aug_gmain, aug_fake, aug_real, aug_r1) =
            (draw(batch), draw(batch), draw(batch), draw(batch));

        // Gmain.
        let input = self.gen_input(&mut rng, batch, &rows);
        let (loss_g, grads, w_mean) = g_main(
            &self.g,
            &self.d,
            &input,
            self.noise_tape(noise_seed(0), batch, &rows),
            aug_gmain.as_deref(),
        );
        let grads = NamedGrads::of(&self.g, &self.g_names, &grads);
        let (grads, values, w_mean) = self.reduced(grads, true, &[loss_g], Some(w_mean))?;
        self.g = self.g_opt.step(self.g.clone(), &self.g_names, &grads);
        track_w_avg(&mut self.g, w_mean.expect("w mean"));
        stats.loss_g = values[0];

        // Greg.
        if self.opts.pl_weight > 0.0 && step.is_multiple_of(self.opts.g_reg_interval as u64) {
            let n = (batch / self.opts.pl_batch_shrink.max(1)).max(1);
            let pl_rows = self.rows(n, 1)?;
            let input = self.gen_input(&mut rng, n, &pl_rows);
            let res = self.g_cfg.img_resolution;
            let mut pl_rng = stream_rng(seed, step, Stream::PathLength);
            let per_sample = self.g_cfg.img_channels * res * res;
            let y: Vec<f32> = (0..n * per_sample)
                .map(|_| (pl_rng.next_gauss() / res as f64) as f32)
                .collect();
            let y = self.host_to_device(
                select_rows(&y, per_sample, &pl_rows),
                [pl_rows.len(), self.g_cfg.img_channels, res, res],
            );
            let part = BatchPart {
                peer: &self.peer,
                rows: pl_rows,
                global_n: n,
            };
            let pl = g_path_length(
                &self.g,
                &input,
                y,
                self.state.pl_mean,
                PathLengthWeights {
                    weight: self.opts.pl_weight,
                    decay: self.opts.pl_decay,
                    gain: self.opts.g_reg_interval as f64,
                },
                noise_seed(1),
                &part,
            )?;
            let grads = NamedGrads::of(&self.g, &self.g_names, &pl.grads);
            let (grads, _, w_mean) = self.reduced(grads, false, &[], Some(pl.w_mean))?;
            self.g = self.g_opt.step(self.g.clone(), &self.g_names, &grads);
            track_w_avg(&mut self.g, w_mean.expect("w mean"));
            self.state.pl_mean = pl.pl_mean;
            stats.pl_penalty = Some(pl.penalty);
        }

        // Dmain.
        let input = self.gen_input(&mut rng, batch, &rows);
        let g_inner = self.g.valid();
        let (ws, w_mean) = mapping_with_mixing(&g_inner, &GenInput::to_inner(&input));
        let mut tape = self.noise_tape(noise_seed(2), batch, &rows);
        let fake = g_inner
            .synthesis
            .forward_taped(ws, NoiseMode::Random, &mut tape);
        let dm = d_main(
            &self.d,
            augmented(Tensor::from_inner(fake), aug_fake.as_deref()),
            input.c.clone(),
            augmented(real.clone(), aug_real.as_deref()),
            real_c.clone(),
        );
        let grads = NamedGrads::of(&self.d, &self.d_names, &dm.grads);
        let (grads, values, w_mean) =
            self.reduced(grads, true, &[dm.loss, dm.real_sign], Some(w_mean))?;
        track_w_avg(&mut self.g, w_mean.expect("w mean"));
        self.d = self.d_opt.step(self.d.clone(), &self.d_names, &grads);
        stats.loss_d = values[0];
        stats.real_sign = values[1];

        // Dreg.
        if self.opts.gamma > 0.0 && step.is_multiple_of(self.opts.d_reg_interval as u64) {
            let part = BatchPart {
                peer: &self.peer,
                rows: rows.clone(),
                global_n: batch,
            };
            let r1 = d_r1(
                &self.d,
                real,
                real_c,
                self.opts.gamma,
                self.opts.d_reg_interval as f64,
                aug_r1.as_deref(),
                &part,
            )?;
            let grads = NamedGrads::of(&self.d, &self.d_names, &r1.grads);
            let (grads, _, _) = self.reduced(grads, false, &[], None)?;
            self.d = self.d_opt.step(self.d.clone(), &self.d_names, &grads);
            stats.r1_penalty = Some(r1.penalty);
        }

        // G EMA.
        let beta = ema_beta(
            batch,
            self.opts.ema_kimg,
            self.opts.ema_rampup,
            self.state.cur_nimg,
        );
        self.g_ema = update_ema(&self.g, self.g_ema.clone(), beta);

        // ADA: move p toward the target every few steps.
        if let AugmentMode::Ada { target } = self.opts.augment {
            self.state.ada_sign_sum += stats.real_sign;
            if (step + 1).is_multiple_of(ADA_INTERVAL) {
                let mean = self.state.ada_sign_sum / ADA_INTERVAL as f64;
                self.state.ada_p = adjust_p(self.state.ada_p, mean, target, batch);
                self.state.ada_sign_sum = 0.0;
            }
        }

        self.state.step += 1;
        self.state.cur_nimg += batch as u64;
        self.state.g_opt_steps = self.g_opt.steps;
        self.state.d_opt_steps = self.d_opt.steps;
        for (what, v) in [("G loss", stats.loss_g), ("D loss", stats.loss_d)] {
            if !v.is_finite() {
                return Err(TrainError::Diverged {
                    step,
                    what: what.into(),
                });
            }
        }
        Ok(stats)
    }

    /// Images of G_ema for `seeds` (const noise, no truncation): the progress grid.
    pub fn samples(&self, seeds: &[u32]) -> PixelBatch {
        let device = &self.device;
        let z = latents::<AB::InnerBackend>(seeds, self.g_cfg.z_dim, device);
        let mut rng = NumpyRandomState::new(0);
        let c = self
            .real
            .random_labels(seeds.len(), || rng.next_f64())
            .map(|l| {
                Tensor::from_data(TensorData::new(l, [seeds.len(), self.real.c_dim()]), device)
            });
        let img = self
            .g_ema
            .forward(z, c, Truncation::default(), NoiseMode::Const);
        to_pixels(img)
    }

    /// The trained model: G_ema with the training data and provenance (D stays in the
    /// checkpoint, which is what continues training).
    pub fn export(&self, name: &str, license: &str) -> ModelFile {
        let info = ModelInfo {
            name: name.to_string(),
            preset: Some(self.opts.preset.clone()),
            license: license.to_string(),
            generator: self.g_cfg.clone(),
            discriminator: None,
            training_data: Some(self.training_data.clone()),
            provenance: Provenance {
                software: format!("fauxto {}", env!("CARGO_PKG_VERSION")),
                created: now_rfc3339(),
                origin: "trained".into(),
                init_seed: Some(self.opts.seed as u32),
                kimg: Some(self.kimg()),
                source: None,
            },
        };
        ModelFile::from_networks::<AB::InnerBackend>(info, &self.g_ema, None)
    }
}

fn training_data(dataset: &PackedDataset) -> TrainingData {
    let m = dataset.manifest();
    TrainingData {
        manifest_root: m.merkle_root.clone(),
        images: dataset.len() as u64,
        license: m.license.clone(),
        source: m.source.clone(),
    }
}

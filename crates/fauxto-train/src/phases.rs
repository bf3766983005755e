//! The four phases of a StyleGAN2-ADA training step (official `StyleGAN2Loss`):
//!
//! - **Gmain**: the non-saturating logistic loss `softplus(−D(G(z)))` (Goodfellow et al.
//!   2014), with style mixing (StyleGAN §3.1);
//! - **Greg**: path-length regularisation (StyleGAN2 §3.2) every `g_reg_interval` steps;
//! - **Dmain**: `softplus(D(G(z))) + softplus(−D(x))`;
//! - **Dreg**: the R1 penalty `γ/2 · ‖∇x D(x)‖²` (Mescheder et al. 2018) every
//!   `d_reg_interval` steps.
//!
//! The regularisers need the gradient of a gradient. Both are computed as a
//! finite-difference Hessian-vector product with the activation pattern frozen (see
//! `fauxto_nn::tape`): R1 with a step of rms 0.003 per pixel, path length with a step of
//! rms 0.001 per w component. Against PyTorch's float64 double backward
//! (`tests/regularizers.rs`) the parameter gradients are within 1.5e-4 (R1) and 1.1e-4
//! (path length) relative error; for R1, rms steps of 0.0003 / 0.001 / 0.01 / 0.1 give
//! 5.7e-4 / 1.8e-4 / 1.4e-3 / 7.3e-3 (float32 rounding below, curvature of the
//! minibatch-stddev layer above).

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use fauxto_nn::{ActivationTape, Discriminator, Generator, NoiseMode};

use crate::augment::{augment, AugmentParams};
use crate::error::TrainError;
use crate::parallel::Peer;

/// Step of the R1 difference: rms of `h·g` per pixel (see the module documentation).
pub const R1_STEP_RMS: f64 = 0.003;
/// Step of the path-length difference: rms of `h·u` per w component.
pub const PL_STEP_RMS: f64 = 0.001;

/// This pass's part of a (data-parallel) batch: the peer computing it, the batch indices
/// of its samples, and the size of the whole batch. Whatever a phase reduces over the
/// batch is summed over the peers, so the result is the whole batch's.
#[derive(Debug, Clone)]
pub struct BatchPart<'a> {
    pub peer: &'a Peer,
    pub rows: Vec<usize>,
    pub global_n: usize,
}

static ALONE: Peer = Peer::SINGLE;

impl BatchPart<'static> {
    /// All `n` samples, on one device.
    pub fn whole(n: usize) -> Self {
        Self {
            peer: &ALONE,
            rows: (0..n).collect(),
            global_n: n,
        }
    }
}

impl BatchPart<'_> {
    /// `values` summed over the peers.
    fn sum<B: Backend>(&self, values: &[f64], device: &B::Device) -> Result<Vec<f64>, TrainError> {
        self.peer.sum_values::<B>(values, device)
    }
}

/// What the generator phases draw: latents, optional mixing latents with the layer from
/// which they take over, and labels.
#[derive(Debug, Clone)]
pub struct GenInput<B: Backend> {
    pub z: Tensor<B, 2>,
    pub mix: Option<(usize, Tensor<B, 2>)>,
    pub c: Option<Tensor<B, 2>>,
}

impl<B: Backend> GenInput<B> {
    /// The same draw on another backend (the inner one of an autodiff backend).
    pub fn to_inner<AB: AutodiffBackend<InnerBackend = B>>(input: &GenInput<AB>) -> Self {
        Self {
            z: input.z.clone().inner(),
            mix: input.mix.as_ref().map(|(k, z)| (*k, z.clone().inner())),
            c: input.c.clone().map(Tensor::inner),
        }
    }
}

/// The images through the augmentation draw `aug`, if any.
pub fn augmented<B: Backend>(img: Tensor<B, 4>, aug: Option<&[AugmentParams]>) -> Tensor<B, 4> {
    match aug {
        Some(params) => augment(img, params),
        None => img,
    }
}

/// `log(1 + eˣ)`, computed without overflow.
pub fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    relu(x.clone()) + x.abs().neg().exp().log1p()
}

fn scalar<B: Backend, const D: usize>(x: Tensor<B, D>) -> f64 {
    x.into_scalar().elem::<f64>()
}

/// The mapping half of the official `run_G`: ws with style mixing, and the batch mean of
/// w (detached) for the running average of w.
pub fn mapping_with_mixing<B: Backend>(
    g: &Generator<B>,
    input: &GenInput<B>,
) -> (Tensor<B, 3>, Tensor<B, 1>) {
    let num_ws = g.num_ws();
    let w = g.mapping.forward(Some(input.z.clone()), input.c.clone());
    let [n, w_dim] = w.dims();
    let w_mean = w.clone().detach().mean_dim(0).reshape([w_dim]);
    let ws = g.mapping.broadcast_truncated(w, num_ws, 1.0, None);
    let ws = match &input.mix {
        Some((cutoff, z2)) if *cutoff < num_ws => {
            let w2 = g.mapping.forward(Some(z2.clone()), input.c.clone());
            let ws2 = g.mapping.broadcast_truncated(w2, num_ws, 1.0, None);
            Tensor::cat(
                vec![
                    ws.slice([0..n, 0..*cutoff, 0..w_dim]),
                    ws2.slice([0..n, *cutoff..num_ws, 0..w_dim]),
                ],
                1,
            )
        }
        _ => ws,
    };
    (ws, w_mean)
}

/// Moves G's running average of w toward `w_mean` (official `w_avg_beta`).
pub fn track_w_avg<AB: AutodiffBackend>(
    g: &mut Generator<AB>,
    w_mean: Tensor<AB::InnerBackend, 1>,
) {
    let (Some(param), Some(beta)) = (g.mapping.w_avg.take(), g.mapping.w_avg_beta) else {
        return;
    };
    let (id, value, mapper) = param.consume();
    let old = value.inner();
    let new = w_mean.clone() + (old - w_mean).mul_scalar(beta);
    g.mapping.w_avg = Some(Param::from_mapped_value(
        id,
        Tensor::from_inner(new),
        mapper,
    ));
}

/// Gmain: the loss whose gradient trains G. Returns (loss, gradients, w mean).
pub fn g_main<AB: AutodiffBackend>(
    g: &Generator<AB>,
    d: &Discriminator<AB>,
    input: &GenInput<AB>,
    mut tape: ActivationTape<AB>,
    aug: Option<&[AugmentParams]>,
) -> (f64, AB::Gradients, Tensor<AB::InnerBackend, 1>) {
    let d = d.clone().no_grad();
    let (ws, w_mean) = mapping_with_mixing(g, input);
    let img = g.synthesis.forward_taped(ws, NoiseMode::Random, &mut tape);
    let img = augmented(img, aug);
    let logits = d.forward(img, input.c.clone());
    let loss = softplus(logits.neg()).mean();
    let grads = loss.backward();
    (scalar(loss), grads, w_mean.inner())
}

/// Path lengths `pl_n = sqrt(mean_i ‖v_{n,i}‖²)` with `v = ∇ws Σ G(ws)·y`, computed at
/// `ws` while recording the activation pattern and noise on `tape` (a recording tape,
/// returned with the lengths).
pub struct Lengths<AB: AutodiffBackend> {
    pub lengths: Vec<f64>,
    v: Tensor<AB::InnerBackend, 3>,
    tape: ActivationTape<AB>,
    noise: NoiseMode,
}

pub fn path_lengths<AB: AutodiffBackend>(
    g: &Generator<AB>,
    ws: &Tensor<AB, 3>,
    y: &Tensor<AB, 4>,
    noise: NoiseMode,
    mut tape: ActivationTape<AB>,
) -> Lengths<AB> {
    let frozen = g.clone().no_grad();
    let ws_leaf = ws.clone().detach().require_grad();
    let img = frozen
        .synthesis
        .forward_taped(ws_leaf.clone(), noise, &mut tape);
    let v = ws_leaf
        .grad(&(img * y.clone()).sum().backward())
        .expect("ws requires grad");
    let lengths = v
        .clone()
        .square()
        .sum_dim(2)
        .mean_dim(1)
        .sqrt()
        .into_data()
        .convert::<f64>()
        .to_vec()
        .expect("float data");
    Lengths {
        lengths,
        v,
        tape,
        noise,
    }
}

/// The gradient of `Σ_n weight_n · pl_n` with respect to every parameter that `ws`
/// depends on (synthesis, and the mapping when `ws` is attached to it), by the
/// frozen-pattern central difference along `u_n = weight_n · v_n / (pl_n · num_ws)`:
/// `∇θ pl_n = ∂θ [v̄_n · ∇ws_n Σ G·y] / (pl_n · num_ws)`.
pub fn weighted_length_gradient<AB: AutodiffBackend>(
    g: &Generator<AB>,
    ws: Tensor<AB, 3>,
    y: Tensor<AB, 4>,
    lengths: Lengths<AB>,
    weights: &[f64],
    part: &BatchPart,
) -> Result<AB::Gradients, TrainError> {
    let Lengths {
        lengths,
        v,
        mut tape,
        noise,
    } = lengths;
    let [n, num_ws, w_dim] = ws.dims();
    let coef: Vec<f32> = lengths
        .iter()
        .zip(weights)
        .map(|(&l, &w)| (w / (l.max(1e-8) * num_ws as f64)) as f32)
        .collect();
    let coef = Tensor::<AB::InnerBackend, 1>::from_floats(coef.as_slice(), &v.device());
    let u = v * coef.reshape([n, 1, 1]);
    let rms = if part.peer.world() == 1 {
        scalar(u.clone().square().mean()).sqrt()
    } else {
        let sq = part.sum::<AB::InnerBackend>(&[scalar(u.clone().square().sum())], &u.device())?;
        (sq[0] / (part.global_n * num_ws * w_dim) as f64).sqrt()
    };
    if rms == 0.0 || !rms.is_finite() {
        return Ok(ws.sum().mul_scalar(0.0).backward());
    }
    let h = PL_STEP_RMS / rms;
    let step = Tensor::<AB, 3>::from_inner(u.mul_scalar(h)).reshape([n, num_ws, w_dim]);
    tape.replay();
    let plus = g
        .synthesis
        .forward_taped(ws.clone() + step.clone(), noise, &mut tape);
    tape.replay();
    let minus = g.synthesis.forward_taped(ws - step, noise, &mut tape);
    Ok(((plus - minus) * y).sum().div_scalar(2.0 * h).backward())
}

/// Results of a path-length phase.
pub struct PathLength<AB: AutodiffBackend> {
    pub grads: AB::Gradients,
    /// Mean over the batch of `(pl_n − a)²`.
    pub penalty: f64,
    /// The updated running mean `a`.
    pub pl_mean: f64,
    pub w_mean: Tensor<AB::InnerBackend, 1>,
}

/// Greg: path-length regularisation, weight `pl_weight`, applied with `gain` (the lazy
/// interval). `y` is the noise image `randn / √(H·W)`; `pl_mean` the running mean `a`,
/// updated as `a ← a + decay · (mean_n pl_n − a)` before the penalty, as officially.
/// Path-length settings: weight, decay of the running mean, and the lazy gain.
#[derive(Debug, Clone, Copy)]
pub struct PathLengthWeights {
    pub weight: f64,
    pub decay: f64,
    pub gain: f64,
}

pub fn g_path_length<AB: AutodiffBackend>(
    g: &Generator<AB>,
    input: &GenInput<AB>,
    y: Tensor<AB, 4>,
    pl_mean: f64,
    settings: PathLengthWeights,
    noise_seed: u32,
    part: &BatchPart,
) -> Result<PathLength<AB>, TrainError> {
    let PathLengthWeights {
        weight: pl_weight,
        decay: pl_decay,
        gain,
    } = settings;
    let (ws, w_mean) = mapping_with_mixing(g, input);
    let mut tape = ActivationTape::record().with_noise_seed(noise_seed);
    if part.peer.world() > 1 {
        tape = tape.with_noise_rows(part.global_n, part.rows.clone());
    }
    let lengths = path_lengths(g, &ws, &y, NoiseMode::Random, tape);
    // The lengths of the whole batch: each peer fills in its rows.
    let mut all = vec![0.0; part.global_n];
    for (&row, &l) in part.rows.iter().zip(&lengths.lengths) {
        all[row] = l;
    }
    let pl = part.sum::<AB::InnerBackend>(&all, &w_mean.device())?;
    let n = pl.len() as f64;
    let a = pl_mean + (pl.iter().sum::<f64>() / n - pl_mean) * pl_decay;
    let penalty = pl.iter().map(|l| (l - a).powi(2)).sum::<f64>() / n;
    // d/dpl_n of mean_m (pl_m − a)², a depending on the lengths through the decay.
    let sum_dev: f64 = pl.iter().map(|l| 2.0 * (l - a)).sum();
    let weights: Vec<f64> = part
        .rows
        .iter()
        .map(|&row| pl_weight * gain * (2.0 * (pl[row] - a) - sum_dev * pl_decay / n) / n)
        .collect();
    Ok(PathLength {
        grads: weighted_length_gradient(g, ws, y, lengths, &weights, part)?,
        penalty,
        pl_mean: a,
        w_mean: w_mean.inner(),
    })
}

/// Results of a D phase.
pub struct DiscriminatorStep<AB: AutodiffBackend> {
    pub grads: AB::Gradients,
    pub loss: f64,
    /// Mean of sign(D(real)): the overfitting heuristic r_t that ADA steers by.
    pub real_sign: f64,
}

/// Dmain: `softplus(D(fake)) + softplus(−D(real))`, each averaged over its batch.
pub fn d_main<AB: AutodiffBackend>(
    d: &Discriminator<AB>,
    fake: Tensor<AB, 4>,
    fake_c: Option<Tensor<AB, 2>>,
    real: Tensor<AB, 4>,
    real_c: Option<Tensor<AB, 2>>,
) -> DiscriminatorStep<AB> {
    let gen_logits = d.forward(fake, fake_c);
    let real_logits = d.forward(real, real_c);
    let real_sign = scalar(real_logits.clone().detach().sign().mean());
    let loss = softplus(gen_logits).mean() + softplus(real_logits.neg()).mean();
    DiscriminatorStep {
        grads: loss.backward(),
        loss: scalar(loss),
        real_sign,
    }
}

/// Results of an R1 phase.
pub struct R1<AB: AutodiffBackend> {
    pub grads: AB::Gradients,
    /// Mean over the batch of ‖∇x D‖².
    pub penalty: f64,
}

/// Dreg: the R1 penalty with weight `gamma`, applied with `gain` (the lazy interval).
/// The gradient is taken with respect to the images before augmentation, whose draw
/// `aug` is frozen across the three passes (augmentation is then affine in the pixels).
pub fn d_r1<AB: AutodiffBackend>(
    d: &Discriminator<AB>,
    real: Tensor<AB, 4>,
    real_c: Option<Tensor<AB, 2>>,
    gamma: f64,
    gain: f64,
    aug: Option<&[AugmentParams]>,
    part: &BatchPart,
) -> Result<R1<AB>, TrainError> {
    let n = part.global_n;
    let frozen = d.clone().no_grad();
    let x = real.detach();
    let leaf = x.clone().require_grad();
    let mut tape = ActivationTape::record();
    let logits = frozen.forward_taped(augmented(leaf.clone(), aug), real_c.clone(), &mut tape);
    let g = leaf
        .grad(&logits.sum().backward())
        .expect("input requires grad");
    let sq = part.sum::<AB::InnerBackend>(&[scalar(g.clone().square().sum())], &g.device())?[0];
    let penalty = sq / n as f64;
    let numel = (g.dims().iter().product::<usize>() / part.rows.len() * n) as f64;
    let rms = (sq / numel).sqrt();
    if rms == 0.0 || !rms.is_finite() || gamma == 0.0 {
        let zero = x.sum().mul_scalar(0.0).require_grad();
        return Ok(R1 {
            grads: zero.backward(),
            penalty,
        });
    }
    // ∇θ Σ_n ‖g_n‖² = 2 ∂θ [ḡ·∇x Σ D] ≈ 2 ∂θ [Σ D(x + hḡ) − Σ D(x − hḡ)] / 2h.
    let h = R1_STEP_RMS / rms;
    let step = Tensor::<AB, 4>::from_inner(g.mul_scalar(h));
    tape.replay();
    let plus = d.forward_taped(
        augmented(x.clone() + step.clone(), aug),
        real_c.clone(),
        &mut tape,
    );
    tape.replay();
    let minus = d.forward_taped(augmented(x - step, aug), real_c, &mut tape);
    let weight = gamma / 2.0 * gain / n as f64 * 2.0;
    let surrogate = (plus.sum() - minus.sum()).mul_scalar(weight / (2.0 * h));
    Ok(R1 {
        grads: surrogate.backward(),
        penalty,
    })
}

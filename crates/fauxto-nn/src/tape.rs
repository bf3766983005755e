//! The activation tape: records the piecewise-linear pattern of a forward pass (which
//! side of each leaky ReLU and each clamp every activation fell on) and the random noise
//! it drew, and replays that pattern in later passes.
//!
//! Training needs second derivatives for the R1 and path-length regularisers (StyleGAN2
//! §4, §B), which burn cannot take. They are computed as a finite-difference
//! Hessian-vector product instead: `∇θ (g·∇x f(x)) ≈ ∇θ [f(x + hg) − f(x − hg)] / 2h`.
//! A plain difference crosses ReLU kinks and picks up O(1/h) jump terms that the exact
//! double backward does not have; replaying the pattern recorded at `x` in both perturbed
//! passes makes every activation the same linear map in all three passes, so the
//! difference measures exactly the curvature the double backward sees (see DESIGN.md,
//! "Foundations"). Outside training the tape is [`ActivationTape::free`] and costs
//! nothing.

use burn::tensor::{activation::leaky_relu, backend::Backend, Distribution, Tensor, TensorData};

use crate::kernels::activation::{lrelu_clamp, LreluClamp};
use crate::kernels::applies;
use crate::kernels::epilogue::{epilogue, Tail, Terms};
use crate::ops::apply_terms;
use crate::sample::select_rows;
use crate::seed::NumpyRandomState;

/// What the tape does with the activations it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapeMode {
    /// Plain activations and fresh noise; nothing is kept.
    Free,
    /// Plain activations and fresh noise, remembering the pattern and the noise.
    Record,
    /// The remembered pattern and noise, in the order they were recorded.
    Replay,
}

#[derive(Debug, Clone)]
enum Entry<B: Backend> {
    /// A layer's activation, `clamp(gain · lrelu(x), ±limit)` or a clamp alone, as the
    /// linear map it was at the recorded input: `x · scale + offset` (flattened; the
    /// offset, the clamped value where the clamp was reached, only when there is a clamp).
    Activation {
        scale: Tensor<B, 1>,
        offset: Option<Tensor<B, 1>>,
    },
    /// A noise draw (flattened).
    Noise(Tensor<B, 1>),
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct ActivationTape<B: Backend> {
    mode: TapeMode,
    entries: Vec<Entry<B>>,
    cursor: usize,
    /// Where noise comes from: a seeded host generator (reproducible on every backend and
    /// thread), or the backend's own generator.
    noise_rng: Option<NumpyRandomState>,
    /// Data-parallel training: the batch this pass belongs to has `global` samples, of
    /// which this pass computes `rows`; noise is drawn for all of them and the rows kept,
    /// so that a sample's noise depends on its index in the batch, not on the device.
    noise_rows: Option<(usize, Vec<usize>)>,
}

impl<B: Backend> ActivationTape<B> {
    /// A tape that records nothing: ordinary inference and training passes.
    pub fn free() -> Self {
        Self {
            mode: TapeMode::Free,
            entries: Vec::new(),
            cursor: 0,
            noise_rng: None,
            noise_rows: None,
        }
    }

    /// Draws noise from a host generator seeded with `seed` instead of the backend's
    /// global one, so that a training step draws the same noise on any backend, in any
    /// thread, before and after a resume.
    pub fn with_noise_seed(mut self, seed: u32) -> Self {
        self.noise_rng = Some(NumpyRandomState::new(seed));
        self
    }

    /// Draws the noise of a `global`-sample batch and keeps `rows` of it (the samples
    /// this pass computes, in order): with a seeded generator, each sample gets the noise
    /// it would get in a pass over the whole batch.
    pub fn with_noise_rows(mut self, global: usize, rows: Vec<usize>) -> Self {
        self.noise_rows = Some((global, rows));
        self
    }

    /// A tape that records the next pass.
    pub fn record() -> Self {
        Self {
            mode: TapeMode::Record,
            ..Self::free()
        }
    }

    /// Switches to replaying from the first recorded entry (call before each replayed
    /// pass).
    pub fn replay(&mut self) {
        self.mode = TapeMode::Replay;
        self.cursor = 0;
    }

    pub fn mode(&self) -> TapeMode {
        self.mode
    }

    /// Number of recorded entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn next(&mut self) -> Entry<B> {
        let entry = self.entries.get(self.cursor).cloned().unwrap_or_else(|| {
            panic!(
                "activation tape: replayed pass has more activations than the {} recorded",
                self.entries.len()
            )
        });
        self.cursor += 1;
        entry
    }

    /// `clamp(gain · lrelu(x · scale + pixel + channel, alpha), ±limit)` (no clamp when
    /// `limit` is None): a layer's demodulation, noise, bias and activation ([`Terms`]).
    /// Free and replayed passes take it as one fused operation on the CPU (see
    /// [`crate::kernels::epilogue`]).
    pub fn epilogue<const D: usize>(
        &mut self,
        x: Tensor<B, D>,
        terms: Terms<B>,
        alpha: f64,
        gain: f64,
        limit: Option<f64>,
    ) -> Tensor<B, D> {
        match self.mode {
            TapeMode::Free if applies::<B>(x.dtype()) => {
                let op = lrelu_clamp_op(alpha, gain, limit);
                epilogue(x, terms, Tail::Act(op))
            }
            TapeMode::Replay => self.replay_activation(x, terms),
            _ => self.leaky_relu_gain_clamp(apply_terms(x, terms), alpha, gain, limit),
        }
    }

    /// `clamp(gain · lrelu(x, alpha), ±limit)` (no clamp when `limit` is None): the tail of
    /// every layer's `bias_act`. Free passes take it as one fused operation on the CPU (see
    /// [`crate::kernels::activation`]). A recorded pass remembers it as the linear map it
    /// is at this input, `x · scale + offset`, which replayed passes apply.
    pub fn leaky_relu_gain_clamp<const D: usize>(
        &mut self,
        x: Tensor<B, D>,
        alpha: f64,
        gain: f64,
        limit: Option<f64>,
    ) -> Tensor<B, D> {
        match self.mode {
            TapeMode::Free => match lrelu_clamp(x, lrelu_clamp_op(alpha, gain, limit)) {
                Ok(y) => y,
                Err(x) => {
                    let y = times(leaky_relu(x, alpha), gain);
                    match limit {
                        Some(c) => y.clamp(-c, c),
                        None => y,
                    }
                }
            },
            TapeMode::Record => {
                let detached = x.clone().detach();
                let scale = detached
                    .clone()
                    .greater_equal_elem(0.0)
                    .float()
                    .mul_scalar((1.0 - alpha) * gain)
                    .add_scalar(alpha * gain);
                let y = times(leaky_relu(x, alpha), gain);
                let Some(c) = limit else {
                    self.entries.push(Entry::Activation {
                        scale: flatten(scale),
                        offset: None,
                    });
                    return y;
                };
                let before = detached * scale.clone();
                let inside = before.clone().abs().lower_elem(c).float();
                let outside = before.clamp(-c, c) * inside.clone().neg().add_scalar(1.0);
                self.entries.push(Entry::Activation {
                    scale: flatten(scale * inside),
                    offset: Some(flatten(outside)),
                });
                y.clamp(-c, c)
            }
            TapeMode::Replay => self.replay_activation(x, Terms::bias(None)),
        }
    }

    /// The next recorded activation applied to `x` after `terms` (one fused operation on
    /// the CPU).
    fn replay_activation<const D: usize>(
        &mut self,
        x: Tensor<B, D>,
        terms: Terms<B>,
    ) -> Tensor<B, D> {
        let (scale, offset) = self.next_activation();
        if applies::<B>(x.dtype()) {
            return epilogue(x, terms, Tail::Pattern { scale, offset });
        }
        linear_map(apply_terms(x, terms), scale, offset)
    }

    /// The next recorded activation pattern.
    fn next_activation(&mut self) -> (Tensor<B, 1>, Option<Tensor<B, 1>>) {
        match self.next() {
            Entry::Activation { scale, offset } => (scale, offset),
            other => mismatch("an activation", &other),
        }
    }

    /// Clamp to ±`limit`.
    pub fn clamp<const D: usize>(&mut self, x: Tensor<B, D>, limit: f64) -> Tensor<B, D> {
        match self.mode {
            TapeMode::Free => x.clamp(-limit, limit),
            TapeMode::Record => {
                let detached = x.clone().detach();
                let inside = detached.clone().abs().lower_elem(limit).float();
                let outside =
                    detached.clamp(-limit, limit) * (inside.clone().neg().add_scalar(1.0));
                self.entries.push(Entry::Activation {
                    scale: flatten(inside),
                    offset: Some(flatten(outside)),
                });
                x.clamp(-limit, limit)
            }
            TapeMode::Replay => self.replay_activation(x, Terms::bias(None)),
        }
    }

    /// Standard normal noise of `shape`.
    pub fn noise<const D: usize>(&mut self, shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
        let mut draw = || match &mut self.noise_rng {
            Some(rng) => {
                let count = shape.iter().product::<usize>();
                let values: Vec<f32> = match &self.noise_rows {
                    Some((global, rows)) => {
                        assert_eq!(rows.len(), shape[0], "noise rows of another batch");
                        let per_sample = count / shape[0].max(1);
                        let all: Vec<f32> = (0..global * per_sample)
                            .map(|_| rng.next_gauss() as f32)
                            .collect();
                        select_rows(&all, per_sample, rows)
                    }
                    None => (0..count).map(|_| rng.next_gauss() as f32).collect(),
                };
                Tensor::from_data(TensorData::new(values, shape), device)
            }
            None => Tensor::random(shape, Distribution::Normal(0.0, 1.0), device),
        };
        match self.mode {
            TapeMode::Free => draw(),
            TapeMode::Record => {
                let noise: Tensor<B, D> = draw();
                self.entries.push(Entry::Noise(flatten(noise.clone())));
                noise
            }
            TapeMode::Replay => match self.next() {
                Entry::Noise(noise) => noise.reshape(shape),
                other => mismatch("a noise draw", &other),
            },
        }
    }
}

/// `x · gain`, no pass when the gain is 1.
fn times<B: Backend, const D: usize>(x: Tensor<B, D>, gain: f64) -> Tensor<B, D> {
    if gain == 1.0 {
        x
    } else {
        x.mul_scalar(gain)
    }
}

/// `x · scale + offset` (both flattened like `x`).
fn linear_map<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    scale: Tensor<B, 1>,
    offset: Option<Tensor<B, 1>>,
) -> Tensor<B, D> {
    let dims = x.dims();
    let y = x * scale.reshape(dims);
    match offset {
        Some(o) => y + o.reshape(dims),
        None => y,
    }
}

fn lrelu_clamp_op(alpha: f64, gain: f64, limit: Option<f64>) -> LreluClamp {
    LreluClamp {
        alpha: alpha as f32,
        gain: gain as f32,
        limit: limit.map(|c| c as f32),
    }
}

fn flatten<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, 1> {
    let count = x.dims().iter().product::<usize>();
    x.reshape([count])
}

fn mismatch<B: Backend>(expected: &str, found: &Entry<B>) -> ! {
    let found = match found {
        Entry::Activation { .. } => "an activation",
        Entry::Noise(_) => "a noise draw",
    };
    panic!("activation tape: replayed pass asks for {expected} where {found} was recorded")
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    type B = Flex;

    fn values(t: Tensor<B, 1>) -> Vec<f32> {
        t.into_data().to_vec().unwrap()
    }

    /// A recorded activation replays as the linear map it was, on the fused kernel and on
    /// burn's operations alike.
    #[test]
    fn replay_keeps_the_recorded_slopes_and_clamps() {
        let dev = Default::default();
        let x = Tensor::<B, 1>::from_floats([-2.0, -0.5, 0.25, 3.0], &dev);
        let mut tape = ActivationTape::record();
        let y = tape.leaky_relu_gain_clamp(x, 0.2, 2.0, Some(1.0));
        assert_eq!(values(y), vec![-0.8, -0.2, 0.5, 1.0]);
        // Every input changes sign; the recorded pattern still applies.
        let x2 = Tensor::<B, 1>::from_floats([2.0, 0.5, -0.25, -3.0], &dev);
        tape.replay();
        let fused = tape.leaky_relu_gain_clamp(x2.clone(), 0.2, 2.0, Some(1.0));
        assert_eq!(values(fused), vec![0.8, 0.2, -0.5, 1.0]);
        // burn's operations (other backends) apply the same map.
        let Entry::Activation { scale, offset } = tape.entries[0].clone() else {
            panic!("an activation was recorded");
        };
        assert_eq!(
            values(linear_map(x2, scale, offset)),
            vec![0.8, 0.2, -0.5, 1.0]
        );
    }

    #[test]
    fn a_replayed_clamp_keeps_the_recorded_range() {
        let dev = Default::default();
        let mut tape = ActivationTape::record();
        let y = tape.clamp(Tensor::<B, 1>::from_floats([-2.0, 0.5], &dev), 1.0);
        assert_eq!(values(y), vec![-1.0, 0.5]);
        tape.replay();
        let y2 = tape.clamp(Tensor::<B, 1>::from_floats([0.75, 3.0], &dev), 1.0);
        assert_eq!(values(y2), vec![-1.0, 3.0]);
    }

    #[test]
    fn replayed_noise_is_the_recorded_draw() {
        let dev = Default::default();
        let mut tape = ActivationTape::<B>::record();
        let a: Tensor<B, 2> = tape.noise([3, 4], &dev);
        tape.replay();
        let b: Tensor<B, 2> = tape.noise([3, 4], &dev);
        assert_eq!(a.into_data(), b.into_data());
        let mut free = ActivationTape::<B>::free();
        let c: Tensor<B, 2> = free.noise([3, 4], &dev);
        assert!(free.is_empty());
        assert_eq!(c.dims(), [3, 4]);
    }

    #[test]
    #[should_panic(expected = "asks for an activation where a noise draw was recorded")]
    fn a_different_pass_is_refused() {
        let dev = Default::default();
        let mut tape = ActivationTape::<B>::record();
        let _: Tensor<B, 1> = tape.noise([1], &dev);
        tape.replay();
        tape.clamp(Tensor::<B, 1>::from_floats([1.0], &dev), 1.0);
    }
}

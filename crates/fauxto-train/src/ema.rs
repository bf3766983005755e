//! The exponential moving average of the generator's weights, `G_ema` (Karras et al.
//! 2018, ProGAN §B; StyleGAN2-ADA `ema_kimg`, `ema_rampup`): after every step,
//! `p_ema ← p + (p_ema − p)·β` with `β = 0.5^(batch / ema_nimg)`, so that the average
//! halves its memory every `ema_nimg` images; buffers (w_avg, noise) are copied.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use fauxto_nn::Generator;

/// β for one step: `ema_nimg` images of half-life, shortened during the first images of
/// training by `rampup` (the half-life is at most `rampup · cur_nimg`).
pub fn ema_beta(batch: usize, ema_kimg: f64, rampup: Option<f64>, cur_nimg: u64) -> f64 {
    let mut ema_nimg = ema_kimg * 1000.0;
    if let Some(r) = rampup {
        ema_nimg = ema_nimg.min(cur_nimg as f64 * r);
    }
    0.5f64.powf(batch as f64 / ema_nimg.max(1e-8))
}

/// Moves `g_ema` toward `g` by `beta` (parameters) and copies `g`'s buffers.
pub fn update_ema<B: AutodiffBackend>(
    g: &Generator<B>,
    g_ema: Generator<B::InnerBackend>,
    beta: f64,
) -> Generator<B::InnerBackend> {
    let mut collect = Collect::<B> { values: Vec::new() };
    g.visit(&mut collect);
    let mut blend = Blend {
        values: collect.values.into_iter(),
        beta,
    };
    g_ema.map(&mut blend)
}

/// G's tensors in visit order (flattened), each with whether it is trained.
struct Collect<B: AutodiffBackend> {
    values: Vec<(Tensor<B::InnerBackend, 1>, bool)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let trained = t.is_require_grad();
        let count = t.dims().iter().product::<usize>();
        self.values.push((t.inner().reshape([count]), trained));
    }
}

struct Blend<B: Backend, I: Iterator<Item = (Tensor<B, 1>, bool)>> {
    values: I,
    beta: f64,
}

impl<B: Backend, I: Iterator<Item = (Tensor<B, 1>, bool)>> ModuleMapper<B> for Blend<B, I> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, ema, mapper) = param.consume();
        let (value, trained) = self
            .values
            .next()
            .expect("G and G_ema have the same structure");
        let value = value.reshape(ema.dims());
        let blended = if trained {
            value.clone() + (ema - value).mul_scalar(self.beta)
        } else {
            value
        };
        Param::from_mapped_value(id, blended, mapper)
    }
}

//! Adam (Kingma & Ba 2015) exactly as `torch.optim.Adam` computes it, with the lazy
//! regularisation correction of StyleGAN2 (§B: when a regulariser runs every k steps,
//! the learning rate becomes lr·c and the betas β^c with c = k / (k + 1)), and the
//! official gradient sanitising (NaN → 0, ±∞ → ±1e5).
//!
//! The moments are kept by official parameter name, so that a checkpoint stores them as
//! `G_opt.m.mapping.fc0.weight` and so on, and a resumed run continues exactly.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use fauxto_nn::state::HostTensor;
use fauxto_nn::StateDict;

use crate::grads::NamedGrads;
use crate::params::ParamNames;

/// Hyper-parameters of one optimiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl AdamConfig {
    /// The StyleGAN2 optimiser: betas (0, 0.99), eps 1e-8, corrected for a regulariser
    /// that runs every `reg_interval` steps (`None`: not lazy).
    pub fn stylegan2(lr: f64, reg_interval: Option<usize>) -> Self {
        let c = reg_interval.map_or(1.0, |k| k as f64 / (k as f64 + 1.0));
        Self {
            lr: lr * c,
            beta1: 0f64.powf(c),
            beta2: 0.99f64.powf(c),
            eps: 1e-8,
        }
    }
}

/// Adam state: first and second moments per parameter name and the step count.
#[derive(Debug, Clone)]
pub struct Adam<B: Backend> {
    pub config: AdamConfig,
    /// Updates taken so far.
    pub steps: u64,
    moments: BTreeMap<String, (Tensor<B, 1>, Tensor<B, 1>)>,
}

impl<B: Backend> Adam<B> {
    pub fn new(config: AdamConfig) -> Self {
        Self {
            config,
            steps: 0,
            moments: BTreeMap::new(),
        }
    }

    /// One update of every named parameter of `module` that has a gradient in `grads`.
    pub fn step<AB, M>(&mut self, module: M, names: &ParamNames, grads: &NamedGrads<B>) -> M
    where
        AB: AutodiffBackend<InnerBackend = B>,
        M: Module<AB>,
    {
        self.steps += 1;
        let mut mapper = AdamMapper::<AB> {
            adam: self,
            names,
            grads,
        };
        module.map(&mut mapper)
    }

    fn update(&mut self, name: &str, param: Tensor<B, 1>, grad: Tensor<B, 1>) -> Tensor<B, 1> {
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        } = self.config;
        let grad = sanitize(grad);
        let (m, v) = match self.moments.remove(name) {
            Some((m, v)) => (
                m.mul_scalar(beta1) + grad.clone().mul_scalar(1.0 - beta1),
                v.mul_scalar(beta2) + grad.square().mul_scalar(1.0 - beta2),
            ),
            None => (
                grad.clone().mul_scalar(1.0 - beta1),
                grad.square().mul_scalar(1.0 - beta2),
            ),
        };
        let t = self.steps as i32;
        let bias1 = 1.0 - beta1.powi(t);
        let bias2 = 1.0 - beta2.powi(t);
        let denom = v.clone().sqrt().div_scalar(bias2.sqrt()).add_scalar(eps);
        let param = param - (m.clone() / denom).mul_scalar(lr / bias1);
        self.moments.insert(name.to_string(), (m, v));
        param
    }

    /// Writes the moments as `{prefix}.m.{name}` and `{prefix}.v.{name}`.
    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        for (name, (m, v)) in &self.moments {
            sd.tensors
                .insert(format!("{prefix}.m.{name}"), HostTensor::from_tensor(m));
            sd.tensors
                .insert(format!("{prefix}.v.{name}"), HostTensor::from_tensor(v));
        }
    }

    /// Reads the moments written by [`save`](Self::save), checking each against the
    /// parameter it belongs to in `params` (the same names): a moment without its
    /// parameter, without its partner, or of another size is an error naming it.
    pub fn load(
        config: AdamConfig,
        steps: u64,
        prefix: &str,
        sd: &StateDict,
        params: &StateDict,
        device: &B::Device,
    ) -> Result<Self, String> {
        let mut adam = Self::new(config);
        adam.steps = steps;
        let m_prefix = format!("{prefix}.m.");
        let v_prefix = format!("{prefix}.v.");
        for (key, m) in &sd.tensors {
            let Some(name) = key.strip_prefix(&m_prefix) else {
                if let Some(name) = key.strip_prefix(&v_prefix) {
                    if sd.get(&format!("{m_prefix}{name}")).is_none() {
                        return Err(format!("{key} has no first moment beside it"));
                    }
                }
                continue;
            };
            let v = sd
                .get(&format!("{v_prefix}{name}"))
                .ok_or_else(|| format!("{key} has no second moment beside it"))?;
            let param = params
                .get(name)
                .ok_or_else(|| format!("{key} belongs to no parameter of the network"))?;
            let size = param.shape.iter().product::<usize>();
            for (which, t) in [("m", m), ("v", v)] {
                let n = t.shape.iter().product::<usize>();
                if n != size || t.data.len() != n {
                    return Err(format!(
                        "{prefix}.{which}.{name} holds {n} values, but the parameter {name} has shape {:?}",
                        param.shape
                    ));
                }
            }
            adam.moments.insert(
                name.to_string(),
                (flat(m).to_tensor(device), flat(v).to_tensor(device)),
            );
        }
        Ok(adam)
    }

    /// Number of parameters with moments.
    pub fn len(&self) -> usize {
        self.moments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.moments.is_empty()
    }
}

fn flat(t: &HostTensor) -> HostTensor {
    HostTensor {
        shape: vec![t.data.len()],
        data: t.data.clone(),
    }
}

/// NaN → 0, ±∞ → ±1e5 (finite values unchanged), as the official loop cleans
/// gradients before each step.
fn sanitize<B: Backend>(grad: Tensor<B, 1>) -> Tensor<B, 1> {
    let nan = grad.clone().is_nan();
    let pos_inf = grad.clone().greater_elem(f32::MAX);
    let neg_inf = grad.clone().lower_elem(f32::MIN);
    grad.mask_fill(nan, 0.0)
        .mask_fill(pos_inf, 1e5)
        .mask_fill(neg_inf, -1e5)
}

struct AdamMapper<'a, AB: AutodiffBackend> {
    adam: &'a mut Adam<AB::InnerBackend>,
    names: &'a ParamNames,
    grads: &'a NamedGrads<AB::InnerBackend>,
}

impl<AB: AutodiffBackend> ModuleMapper<AB> for AdamMapper<'_, AB> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<AB, D>>) -> Param<Tensor<AB, D>> {
        let (id, tensor, mapper) = param.consume();
        let Some((name, grad)) = self
            .names
            .get(&id)
            .and_then(|name| Some((name, self.grads.by_name.get(name)?.clone())))
        else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let dims = tensor.dims();
        let count = dims.iter().product::<usize>();
        let value = tensor.inner().reshape([count]);
        let updated = self.adam.update(name, value, grad);
        let updated = Tensor::from_inner(updated.reshape(dims)).require_grad();
        Param::from_mapped_value(id, updated, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    /// Moments read back from a checkpoint must fit their parameters: another size, a
    /// missing partner or a moment of no parameter is an error naming it, not a panic in
    /// the next step.
    #[test]
    fn loaded_moments_are_checked_against_their_parameters() {
        let dev = Default::default();
        let mut adam = Adam::<Flex>::new(AdamConfig::stylegan2(0.002, None));
        adam.steps = 1;
        let p = Tensor::<Flex, 1>::from_floats([1.0, -2.0, 0.5], &dev);
        adam.update("w", p, Tensor::from_floats([0.1, 0.2, 0.3], &dev));
        let mut sd = StateDict::default();
        adam.save("G_opt", &mut sd);
        let mut params = StateDict::default();
        params.tensors.insert(
            "w".into(),
            HostTensor {
                shape: vec![3],
                data: vec![0.0; 3],
            },
        );
        let config = AdamConfig::stylegan2(0.002, None);
        let load = |sd: &StateDict, params: &StateDict| {
            Adam::<Flex>::load(config, 1, "G_opt", sd, params, &dev)
        };
        assert_eq!(load(&sd, &params).unwrap().len(), 1);

        let mut wider = params.clone();
        wider.tensors.get_mut("w").unwrap().shape = vec![4];
        wider.tensors.get_mut("w").unwrap().data = vec![0.0; 4];
        let err = load(&sd, &wider).err().unwrap();
        assert!(
            err.contains("G_opt.m.w holds 3 values") && err.contains("[4]"),
            "{err}"
        );

        let err = load(&sd, &StateDict::default()).err().unwrap();
        assert!(err.contains("belongs to no parameter"), "{err}");

        let mut lonely = sd.clone();
        lonely.tensors.remove("G_opt.v.w");
        let err = load(&lonely, &params).err().unwrap();
        assert!(err.contains("no second moment"), "{err}");
        let mut lonely = sd.clone();
        lonely.tensors.remove("G_opt.m.w");
        let err = load(&lonely, &params).err().unwrap();
        assert!(err.contains("no first moment"), "{err}");
    }

    /// Three steps of `torch.optim.Adam` (float32) with the official gradient cleaning,
    /// for the plain and the lazily corrected (interval 4) StyleGAN2 settings; the
    /// expected values were printed by PyTorch 2.x.
    #[test]
    fn matches_torch_adam() {
        let cases = [
            (None, [0.999_266_86_f32, -2.003_972_8, 0.500_449_5]),
            (Some(4), [0.999_413_1, -2.003_181_5, 0.500_359_6]),
        ];
        for (interval, want) in cases {
            let dev = Default::default();
            let mut adam = Adam::<Flex>::new(AdamConfig::stylegan2(0.002, interval));
            let mut p = Tensor::<Flex, 1>::from_floats([1.0, -2.0, 0.5], &dev);
            for g in [
                [0.1, -0.2, 0.3],
                [-0.05, 0.4, 0.0],
                [f32::NAN, f32::INFINITY, -0.3],
            ] {
                adam.steps += 1;
                p = adam.update("p", p, Tensor::from_floats(g, &dev));
            }
            let got: Vec<f32> = p.into_data().to_vec().unwrap();
            for (a, b) in got.iter().zip(want) {
                assert!((a - b).abs() <= 2e-7, "{interval:?}: {got:?} vs {want:?}");
            }
        }
    }
}

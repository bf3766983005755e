//! Gradients by official parameter name, flattened: what the optimiser consumes and what
//! data-parallel peers sum (in name order, so that every peer packs them alike).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use crate::error::TrainError;
use crate::parallel::Peer;
use crate::params::ParamNames;

/// Flattened gradients by parameter name.
#[derive(Debug, Clone)]
pub struct NamedGrads<B: Backend> {
    pub by_name: BTreeMap<String, Tensor<B, 1>>,
}

impl<B: Backend> NamedGrads<B> {
    /// The gradients in `grads` of `module`'s named parameters.
    pub fn of<AB, M>(module: &M, names: &ParamNames, grads: &AB::Gradients) -> Self
    where
        AB: AutodiffBackend<InnerBackend = B>,
        M: Module<AB>,
    {
        let mut collect = Collect::<AB> {
            names,
            grads,
            by_name: BTreeMap::new(),
        };
        module.visit(&mut collect);
        Self {
            by_name: collect.by_name,
        }
    }

    /// Summed over the peers, each scaled by `scale` first, together with `extras`
    /// (values the phase also reduces), in one collective call.
    pub fn summed(
        self,
        peer: &Peer,
        scale: f64,
        extras: Vec<Tensor<B, 1>>,
    ) -> Result<(Self, Vec<Tensor<B, 1>>), TrainError> {
        if peer.world() == 1 {
            return Ok((self, extras));
        }
        let names: Vec<String> = self.by_name.keys().cloned().collect();
        let n_extras = extras.len();
        let mut parts: Vec<Tensor<B, 1>> = self
            .by_name
            .into_values()
            .map(|g| g.mul_scalar(scale))
            .collect();
        parts.extend(extras);
        let mut summed = peer.sum(parts)?;
        let extras = summed.split_off(summed.len() - n_extras);
        Ok((
            Self {
                by_name: names.into_iter().zip(summed).collect(),
            },
            extras,
        ))
    }
}

struct Collect<'a, AB: AutodiffBackend> {
    names: &'a ParamNames,
    grads: &'a AB::Gradients,
    by_name: BTreeMap<String, Tensor<AB::InnerBackend, 1>>,
}

impl<AB: AutodiffBackend> ModuleVisitor<AB> for Collect<'_, AB> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
        let (Some(name), Some(grad)) = (self.names.get(&param.id), param.val().grad(self.grads))
        else {
            return;
        };
        let count = grad.dims().iter().product::<usize>();
        self.by_name.insert(name.to_string(), grad.reshape([count]));
    }
}

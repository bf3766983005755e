//! Parameters by official name during training: while a network is built, every
//! trainable parameter's burn id is paired with its official state-dict name, so that the
//! optimiser state, the checkpoints and the logs speak the names of the official code.

use std::collections::HashMap;

use burn::module::{Param, ParamId};
use burn::tensor::{backend::Backend, Tensor};
use fauxto_nn::state::{Init, ParamSource};
use fauxto_nn::ModelError;

/// Official names of a network's trainable parameters, by parameter id.
#[derive(Debug, Clone, Default)]
pub struct ParamNames {
    names: HashMap<ParamId, String>,
}

impl ParamNames {
    pub fn get(&self, id: &ParamId) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A [`ParamSource`] that passes everything through to `inner` and writes down the name
/// of each trainable parameter (buffers are not trained and not recorded).
pub struct Recording<'a, S> {
    inner: &'a mut S,
    names: ParamNames,
}

impl<B: Backend, S: ParamSource<B>> ParamSource<B> for Recording<'_, S> {
    fn device(&self) -> B::Device {
        self.inner.device()
    }

    fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Tensor<B, D>, ModelError> {
        self.inner.tensor(name, shape, init)
    }

    fn param<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Param<Tensor<B, D>>, ModelError> {
        let param = self.inner.param(name, shape, init)?;
        self.names.names.insert(param.id, name.to_string());
        Ok(param)
    }
}

/// Builds a network from `src` with `build`, returning it with its parameter names.
pub fn build_named<B: Backend, S: ParamSource<B>, T>(
    src: &mut S,
    build: impl FnOnce(&mut Recording<'_, S>) -> Result<T, ModelError>,
) -> Result<(T, ParamNames), ModelError> {
    let mut recording = Recording {
        inner: src,
        names: ParamNames::default(),
    };
    let net = build(&mut recording)?;
    Ok((net, recording.names))
}

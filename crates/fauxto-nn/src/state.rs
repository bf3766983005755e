//! Parameters by their official StyleGAN2-ADA names.
//!
//! Every layer is built through a [`ParamSource`]: it names each parameter exactly as the
//! official state dict does (`mapping.fc0.weight`, `synthesis.b8.conv0.noise_const`, …),
//! gives its shape and its official initialisation, and the source either draws it
//! ([`RandomInit`]) or reads it from a loaded [`StateDict`], checking the shape. Saving
//! walks the same names back into a [`StateDict`].

use std::collections::{BTreeMap, HashSet};

use burn::module::Param;
use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::error::ModelError;
use crate::seed::NumpyRandomState;

/// How the official code initialises a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// `torch.randn(shape) * std`.
    Normal { std: f64 },
    /// `torch.full(shape, value)`.
    Constant(f64),
}

/// Whether the optimiser updates a tensor (parameter) or not (buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Parameter,
    Buffer,
}

/// One named tensor on the host, float32.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl HostTensor {
    pub fn from_tensor<B: Backend, const D: usize>(tensor: &Tensor<B, D>) -> Self {
        let data = tensor.to_data().convert::<f32>();
        Self {
            shape: data.shape.to_vec(),
            data: data.to_vec::<f32>().expect("float32 after convert"),
        }
    }

    pub fn to_tensor<B: Backend, const D: usize>(&self, device: &B::Device) -> Tensor<B, D> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), self.shape.clone()),
            device,
        )
    }
}

/// Named host tensors in name order, as a safetensors file or official state dict holds them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    pub tensors: BTreeMap<String, HostTensor>,
}

impl StateDict {
    pub fn insert<B: Backend, const D: usize>(&mut self, name: String, tensor: &Tensor<B, D>) {
        self.tensors.insert(name, HostTensor::from_tensor(tensor));
    }

    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.get(name)
    }

    /// Keeps only the tensors under `prefix.` and strips it (e.g. `G_ema.` of a bundle).
    pub fn sub(&self, prefix: &str) -> StateDict {
        let dotted = format!("{prefix}.");
        StateDict {
            tensors: self
                .tensors
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&dotted).map(|s| (s.to_string(), v.clone())))
                .collect(),
        }
    }
}

/// Where a layer's parameters come from when it is built.
pub trait ParamSource<B: Backend> {
    fn device(&self) -> B::Device;

    /// A tensor named `name` of `shape`; `init` says how a fresh network draws it.
    fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Tensor<B, D>, ModelError>;

    /// A trainable parameter.
    fn param<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Param<Tensor<B, D>>, ModelError> {
        Ok(Param::from_tensor(self.tensor(name, shape, init)?))
    }

    /// A buffer: saved with the network, never trained by the optimiser.
    fn buffer<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Param<Tensor<B, D>>, ModelError> {
        Ok(Param::from_tensor(self.tensor(name, shape, init)?).set_require_grad(false))
    }
}

/// Draws fresh parameters with the official initialisation from a seeded generator.
pub struct RandomInit<B: Backend> {
    rng: NumpyRandomState,
    device: B::Device,
}

impl<B: Backend> RandomInit<B> {
    pub fn new(seed: u32, device: &B::Device) -> Self {
        Self {
            rng: NumpyRandomState::new(seed),
            device: device.clone(),
        }
    }
}

impl<B: Backend> ParamSource<B> for RandomInit<B> {
    fn device(&self) -> B::Device {
        self.device.clone()
    }

    fn tensor<const D: usize>(
        &mut self,
        _name: &str,
        shape: [usize; D],
        init: Init,
    ) -> Result<Tensor<B, D>, ModelError> {
        let count = shape.iter().product();
        let data: Vec<f32> = match init {
            Init::Normal { std } => (0..count)
                .map(|_| (self.rng.next_gauss() * std) as f32)
                .collect(),
            Init::Constant(value) => vec![value as f32; count],
        };
        Ok(Tensor::from_data(
            TensorData::new(data, shape.to_vec()),
            &self.device,
        ))
    }
}

/// Reads parameters from a state dict, checking names and shapes; remembers which it used
/// so that leftovers can be reported.
pub struct StateDictSource<'a, B: Backend> {
    state: &'a StateDict,
    device: B::Device,
    used: HashSet<String>,
}

impl<'a, B: Backend> StateDictSource<'a, B> {
    pub fn new(state: &'a StateDict, device: &B::Device) -> Self {
        Self {
            state,
            device: device.clone(),
            used: HashSet::new(),
        }
    }

    /// Names in the state dict that no layer asked for. The official networks also store
    /// their FIR filter as a `resample_filter` buffer in every resampling layer; those are
    /// accepted when they hold the standard [1, 3, 3, 1] filter (the only one StyleGAN2
    /// uses) and reported otherwise.
    pub fn unused(&self) -> Vec<String> {
        self.state
            .tensors
            .iter()
            .filter(|(k, t)| {
                let standard_filter =
                    k.ends_with("resample_filter") && is_standard_resample_filter(t);
                !self.used.contains(k.as_str()) && !standard_filter
            })
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// Whether `t` is the official `setup_filter([1, 3, 3, 1])`: the normalised 4x4 outer
/// product.
fn is_standard_resample_filter(t: &HostTensor) -> bool {
    let expected = crate::fir::depthwise_filter_values(1.0);
    t.shape == [4, 4]
        && t.data
            .iter()
            .zip(expected.iter())
            .all(|(a, b)| (a - b).abs() <= 1e-6)
}

impl<B: Backend> ParamSource<B> for StateDictSource<'_, B> {
    fn device(&self) -> B::Device {
        self.device.clone()
    }

    fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        _init: Init,
    ) -> Result<Tensor<B, D>, ModelError> {
        let host = self
            .state
            .get(name)
            .ok_or_else(|| ModelError::Missing(name.to_string()))?;
        // Official scalars such as `noise_strength` have shape []; we hold them as [1].
        let same =
            host.shape == shape || (host.shape.is_empty() && shape.iter().product::<usize>() == 1);
        if !same {
            return Err(ModelError::Shape {
                name: name.to_string(),
                found: host.shape.clone(),
                expected: shape.to_vec(),
            });
        }
        if host.data.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                name: name.to_string(),
            });
        }
        self.used.insert(name.to_string());
        Ok(Tensor::from_data(
            TensorData::new(host.data.clone(), shape.to_vec()),
            &self.device,
        ))
    }
}

/// Builds a network from `state` with `build`, then refuses tensors it did not use (apart
/// from the standard resample filters), so a mismatched file fails loudly.
pub fn build_strict<B: Backend, T>(
    state: &StateDict,
    device: &B::Device,
    build: impl FnOnce(&mut StateDictSource<'_, B>) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    let mut src = StateDictSource::new(state, device);
    let net = build(&mut src)?;
    let unused = src.unused();
    if !unused.is_empty() {
        return Err(ModelError::Unexpected(unused.join(", ")));
    }
    Ok(net)
}

/// Joins a prefix and a name with a dot (`"" + "weight"` → `"weight"`).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl StateDict {
    /// Inserts a one-element tensor as an official scalar (shape []).
    pub fn insert_scalar<B: Backend>(&mut self, name: String, tensor: &Tensor<B, 1>) {
        let mut host = HostTensor::from_tensor(tensor);
        host.shape.clear();
        self.tensors.insert(name, host);
    }
}

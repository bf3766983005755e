//! The StyleGAN2 generator: mapping network followed by synthesis network.
//! Official class: `Generator`.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use crate::config::GeneratorConfig;
use crate::error::ModelError;
use crate::layers::NoiseMode;
use crate::mapping::MappingNetwork;
use crate::state::{build_strict, join, ParamSource, StateDict};
use crate::synthesis::SynthesisNetwork;
use crate::tape::ActivationTape;

#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    pub mapping: MappingNetwork<B>,
    pub synthesis: SynthesisNetwork<B>,
    #[module(skip)]
    pub config: GeneratorConfig,
}

/// Truncation settings (official `truncation_psi`, `truncation_cutoff`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truncation {
    pub psi: f64,
    pub cutoff: Option<usize>,
}

impl Default for Truncation {
    fn default() -> Self {
        Self {
            psi: 1.0,
            cutoff: None,
        }
    }
}

impl<B: Backend> Generator<B> {
    /// Builds the generator with parameters from `src` under `prefix`
    /// (`""` for a bare generator state dict).
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        cfg: &GeneratorConfig,
    ) -> Result<Self, ModelError> {
        cfg.validate()?;
        Ok(Self {
            mapping: MappingNetwork::new(
                src,
                &join(prefix, "mapping"),
                cfg.z_dim,
                cfg.c_dim,
                cfg.w_dim,
                Some(cfg.num_ws()),
                &cfg.mapping,
            )?,
            synthesis: SynthesisNetwork::new(src, &join(prefix, "synthesis"), cfg)?,
            config: cfg.clone(),
        })
    }

    /// Loads a generator from an official-named state dict, refusing leftovers.
    pub fn from_state_dict(
        state: &StateDict,
        cfg: &GeneratorConfig,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        build_strict(state, device, |src| Self::new(src, "", cfg))
    }

    pub fn num_ws(&self) -> usize {
        self.synthesis.num_ws
    }

    /// z (+ c) → ws [N, num_ws, w_dim] with truncation.
    pub fn mapping_ws(
        &self,
        z: Tensor<B, 2>,
        c: Option<Tensor<B, 2>>,
        truncation: Truncation,
    ) -> Tensor<B, 3> {
        let w = self.mapping.forward(Some(z), c);
        self.mapping
            .broadcast_truncated(w, self.num_ws(), truncation.psi, truncation.cutoff)
    }

    /// z (+ c) → image [N, C, R, R].
    pub fn forward(
        &self,
        z: Tensor<B, 2>,
        c: Option<Tensor<B, 2>>,
        truncation: Truncation,
        noise_mode: NoiseMode,
    ) -> Tensor<B, 4> {
        self.forward_taped(z, c, truncation, noise_mode, &mut ActivationTape::free())
    }

    /// As [`forward`](Self::forward), the synthesis network's activations recorded on or
    /// replayed from `tape` (see [`ActivationTape`]).
    pub fn forward_taped(
        &self,
        z: Tensor<B, 2>,
        c: Option<Tensor<B, 2>>,
        truncation: Truncation,
        noise_mode: NoiseMode,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 4> {
        let ws = self.mapping_ws(z, c, truncation);
        self.synthesis.forward_taped(ws, noise_mode, tape)
    }

    /// The official state dict (`mapping.*`, `synthesis.*`).
    pub fn state_dict(&self) -> StateDict {
        let mut sd = StateDict::default();
        self.mapping.save("mapping", &mut sd);
        self.synthesis.save("synthesis", &mut sd);
        sd
    }
}

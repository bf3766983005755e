//! Errors of the network crate: each names what was wrong and, where it helps, what to do.

/// A configuration that cannot describe a network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("resolution {0} is not a power of two between 4 and 1024")]
    Resolution(usize),
    #[error("unknown preset `{0}`; choose one of stylegan2, paper256, paper512, paper1024, cifar, auto, small")]
    UnknownPreset(String),
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    #[error("{0} must not be zero")]
    Zero(&'static str),
}

/// A model file or state dict that does not fit the network it should describe.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("missing tensor `{0}`")]
    Missing(String),
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("tensor `{name}` holds a non-finite value")]
    NonFinite { name: String },
    #[error("unexpected tensors not used by the network: {0}")]
    Unexpected(String),
    #[error("{0}")]
    Format(String),
    #[error("{path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

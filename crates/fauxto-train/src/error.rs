//! Training errors: each a one-line message naming what went wrong.

use fauxto_data::DataError;
use fauxto_nn::{ConfigError, ModelError};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: String, message: String },
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Collective(String),
    #[error("training diverged at step {step}: {what} is not finite")]
    Diverged { step: u64, what: String },
}

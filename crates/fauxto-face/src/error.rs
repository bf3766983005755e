//! Errors of loading and running the face networks.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum FaceError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("weight manifest: {0}")]
    Manifest(String),
    #[error("face index: {0}")]
    Index(String),
}

//! Errors of the importers. Every malformed or hostile input ends in one of these, with
//! the byte offset where reading stopped when there is one.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{0}")]
    Io(#[from] std::io::Error),

    /// The stream names a global that is not on the allow list. Loading the file in Python
    /// would import and possibly call it.
    #[error(
        "refused: the file refers to `{module}.{name}` (at byte {offset}), which is not part of \
         a StyleGAN2-ADA network pickle; loading it in Python would run that code"
    )]
    RefusedGlobal {
        module: String,
        name: String,
        offset: usize,
    },

    /// The byte stream is not a well-formed pickle.
    #[error("malformed pickle at byte {offset}: {message}")]
    Malformed { offset: usize, message: String },

    /// Well-formed, but not what a network pickle or state dict holds.
    #[error("{0}")]
    Format(String),

    #[error("zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),

    #[error(transparent)]
    Model(#[from] fauxto_nn::ModelError),
}

impl ImportError {
    pub(crate) fn format(message: impl Into<String>) -> Self {
        Self::Format(message.into())
    }
}

//! Dataset errors: each a one-line message naming the file and the problem.

use std::path::Path;

/// Everything that can stop the dataset tool or the packed-dataset reader.
///
/// Problems with single images are not errors: the tool reports and skips them (see
/// [`crate::BuildReport::skipped`]).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read or written.
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The source folder or zip is missing or unusable.
    #[error("{path}: {message}")]
    Source { path: String, message: String },
    /// An option is out of range or contradicts another.
    #[error("{0}")]
    Options(String),
    /// The output directory cannot be used.
    #[error("{path}: {message}")]
    Output { path: String, message: String },
    /// The label CSV is malformed.
    #[error("labels {path}, line {line}: {message}")]
    Labels {
        path: String,
        line: usize,
        message: String,
    },
    /// A directory is not a valid packed dataset.
    #[error("{path}: not a valid packed dataset: {message}")]
    NotDataset { path: String, message: String },
    /// An image index past the end of a dataset.
    #[error("{path}: image {index} is outside the dataset of {count} images")]
    Index {
        path: String,
        index: usize,
        count: usize,
    },
    /// A pixel buffer of the wrong length was passed to a reader.
    #[error("{path}: the pixel buffer holds {got} bytes, an image needs {expected}")]
    Buffer {
        path: String,
        expected: usize,
        got: usize,
    },
}

/// Maps an `io::Error` to [`DataError::Io`] naming `path`.
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.display().to_string(),
        source,
    }
}

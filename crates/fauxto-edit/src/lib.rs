//! Editing faces in a generator's latent space W, measured by the face networks.
//!
//! | module | job |
//! | --- | --- |
//! | [`attribute`] | the editable attributes and how the judges score them |
//! | [`logistic`] | the linear classifier whose normal is a direction (InterFaceGAN) |
//! | [`latent`] | seeds → w → images, truncation |
//! | [`judge`] | the face networks' verdicts on generated faces |
//! | [`fit`] | sampling, fitting each attribute's direction, measuring its effect per σ |
//! | [`samples`] | scored samples on disk, for refitting without sampling again |
//! | [`directions`] | a model's directions, the file beside it, conditional directions |
//! | [`edit`] | slider values → a step in W |
//! | [`align`] | a photo framed as the model frames its faces |
//! | [`project`] | a photo's latent found by optimisation (W, then W+) |
//! | [`projected`] | a projected photo's latent on disk, with its provenance |
//! | [`photo`] | a real photo through projection, judged |
//! | [`age`] | age progression: judged ages brought to a target |
//! | [`anonymize`] | look-alikes of a photo's attributes with another identity |
//! | [`evaluate`] | the re-scoring matrix and the editing goals' figures |

pub mod age;
pub mod align;
pub mod anonymize;
pub mod attribute;
pub mod directions;
pub mod edit;
pub mod evaluate;
pub mod fit;
pub mod judge;
pub mod latent;
pub mod logistic;
pub mod photo;
pub mod project;
pub mod projected;
pub mod samples;

pub use attribute::Attribute;
pub use directions::{sidecar_path, Direction, Directions};
pub use edit::{step, Move};
pub use judge::Judge;
pub use latent::LatentRenderer;

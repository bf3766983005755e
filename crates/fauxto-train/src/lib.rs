//! StyleGAN2-ADA training in Rust (Karras et al. 2020, "Analyzing and Improving the Image
//! Quality of StyleGAN" and "Training Generative Adversarial Networks with Limited Data"),
//! generic over the burn autodiff backend.
//!
//! | here | official (`training/`) |
//! | --- | --- |
//! | [`phases`] | `loss.py` `StyleGAN2Loss` (Gmain, Greg, Dmain, Dreg) |
//! | [`trainer::Trainer`] | `training_loop.py` |
//! | [`adam`] | `torch.optim.Adam` with the lazy-regularisation correction |
//! | [`ema`] | the G EMA update in `training_loop.py` |
//! | [`checkpoint`] | network snapshots, plus optimiser state for exact resumption |
//! | [`options::TrainOptions`] | `train.py` `--cfg=auto` |
//! | [`parallel`] | `train.py --gpus N` (`torch.distributed`) |

pub mod adam;
pub mod augment;
pub mod checkpoint;
pub mod data;
pub mod ema;
pub mod error;
pub mod grads;
pub mod options;
pub mod parallel;
pub mod params;
pub mod phases;
pub mod rng;
pub mod trainer;

pub use augment::AugmentMode;
pub use error::TrainError;
pub use options::TrainOptions;
pub use trainer::{StepStats, TrainState, Trainer};

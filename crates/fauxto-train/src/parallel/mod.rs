//! Data-parallel training (the official `training_loop.py` with `--gpus N`): every peer
//! holds a full copy of the networks and computes its part of each step's batch, and the
//! gradients of every phase are summed over the peers before the optimiser step, so all
//! copies stay identical.
//!
//! Unlike the official loop, a step computes exactly what a single device computes for
//! the same global batch (to floating-point summation order):
//! - every random draw (latents, labels, mixing cut-off, augmentation, noise, the
//!   path-length images) is drawn for the whole batch by every peer, from the same
//!   (seed, step) streams, and each peer keeps its samples' rows ([`shard`]);
//! - the samples are split so that each minibatch-standard-deviation group of D stays on
//!   one peer, with the members it has on a single device;
//! - whatever a phase reduces over the batch (loss means, the mean of w, D's mean sign on
//!   reals that ADA steers by, the R1 and path-length step sizes and the path-length
//!   mean) is summed over the peers too.
//!
//! The collective engine is burn-collective ([`collective`]): peers in one process are
//! threads sharing its local server, and processes on one or many machines join through
//! its websocket orchestrator ([`orchestrator`]). A collective call that waits longer than
//! a bound stops the whole process with a message ([`watchdog`]): a dead peer never leaves
//! the others hanging.

pub mod collective;
pub mod orchestrator;
pub mod shard;
pub mod watchdog;

pub use collective::{Cluster, Peer};
pub use shard::shard_rows;

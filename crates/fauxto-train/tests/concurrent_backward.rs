//! Backward passes on several threads of one process, as `fauxto train --devices cpu:2`
//! runs its peers: no thread's `backward()` may free the graph another thread is building
//! (burn issue #5573, patched in `vendor/burn-autodiff`).
//!
//! The window: `cat` moves its inputs in before it registers its own node, so for a moment
//! the input's node is referenced by nothing but its graph. An input that has already been
//! through a backward pass of its own starts a fresh one-node graph there; a sweep for
//! orphaned nodes from another thread at that moment freed its step, and the gradient
//! through the input was lost. With the published crate this test fails within a few
//! hundred rounds on two cores.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};

type B = Autodiff<Flex>;

const SIZE: usize = 128;
const ROUNDS: usize = 400;

/// One round on a tracked leaf that first goes through a throwaway backward pass: the
/// gradient of `sum(cat(2x, 3x))` must be 5 everywhere. Returns what went wrong, if anything.
fn round() -> Option<String> {
    let device = Default::default();
    let leaf: Tensor<B, 2> =
        Tensor::from_inner(Tensor::random([SIZE, SIZE], Distribution::Default, &device))
            .require_grad();
    let _ = leaf.clone().mul_scalar(1.0).sum().backward();
    let both = Tensor::cat(
        vec![leaf.clone().mul_scalar(2.0), leaf.clone().mul_scalar(3.0)],
        0,
    );
    let grads = both.sum().backward();
    let Some(grad) = leaf.grad(&grads) else {
        return Some("the leaf has no gradient".into());
    };
    let values = grad.into_data().to_vec::<f32>().expect("float data");
    let wrong = values.iter().filter(|&&g| g != 5.0).count();
    (wrong > 0).then(|| format!("{wrong} of {} gradient values are not 5", values.len()))
}

#[test]
fn concurrent_backward_passes_keep_every_gradient() {
    let done = Arc::new(AtomicBool::new(false));
    // Threads that only run small backward passes, each ending with the orphan sweep.
    let sweepers: Vec<_> = (0..2)
        .map(|_| {
            let done = done.clone();
            std::thread::spawn(move || {
                let device = Default::default();
                while !done.load(Ordering::Relaxed) {
                    let x: Tensor<B, 1> = Tensor::ones([4], &device).require_grad();
                    let _ = x.mul_scalar(2.0).sum().backward();
                }
            })
        })
        .collect();
    let builders: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| (0..ROUNDS).filter_map(|_| round()).collect::<Vec<_>>()))
        .collect();
    let failures: Vec<String> = builders
        .into_iter()
        .flat_map(|t| t.join().expect("builder thread"))
        .collect();
    done.store(true, Ordering::Relaxed);
    for s in sweepers {
        s.join().expect("sweeper thread");
    }
    assert!(
        failures.is_empty(),
        "{} of {} rounds lost gradient: {:?}",
        failures.len(),
        2 * ROUNDS,
        &failures[..failures.len().min(3)]
    );
}

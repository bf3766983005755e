//! The stride-1 3x3 convolution on the CPU backend, per layer shape of the small preset at
//! 64² (batch 16): forward on plain tensors, and forward + backward on tracked ones, with
//! fauxto's kernels (Winograd) and with burn's own (`FAUXTO_KERNELS=0`):
//! `cargo run --release -p fauxto-nn --example winograd_cost [up|down]` (the same shapes
//! through the up-sampling or down-sampling convolution).

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use fauxto_nn::layers::conv::conv2d_resample;

type AB = Autodiff<Flex>;

/// Best of five, in milliseconds.
fn best(mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let dev = Default::default();
    let normal = Distribution::Normal(0.0, 1.0);
    // `up` 2: the synthesis blocks' up-sampling convolution; `down` 2: the discriminator's.
    let (up, down): (usize, usize) = match std::env::args().nth(1).as_deref() {
        Some("up") => (2, 1),
        Some("down") => (1, 2),
        _ => (1, 1),
    };
    for (c, r) in [(64, 64), (128, 32), (256, 16), (256, 8), (256, 4)] {
        let x = Tensor::<Flex, 4>::random([16, c, r, r], normal, &dev);
        let w = Tensor::<Flex, 4>::random([c, c, 3, 3], normal, &dev);
        let forward = best(|| {
            let y = conv2d_resample(x.clone(), w.clone(), up, down, 1);
            let _ = y.into_data();
        });
        let xa = Tensor::<AB, 4>::from_inner(x.clone()).require_grad();
        let wa = Tensor::<AB, 4>::from_inner(w.clone()).require_grad();
        let both = best(|| {
            let y = conv2d_resample(xa.clone(), wa.clone(), up, down, 1);
            let grads = y.sum().backward();
            let _ = (xa.grad(&grads), wa.grad(&grads));
        });
        println!("[16, {c}, {r}, {r}]: forward {forward:.1} ms, forward + backward {both:.1} ms");
    }
}

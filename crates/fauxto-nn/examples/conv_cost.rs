//! 3x3 convolution forward + backward on the CPU backend: burn's conv2d against the
//! same convolution as one matrix product over shifted copies of the input.

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};

type AB = Autodiff<Flex>;

fn shifted_matmul(x: Tensor<AB, 4>, w: Tensor<AB, 4>) -> Tensor<AB, 4> {
    let [n, i, h, wd] = x.dims();
    let [o, _, k, _] = w.dims();
    let p = k / 2;
    let xp = x.pad((p, p, p, p), burn::tensor::ops::PadMode::Constant(0.0));
    let mut cols = Vec::new();
    for ky in 0..k {
        for kx in 0..k {
            cols.push(xp.clone().slice([0..n, 0..i, ky..ky + h, kx..kx + wd]));
        }
    }
    // [N, k·k·I, H·W] with rows ordered (ky, kx, i).
    let cols = Tensor::cat(cols, 1).reshape([n, k * k * i, h * wd]);
    // Weight [O, I, k, k] → [O, k, k, I] → [O, k·k·I].
    let wm = w.permute([0, 2, 3, 1]).reshape([1, o, k * k * i]);
    wm.matmul(cols).reshape([n, o, h, wd])
}

fn timed(name: &str, x: &Tensor<AB, 4>, f: impl Fn(Tensor<AB, 4>) -> Tensor<AB, 4>) {
    let mut ms = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        let y = f(x.clone());
        let g = (y.clone() * y).sum().backward();
        let _ = x.grad(&g).unwrap().sum().into_scalar();
        ms = t.elapsed().as_secs_f64() * 1e3;
    }
    println!("{name}: {ms:.0} ms fwd+bwd");
}

fn main() {
    let dev = Default::default();
    let x = Tensor::<AB, 4>::random([16, 128, 32, 32], Distribution::Normal(0.0, 1.0), &dev)
        .require_grad();
    let w = Tensor::<AB, 4>::random([128, 128, 3, 3], Distribution::Normal(0.0, 1.0), &dev);
    timed("filter2d pad 1 [16,128,32,32]", &x, |x| {
        fauxto_nn::fir::filter2d(x, 1, 1.0)
    });
    timed("upsample2d [16,128,32,32]", &x, fauxto_nn::fir::upsample2d);
    timed(
        "downsample2d [16,128,32,32]",
        &x,
        fauxto_nn::fir::downsample2d,
    );
    let wc = w.clone();
    timed("conv 3x3 up (transposed) [16,128,32,32]", &x, move |x| {
        fauxto_nn::layers::conv::conv2d_resample(x, wc.clone(), 2, 1, 1)
    });
    let wc = w.clone();
    timed("conv 3x3 down [16,128,32,32]", &x, move |x| {
        fauxto_nn::layers::conv::conv2d_resample(x, wc.clone(), 1, 2, 1)
    });
    let wc = w.clone();
    timed("conv 3x3 [16,128,32,32]", &x, move |x| {
        fauxto_nn::layers::conv::conv2d_resample(x, wc.clone(), 1, 1, 1)
    });
    for (n, c, r) in [(16, 128, 32), (16, 64, 64), (16, 256, 16)] {
        let x = Tensor::<AB, 4>::random([n, c, r, r], Distribution::Normal(0.0, 1.0), &dev)
            .require_grad();
        let w = Tensor::<AB, 4>::random([c, c, 3, 3], Distribution::Normal(0.0, 1.0), &dev)
            .require_grad();
        for round in 0..3 {
            let t = Instant::now();
            let y = conv2d(
                x.clone(),
                w.clone(),
                None,
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            );
            let g = (y.clone() * y.clone()).sum().backward();
            let a = x.grad(&g).unwrap().sum().into_scalar();
            let burn_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let y2 = shifted_matmul(x.clone(), w.clone());
            let g2 = (y2.clone() * y2.clone()).sum().backward();
            let b = x.grad(&g2).unwrap().sum().into_scalar();
            let mm_ms = t.elapsed().as_secs_f64() * 1e3;
            let diff = (y - y2).abs().max().into_scalar();
            if round == 2 {
                println!("N{n} C{c} {r}²: burn conv2d {burn_ms:.0} ms, shifted matmul {mm_ms:.0} ms (max diff {diff:.2e}, grad sums {a:.3} {b:.3})");
            }
        }
    }
}

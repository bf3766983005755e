//! Forward + backward cost of G and D on the CPU backend (autodiff), per preset and
//! resolution: `cargo run --release -p fauxto-nn --example step_cost -- small 64 16`.

use std::time::Instant;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use fauxto_nn::{Discriminator, Generator, NoiseMode, Preset, RandomInit, Truncation};

type AB = Autodiff<Flex>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let preset = Preset::from_name(args.get(1).map_or("small", |s| s)).expect("preset");
    let res: usize = args.get(2).map_or(64, |s| s.parse().expect("res"));
    let batch: usize = args.get(3).map_or(16, |s| s.parse().expect("batch"));
    let base: Option<usize> = args.get(4).map(|s| s.parse().expect("base"));
    let (mut gc, mut dc) = preset.configs(res, 3, 0).expect("configs");
    if let Some(b) = base {
        gc.synthesis.channel_base = b;
        dc.channel_base = b;
    }
    let dev = Default::default();
    let mut init = RandomInit::<AB>::new(0, &dev);
    let g = Generator::new(&mut init, "", &gc).expect("G");
    let d = Discriminator::new(&mut init, "", &dc).expect("D");
    for round in 0..3 {
        let z = Tensor::<AB, 2>::random([batch, gc.z_dim], Distribution::Normal(0.0, 1.0), &dev);
        let t = Instant::now();
        let img = g.forward(z, None, Truncation::default(), NoiseMode::Random);
        let _ = img.clone().sum().into_scalar();
        let g_fwd = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let logits = d.forward(img, None);
        let _ = logits.clone().sum().into_scalar();
        let d_fwd = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let _grads = logits.sum().backward();
        let bwd = t.elapsed().as_secs_f64();
        println!(
            "round {round}: G fwd {:.0} ms, D fwd {:.0} ms, G+D bwd {:.0} ms; {:.1} img/s for one G+D pass",
            g_fwd * 1e3,
            d_fwd * 1e3,
            bwd * 1e3,
            batch as f64 / (g_fwd + d_fwd + bwd)
        );
    }
}

//! `fauxto interpolate`: an animation walking through W from seed to seed.

use std::path::PathBuf;

use anyhow::{bail, Result};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use clap::{Args, ValueEnum};
use fauxto_app::labels::Depiction;
use fauxto_nn::sample::{latents, lerp, one_hot_labels, slerp, to_pixels};
use fauxto_nn::{NoiseMode, Truncation};

use super::args::{parse_psi, SeedList};
use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::images::{ensure_parent, to_image};
use crate::on_device;
use crate::progress;
use crate::provenance::ProvenanceArgs;
use fauxto_app::pipeline::check_class;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Straight lines in W (how perceptual path length is measured).
    Linear,
    /// Great circles about the origin of W.
    Spherical,
}

#[derive(Debug, Args)]
pub struct InterpolateArgs {
    /// Model file (.safetensors); default: the bundled demo model (faces, 64x64, trained
    /// on UTKFace: non-commercial research use only), or $FAUXTO_MODEL if set.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seeds to pass through, in order (at least two), e.g. `1,5,9`.
    #[arg(long)]
    pub seeds: SeedList,
    /// Frames from one seed to the next.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub frames: u32,
    #[arg(long, value_enum, default_value_t = Method::Linear)]
    pub method: Method,
    /// Return to the first seed at the end, for a seamless loop.
    #[arg(long)]
    pub r#loop: bool,
    /// Frames per second of the animation.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub fps: u32,
    #[arg(long, default_value_t = 1.0, value_parser = parse_psi)]
    pub trunc: f64,
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    #[arg(long)]
    pub class: Option<usize>,
    /// Output animation (.gif).
    #[arg(long, default_value = "interpolation.gif")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
}

pub fn run(args: &InterpolateArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &InterpolateArgs) -> Result<()> {
    if args.seeds.0.len() < 2 {
        bail!("--seeds needs at least two seeds to interpolate between");
    }
    let is_gif = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gif"));
    if !is_gif {
        bail!(
            "{}: the animation is written as GIF; name it .gif",
            args.out.display()
        );
    }
    let model = load_model(&resolve_model(args.model.as_deref())?)?;
    let cfg = &model.info.generator;
    check_class(args.class, cfg.c_dim)?;
    ensure_parent(&args.out)?;
    let labeller = args.provenance.labeller(
        &model,
        args.trunc,
        &format!("{:?}", args.noise_mode).to_lowercase(),
    )?;
    let g = model.generator::<B>(device)?;
    let (num_ws, w_dim) = (cfg.num_ws(), cfg.w_dim);
    let z = latents::<B>(&args.seeds.0, cfg.z_dim, device);
    let c = one_hot_labels::<B>(args.class, cfg.c_dim, args.seeds.0.len(), device);
    let trunc = Truncation {
        psi: args.trunc,
        cutoff: None,
    };
    let ws = g.mapping_ws(z, c, trunc);
    // All w layers are equal after broadcasting: interpolate the first, broadcast again.
    let w: Vec<f32> = ws
        .slice([0..args.seeds.0.len(), 0..1, 0..w_dim])
        .into_data()
        .convert::<f32>()
        .to_vec()
        .expect("float data");
    let key = |i: usize| &w[i * w_dim..(i + 1) * w_dim];
    let mut stops: Vec<usize> = (0..args.seeds.0.len()).collect();
    if args.r#loop {
        stops.push(0);
    }
    let mut path = Vec::new();
    for pair in stops.windows(2) {
        for f in 0..args.frames {
            let t = f as f32 / args.frames as f32;
            path.push(match args.method {
                Method::Linear => lerp(key(pair[0]), key(pair[1]), t),
                Method::Spherical => slerp(key(pair[0]), key(pair[1]), t),
            });
        }
    }
    if !args.r#loop {
        path.push(key(*stops.last().expect("two seeds")).to_vec());
    }
    let bar = progress::bar(path.len() as u64, "frames", false);
    let mut frames = Vec::with_capacity(path.len());
    for chunk in path.chunks(args.batch as usize) {
        let n = chunk.len();
        let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
        let ws = Tensor::<B, 3>::from_data(TensorData::new(flat, [n, 1, w_dim]), device)
            .repeat_dim(1, num_ws);
        let pixels = to_pixels(g.synthesis.forward(ws, args.noise_mode));
        for i in 0..n {
            frames.push(to_image(&pixels, i)?.to_rgb8());
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let depiction = Depiction::Composite {
        seeds: args.seeds.0.clone(),
        class: args.class,
        description: format!(
            "animation through W ({:?}{}), {} frames at {} fps",
            args.method,
            if args.r#loop { ", looped" } else { "" },
            frames.len(),
            args.fps
        ),
    };
    labeller.write_animation(&frames, args.fps, &depiction, &args.out)?;
    println!("wrote {} ({} frames)", args.out.display(), path.len());
    Ok(())
}

//! `fauxto mix`: the style-mixing grid of the official `style_mixing.py` (StyleGAN §3.1):
//! the top row shows the column seeds, the left column the row seeds, and each cell the
//! row seed's w with the `--styles` layers taken from the column seed.

use std::path::PathBuf;

use anyhow::{bail, Result};
use burn::tensor::{backend::Backend, Tensor};
use clap::Args;
use fauxto_nn::sample::{latents, one_hot_labels, to_pixels};
use fauxto_nn::{NoiseMode, Truncation};
use image::{DynamicImage, RgbImage};

use super::args::{parse_psi, IndexList, SeedList};
use super::{load_model, resolve_model};
use crate::backend::DeviceKind;
use crate::images::{ensure_parent, format_for, grid, to_image};
use crate::on_device;
use crate::progress;
use crate::provenance::ProvenanceArgs;
use fauxto_app::labels::Depiction;
use fauxto_app::pipeline::check_class;

#[derive(Debug, Args)]
pub struct MixArgs {
    /// Model file (.safetensors); default: the bundled demo model (faces, 64x64, trained
    /// on UTKFace: non-commercial research use only), or $FAUXTO_MODEL if set.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seeds of the rows (they give everything but the mixed styles).
    #[arg(long)]
    pub rows: SeedList,
    /// Seeds of the columns (they give the mixed styles).
    #[arg(long)]
    pub cols: SeedList,
    /// Which w layers come from the column seed: 0-3 coarse (pose, face shape),
    /// 4-7 middle (features), 8+ fine (colours).
    #[arg(long, default_value = "0-6")]
    pub styles: IndexList,
    #[arg(long, default_value_t = 1.0, value_parser = parse_psi)]
    pub trunc: f64,
    #[arg(long, default_value = "const")]
    pub noise_mode: NoiseMode,
    #[arg(long)]
    pub class: Option<usize>,
    /// Output image (.png, .jpg or .webp).
    #[arg(long, default_value = "mix.png")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
}

pub fn run(args: &MixArgs) -> Result<()> {
    on_device!(args.device, run_on(args))
}

fn run_on<B: Backend>(device: &B::Device, args: &MixArgs) -> Result<()> {
    format_for(&args.out)?;
    let model = load_model(&resolve_model(args.model.as_deref())?)?;
    let cfg = &model.info.generator;
    check_class(args.class, cfg.c_dim)?;
    let num_ws = cfg.num_ws();
    if let Some(bad) = args.styles.0.iter().find(|&&s| s >= num_ws) {
        bail!(
            "--styles {bad} is out of range: the model has w layers 0..{}",
            num_ws - 1
        );
    }
    ensure_parent(&args.out)?;
    let labeller = args.provenance.labeller(
        &model,
        args.trunc,
        &format!("{:?}", args.noise_mode).to_lowercase(),
    )?;
    let g = model.generator::<B>(device)?;
    let trunc = Truncation {
        psi: args.trunc,
        cutoff: None,
    };
    let ws_of = |seeds: &[u32]| {
        let z = latents::<B>(seeds, cfg.z_dim, device);
        let c = one_hot_labels::<B>(args.class, cfg.c_dim, seeds.len(), device);
        g.mapping_ws(z, c, trunc)
    };
    let (row_ws, col_ws) = (ws_of(&args.rows.0), ws_of(&args.cols.0));
    let w_dim = cfg.w_dim;
    let layer_mask: Vec<f32> = (0..num_ws)
        .map(|l| if args.styles.0.contains(&l) { 1.0 } else { 0.0 })
        .collect();
    let mask = Tensor::<B, 1>::from_floats(layer_mask.as_slice(), device).reshape([1, num_ws, 1]);
    let one = |ws: &Tensor<B, 3>, i: usize| ws.clone().slice([i..i + 1, 0..num_ws, 0..w_dim]);
    let render = |ws: Tensor<B, 3>| -> Result<DynamicImage> {
        to_image(&to_pixels(g.synthesis.forward(ws, args.noise_mode)), 0)
    };
    let bar = progress::bar(
        ((args.rows.0.len() + 1) * (args.cols.0.len() + 1) - 1) as u64,
        "mixing",
        false,
    );
    let mut cells = Vec::new();
    let size = cfg.img_resolution as u32;
    cells.push(DynamicImage::ImageRgb8(RgbImage::new(size, size)));
    for c in 0..args.cols.0.len() {
        cells.push(render(one(&col_ws, c))?);
        bar.inc(1);
    }
    for r in 0..args.rows.0.len() {
        let row = one(&row_ws, r);
        cells.push(render(row.clone())?);
        bar.inc(1);
        for c in 0..args.cols.0.len() {
            let mixed =
                row.clone() * (mask.clone().neg().add_scalar(1.0)) + one(&col_ws, c) * mask.clone();
            cells.push(render(mixed)?);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let seeds: Vec<u32> = args.rows.0.iter().chain(&args.cols.0).copied().collect();
    let depiction = Depiction::Composite {
        seeds,
        class: args.class,
        description: format!(
            "style-mixing grid: rows {:?}, columns {:?}, styles {:?} from the columns",
            args.rows.0, args.cols.0, args.styles.0
        ),
    };
    labeller.write(&grid(&cells, args.cols.0.len() + 1), &depiction, &args.out)?;
    println!(
        "wrote {} ({} rows x {} columns, styles {:?})",
        args.out.display(),
        args.rows.0.len(),
        args.cols.0.len(),
        args.styles.0
    );
    Ok(())
}

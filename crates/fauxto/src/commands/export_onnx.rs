//! `fauxto export-onnx`: the generator as an ONNX graph of standard operators.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::tensor::TensorData;
use clap::Args;
use fauxto_interop::onnx::{export_generator, OnnxOptions, OPSET};
use fauxto_nn::model_file::{serialize_state, write_atomic};
use fauxto_nn::sample::{latents, to_pixels};
use fauxto_nn::state::{HostTensor, StateDict};
use fauxto_nn::{NoiseMode, Truncation};

use super::args::{parse_psi, SeedList};
use super::{load_model, resolve_model};
use crate::backend::Cpu;
use crate::images::ensure_parent;

#[derive(Debug, Args)]
pub struct ExportOnnxArgs {
    /// Model file (default: $FAUXTO_MODEL, else the bundled demo model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output ONNX file.
    #[arg(long)]
    pub out: PathBuf,
    /// Batch size: `dynamic` (any batch at run time) or a fixed number (some runtimes,
    /// e.g. TensorRT engines, run faster with one).
    #[arg(long, default_value = "dynamic")]
    pub batch: String,
    /// Stop the synthesis at this resolution: a cheaper graph whose output is the
    /// skip-architecture image so far (a low-resolution preview). Default: the model's.
    #[arg(long)]
    pub res: Option<usize>,
    /// Default of the graph's `truncation_psi` input (it can be fed at run time).
    #[arg(long, default_value_t = 1.0, value_parser = parse_psi)]
    pub trunc: f64,
    /// Also write `<out>.check.safetensors`: inputs for these seeds (z, one-hot labels of
    /// class `i % c_dim`, ψ) and fauxto's own outputs (`img`, `pixels`), to verify a
    /// runtime against (`python3 tools/check_onnx.py OUT`).
    #[arg(long)]
    pub check_seeds: Option<SeedList>,
}

pub fn run(args: &ExportOnnxArgs) -> Result<()> {
    let path = resolve_model(args.model.as_deref())?;
    let model = load_model(&path)?;
    let cfg = &model.info.generator;
    let batch = match args.batch.as_str() {
        "dynamic" => None,
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => bail!("--batch {n}: give `dynamic` or a positive number"),
        },
    };
    let mut metadata = vec![
        ("fauxto.model".to_string(), model.info.name.clone()),
        ("fauxto.model_sha256".to_string(), model.sha256.clone()),
        ("fauxto.license".to_string(), model.info.license.clone()),
        (
            "fauxto.ai_generated".to_string(),
            "outputs are AI-generated images (IPTC trainedAlgorithmicMedia)".to_string(),
        ),
    ];
    if let Some(t) = &model.info.training_data {
        metadata.push(("fauxto.training_data".into(), serde_json::to_string(t)?));
    }
    let options = OnnxOptions {
        batch,
        resolution: args.res,
        psi: args.trunc as f32,
        metadata,
    };
    let bytes = export_generator(&model.state.sub("G_ema"), cfg, &options)
        .with_context(|| format!("cannot export {}", path.display()))?;
    ensure_parent(&args.out)?;
    write_atomic(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let res = args.res.unwrap_or(cfg.img_resolution);
    println!(
        "wrote {} ({:.1} MB, opset {OPSET}): inputs {}truncation_psi (default {}), outputs img \
         [N,{},{res},{res}] float and pixels [N,{res},{res},{}] uint8",
        args.out.display(),
        bytes.len() as f64 / 1e6,
        match (cfg.z_dim > 0, cfg.c_dim > 0) {
            (true, true) => format!("z [N,{}], c [N,{}], ", cfg.z_dim, cfg.c_dim),
            (true, false) => format!("z [N,{}], ", cfg.z_dim),
            (false, _) => format!("c [N,{}], ", cfg.c_dim),
        },
        args.trunc,
        cfg.img_channels,
        cfg.img_channels,
    );

    if let Some(seeds) = &args.check_seeds {
        if res != cfg.img_resolution {
            bail!("--check-seeds needs the model's full resolution (leave out --res)");
        }
        let check = check_path(&args.out);
        write_check(&model, &seeds.0, args.trunc, &check)?;
        println!("wrote {}", check.display());
    }
    Ok(())
}

fn check_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".check.safetensors");
    out.with_file_name(name)
}

/// Inputs and fauxto's outputs for `seeds`, as float32 safetensors.
fn write_check(
    model: &fauxto_nn::model_file::ModelFile,
    seeds: &[u32],
    psi: f64,
    path: &Path,
) -> Result<()> {
    let cfg = &model.info.generator;
    let device = Default::default();
    let g = model.generator::<Cpu>(&device)?;
    let n = seeds.len();
    let z = latents::<Cpu>(seeds, cfg.z_dim, &device);
    let c = (cfg.c_dim > 0).then(|| {
        let mut onehot = vec![0f32; n * cfg.c_dim];
        for i in 0..n {
            onehot[i * cfg.c_dim + i % cfg.c_dim] = 1.0;
        }
        onehot
    });
    let c_tensor = c.as_ref().map(|c| {
        burn::tensor::Tensor::<Cpu, 2>::from_data(
            TensorData::new(c.clone(), [n, cfg.c_dim]),
            &device,
        )
    });
    let trunc = Truncation { psi, cutoff: None };
    let img = g.forward(z.clone(), c_tensor, trunc, NoiseMode::Const);
    let mut state = StateDict::default();
    state
        .tensors
        .insert("img".into(), HostTensor::from_tensor(&img));
    let pixels = to_pixels(img);
    let r = cfg.img_resolution;
    state.tensors.insert(
        "pixels".into(),
        HostTensor {
            shape: vec![n, r, r, cfg.img_channels],
            data: pixels.pixels.iter().map(|&p| p as f32).collect(),
        },
    );
    state
        .tensors
        .insert("z".into(), HostTensor::from_tensor(&z));
    if let Some(c) = c {
        state.tensors.insert(
            "c".into(),
            HostTensor {
                shape: vec![n, cfg.c_dim],
                data: c,
            },
        );
    }
    state.tensors.insert(
        "truncation_psi".into(),
        HostTensor {
            shape: vec![],
            data: vec![psi as f32],
        },
    );
    let mut meta = HashMap::new();
    meta.insert("seeds".to_string(), format!("{seeds:?}"));
    let bytes = serialize_state(&state, meta)?;
    write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

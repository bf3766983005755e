//! The StyleGAN2 generator (mapping + synthesis, skip architecture) as an ONNX graph of
//! standard operators, so onnxruntime, browsers (onnxruntime-web) and TensorRT can run a
//! fauxto model.
//!
//! The graph computes what `fauxto generate` computes with constant noise:
//!
//! - mapping (StyleGAN §2): `w = MLP(normalize(z) ‖ normalize(embed(c)))`, every layer
//!   `lrelu(x·(W·g)ᵀ + b·lr)·√2`, then truncation `w = w_avg + ψ·(w − w_avg)`;
//! - synthesis (StyleGAN2 Fig. 7): from the learned 4×4 constant, per layer a modulated
//!   3×3 convolution written in its non-fused form, which needs no per-sample weights and
//!   so keeps the batch dynamic: scale the input channels by the style, convolve (2×
//!   upsampling layers: transposed convolution with stride 2 then the [1,3,3,1] FIR filter
//!   as a depthwise convolution), scale the output channels by the demodulation
//!   coefficients `rsqrt(s² · Σ_k W² + 1e-8)`, add the stored noise image times its
//!   strength and the bias, leaky ReLU times √2, clamp; toRGB per block, summed over
//!   blocks after 2× FIR upsampling of the running image.
//!
//! Gains (equalised learning rate) are folded into the stored weights.

use fauxto_nn::config::GeneratorConfig;
use fauxto_nn::fir::depthwise_filter_values;
use fauxto_nn::state::{HostTensor, StateDict};
use prost::Message;

use super::builder::{attr_float, attr_int, attr_ints, Dim, GraphBuilder};
use super::proto::{data_type, ModelProto, OperatorSetIdProto, StringStringEntryProto};
use crate::error::ImportError;

/// ONNX operator set the graph uses (onnxruntime ≥ 1.13, TensorRT ≥ 8.6).
pub const OPSET: i64 = 17;
/// IR version that goes with opset 17.
pub const IR_VERSION: i64 = 8;

const LRELU_ALPHA: f32 = 0.2;

/// What to export.
#[derive(Debug, Clone)]
pub struct OnnxOptions {
    /// Fixed batch size, or `None` for a dynamic `batch` dimension.
    pub batch: Option<usize>,
    /// Stop the synthesis at this resolution (a cheaper low-resolution preview); `None`
    /// for the model's own resolution.
    pub resolution: Option<usize>,
    /// Default of the `truncation_psi` input.
    pub psi: f32,
    /// Key-value pairs stored in the model's metadata (model name, licence, …).
    pub metadata: Vec<(String, String)>,
}

impl Default for OnnxOptions {
    fn default() -> Self {
        Self {
            batch: None,
            resolution: None,
            psi: 1.0,
            metadata: Vec::new(),
        }
    }
}

/// Reads the generator's tensors (state-dict names, without the `G_ema.` prefix).
struct Weights<'a> {
    state: &'a StateDict,
}

impl Weights<'_> {
    fn get(&self, name: &str) -> Result<&HostTensor, ImportError> {
        self.state
            .get(name)
            .ok_or_else(|| ImportError::format(format!("the generator has no `{name}`")))
    }
}

/// Exports the generator whose tensors are `state` (official names) as ONNX bytes.
pub fn export_generator(
    state: &StateDict,
    cfg: &GeneratorConfig,
    options: &OnnxOptions,
) -> Result<Vec<u8>, ImportError> {
    cfg.validate()
        .map_err(|e| ImportError::format(e.to_string()))?;
    let out_res = options.resolution.unwrap_or(cfg.img_resolution);
    if !cfg.block_resolutions().contains(&out_res) {
        return Err(ImportError::format(format!(
            "--res {out_res}: the model's blocks are {:?}",
            cfg.block_resolutions()
        )));
    }
    let weights = Weights { state };
    let mut g = GraphBuilder::default();
    let batch = match options.batch {
        Some(n) => Dim::Fixed(n),
        None => Dim::Named("batch".into()),
    };

    let z = (cfg.z_dim > 0).then(|| {
        g.input(
            "z",
            &[batch.clone(), Dim::Fixed(cfg.z_dim)],
            "latent codes, one row per image (official generate.py: RandomState(seed).randn)",
        )
    });
    let c = (cfg.c_dim > 0).then(|| {
        g.input(
            "c",
            &[batch.clone(), Dim::Fixed(cfg.c_dim)],
            "class labels, one-hot rows",
        )
    });
    let psi = g.input_with_default(
        "truncation_psi",
        options.psi,
        "truncation ψ: 1 = none, smaller = closer to the average image",
    );

    let w = g.scoped("mapping", |g| {
        mapping(g, &weights, cfg, z.as_deref(), c.as_deref())
    })?;
    let w = g.scoped("truncation", |g| -> Result<String, ImportError> {
        let w_avg = weights.get("mapping.w_avg")?;
        let w_avg = g.constant("mapping.w_avg", &[1, cfg.w_dim], &w_avg.data);
        let centred = g.sub(&w, &w_avg);
        let scaled = g.mul(&centred, &psi);
        Ok(g.add(&scaled, &w_avg))
    })?;

    let img = synthesis(&mut g, &weights, cfg, &w, out_res)?;
    let dims = [
        batch.clone(),
        Dim::Fixed(cfg.img_channels),
        Dim::Fixed(out_res),
        Dim::Fixed(out_res),
    ];
    g.output(
        &img,
        "img",
        data_type::FLOAT,
        &dims,
        "images NCHW, float, about [-1, 1]",
    );
    let pixels = g.scoped("pixels", |g| {
        // Official generate.py: (img·127.5 + 128).clamp(0, 255).to(uint8), NHWC.
        let nhwc = g.op("Transpose", &[&img], vec![attr_ints("perm", &[0, 2, 3, 1])]);
        let a = g.scalar("scale", 127.5);
        let b = g.scalar("offset", 128.0);
        let lo = g.scalar("lo", 0.0);
        let hi = g.scalar("hi", 255.0);
        let x = g.mul(&nhwc, &a);
        let x = g.add(&x, &b);
        let x = g.op("Clip", &[&x, &lo, &hi], vec![]);
        let x = g.op("Floor", &[&x], vec![]);
        g.op("Cast", &[&x], vec![attr_int("to", data_type::UINT8 as i64)])
    });
    let dims = [
        batch,
        Dim::Fixed(out_res),
        Dim::Fixed(out_res),
        Dim::Fixed(cfg.img_channels),
    ];
    g.output(
        &pixels,
        "pixels",
        data_type::UINT8,
        &dims,
        "8-bit pixels NHWC, as the official generate.py saves them",
    );

    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "fauxto".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: "StyleGAN2 generator (mapping + synthesis, constant noise)".into(),
        graph: Some(g.finish("generator", "")),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: options
            .metadata
            .iter()
            .map(|(key, value)| StringStringEntryProto {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    };
    Ok(model.encode_to_vec())
}

/// Pixel norm (StyleGAN §2): `x / sqrt(mean(x², axis 1) + 1e-8)`.
fn normalize_2nd_moment(g: &mut GraphBuilder, x: &str) -> String {
    let sq = g.mul(x, x);
    // Opset 17 takes the axes as an attribute (an input from opset 18 on).
    let mean = g.op(
        "ReduceMean",
        &[&sq],
        vec![attr_ints("axes", &[1]), attr_int("keepdims", 1)],
    );
    let eps = g.scalar("eps", 1e-8);
    let mean = g.add(&mean, &eps);
    let norm = g.op("Sqrt", &[&mean], vec![]);
    g.op("Div", &[x, &norm], vec![])
}

/// Official `FullyConnectedLayer`: `x·(W·lr/√in)ᵀ + b·lr`, gains folded into the constants.
fn fully_connected(
    g: &mut GraphBuilder,
    weights: &Weights,
    prefix: &str,
    x: &str,
    lr_multiplier: f32,
    extra_gain: f32,
) -> Result<String, ImportError> {
    let weight = weights.get(&format!("{prefix}.weight"))?;
    let bias = weights.get(&format!("{prefix}.bias"))?;
    let (out_f, in_f) = (weight.shape[0], weight.shape[1]);
    let gain = lr_multiplier / (in_f as f32).sqrt() * extra_gain;
    // Stored transposed, [in, out], so the product is a plain Gemm.
    let mut wt = vec![0f32; in_f * out_f];
    for o in 0..out_f {
        for i in 0..in_f {
            wt[i * out_f + o] = weight.data[o * in_f + i] * gain;
        }
    }
    let b: Vec<f32> = bias
        .data
        .iter()
        .map(|v| v * lr_multiplier * extra_gain)
        .collect();
    let w_name = g.constant(&format!("{prefix}.weight_t"), &[in_f, out_f], &wt);
    let b_name = g.constant(&format!("{prefix}.bias"), &[out_f], &b);
    Ok(g.op("Gemm", &[x, &w_name, &b_name], vec![]))
}

fn lrelu_gain(g: &mut GraphBuilder, x: &str) -> String {
    let y = g.op("LeakyRelu", &[x], vec![attr_float("alpha", LRELU_ALPHA)]);
    let gain = g.scalar("lrelu_gain", std::f32::consts::SQRT_2);
    g.mul(&y, &gain)
}

fn mapping(
    g: &mut GraphBuilder,
    weights: &Weights,
    cfg: &GeneratorConfig,
    z: Option<&str>,
    c: Option<&str>,
) -> Result<String, ImportError> {
    let z = z.map(|z| normalize_2nd_moment(g, z));
    let y = match c {
        Some(c) => {
            let e = fully_connected(g, weights, "mapping.embed", c, 1.0, 1.0)?;
            Some(normalize_2nd_moment(g, &e))
        }
        None => None,
    };
    let mut x = match (z, y) {
        (Some(z), Some(y)) => g.op("Concat", &[&z, &y], vec![attr_int("axis", 1)]),
        (Some(z), None) => z,
        (None, Some(y)) => y,
        (None, None) => unreachable!("validated: z_dim or c_dim > 0"),
    };
    let lr = cfg.mapping.lr_multiplier as f32;
    for i in 0..cfg.mapping.num_layers {
        let h = fully_connected(g, weights, &format!("mapping.fc{i}"), &x, lr, 1.0)?;
        x = lrelu_gain(g, &h);
    }
    Ok(x)
}

fn synthesis(
    g: &mut GraphBuilder,
    weights: &Weights,
    cfg: &GeneratorConfig,
    w: &str,
    out_res: usize,
) -> Result<String, ImportError> {
    let clamp = cfg.synthesis.conv_clamp.map(|c| c as f32);
    let mut x: Option<String> = None;
    let mut img: Option<String> = None;
    for res in cfg
        .block_resolutions()
        .into_iter()
        .take_while(|r| *r <= out_res)
    {
        let block = format!("synthesis.b{res}");
        let (bx, bimg) = g.scoped(&block, |g| -> Result<(String, String), ImportError> {
            let bx = match &x {
                None => {
                    let constant = weights.get(&format!("{block}.const"))?;
                    let ch = constant.shape[0];
                    let c = g.constant(&format!("{block}.const"), &[1, ch, 4, 4], &constant.data);
                    let layer = Layer::new(weights, &format!("{block}.conv1"), res, false);
                    layer.build(g, &c, w, clamp)?
                }
                Some(prev) => {
                    let conv0 = Layer::new(weights, &format!("{block}.conv0"), res, true);
                    let h = conv0.build(g, prev, w, clamp)?;
                    let conv1 = Layer::new(weights, &format!("{block}.conv1"), res, false);
                    conv1.build(g, &h, w, clamp)?
                }
            };
            let y = to_rgb(g, weights, &format!("{block}.torgb"), &bx, w, clamp)?;
            let bimg = match &img {
                None => y,
                Some(prev) => {
                    let up = upsample_image(g, prev, cfg.img_channels);
                    g.add(&up, &y)
                }
            };
            Ok((bx, bimg))
        })?;
        x = Some(bx);
        img = Some(bimg);
    }
    Ok(img.expect("at least the 4x4 block"))
}

/// One official `SynthesisLayer`.
struct Layer<'a> {
    prefix: String,
    weights: &'a Weights<'a>,
    resolution: usize,
    up: bool,
}

impl<'a> Layer<'a> {
    fn new(weights: &'a Weights<'a>, prefix: &str, resolution: usize, up: bool) -> Self {
        Self {
            prefix: prefix.to_string(),
            weights,
            resolution,
            up,
        }
    }

    fn build(
        &self,
        g: &mut GraphBuilder,
        x: &str,
        w: &str,
        clamp: Option<f32>,
    ) -> Result<String, ImportError> {
        let p = &self.prefix;
        let weight = self.weights.get(&format!("{p}.weight"))?;
        let (o, i, k) = (weight.shape[0], weight.shape[1], weight.shape[2]);
        let styles = fully_connected(g, self.weights, &format!("{p}.affine"), w, 1.0, 1.0)?;
        let s4 = g.reshape(&styles, &[-1, i as i64, 1, 1]);
        let modulated = g.mul(x, &s4);

        let y = if self.up {
            // Transposed convolution with the weight's in/out axes swapped, stride 2, then
            // the FIR filter (gain 4) with one pixel of padding on each side.
            let mut wt = vec![0f32; weight.data.len()];
            let kk = k * k;
            for oo in 0..o {
                for ii in 0..i {
                    let src = (oo * i + ii) * kk;
                    let dst = (ii * o + oo) * kk;
                    wt[dst..dst + kk].copy_from_slice(&weight.data[src..src + kk]);
                }
            }
            let wt = g.constant(&format!("{p}.weight_t"), &[i, o, k, k], &wt);
            let up = g.op(
                "ConvTranspose",
                &[&modulated, &wt],
                vec![attr_ints("strides", &[2, 2])],
            );
            fir_conv(g, &up, o, 1, 4.0)
        } else {
            let wc = g.constant(&format!("{p}.weight"), &[o, i, k, k], &weight.data);
            let pad = (k / 2) as i64;
            g.op(
                "Conv",
                &[&modulated, &wc],
                vec![attr_ints("pads", &[pad, pad, pad, pad])],
            )
        };

        // Demodulation: d[n, o] = rsqrt(Σ_i s[n,i]² · Σ_k W[o,i,k]² + 1e-8).
        let mut wsq = vec![0f32; i * o];
        for oo in 0..o {
            for ii in 0..i {
                let base = (oo * i + ii) * k * k;
                wsq[ii * o + oo] = weight.data[base..base + k * k].iter().map(|v| v * v).sum();
            }
        }
        let wsq = g.constant(&format!("{p}.weight_sq"), &[i, o], &wsq);
        let s2 = g.mul(&styles, &styles);
        let e = g.op("MatMul", &[&s2, &wsq], vec![]);
        let eps = g.scalar("eps", 1e-8);
        let e = g.add(&e, &eps);
        let e = g.op("Sqrt", &[&e], vec![]);
        let d = g.op("Reciprocal", &[&e], vec![]);
        let d4 = g.reshape(&d, &[-1, o as i64, 1, 1]);
        let y = g.mul(&y, &d4);

        // Constant noise times its learned strength, then bias, activation, clamp.
        let noise = self.weights.get(&format!("{p}.noise_const"))?;
        let strength = self.weights.get(&format!("{p}.noise_strength"))?.data[0];
        let r = self.resolution;
        let noise: Vec<f32> = noise.data.iter().map(|v| v * strength).collect();
        let noise = g.constant(&format!("{p}.noise"), &[1, 1, r, r], &noise);
        let y = g.add(&y, &noise);
        let bias = self.weights.get(&format!("{p}.bias"))?;
        let b = g.constant(&format!("{p}.bias"), &[1, o, 1, 1], &bias.data);
        let y = g.add(&y, &b);
        let y = lrelu_gain(g, &y);
        Ok(match clamp {
            Some(c) => clip(g, &y, c),
            None => y,
        })
    }
}

fn clip(g: &mut GraphBuilder, x: &str, c: f32) -> String {
    let lo = g.scalar("clamp_lo", -c);
    let hi = g.scalar("clamp_hi", c);
    g.op("Clip", &[x, &lo, &hi], vec![])
}

/// Official `ToRGBLayer`: 1×1 modulated convolution without demodulation, bias, clamp.
fn to_rgb(
    g: &mut GraphBuilder,
    weights: &Weights,
    prefix: &str,
    x: &str,
    w: &str,
    clamp: Option<f32>,
) -> Result<String, ImportError> {
    let weight = weights.get(&format!("{prefix}.weight"))?;
    let (o, i) = (weight.shape[0], weight.shape[1]);
    let weight_gain = 1.0 / (i as f32).sqrt();
    let styles = fully_connected(g, weights, &format!("{prefix}.affine"), w, 1.0, weight_gain)?;
    let s4 = g.reshape(&styles, &[-1, i as i64, 1, 1]);
    let modulated = g.mul(x, &s4);
    let wc = g.constant(&format!("{prefix}.weight"), &[o, i, 1, 1], &weight.data);
    let y = g.op("Conv", &[&modulated, &wc], vec![]);
    let bias = weights.get(&format!("{prefix}.bias"))?;
    let b = g.constant(&format!("{prefix}.bias"), &[1, o, 1, 1], &bias.data);
    let y = g.add(&y, &b);
    Ok(match clamp {
        Some(c) => clip(g, &y, c),
        None => y,
    })
}

/// The [1,3,3,1] FIR filter (outer product, unit sum, times `gain`) as a depthwise kernel
/// [channels, 1, 4, 4].
fn fir_constant(g: &mut GraphBuilder, name: &str, channels: usize, gain: f32) -> String {
    let taps = depthwise_filter_values(gain);
    let data: Vec<f32> = (0..channels).flat_map(|_| taps).collect();
    g.constant(name, &[channels, 1, 4, 4], &data)
}

/// The FIR filter as a depthwise convolution over `channels`, with `pad` pixels of zero
/// padding on each side.
fn fir_conv(g: &mut GraphBuilder, x: &str, channels: usize, pad: i64, gain: f32) -> String {
    let f = fir_constant(g, "fir", channels, gain);
    g.op(
        "Conv",
        &[x, &f],
        vec![
            attr_int("group", channels as i64),
            attr_ints("pads", &[pad, pad, pad, pad]),
        ],
    )
}

/// Official `upsample2d` (zero insertion, FIR with gain 4, padding [2, 1]) as one
/// depthwise transposed convolution with stride 2 and one pixel cropped on each side.
fn upsample_image(g: &mut GraphBuilder, img: &str, channels: usize) -> String {
    let f = fir_constant(g, "upsample_fir", channels, 4.0);
    g.op(
        "ConvTranspose",
        &[img, &f],
        vec![
            attr_int("group", channels as i64),
            attr_ints("strides", &[2, 2]),
            attr_ints("pads", &[1, 1, 1, 1]),
        ],
    )
}

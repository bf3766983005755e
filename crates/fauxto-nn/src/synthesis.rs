//! The synthesis network w → image (StyleGAN2 §2 and Figure 7, skip architecture):
//! a learned 4x4 constant, then per resolution a block of two modulated 3x3 convolutions
//! (the first upsamples 2x) and a toRGB whose output is added to the upsampled image so far.
//! Official classes: `SynthesisBlock`, `SynthesisNetwork`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::config::GeneratorConfig;
use crate::error::ModelError;
use crate::fir::upsample2d;
use crate::layers::{NoiseMode, SynthesisLayer, ToRgbLayer};
use crate::state::{join, Init, ParamSource, StateDict};
use crate::tape::ActivationTape;

/// One resolution of the synthesis network (official name `b{resolution}`).
#[derive(Module, Debug)]
pub struct SynthesisBlock<B: Backend> {
    /// The learned constant input of the 4x4 block (official name `const`),
    /// [channels, 4, 4].
    pub const_input: Option<Param<Tensor<B, 3>>>,
    /// The upsampling convolution (absent in the 4x4 block).
    pub conv0: Option<SynthesisLayer<B>>,
    pub conv1: SynthesisLayer<B>,
    pub torgb: ToRgbLayer<B>,
    pub resolution: usize,
}

impl<B: Backend> SynthesisBlock<B> {
    /// `in_channels = 0` makes the first (constant-input) block.
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_channels: usize,
        out_channels: usize,
        cfg: &GeneratorConfig,
        resolution: usize,
    ) -> Result<Self, ModelError> {
        let clamp = cfg.synthesis.conv_clamp;
        let const_input = if in_channels == 0 {
            Some(src.param(
                &join(prefix, "const"),
                [out_channels, resolution, resolution],
                Init::Normal { std: 1.0 },
            )?)
        } else {
            None
        };
        let conv0 = if in_channels == 0 {
            None
        } else {
            Some(SynthesisLayer::new(
                src,
                &join(prefix, "conv0"),
                in_channels,
                out_channels,
                cfg.w_dim,
                resolution,
                2,
                clamp,
            )?)
        };
        let conv1 = SynthesisLayer::new(
            src,
            &join(prefix, "conv1"),
            out_channels,
            out_channels,
            cfg.w_dim,
            resolution,
            1,
            clamp,
        )?;
        let torgb = ToRgbLayer::new(
            src,
            &join(prefix, "torgb"),
            out_channels,
            cfg.img_channels,
            cfg.w_dim,
            clamp,
        )?;
        Ok(Self {
            const_input,
            conv0,
            conv1,
            torgb,
            resolution,
        })
    }

    /// Number of w vectors this block's convolutions consume (toRGB shares the next one).
    pub fn num_conv(&self) -> usize {
        if self.conv0.is_some() {
            2
        } else {
            1
        }
    }

    /// ws: the block's `num_conv + 1` w vectors, each [N, w_dim]. Returns the features
    /// and the image so far.
    pub fn forward(
        &self,
        x: Option<Tensor<B, 4>>,
        img: Option<Tensor<B, 4>>,
        ws: &[Tensor<B, 2>],
        noise_mode: NoiseMode,
        tape: &mut ActivationTape<B>,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        assert_eq!(ws.len(), self.num_conv() + 1, "block needs num_conv + 1 ws");
        let x = match (&self.const_input, &self.conv0) {
            (Some(c), _) => {
                let n = ws[0].dims()[0];
                let c = c.val();
                let [ch, h, w] = c.dims();
                let x = c.reshape([1, ch, h, w]).repeat_dim(0, n);
                self.conv1
                    .forward_taped(x, ws[0].clone(), noise_mode, 1.0, tape)
            }
            (None, Some(conv0)) => {
                let x = x.expect("block above 4x4 needs input features");
                let x = conv0.forward_taped(x, ws[0].clone(), noise_mode, 1.0, tape);
                self.conv1
                    .forward_taped(x, ws[1].clone(), noise_mode, 1.0, tape)
            }
            (None, None) => unreachable!("a block has a constant input or conv0"),
        };
        let y = self
            .torgb
            .forward_taped(x.clone(), ws[self.num_conv()].clone(), tape);
        let img = match img {
            Some(img) => upsample2d(img) + y,
            None => y,
        };
        (x, img)
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        if let Some(c) = &self.const_input {
            sd.insert(join(prefix, "const"), &c.val());
        }
        if let Some(conv0) = &self.conv0 {
            conv0.save(&join(prefix, "conv0"), sd);
        }
        self.conv1.save(&join(prefix, "conv1"), sd);
        self.torgb.save(&join(prefix, "torgb"), sd);
    }
}

/// The synthesis network: blocks `b4`, `b8`, …, `b{img_resolution}`.
#[derive(Module, Debug)]
pub struct SynthesisNetwork<B: Backend> {
    pub blocks: Vec<SynthesisBlock<B>>,
    pub num_ws: usize,
}

impl<B: Backend> SynthesisNetwork<B> {
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        cfg: &GeneratorConfig,
    ) -> Result<Self, ModelError> {
        let mut blocks = Vec::new();
        for res in cfg.block_resolutions() {
            let in_channels = if res == 4 { 0 } else { cfg.channels(res / 2) };
            blocks.push(SynthesisBlock::new(
                src,
                &join(prefix, &format!("b{res}")),
                in_channels,
                cfg.channels(res),
                cfg,
                res,
            )?);
        }
        Ok(Self {
            blocks,
            num_ws: cfg.num_ws(),
        })
    }

    /// ws: [N, num_ws, w_dim] → image [N, img_channels, R, R] in about [-1, 1].
    pub fn forward(&self, ws: Tensor<B, 3>, noise_mode: NoiseMode) -> Tensor<B, 4> {
        self.forward_with(ws, noise_mode, &mut ActivationTape::free(), |_, _, _| {})
    }

    /// As [`forward`](Self::forward), calling `trace(resolution, x, img)` after each block.
    pub fn forward_traced(
        &self,
        ws: Tensor<B, 3>,
        noise_mode: NoiseMode,
        trace: impl FnMut(usize, &Tensor<B, 4>, &Tensor<B, 4>),
    ) -> Tensor<B, 4> {
        self.forward_with(ws, noise_mode, &mut ActivationTape::free(), trace)
    }

    /// As [`forward`](Self::forward) with the noise draws, activations and clamps on
    /// `tape` (training's finite-difference regularisers record and replay them).
    pub fn forward_taped(
        &self,
        ws: Tensor<B, 3>,
        noise_mode: NoiseMode,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 4> {
        self.forward_with(ws, noise_mode, tape, |_, _, _| {})
    }

    fn forward_with(
        &self,
        ws: Tensor<B, 3>,
        noise_mode: NoiseMode,
        tape: &mut ActivationTape<B>,
        mut trace: impl FnMut(usize, &Tensor<B, 4>, &Tensor<B, 4>),
    ) -> Tensor<B, 4> {
        let [n, num_ws, w_dim] = ws.dims();
        assert_eq!(num_ws, self.num_ws, "ws must hold num_ws vectors");
        let w_at = |i: usize| {
            ws.clone()
                .slice([0..n, i..i + 1, 0..w_dim])
                .reshape([n, w_dim])
        };
        let (mut x, mut img) = (None, None);
        let mut w_idx = 0;
        for block in &self.blocks {
            let block_ws: Vec<_> = (w_idx..w_idx + block.num_conv() + 1).map(w_at).collect();
            let (bx, bimg) = block.forward(x, img, &block_ws, noise_mode, tape);
            trace(block.resolution, &bx, &bimg);
            x = Some(bx);
            img = Some(bimg);
            w_idx += block.num_conv();
        }
        img.expect("at least one block")
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        for block in &self.blocks {
            block.save(&join(prefix, &format!("b{}", block.resolution)), sd);
        }
    }
}

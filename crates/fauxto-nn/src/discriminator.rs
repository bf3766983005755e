//! The StyleGAN2 discriminator (residual architecture, StyleGAN2 Figure 7c): fromRGB at
//! full resolution, then per resolution two 3x3 convolutions (the second downsampling
//! 2x) plus a downsampling 1x1 skip, each branch scaled by √½; at 4x4 the epilogue with
//! minibatch standard deviation (ProGAN §3), a convolution and two dense layers, and a
//! projection onto the embedded label for conditional models (Miyato & Koyama 2018).
//! Official classes: `DiscriminatorBlock`, `MinibatchStdLayer`, `DiscriminatorEpilogue`,
//! `Discriminator`.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use crate::config::DiscriminatorConfig;
use crate::error::ModelError;
use crate::layers::conv::{Conv2dLayer, ConvLayerOptions};
use crate::layers::fc::{FcOptions, FullyConnectedLayer};
use crate::mapping::MappingNetwork;
use crate::ops::Activation;
use crate::state::{build_strict, join, ParamSource, StateDict};
use crate::tape::ActivationTape;

/// One resolution of the discriminator (official name `b{resolution}`).
#[derive(Module, Debug)]
pub struct DiscriminatorBlock<B: Backend> {
    /// 1x1 fromRGB, only in the first block.
    pub fromrgb: Option<Conv2dLayer<B>>,
    pub conv0: Conv2dLayer<B>,
    /// Downsampling 3x3 convolution.
    pub conv1: Conv2dLayer<B>,
    /// Downsampling 1x1 residual skip (resnet architecture only).
    pub skip: Option<Conv2dLayer<B>>,
    pub resolution: usize,
}

impl<B: Backend> DiscriminatorBlock<B> {
    /// `in_channels = 0` makes the first block, which reads the image.
    #[allow(clippy::too_many_arguments)]
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_channels: usize,
        tmp_channels: usize,
        out_channels: usize,
        resolution: usize,
        cfg: &DiscriminatorConfig,
    ) -> Result<Self, ModelError> {
        let lrelu = ConvLayerOptions {
            activation: Activation::Lrelu,
            conv_clamp: cfg.conv_clamp,
            ..ConvLayerOptions::default()
        };
        let fromrgb = if in_channels == 0 {
            Some(Conv2dLayer::new(
                src,
                &join(prefix, "fromrgb"),
                cfg.img_channels,
                tmp_channels,
                1,
                lrelu,
            )?)
        } else {
            None
        };
        let conv0 = Conv2dLayer::new(
            src,
            &join(prefix, "conv0"),
            tmp_channels,
            tmp_channels,
            3,
            lrelu,
        )?;
        let conv1 = Conv2dLayer::new(
            src,
            &join(prefix, "conv1"),
            tmp_channels,
            out_channels,
            3,
            ConvLayerOptions { down: 2, ..lrelu },
        )?;
        let skip = if cfg.architecture == "resnet" {
            Some(Conv2dLayer::new(
                src,
                &join(prefix, "skip"),
                tmp_channels,
                out_channels,
                1,
                ConvLayerOptions {
                    bias: false,
                    down: 2,
                    ..ConvLayerOptions::default()
                },
            )?)
        } else {
            None
        };
        Ok(Self {
            fromrgb,
            conv0,
            conv1,
            skip,
            resolution,
        })
    }

    /// x: features from the block above (None for the first block), img: the input image.
    pub fn forward(
        &self,
        x: Option<Tensor<B, 4>>,
        img: &Tensor<B, 4>,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 4> {
        let x = match (&self.fromrgb, x) {
            (Some(fromrgb), x) => {
                let y = fromrgb.forward_taped(img.clone(), 1.0, tape);
                match x {
                    Some(x) => x + y,
                    None => y,
                }
            }
            (None, Some(x)) => x,
            (None, None) => unreachable!("a block without fromRGB needs features"),
        };
        match &self.skip {
            Some(skip) => {
                let gain = std::f64::consts::FRAC_1_SQRT_2;
                let y = skip.forward_taped(x.clone(), gain, tape);
                let x = self.conv0.forward_taped(x, 1.0, tape);
                y + self.conv1.forward_taped(x, gain, tape)
            }
            None => {
                let x = self.conv0.forward_taped(x, 1.0, tape);
                self.conv1.forward_taped(x, 1.0, tape)
            }
        }
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        if let Some(fromrgb) = &self.fromrgb {
            fromrgb.save(&join(prefix, "fromrgb"), sd);
        }
        self.conv0.save(&join(prefix, "conv0"), sd);
        self.conv1.save(&join(prefix, "conv1"), sd);
        if let Some(skip) = &self.skip {
            skip.save(&join(prefix, "skip"), sd);
        }
    }
}

/// Minibatch standard deviation (ProGAN §3): splits the batch into groups of
/// `min(group_size, N)` (sample n belongs to group n mod N/G), computes the standard
/// deviation of each feature over each group, averages it over channels (in
/// `num_channels` slices) and pixels, and appends it as extra feature maps.
pub fn minibatch_stddev<B: Backend>(
    x: Tensor<B, 4>,
    group_size: Option<usize>,
    num_channels: usize,
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let g = group_size.map_or(n, |g| g.min(n));
    assert!(
        n % g == 0,
        "minibatch-stddev: batch {n} must be a multiple of the group size {g}"
    );
    let f = num_channels;
    let y = x.clone().reshape([g, n / g, f * (c / f) * h * w]);
    let y = y.clone() - y.mean_dim(0);
    let y = y.square().mean_dim(0).add_scalar(1e-8).sqrt(); // [1, N/G, F·c·H·W]
    let y = y.reshape([n / g, f, (c / f) * h * w]).mean_dim(2); // [N/G, F, 1]
    let y = y
        .reshape([1, n / g, f, 1, 1])
        .repeat_dim(0, g)
        .reshape([n, f, 1, 1])
        .repeat_dim(2, h)
        .repeat_dim(3, w);
    Tensor::cat(vec![x, y], 1)
}

/// The 4x4 head (official name `b4`).
#[derive(Module, Debug)]
pub struct DiscriminatorEpilogue<B: Backend> {
    pub conv: Conv2dLayer<B>,
    pub fc: FullyConnectedLayer<B>,
    pub out: FullyConnectedLayer<B>,
    pub cmap_dim: usize,
    pub mbstd_group_size: Option<usize>,
    pub mbstd_num_channels: usize,
}

impl<B: Backend> DiscriminatorEpilogue<B> {
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        in_channels: usize,
        cfg: &DiscriminatorConfig,
    ) -> Result<Self, ModelError> {
        let cmap_dim = cfg.effective_cmap_dim();
        let conv = Conv2dLayer::new(
            src,
            &join(prefix, "conv"),
            in_channels + cfg.mbstd_num_channels,
            in_channels,
            3,
            ConvLayerOptions {
                activation: Activation::Lrelu,
                conv_clamp: cfg.conv_clamp,
                ..ConvLayerOptions::default()
            },
        )?;
        let fc = FullyConnectedLayer::new(
            src,
            &join(prefix, "fc"),
            in_channels * 16,
            in_channels,
            FcOptions {
                activation: Activation::Lrelu,
                ..FcOptions::default()
            },
        )?;
        let out = FullyConnectedLayer::new(
            src,
            &join(prefix, "out"),
            in_channels,
            if cmap_dim == 0 { 1 } else { cmap_dim },
            FcOptions::default(),
        )?;
        Ok(Self {
            conv,
            fc,
            out,
            cmap_dim,
            mbstd_group_size: cfg.mbstd_group_size,
            mbstd_num_channels: cfg.mbstd_num_channels,
        })
    }

    /// x: [N, C, 4, 4] → logits [N, 1].
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        cmap: Option<Tensor<B, 2>>,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 2> {
        let x = if self.mbstd_num_channels > 0 {
            minibatch_stddev(x, self.mbstd_group_size, self.mbstd_num_channels)
        } else {
            x
        };
        let x = self.conv.forward_taped(x, 1.0, tape);
        let x = self.fc.forward_taped(x.flatten(1, 3), tape);
        let x = self.out.forward(x);
        match cmap {
            Some(cmap) if self.cmap_dim > 0 => (x * cmap)
                .sum_dim(1)
                .mul_scalar(1.0 / (self.cmap_dim as f64).sqrt()),
            _ => x,
        }
    }

    pub fn save(&self, prefix: &str, sd: &mut StateDict) {
        self.conv.save(&join(prefix, "conv"), sd);
        self.fc.save(&join(prefix, "fc"), sd);
        self.out.save(&join(prefix, "out"), sd);
    }
}

#[derive(Module, Debug)]
pub struct Discriminator<B: Backend> {
    /// Blocks `b{img_resolution}` … `b8`.
    pub blocks: Vec<DiscriminatorBlock<B>>,
    /// Label mapping (conditional models only).
    pub mapping: Option<MappingNetwork<B>>,
    pub b4: DiscriminatorEpilogue<B>,
    #[module(skip)]
    pub config: DiscriminatorConfig,
}

impl<B: Backend> Discriminator<B> {
    pub fn new<S: ParamSource<B>>(
        src: &mut S,
        prefix: &str,
        cfg: &DiscriminatorConfig,
    ) -> Result<Self, ModelError> {
        cfg.validate()?;
        let mut blocks = Vec::new();
        for res in cfg.block_resolutions() {
            let in_channels = if res < cfg.img_resolution {
                cfg.channels(res)
            } else {
                0
            };
            blocks.push(DiscriminatorBlock::new(
                src,
                &join(prefix, &format!("b{res}")),
                in_channels,
                cfg.channels(res),
                cfg.channels(res / 2),
                res,
                cfg,
            )?);
        }
        let mapping = if cfg.c_dim > 0 {
            Some(MappingNetwork::new(
                src,
                &join(prefix, "mapping"),
                0,
                cfg.c_dim,
                cfg.effective_cmap_dim(),
                None,
                &cfg.mapping,
            )?)
        } else {
            None
        };
        let b4 = DiscriminatorEpilogue::new(src, &join(prefix, "b4"), cfg.channels(4), cfg)?;
        Ok(Self {
            blocks,
            mapping,
            b4,
            config: cfg.clone(),
        })
    }

    pub fn from_state_dict(
        state: &StateDict,
        cfg: &DiscriminatorConfig,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        build_strict(state, device, |src| Self::new(src, "", cfg))
    }

    /// img: [N, C, R, R] in [-1, 1], c: [N, c_dim] → logits [N, 1].
    pub fn forward(&self, img: Tensor<B, 4>, c: Option<Tensor<B, 2>>) -> Tensor<B, 2> {
        self.forward_with(img, c, &mut ActivationTape::free(), |_, _| {})
    }

    /// As [`forward`](Self::forward) with the activations and clamps on `tape`
    /// (training's finite-difference R1 records and replays them).
    pub fn forward_taped(
        &self,
        img: Tensor<B, 4>,
        c: Option<Tensor<B, 2>>,
        tape: &mut ActivationTape<B>,
    ) -> Tensor<B, 2> {
        self.forward_with(img, c, tape, |_, _| {})
    }

    /// As [`forward`](Self::forward), calling `trace(resolution, x)` after each block.
    pub fn forward_traced(
        &self,
        img: Tensor<B, 4>,
        c: Option<Tensor<B, 2>>,
        trace: impl FnMut(usize, &Tensor<B, 4>),
    ) -> Tensor<B, 2> {
        self.forward_with(img, c, &mut ActivationTape::free(), trace)
    }

    fn forward_with(
        &self,
        img: Tensor<B, 4>,
        c: Option<Tensor<B, 2>>,
        tape: &mut ActivationTape<B>,
        mut trace: impl FnMut(usize, &Tensor<B, 4>),
    ) -> Tensor<B, 2> {
        let mut x = None;
        for block in &self.blocks {
            let bx = block.forward(x, &img, tape);
            trace(block.resolution, &bx);
            x = Some(bx);
        }
        let cmap = self.mapping.as_ref().map(|m| m.forward(None, c));
        let x = x.expect("resolution ≥ 8 gives at least one block");
        self.b4.forward(x, cmap, tape)
    }

    pub fn state_dict(&self) -> StateDict {
        let mut sd = StateDict::default();
        for block in &self.blocks {
            block.save(&format!("b{}", block.resolution), &mut sd);
        }
        if let Some(m) = &self.mapping {
            m.save("mapping", &mut sd);
        }
        self.b4.save("b4", &mut sd);
        sd
    }
}

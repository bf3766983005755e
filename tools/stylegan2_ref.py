"""Reference StyleGAN2-ADA networks in plain PyTorch.

This module is the numerical reference for the Rust implementation in
``crates/fauxto-nn``.  It follows the semantics of the StyleGAN2-ADA paper
(Karras et al., "Training Generative Adversarial Networks with Limited Data",
2020) and its predecessor (Karras et al., "Analyzing and Improving the Image
Quality of StyleGAN", 2020, referred to below as "StyleGAN2"), and it uses the
same parameter and buffer names as the published StyleGAN2-ADA checkpoints, so
``state_dict()`` keys line up one to one with a converted ``G_ema`` / ``D``.

Everything is written with ordinary ``torch.nn.functional`` ops so that it runs
in float32 or float64 (``module.double()``) on CPU or CUDA.  There is no mixed
precision: ``num_fp16_res`` is accepted for config compatibility and ignored.

Conventions shared with the checkpoints:

* Weights are stored unscaled (N(0, 1) at init) and scaled at run time
  ("equalized learning rate", ProGAN section 4.1).
* Resampling uses the separable FIR filter [1, 3, 3, 1] (outer product,
  normalised to unit sum), applied as a 4x4 2-D filter.
* Activations are "bias_act": add bias, apply the nonlinearity, multiply by a
  gain (sqrt(2) for leaky ReLU), then optionally clamp to +-conv_clamp.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# Elementwise helpers
# ---------------------------------------------------------------------------

#: activation name -> (function, default gain)
ACTIVATIONS = {
    "linear": (lambda x: x, 1.0),
    "relu": (F.relu, math.sqrt(2.0)),
    "lrelu": (lambda x: F.leaky_relu(x, 0.2), math.sqrt(2.0)),
}


def default_gain(activation: str) -> float:
    return ACTIVATIONS[activation][1]


def bias_act(
    x: torch.Tensor,
    b: Optional[torch.Tensor] = None,
    act: str = "linear",
    gain: Optional[float] = None,
    clamp: Optional[float] = None,
    dim: int = 1,
) -> torch.Tensor:
    """Fused bias + activation + gain + clamp.

    ``y = clamp(act(x + b) * gain, -clamp, clamp)``; ``b`` is broadcast along
    ``dim``.  ``gain=None`` means the activation's default gain (sqrt(2) for
    (leaky) ReLU so that the activation roughly preserves the second moment).
    Clamping is skipped when ``clamp`` is None (or negative).
    """
    fn, def_gain = ACTIVATIONS[act]
    if b is not None:
        shape = [-1 if i == dim else 1 for i in range(x.ndim)]
        x = x + b.reshape(shape)
    x = fn(x)
    g = def_gain if gain is None else gain
    if g != 1:
        x = x * g
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale each vector to unit root-mean-square (StyleGAN's "pixel norm" of z)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


# ---------------------------------------------------------------------------
# FIR resampling (upfirdn2d) and resampling convolution
# ---------------------------------------------------------------------------


def setup_filter(f: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """1-D taps -> normalised 2-D filter (outer product, unit sum), float32.

    The checkpoints store this as the ``resample_filter`` buffer of resampling
    layers.  Short filters (< 8 taps) are kept non-separable, as 4x4 for the
    default [1, 3, 3, 1].
    """
    t = torch.as_tensor(f, dtype=torch.float32)
    if t.ndim == 0:
        t = t[None]
    if t.ndim == 1:
        t = torch.outer(t, t)
    return t / t.sum()


def _padding4(padding: Union[int, Sequence[int]]) -> List[int]:
    """int | [px, py] | [px0, px1, py0, py1] -> [px0, px1, py0, py1]."""
    if isinstance(padding, int):
        return [padding] * 4
    padding = list(padding)
    if len(padding) == 2:
        px, py = padding
        return [px, px, py, py]
    assert len(padding) == 4
    return padding


def upfirdn2d(
    x: torch.Tensor,
    f: Optional[torch.Tensor],
    up: int = 1,
    down: int = 1,
    padding: Union[int, Sequence[int]] = 0,
    gain: float = 1.0,
    flip_filter: bool = False,
) -> torch.Tensor:
    """Upsample (zero insertion), pad/crop, FIR filter, downsample (decimation).

    1. each sample is followed by ``up - 1`` zeros along H and W
       (so the upsampled size is exactly ``H * up``);
    2. pad by ``padding = [px0, px1, py0, py1]`` (negative values crop);
    3. convolve (true convolution, i.e. correlation with the flipped filter)
       depthwise with ``f * gain ** (f.ndim / 2)``;
    4. keep every ``down``-th sample starting at index 0.
    """
    n, c, h, w = x.shape
    if f is None:
        f = torch.ones([1, 1], dtype=x.dtype, device=x.device)
    px0, px1, py0, py1 = _padding4(padding)

    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)

    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]

    f = f.to(dtype=x.dtype, device=x.device) * (gain ** (f.ndim / 2))
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    if f.ndim == 1:  # separable: filter rows then columns
        x = F.conv2d(x, f.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
        x = F.conv2d(x, f.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    else:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)

    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def _filter_size(f: Optional[torch.Tensor]):
    if f is None:
        return 1, 1
    if f.ndim == 1:
        return f.shape[0], f.shape[0]
    return f.shape[-1], f.shape[-2]


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2, padding=0, gain: float = 1.0) -> torch.Tensor:
    """2x FIR upsampling; for the 4-tap filter the padding is [2, 1, 2, 1], gain up**2."""
    fw, fh = _filter_size(f)
    px0, px1, py0, py1 = _padding4(padding)
    p = [px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2, py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2]
    return upfirdn2d(x, f, up=up, padding=p, gain=gain * up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2, padding=0, gain: float = 1.0) -> torch.Tensor:
    """2x FIR downsampling; for the 4-tap filter the padding is [1, 1, 1, 1], gain 1."""
    fw, fh = _filter_size(f)
    px0, px1, py0, py1 = _padding4(padding)
    p = [px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2, py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2]
    return upfirdn2d(x, f, down=down, padding=p, gain=gain)


def _conv(x, w, stride=1, padding=0, groups=1, transpose=False, flip_weight=True):
    """conv2d / conv_transpose2d; ``flip_weight=False`` flips the kernel spatially.

    ``F.conv2d`` computes a cross-correlation, which is what ``flip_weight=True``
    asks for (the naming follows the checkpoints' code base).
    """
    if not flip_weight:
        w = w.flip([2, 3])
    if transpose:
        return F.conv_transpose2d(x, w, stride=stride, padding=padding, groups=groups)
    return F.conv2d(x, w, stride=stride, padding=padding, groups=groups)


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: Optional[torch.Tensor] = None,
    up: int = 1,
    down: int = 1,
    padding: Union[int, Sequence[int]] = 0,
    groups: int = 1,
    flip_weight: bool = True,
) -> torch.Tensor:
    """2-D convolution combined with FIR up- or downsampling.

    Mathematically: ``upfirdn2d(up) -> conv2d(w) -> upfirdn2d(down)`` with the
    FIR filter ``f``; it is evaluated with the cheapest equivalent ordering:

    * 1x1 kernel, down only: FIR-downsample, then the 1x1 conv;
    * 1x1 kernel, up only:   1x1 conv, then FIR-upsample;
    * down only:  FIR filter with padding, then a stride-``down`` conv;
    * up:         stride-``up`` transposed conv, then the FIR filter
                  (gain ``up**2``), then optional FIR downsampling;
    * neither:    plain conv2d with symmetric padding.

    ``w`` is [out, in/groups, kh, kw].  Padding bookkeeping follows the
    checkpoints' code base exactly (it determines the sub-pixel alignment).
    """
    out_ch, in_per_group, kh, kw = w.shape
    fw, fh = _filter_size(f)
    px0, px1, py0, py1 = _padding4(padding)

    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2

    if kw == 1 and kh == 1 and down > 1 and up == 1:
        x = upfirdn2d(x, f, down=down, padding=[px0, px1, py0, py1])
        return _conv(x, w, groups=groups, flip_weight=flip_weight)

    if kw == 1 and kh == 1 and up > 1 and down == 1:
        x = _conv(x, w, groups=groups, flip_weight=flip_weight)
        return upfirdn2d(x, f, up=up, padding=[px0, px1, py0, py1], gain=up * up)

    if down > 1 and up == 1:
        x = upfirdn2d(x, f, padding=[px0, px1, py0, py1])
        return _conv(x, w, stride=down, groups=groups, flip_weight=flip_weight)

    if up > 1:
        # conv_transpose2d wants [in, out/groups, kh, kw].
        if groups == 1:
            wt = w.transpose(0, 1)
        else:
            wt = w.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
            wt = wt.reshape(groups * in_per_group, out_ch // groups, kh, kw)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        # The transposed conv already mirrors the kernel, hence the inverted flag.
        x = _conv(x, wt, stride=up, padding=[pyt, pxt], groups=groups, transpose=True, flip_weight=not flip_weight)
        x = upfirdn2d(x, f, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up * up)
        if down > 1:
            x = upfirdn2d(x, f, down=down)
        return x

    if up == 1 and down == 1 and px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return _conv(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight)

    # Generic fallback (not reached by the StyleGAN2 layers).
    x = upfirdn2d(x, f if up > 1 else None, up=up, padding=[px0, px1, py0, py1], gain=up * up)
    x = _conv(x, w, groups=groups, flip_weight=flip_weight)
    if down > 1:
        x = upfirdn2d(x, f, down=down)
    return x


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: Optional[torch.Tensor] = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    resample_filter: Optional[torch.Tensor] = None,
    demodulate: bool = True,
    flip_weight: bool = True,
    fused_modconv: bool = True,
) -> torch.Tensor:
    """Weight (de)modulation, StyleGAN2 section 2.2 / Eq. 1-3.

    ``w'_ijk = s_i * w_ijk`` (modulation by the per-sample style ``s``) and,
    with ``demodulate``, ``w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + 1e-8)``.

    * fused: materialise per-sample weights and run one grouped convolution
      (groups = batch) -- what inference uses;
    * non-fused: scale the input channels by ``s``, convolve with the shared
      weight, and scale the output channels by the demodulation coefficients
      (mathematically identical; what training uses).

    ``noise`` (already multiplied by its strength) is added after
    demodulation.  x: [N, I, H, W]; weight: [O, I, kh, kw]; styles: [N, I].
    """
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape

    w = None
    dcoefs = None
    if demodulate or fused_modconv:
        w = weight[None] * styles.reshape(n, 1, in_ch, 1, 1)  # [N, O, I, kh, kw]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]

    if not fused_modconv:
        x = x * styles.reshape(n, in_ch, 1, 1)
        x = conv2d_resample(x, weight, f=resample_filter, up=up, down=down, padding=padding, flip_weight=flip_weight)
        if demodulate:
            x = x * dcoefs.reshape(n, out_ch, 1, 1)
        if noise is not None:
            x = x + noise
        return x

    if demodulate:
        w = w * dcoefs.reshape(n, out_ch, 1, 1, 1)
    x = x.reshape(1, n * in_ch, *x.shape[2:])
    w = w.reshape(n * out_ch, in_ch, kh, kw)
    x = conv2d_resample(x, w, f=resample_filter, up=up, down=down, padding=padding, groups=n, flip_weight=flip_weight)
    x = x.reshape(n, out_ch, *x.shape[2:])
    if noise is not None:
        x = x + noise
    return x


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


class FullyConnectedLayer(torch.nn.Module):
    """Dense layer with equalized learning rate.

    ``weight`` [out, in] is initialised N(0, 1/lr_multiplier^2) and used as
    ``weight * lr_multiplier / sqrt(in)``; ``bias`` is used as
    ``bias * lr_multiplier``.  The mapping network uses lr_multiplier=0.01
    (StyleGAN section 2 / appendix C).
    """

    def __init__(self, in_features, out_features, bias=True, activation="linear", lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight * self.weight_gain
        b = self.bias
        if b is not None and self.bias_gain != 1:
            b = b * self.bias_gain
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class MappingNetwork(torch.nn.Module):
    """Mapping network f: z -> w (StyleGAN section 2), with class conditioning.

    z is normalised to unit RMS; a label c is embedded by a linear layer and
    normalised likewise; both are concatenated and passed through
    ``num_layers`` leaky-ReLU dense layers.  With ``num_ws`` the result is
    broadcast to [N, num_ws, w_dim].  Truncation (StyleGAN section 5):
    ``w' = w_avg + psi * (w - w_avg)``, optionally only for the first
    ``truncation_cutoff`` ws.  ``w_avg`` is an EMA of w tracked in training.
    """

    def __init__(
        self,
        z_dim,
        c_dim,
        w_dim,
        num_ws,
        num_layers=8,
        embed_features=None,
        layer_features=None,
        activation="lrelu",
        lr_multiplier=0.01,
        w_avg_beta=0.995,
    ):
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta

        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]

        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], activation=activation, lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c, truncation_psi=1.0, truncation_cutoff=None, skip_w_avg_update=False):
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z)
        if self.c_dim > 0:
            y = normalize_2nd_moment(self.embed(c.to(self.embed.weight.dtype)))
            x = torch.cat([x, y], dim=1) if x is not None else y

        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)

        if self.w_avg_beta is not None and self.training and not skip_w_avg_update:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))

        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])

        if truncation_psi != 1:
            assert self.w_avg_beta is not None
            if self.num_ws is None or truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


class SynthesisLayer(torch.nn.Module):
    """Modulated 3x3 convolution + noise + bias + leaky ReLU (StyleGAN2 Fig. 2d).

    ``affine`` maps w to the per-input-channel style (bias initialised to 1).
    The convolution weight is used unscaled: demodulation normalises it.
    Noise is a single-channel image scaled by the learned ``noise_strength``:
    fresh Gaussian noise ('random'), the stored ``noise_const`` ('const'), or
    nothing ('none').  With ``up=2`` the layer upsamples 2x (transposed conv +
    FIR filter).
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        w_dim,
        resolution,
        kernel_size=3,
        up=1,
        use_noise=True,
        activation="lrelu",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = default_gain(activation)

        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x, w, noise_mode="random", fused_modconv=True, gain=1.0):
        assert noise_mode in ("random", "const", "none")
        styles = self.affine(w)

        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution], dtype=x.dtype, device=x.device)
            noise = noise * self.noise_strength
        if self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength

        flip_weight = self.up == 1
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            noise=noise,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
            flip_weight=flip_weight,
            fused_modconv=fused_modconv,
        )
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=act_clamp)


class ToRGBLayer(torch.nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation (StyleGAN2 Fig. 7).

    The style is scaled by ``1/sqrt(in * k * k)`` (equalized learning rate),
    the output gets a linear bias and an optional clamp.
    """

    def __init__(self, in_channels, out_channels, w_dim, kernel_size=1, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)

    def forward(self, x, w, fused_modconv=True):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class Conv2dLayer(torch.nn.Module):
    """Plain convolution with equalized learning rate and optional FIR resampling.

    Used throughout the discriminator (StyleGAN2 Fig. 7, residual D) and for
    the residual skips of the 'resnet' generator.  ``forward(x, gain)``
    multiplies the activation gain and the clamp by ``gain`` (the residual
    branches use sqrt(0.5)).
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        bias=True,
        activation="linear",
        up=1,
        down=1,
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
    ):
        super().__init__()
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.act_gain = default_gain(activation)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x, gain=1.0):
        w = self.weight * self.weight_gain
        x = conv2d_resample(
            x,
            w,
            f=self.resample_filter,
            up=self.up,
            down=self.down,
            padding=self.padding,
            flip_weight=(self.up == 1),
        )
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=act_clamp)


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------


class SynthesisBlock(torch.nn.Module):
    """One resolution of the synthesis network (StyleGAN2 Fig. 7, 'skip' generator).

    The 4x4 block starts from the learned ``const`` input; every other block
    upsamples with ``conv0`` (up=2) followed by ``conv1``.  With the 'skip'
    architecture each block adds its ``torgb`` output to the FIR-upsampled
    image of the previous block.  The block consumes ``num_conv + num_torgb``
    ws; its toRGB w is shared with the next block's first conv.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        w_dim,
        resolution,
        img_channels,
        is_last,
        architecture="skip",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        use_fp16=False,
        **layer_kwargs,
    ):
        super().__init__()
        assert architecture in ("orig", "skip", "resnet")
        self.in_channels = in_channels
        self.w_dim = w_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.is_last = is_last
        self.architecture = architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = 0
        self.num_torgb = 0

        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(
                in_channels, out_channels, w_dim=w_dim, resolution=resolution, up=2,
                resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs,
            )
            self.num_conv += 1
        self.conv1 = SynthesisLayer(
            out_channels, out_channels, w_dim=w_dim, resolution=resolution, conv_clamp=conv_clamp, **layer_kwargs
        )
        self.num_conv += 1

        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(
                in_channels, out_channels, kernel_size=1, bias=False, up=2, resample_filter=resample_filter
            )

    def forward(self, x, img, ws, noise_mode="random", fused_modconv=None):
        assert ws.shape[1] == self.num_conv + self.num_torgb
        w_iter = iter(ws.unbind(dim=1))
        if fused_modconv is None:
            # Same rule as the checkpoints' code: fused at inference in float32.
            fused_modconv = (not self.training) and (ws.dtype == torch.float32 or ws.shape[0] == 1)
        kw = dict(noise_mode=noise_mode, fused_modconv=fused_modconv)

        if self.in_channels == 0:
            x = self.const.to(ws.dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), **kw)
        elif self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), **kw)
            x = self.conv1(x, next(w_iter), gain=math.sqrt(0.5), **kw)
            x = y + x
        else:
            x = self.conv0(x, next(w_iter), **kw)
            x = self.conv1(x, next(w_iter), **kw)

        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(torch.nn.Module):
    """Synthesis network g: ws -> image, blocks b4, b8, ..., b{img_resolution}.

    Channels at resolution r are ``min(channel_base // r, channel_max)``
    (config-f: 32768 / 512).  ``num_ws`` = convs of all blocks + the last toRGB.
    """

    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, num_fp16_res=0, **block_kwargs):
        super().__init__()
        assert img_resolution >= 4 and img_resolution & (img_resolution - 1) == 0
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        log2 = int(math.log2(img_resolution))
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions}

        self.num_ws = 0
        for r in self.block_resolutions:
            in_channels = channels[r // 2] if r > 4 else 0
            is_last = r == img_resolution
            block = SynthesisBlock(
                in_channels, channels[r], w_dim=w_dim, resolution=r, img_channels=img_channels,
                is_last=is_last, **block_kwargs,
            )
            self.num_ws += block.num_conv
            if is_last:
                self.num_ws += block.num_torgb
            setattr(self, f"b{r}", block)

    def forward(self, ws, noise_mode="random", fused_modconv=None, trace: Optional[Dict[str, torch.Tensor]] = None):
        """``trace``, if given, receives ``b{res}.x`` and ``b{res}.img`` per block."""
        w_idx = 0
        x = img = None
        for r in self.block_resolutions:
            block = getattr(self, f"b{r}")
            cur = ws.narrow(1, w_idx, block.num_conv + block.num_torgb)
            w_idx += block.num_conv
            x, img = block(x, img, cur, noise_mode=noise_mode, fused_modconv=fused_modconv)
            if trace is not None:
                trace[f"b{r}.x"] = x
                if img is not None:
                    trace[f"b{r}.img"] = img
        return img


class Generator(torch.nn.Module):
    """Full generator: ``mapping`` (z, c -> ws) followed by ``synthesis`` (ws -> image)."""

    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs=None, synthesis_kwargs=None):
        super().__init__()
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.w_dim = w_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, **(synthesis_kwargs or {}))
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, num_ws=self.num_ws, **(mapping_kwargs or {}))

    def forward(self, z, c, truncation_psi=1.0, truncation_cutoff=None, noise_mode="random", fused_modconv=None):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, fused_modconv=fused_modconv)


# ---------------------------------------------------------------------------
# Discriminator
# ---------------------------------------------------------------------------


class DiscriminatorBlock(torch.nn.Module):
    """One resolution of the residual discriminator (StyleGAN2 Fig. 7c).

    ``fromrgb`` (1x1) only in the first block (or every block for 'skip');
    main path conv0 (3x3) -> conv1 (3x3, FIR-downsample 2x); residual path
    ``skip`` (1x1, no bias, FIR-downsample).  Both branches are scaled by
    sqrt(0.5) before being summed.
    """

    def __init__(
        self,
        in_channels,
        tmp_channels,
        out_channels,
        resolution,
        img_channels,
        architecture="resnet",
        activation="lrelu",
        resample_filter=(1, 3, 3, 1),
        conv_clamp=None,
        use_fp16=False,
    ):
        super().__init__()
        assert architecture in ("orig", "skip", "resnet")
        self.in_channels = in_channels
        self.resolution = resolution
        self.img_channels = img_channels
        self.architecture = architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))

        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, kernel_size=1, activation=activation, conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, kernel_size=3, activation=activation, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(
            tmp_channels, out_channels, kernel_size=3, activation=activation, down=2,
            resample_filter=resample_filter, conv_clamp=conv_clamp,
        )
        if architecture == "resnet":
            self.skip = Conv2dLayer(
                tmp_channels, out_channels, kernel_size=1, bias=False, down=2, resample_filter=resample_filter
            )

    def forward(self, x, img):
        if self.in_channels == 0 or self.architecture == "skip":
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None

        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x)
            x = self.conv1(x, gain=math.sqrt(0.5))
            x = y + x
        else:
            x = self.conv0(x)
            x = self.conv1(x)
        return x, img


class MinibatchStdLayer(torch.nn.Module):
    """Minibatch standard deviation (ProGAN section 3), generalised to feature groups.

    The batch is split into groups of ``G = min(group_size, N)`` samples taken
    with stride ``N / G`` (sample i belongs to group ``i % (N / G)``); for
    each group the per-feature stddev over the group is averaged over each of
    ``num_channels`` channel groups and the spatial extent, and appended as
    ``num_channels`` constant feature maps.
    """

    def __init__(self, group_size, num_channels=1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size is not None else n
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = y.square().mean(dim=0)
        y = (y + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4])
        y = y.reshape(-1, f, 1, 1)
        y = y.repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(torch.nn.Module):
    """Final 4x4 block: mbstd -> conv 3x3 -> fc -> out.

    Unconditional: ``out`` gives one logit.  Conditional (projection
    discriminator, Miyato & Koyama 2018): ``out`` gives a ``cmap_dim`` vector
    whose dot product with the label embedding, scaled by 1/sqrt(cmap_dim), is
    the logit.
    """

    def __init__(
        self,
        in_channels,
        cmap_dim,
        resolution,
        img_channels,
        architecture="resnet",
        mbstd_group_size=4,
        mbstd_num_channels=1,
        activation="lrelu",
        conv_clamp=None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.cmap_dim = cmap_dim
        self.resolution = resolution
        self.img_channels = img_channels
        self.architecture = architecture

        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, kernel_size=1, activation=activation)
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(
            in_channels + mbstd_num_channels, in_channels, kernel_size=3, activation=activation, conv_clamp=conv_clamp
        )
        self.fc = FullyConnectedLayer(in_channels * resolution * resolution, in_channels, activation=activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x, img, cmap):
        if self.architecture == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        x = self.out(x)
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class Discriminator(torch.nn.Module):
    """Residual discriminator: blocks b{img_resolution} ... b8, then epilogue ``b4``.

    Labels are embedded by a ``mapping`` network (z_dim=0, output cmap_dim,
    no broadcast, no w_avg) into the projection vector of the epilogue.
    """

    def __init__(
        self,
        c_dim,
        img_resolution,
        img_channels,
        architecture="resnet",
        channel_base=32768,
        channel_max=512,
        num_fp16_res=0,
        conv_clamp=None,
        cmap_dim=None,
        block_kwargs=None,
        mapping_kwargs=None,
        epilogue_kwargs=None,
    ):
        super().__init__()
        self.c_dim = c_dim
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        log2 = int(math.log2(img_resolution))
        self.block_resolutions = [2 ** i for i in range(log2, 2, -1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions + [4]}
        if cmap_dim is None:
            cmap_dim = channels[4]
        if c_dim == 0:
            cmap_dim = 0
        self.cmap_dim = cmap_dim

        common = dict(img_channels=img_channels, architecture=architecture, conv_clamp=conv_clamp)
        for r in self.block_resolutions:
            in_channels = channels[r] if r < img_resolution else 0
            block = DiscriminatorBlock(in_channels, channels[r], channels[r // 2], resolution=r, **(block_kwargs or {}), **common)
            setattr(self, f"b{r}", block)
        if c_dim > 0:
            self.mapping = MappingNetwork(
                z_dim=0, c_dim=c_dim, w_dim=cmap_dim, num_ws=None, w_avg_beta=None, **(mapping_kwargs or {})
            )
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim=cmap_dim, resolution=4, **(epilogue_kwargs or {}), **common)

    def forward(self, img, c, trace: Optional[Dict[str, torch.Tensor]] = None):
        x = None
        for r in self.block_resolutions:
            x, img = getattr(self, f"b{r}")(x, img)
            if trace is not None:
                trace[f"b{r}.x"] = x
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)

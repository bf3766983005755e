"""Reference StyleGAN2-ADA augmentation pipeline 'bgc' in plain PyTorch.

'bgc' is the ADA pipeline with the pixel-blitting (b), general geometric (g)
and colour (c) groups enabled: x-flip, 90-degree rotation, integer
translation, isotropic scaling, arbitrary rotation (before and after the
anisotropic scaling), anisotropic scaling, fractional translation,
brightness, contrast, luma flip, hue rotation and saturation, each with
probability multiplier 1 and the paper's default ranges. Image-space
filtering and corruptions ('f', 'n') are not part of 'bgc'.

The pipeline is split into two stages so that an implementation can be
checked without sharing a random number generator:

* ``draw_params(batch, p, generator)`` makes the random draws, in the order
  and with the probabilities of the official pipeline, and returns one value
  per sample and augmentation (see ``PARAM_NAMES``); an augmentation that is
  not applied has its identity value.
* ``apply(images, params)`` is deterministic: it builds the inverse geometric
  matrix ``G_inv`` (3x3, output pixel -> input pixel, centred pixel
  coordinates, x right, y down) and the colour matrix ``C`` (4x4, homogeneous
  RGB) and executes the two stages.

Composition (``@`` is the matrix product, all matrices per sample)::

    G_inv = F @ R90 @ Tint @ S @ Rpre @ A @ Rpost @ Tfrac
      F     = scale2d_inv(1 - 2*xflip, 1)          = diag(1 - 2*xflip, 1, 1)
      R90   = rotate2d_inv(-pi/2 * rot90)          = rotate2d(pi/2 * rot90)
      Tint  = translate2d_inv(xint_x, xint_y)      = translate2d(-xint_x, -xint_y)
      S     = scale2d_inv(scale, scale)            = diag(1/scale, 1/scale, 1)
      Rpre  = rotate2d_inv(-rot_pre)               = rotate2d(rot_pre)
      A     = scale2d_inv(aniso, 1/aniso)          = diag(1/aniso, aniso, 1)
      Rpost = rotate2d_inv(-rot_post)              = rotate2d(rot_post)
      Tfrac = translate2d_inv(xfrac_x, xfrac_y)    = translate2d(-xfrac_x, -xfrac_y)
    with rotate2d(t) = [[cos t, -sin t, 0], [sin t, cos t, 0], [0, 0, 1]].

    C = Sat @ Hue @ Luma @ Con @ Bri
      Bri  = translate3d(b, b, b)
      Con  = scale3d(c, c, c)
      Luma = I4 - 2 * lumaflip * v v^T             v = (1, 1, 1, 0) / sqrt(3)
      Hue  = rotate3d(v, hue)                      (Rodrigues rotation about v)
      Sat  = v v^T + (I4 - v v^T) * saturation
    colour stage: x[n] <- C[n, :3, :3] @ x[n] + C[n, :3, 3]   (x[n] as [3, H*W])

Geometric stage (always executed: 'bgc' has geometric augmentations
enabled, so the official pipeline runs it even when every draw is the
identity):

1. Corners (+-cx, +-cy, 1), cx = (W-1)/2, cy = (H-1)/2, mapped by G_inv.
   margin = [max(-x), max(-y), max(x), max(y)] over all corners and all
   samples of the batch, plus [2*Hz_pad - cx, 2*Hz_pad - cy] * 2 with
   Hz_pad = len(Hz_geom) // 4 = 3, clamped to [0, W-1] / [0, H-1] and
   rounded up: (mx0, my0, mx1, my1). The margin is shared by the batch.
2. Reflect padding [left mx0, right mx1, top my0, bottom my1];
   G_inv <- translate2d((mx0 - mx1)/2, (my0 - my1)/2) @ G_inv.
3. 2x upsampling with Hz_geom (upfirdn2d: zero insertion, padding
   [6, 5, 6, 5], gain 4); G_inv <- scale2d(2, 2) @ G_inv @ scale2d_inv(2, 2),
   then G_inv <- translate2d(-0.5, -0.5) @ G_inv @ translate2d_inv(-0.5, -0.5).
4. Output grid of size [Ho, Wo] = [(H + 2*Hz_pad)*2, (W + 2*Hz_pad)*2];
   G_inv <- scale2d(2/Wi, 2/Hi) @ G_inv @ scale2d_inv(2/Wo, 2/Ho) where
   [Hi, Wi] is the upsampled image size; affine_grid(G_inv[:, :2, :],
   align_corners=False) then grid_sample (bilinear, zero padding,
   align_corners=False).
5. 2x downsampling with Hz_geom, flip_filter=True, padding -2*Hz_pad
   (upfirdn2d padding [-1, -1, -1, -1], keep every other sample from 0).

Hz_geom is the 12-tap 'sym6' wavelet low-pass filter normalised to unit
sum, used as a separable 1-D filter.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stylegan2_ref import upfirdn2d  # noqa: E402

# Per-sample parameters, in the order of the pipeline.
PARAM_NAMES = [
    "xflip",       # 0/1
    "rot90",       # 0..3, counter-clockwise quarter turns as in torch.rot90(x, k, [2, 3])
    "xint_x",      # integer translation, pixels
    "xint_y",
    "scale",       # isotropic scale factor
    "rot_pre",     # radians, rotation before the anisotropic scaling
    "aniso",       # anisotropic scale factor (x by aniso, y by 1/aniso)
    "rot_post",    # radians, rotation after the anisotropic scaling
    "xfrac_x",     # fractional translation, pixels (t * width)
    "xfrac_y",     # (t * height)
    "brightness",  # additive offset
    "contrast",    # multiplicative factor
    "lumaflip",    # 0/1
    "hue",         # radians, rotation about the luma axis
    "saturation",  # factor on the chroma component
]

IDENTITY = {
    "xflip": 0.0, "rot90": 0.0, "xint_x": 0.0, "xint_y": 0.0,
    "scale": 1.0, "rot_pre": 0.0, "aniso": 1.0, "rot_post": 0.0,
    "xfrac_x": 0.0, "xfrac_y": 0.0,
    "brightness": 0.0, "contrast": 1.0, "lumaflip": 0.0, "hue": 0.0, "saturation": 1.0,
}

# 'bgc' settings (probability multipliers are all 1).
XINT_MAX = 0.125
SCALE_STD = 0.2
ROTATE_MAX = 1.0
ANISO_STD = 0.2
XFRAC_STD = 0.125
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5
HUE_MAX = 1.0
SATURATION_STD = 1.0

# Symlet-6 wavelet decomposition low-pass taps.
SYM6 = [
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057,
    -0.048311742585633, 0.4910559419267466, 0.787641141030194,
    0.3379294217276218, -0.07263752278646252, -0.021060292512300564,
    0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
]


def hz_geom(dtype=torch.float64, taps=SYM6) -> torch.Tensor:
    """Geometric filter: the taps (default sym6) normalised to unit sum (1-D, separable)."""
    t = torch.tensor(taps, dtype=torch.float64)
    return (t / t.sum()).to(dtype)


HZ_PAD = len(SYM6) // 4  # 3


def identity_params(batch: int, dtype=torch.float64) -> Dict[str, torch.Tensor]:
    return {k: torch.full([batch], IDENTITY[k], dtype=dtype) for k in PARAM_NAMES}


# ---------------------------------------------------------------------------
# Batched homogeneous matrices
# ---------------------------------------------------------------------------


def _mat(rows, like: torch.Tensor) -> torch.Tensor:
    """Rows of scalars / [N] tensors -> [N, R, K]."""
    n = like.shape[0]
    cols = []
    for row in rows:
        for e in row:
            if isinstance(e, torch.Tensor):
                cols.append(e.to(like.dtype))
            else:
                cols.append(torch.full([n], float(e), dtype=like.dtype))
    return torch.stack(cols, dim=-1).reshape(n, len(rows), len(rows[0]))


def translate2d(tx, ty, like):
    return _mat([[1, 0, tx], [0, 1, ty], [0, 0, 1]], like)


def scale2d(sx, sy, like):
    return _mat([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], like)


def rotate2d(t, like):
    c, s = torch.cos(t), torch.sin(t)
    return _mat([[c, -s, 0], [s, c, 0], [0, 0, 1]], like)


def translate2d_inv(tx, ty, like):
    return translate2d(-tx, -ty, like)


def scale2d_inv(sx, sy, like):
    return scale2d(1 / sx, 1 / sy, like)


def rotate2d_inv(t, like):
    return rotate2d(-t, like)


def translate3d(tx, ty, tz, like):
    return _mat([[1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1]], like)


def scale3d(sx, sy, sz, like):
    return _mat([[sx, 0, 0, 0], [0, sy, 0, 0], [0, 0, sz, 0], [0, 0, 0, 1]], like)


def luma_axis(dtype=torch.float64) -> torch.Tensor:
    return torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=dtype) / math.sqrt(3.0)


def rotate3d(v: torch.Tensor, t: torch.Tensor, like) -> torch.Tensor:
    """Rotation by t about the unit axis v[:3] (Rodrigues), homogeneous 4x4."""
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    s, c = torch.sin(t), torch.cos(t)
    k = 1 - c
    return _mat([
        [x * x * k + c, x * y * k - z * s, x * z * k + y * s, 0],
        [y * x * k + z * s, y * y * k + c, y * z * k - x * s, 0],
        [z * x * k - y * s, z * y * k + x * s, z * z * k + c, 0],
        [0, 0, 0, 1],
    ], like)


def _p(params, name, dtype):
    return params[name].to(dtype)


def geom_matrix(params: Dict[str, torch.Tensor], dtype=torch.float64) -> torch.Tensor:
    """G_inv [N, 3, 3]: output pixel (centred coords) -> input pixel."""
    like = _p(params, "xflip", dtype)
    g = torch.eye(3, dtype=dtype).expand(like.shape[0], 3, 3)
    g = g @ scale2d_inv(1 - 2 * _p(params, "xflip", dtype), 1.0, like)
    g = g @ rotate2d_inv(-math.pi / 2 * _p(params, "rot90", dtype), like)
    g = g @ translate2d_inv(_p(params, "xint_x", dtype), _p(params, "xint_y", dtype), like)
    s = _p(params, "scale", dtype)
    g = g @ scale2d_inv(s, s, like)
    g = g @ rotate2d_inv(-_p(params, "rot_pre", dtype), like)
    a = _p(params, "aniso", dtype)
    g = g @ scale2d_inv(a, 1 / a, like)
    g = g @ rotate2d_inv(-_p(params, "rot_post", dtype), like)
    g = g @ translate2d_inv(_p(params, "xfrac_x", dtype), _p(params, "xfrac_y", dtype), like)
    return g


def color_matrix(params: Dict[str, torch.Tensor], dtype=torch.float64) -> torch.Tensor:
    """C [N, 4, 4]: homogeneous colour in -> colour out."""
    like = _p(params, "brightness", dtype)
    n = like.shape[0]
    eye4 = torch.eye(4, dtype=dtype)
    c = eye4.expand(n, 4, 4)
    b = _p(params, "brightness", dtype)
    c = translate3d(b, b, b, like) @ c
    k = _p(params, "contrast", dtype)
    c = scale3d(k, k, k, like) @ c
    v = luma_axis(dtype)
    vv = torch.outer(v, v)
    i = _p(params, "lumaflip", dtype).reshape(n, 1, 1)
    c = (eye4 - 2 * vv * i) @ c
    c = rotate3d(v, _p(params, "hue", dtype), like) @ c
    s = _p(params, "saturation", dtype).reshape(n, 1, 1)
    c = (vv + (eye4 - vv) * s) @ c
    return c


# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------


def geom_margin(g_inv: torch.Tensor, height: int, width: int, hz_pad: int = HZ_PAD, raw: bool = False):
    """Batch-wide padding (mx0, my0, mx1, my1) for the geometric stage (``raw``: before ceil)."""
    dtype = g_inv.dtype
    cx = (width - 1) / 2
    cy = (height - 1) / 2
    corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], dtype=dtype)
    cp = g_inv @ corners.t()  # [N, 3, 4]
    m = cp[:, :2, :].permute(1, 0, 2).flatten(1)  # [2, N*4]
    m = torch.cat([-m, m]).max(dim=1).values  # [x0, y0, x1, y1]
    m = m + torch.tensor([hz_pad * 2 - cx, hz_pad * 2 - cy] * 2, dtype=dtype)
    m = m.max(torch.zeros(4, dtype=dtype))
    m = m.min(torch.tensor([width - 1, height - 1] * 2, dtype=dtype))
    if raw:
        return m.tolist()
    return [int(e) for e in m.ceil().tolist()]


def geometric_stage(images: torch.Tensor, g_inv: torch.Tensor, extra_margin: int = 0,
                    taps=SYM6) -> torch.Tensor:
    """Resample images [N, C, H, W] through G_inv [N, 3, 3] (official execution).

    ``extra_margin`` (more padding) and ``taps`` (another orthogonal low-pass
    filter) are for self-checks only.
    """
    n, ch, h, w = images.shape
    dtype = images.dtype
    like = torch.zeros(n, dtype=dtype)
    g = g_inv.to(dtype)
    f = hz_geom(dtype, taps)
    hz_pad = len(taps) // 4

    mx0, my0, mx1, my1 = geom_margin(g, h, w, hz_pad)
    mx0, my0, mx1, my1 = (min(e + extra_margin, lim) for e, lim in zip((mx0, my0, mx1, my1), (w - 1, h - 1) * 2))
    x = F.pad(images, [mx0, mx1, my0, my1], mode="reflect")
    g = translate2d((mx0 - mx1) / 2, (my0 - my1) / 2, like) @ g

    # 2x upsampling (upsample2d semantics: padding [(k+1)//2, (k-2)//2] per axis, gain 4).
    k = f.shape[0]
    pu = [(k + 1) // 2, (k - 2) // 2] * 2
    x = upfirdn2d(x, f, up=2, padding=pu, gain=4.0)
    g = scale2d(2.0, 2.0, like) @ g @ scale2d_inv(2.0, 2.0, like)
    g = translate2d(-0.5, -0.5, like) @ g @ translate2d_inv(-0.5, -0.5, like)

    shape = [n, ch, (h + hz_pad * 2) * 2, (w + hz_pad * 2) * 2]
    g = scale2d(2 / x.shape[3], 2 / x.shape[2], like) @ g @ scale2d_inv(2 / shape[3], 2 / shape[2], like)
    grid = F.affine_grid(g[:, :2, :], shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # 2x downsampling (downsample2d semantics with padding -2*Hz_pad), flipped filter.
    pd = [-hz_pad * 2 + (k - 1) // 2, -hz_pad * 2 + (k - 2) // 2] * 2
    x = upfirdn2d(x, f, down=2, padding=pd, flip_filter=True)
    return x


def color_stage(images: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    n, ch, h, w = images.shape
    assert ch == 3
    c = c.to(images.dtype)
    x = images.reshape(n, ch, h * w)
    x = c[:, :3, :3] @ x + c[:, :3, 3:]
    return x.reshape(n, ch, h, w)


def apply(images: torch.Tensor, params: Dict[str, torch.Tensor], extra_margin: int = 0,
          taps: Sequence[float] = SYM6) -> torch.Tensor:
    """Augment images [N, 3, H, W] with the given per-sample parameters."""
    dtype = images.dtype
    x = geometric_stage(images, geom_matrix(params, dtype), extra_margin=extra_margin, taps=taps)
    return color_stage(x, color_matrix(params, dtype))


# ---------------------------------------------------------------------------
# Random draws
# ---------------------------------------------------------------------------


def draw_params(batch: int, p: float, generator: Optional[torch.Generator] = None,
                width: int = 32, height: int = 32) -> Dict[str, torch.Tensor]:
    """The official 'bgc' draws (float32, official order), as per-sample parameters.

    Each augmentation draws its value first and then its gate (uniform < prob);
    ``p`` is the overall augmentation probability.
    """
    gen = generator

    def rand(*shape):
        return torch.rand(list(shape), generator=gen, dtype=torch.float32)

    def randn(*shape):
        return torch.randn(list(shape), generator=gen, dtype=torch.float32)

    pt = torch.tensor(float(p), dtype=torch.float32)
    out = {}
    zero = torch.zeros([batch], dtype=torch.float32)
    one = torch.ones([batch], dtype=torch.float32)

    # Pixel blitting.
    i = torch.floor(rand(batch) * 2)
    out["xflip"] = torch.where(rand(batch) < 1.0 * pt, i, zero)
    i = torch.floor(rand(batch) * 4)
    out["rot90"] = torch.where(rand(batch) < 1.0 * pt, i, zero)
    t = (rand(batch, 2) * 2 - 1) * XINT_MAX
    t = torch.where(rand(batch, 1) < 1.0 * pt, t, torch.zeros_like(t))
    out["xint_x"] = torch.round(t[:, 0] * width)
    out["xint_y"] = torch.round(t[:, 1] * height)

    # General geometric transformations.
    s = torch.exp2(randn(batch) * SCALE_STD)
    out["scale"] = torch.where(rand(batch) < 1.0 * pt, s, one)
    p_rot = 1 - torch.sqrt((1 - 1.0 * pt).clamp(0, 1))  # P(pre or post) = p
    th = (rand(batch) * 2 - 1) * math.pi * ROTATE_MAX
    out["rot_pre"] = torch.where(rand(batch) < p_rot, th, zero)
    s = torch.exp2(randn(batch) * ANISO_STD)
    out["aniso"] = torch.where(rand(batch) < 1.0 * pt, s, one)
    th = (rand(batch) * 2 - 1) * math.pi * ROTATE_MAX
    out["rot_post"] = torch.where(rand(batch) < p_rot, th, zero)
    t = randn(batch, 2) * XFRAC_STD
    t = torch.where(rand(batch, 1) < 1.0 * pt, t, torch.zeros_like(t))
    out["xfrac_x"] = t[:, 0] * width
    out["xfrac_y"] = t[:, 1] * height

    # Colour transformations.
    b = randn(batch) * BRIGHTNESS_STD
    out["brightness"] = torch.where(rand(batch) < 1.0 * pt, b, zero)
    c = torch.exp2(randn(batch) * CONTRAST_STD)
    out["contrast"] = torch.where(rand(batch) < 1.0 * pt, c, one)
    i = torch.floor(rand(batch, 1, 1) * 2)
    out["lumaflip"] = torch.where(rand(batch, 1, 1) < 1.0 * pt, i, torch.zeros_like(i)).reshape(batch)
    th = (rand(batch) * 2 - 1) * math.pi * HUE_MAX
    out["hue"] = torch.where(rand(batch) < 1.0 * pt, th, zero)
    s = torch.exp2(randn(batch, 1, 1) * SATURATION_STD)
    out["saturation"] = torch.where(rand(batch, 1, 1) < 1.0 * pt, s, torch.ones_like(s)).reshape(batch)

    return {k: out[k] for k in PARAM_NAMES}

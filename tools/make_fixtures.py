#!/usr/bin/env python3
"""Write the safetensors fixtures used by the fauxto-nn tests.

Usage:  python3 tools/make_fixtures.py [--out DIR]

Every network is built from ``stylegan2_ref.py`` with all parameters and
buffers randomised (nothing is left at its zero/one init), the parameters are
rounded to float32 and stored, and the reference outputs are computed in
float64 from exactly those float32 values, then stored as float32.

Layout of each file:
  * parameters / buffers under their checkpoint state-dict names
    (optionally behind a per-layer prefix in ``layers.safetensors``);
  * inputs under ``in.*``, outputs under ``out.*``;
  * ``__metadata__["config"]``: JSON object with the constructor kwargs.

``g_seeds.safetensors`` holds no parameters: it runs the ``generate.py``
pipeline (seed -> z -> image -> uint8 pixels) on the generator stored in
``g_small.safetensors`` and keeps ``seeds`` plus the ``out.*`` results.

The script also runs self-checks (fused vs non-fused modulated conv, the
fast resampling paths against a plain "upsample, filter, convolve, decimate"
composition, the minibatch-stddev grouping, a pure-Python MT19937 against
numpy's RandomState, shapes) and prints a summary with file sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file as save_torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stylegan2_ref as ref  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "fauxto-nn", "tests", "fixtures")

CHECKS = []  # (name, value, limit)


def check(name: str, value: float, limit: float) -> None:
    CHECKS.append((name, float(value), limit))
    if not value <= limit:
        raise AssertionError(f"self-check failed: {name}: {value:.3e} > {limit:.1e}")


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a.double() - b.double()).abs().max().item()


def expect_shape(name: str, t: torch.Tensor, shape) -> None:
    if list(t.shape) != list(shape):
        raise AssertionError(f"{name}: shape {list(t.shape)} != expected {list(shape)}")


# ---------------------------------------------------------------------------
# Randomisation
# ---------------------------------------------------------------------------


def randomize_(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Overwrite every parameter and buffer with random float32 values.

    Scales are chosen so activations stay O(1) and every term matters:
    dense weights N(0, 1/lr^2) as at init, dense biases with effective value
    N(0, 0.2^2) (around 1 for style affines), conv biases N(0, 0.2^2),
    noise strengths U(0.1, 0.5), w_avg N(0, 0.5^2), constants N(0, 1).
    The FIR ``resample_filter`` buffers keep their fixed value.
    """

    def randn(shape):
        return torch.randn(shape, generator=gen, dtype=torch.float32)

    with torch.no_grad():
        for name, mod in model.named_modules():
            leaf = name.rsplit(".", 1)[-1]
            if isinstance(mod, ref.FullyConnectedLayer):
                lr = mod.bias_gain
                mod.weight.copy_(randn(mod.weight.shape) / lr)
                if mod.bias is not None:
                    centre = 1.0 if leaf == "affine" else 0.0
                    mod.bias.copy_((centre + 0.2 * randn(mod.bias.shape)) / lr)
            elif isinstance(mod, (ref.SynthesisLayer, ref.ToRGBLayer, ref.Conv2dLayer)):
                mod.weight.copy_(randn(mod.weight.shape))
                if mod.bias is not None:
                    mod.bias.copy_(0.2 * randn(mod.bias.shape))
                if isinstance(mod, ref.SynthesisLayer) and mod.use_noise:
                    mod.noise_strength.copy_(0.1 + 0.4 * torch.rand([], generator=gen))
                    mod.noise_const.copy_(randn(mod.noise_const.shape))
            elif isinstance(mod, ref.SynthesisBlock) and mod.in_channels == 0:
                mod.const.copy_(randn(mod.const.shape))
            elif isinstance(mod, ref.MappingNetwork) and hasattr(mod, "w_avg"):
                mod.w_avg.copy_(0.5 * randn(mod.w_avg.shape))


def tensors_of(model: torch.nn.Module, prefix: str = "") -> Dict[str, torch.Tensor]:
    sd = model.state_dict()
    out = {}
    for k, v in sd.items():
        assert v.dtype == torch.float32, (k, v.dtype)
        out[prefix + k] = v.detach().clone().contiguous()
    return out


def f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float32).contiguous()


def save(path: str, tensors: Dict[str, torch.Tensor], config) -> None:
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    for k, v in tensors.items():
        if v.dtype == torch.float32 and not torch.isfinite(v).all():
            raise AssertionError(f"{path}: {k} has non-finite values")
    save_torch(tensors, path, metadata={"config": json.dumps(config, sort_keys=True)})


# ---------------------------------------------------------------------------
# Independent cross-checks
# ---------------------------------------------------------------------------


def generic_conv2d_resample(x, w, f, up, down, padding, flip_weight):
    """Slow composition: zero-insert + FIR (gain up^2), convolve, FIR + decimate.

    Same padding bookkeeping as ``conv2d_resample`` but without any of its
    fast-path rearrangements (transposed / strided convolutions).
    """
    fw = f.shape[-1]
    p0 = p1 = padding
    if up > 1:
        p0 += (fw + up - 1) // 2
        p1 += (fw - up) // 2
    if down > 1:
        p0 += (fw - down + 1) // 2
        p1 += (fw - down) // 2
    if up > 1:
        x = ref.upfirdn2d(x, f, up=up, padding=[p0, p1, p0, p1], gain=up * up)
    else:
        x = torch.nn.functional.pad(x, [p0, p1, p0, p1])
    ww = w if flip_weight else w.flip([2, 3])
    x = torch.nn.functional.conv2d(x, ww)
    if down > 1:
        x = ref.upfirdn2d(x, f, down=down)
    return x


def mbstd_loop(x, group_size, num_channels):
    """Minibatch stddev written with explicit loops over groups."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    m = n // g
    fc = c // num_channels
    stats = torch.zeros(n, num_channels, dtype=x.dtype)
    for j in range(m):
        members = [j + m * k for k in range(g)]  # sample i is in group i % m
        grp = x[members]  # [g, c, h, w]
        sd = (grp.var(dim=0, unbiased=False) + 1e-8).sqrt()  # [c, h, w]
        for f in range(num_channels):
            v = sd[f * fc:(f + 1) * fc].mean()
            for i in members:
                stats[i, f] = v
    return torch.cat([x, stats[:, :, None, None].expand(n, num_channels, h, w)], dim=1)


class MT19937:
    """Pure-Python Mersenne Twister, seeded like numpy's legacy RandomState(int)."""

    def __init__(self, seed: int):
        self.mt = [0] * 624
        self.mt[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            prev = self.mt[i - 1]
            self.mt[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
        self.pos = 624

    def _twist(self):
        mt = self.mt
        for i in range(624):
            y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
            v = mt[(i + 397) % 624] ^ (y >> 1)
            if y & 1:
                v ^= 0x9908B0DF
            mt[i] = v
        self.pos = 0

    def next_u32(self) -> int:
        if self.pos >= 624:
            self._twist()
        y = self.mt[self.pos]
        self.pos += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y

    def next_double(self) -> float:
        """53-bit double in [0, 1): (a >> 5, b >> 6) as numpy's legacy random_sample."""
        a = self.next_u32() >> 5
        b = self.next_u32() >> 6
        return (a * 67108864.0 + b) / 9007199254740992.0


def legacy_gauss_stream(rng: MT19937, count: int):
    """numpy legacy ``randn``: Marsaglia polar method, returning f*x2 then the cached f*x1."""
    out = []
    while len(out) < count:
        while True:
            x1 = 2.0 * rng.next_double() - 1.0
            x2 = 2.0 * rng.next_double() - 1.0
            r2 = x1 * x1 + x2 * x2
            if 0.0 < r2 < 1.0:
                break
        f = math.sqrt(-2.0 * math.log(r2) / r2)
        out.append(f * x2)
        out.append(f * x1)
    return out[:count]


# ---------------------------------------------------------------------------
# Fixture builders
# ---------------------------------------------------------------------------

SEEDS = [0, 1, 42, 1234, 2147483648, 4294967295]


def make_seeds(out_dir: str) -> str:
    tensors = {}
    for seed in SEEDS:
        z = np.random.RandomState(seed).randn(1, 512)
        z7 = np.random.RandomState(seed).randn(1, 7)
        state = np.random.RandomState(seed).get_state()
        assert state[0] == "MT19937" and state[2] == 624
        words = np.asarray(state[1][:16], dtype=np.int64)
        raw = np.random.RandomState(seed).randint(0, 2**32, size=16, dtype=np.uint64).astype(np.int64)

        # Cross-check against the pure-Python generator.
        mt = MT19937(seed)
        assert [int(v) for v in words] == mt.mt[:16], f"state words differ for seed {seed}"
        raw_py = [mt.next_u32() for _ in range(16)]
        assert [int(v) for v in raw] == raw_py, f"raw outputs differ for seed {seed}"
        by = np.frombuffer(np.random.RandomState(seed).bytes(64), dtype="<u4").astype(np.int64)
        assert (by == raw).all(), f"bytes() is not the raw little-endian stream for seed {seed}"
        g_py = np.array(legacy_gauss_stream(MT19937(seed), 512))
        check(f"seeds: polar-method gauss vs randn (seed {seed})", np.abs(g_py - z[0]).max(), 0.0)

        tensors[f"z.{seed}"] = z.astype(np.float64)
        tensors[f"z7.{seed}"] = z7.astype(np.float64)
        tensors[f"mtstate.{seed}"] = words
        tensors[f"mt.{seed}"] = raw
    config = {
        "seeds": SEEDS,
        "z": "numpy.random.RandomState(seed).randn(1, 512), float64",
        "z7": "numpy.random.RandomState(seed).randn(1, 7), float64",
        "mtstate": "RandomState(seed).get_state()[1][:16]: first 16 MT19937 state words after init_genrand(seed), as int64",
        "mt": "first 16 raw 32-bit MT19937 outputs of RandomState(seed) (== randint(0, 2**32, dtype=uint64) == bytes() as little-endian u32), as int64",
    }
    path = os.path.join(out_dir, "seeds.safetensors")
    save_numpy(tensors, path, metadata={"config": json.dumps(config, sort_keys=True)})
    return path


def make_layers(out_dir: str) -> str:
    torch.manual_seed(100)
    gen = torch.Generator().manual_seed(100)
    randn = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float32)  # noqa: E731
    T: Dict[str, torch.Tensor] = {}
    cfg = {}

    # --- FIR resampling -------------------------------------------------
    f = ref.setup_filter([1, 3, 3, 1]).double()
    x = randn(2, 3, 8, 8)
    T["fir.in.x"] = x
    T["fir.out.up"] = f32(ref.upsample2d(x.double(), f))
    T["fir.out.down"] = f32(ref.downsample2d(x.double(), f))
    expect_shape("fir.out.up", T["fir.out.up"], [2, 3, 16, 16])
    expect_shape("fir.out.down", T["fir.out.down"], [2, 3, 4, 4])
    ones = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    check("fir: upsample of a constant is constant in the interior", (ref.upsample2d(ones, f)[..., 3:-3, 3:-3] - 1).abs().max().item(), 1e-12)
    check("fir: downsample of a constant is constant in the interior", (ref.downsample2d(ones, f)[..., 1:-1, 1:-1] - 1).abs().max().item(), 1e-12)
    cfg["fir"] = {"filter": [1, 3, 3, 1], "up": {"up": 2, "padding": [2, 1, 2, 1], "gain": 4}, "down": {"down": 2, "padding": [1, 1, 1, 1], "gain": 1}}

    # --- Fully connected -----------------------------------------------
    fc_kwargs = dict(in_features=16, out_features=12, activation="lrelu", lr_multiplier=0.01)
    fc = ref.FullyConnectedLayer(**fc_kwargs)
    randomize_(fc, gen)
    T.update(tensors_of(fc, "fc."))
    x = randn(3, 16)
    T["fc.in.x"] = x
    T["fc.out"] = f32(fc.double()(x.double()))
    cfg["fc"] = dict(fc_kwargs, bias=True, bias_init=0)

    # --- Synthesis layers ------------------------------------------------
    def synthesis_layer(prefix, kwargs):
        layer = ref.SynthesisLayer(**kwargs)
        randomize_(layer, gen)
        T.update(tensors_of(layer, prefix + "."))
        x = randn(2, kwargs["in_channels"], 8, 8)
        w = randn(2, kwargs["w_dim"])
        T[prefix + ".in.x"] = x
        T[prefix + ".in.w"] = w
        layer = layer.double()
        xd, wd = x.double(), w.double()
        outs = {}
        for mode in ("const", "none"):
            a = layer(xd, wd, noise_mode=mode, fused_modconv=False)
            b = layer(xd, wd, noise_mode=mode, fused_modconv=True)
            check(f"{prefix}: fused vs non-fused modconv ({mode})", maxdiff(a, b), 1e-12)
            outs[mode] = a
            T[f"{prefix}.out.{mode}"] = f32(a)
        res = kwargs["resolution"]
        expect_shape(prefix + ".out.const", outs["const"], [2, kwargs["out_channels"], res, res])
        # float32 evaluation of the same layer, for a feel of the tolerance needed.
        l32 = layer.float()
        d32 = maxdiff(l32(x, w, noise_mode="const", fused_modconv=True), outs["const"])
        check(f"{prefix}: float32 vs float64 (info)", d32, 1e-3)
        cfg[prefix] = dict(kwargs, kernel_size=3, use_noise=True, activation="lrelu", resample_filter=[1, 3, 3, 1])
        return outs

    synthesis_layer("syn", dict(in_channels=8, out_channels=6, w_dim=16, resolution=8, up=1, conv_clamp=None))
    synthesis_layer("synup", dict(in_channels=8, out_channels=6, w_dim=16, resolution=16, up=2, conv_clamp=None))
    outs = synthesis_layer("synclamp", dict(in_channels=8, out_channels=6, w_dim=16, resolution=8, up=1, conv_clamp=0.25))
    frac = (outs["const"].abs() >= 0.25 - 1e-12).double().mean().item()
    assert 0.05 < frac < 0.95, f"synclamp: clamp active on {frac:.2f} of the outputs"
    print(f"synclamp: clamp active on {100 * frac:.0f}% of outputs")

    # --- ToRGB -------------------------------------------------------------
    torgb_kwargs = dict(in_channels=8, out_channels=3, w_dim=16, kernel_size=1, conv_clamp=None)
    torgb = ref.ToRGBLayer(**torgb_kwargs)
    randomize_(torgb, gen)
    T.update(tensors_of(torgb, "torgb."))
    x, w = randn(2, 8, 8, 8), randn(2, 16)
    T["torgb.in.x"], T["torgb.in.w"] = x, w
    torgb = torgb.double()
    a = torgb(x.double(), w.double(), fused_modconv=False)
    b = torgb(x.double(), w.double(), fused_modconv=True)
    check("torgb: fused vs non-fused modconv", maxdiff(a, b), 1e-12)
    T["torgb.out"] = f32(a)
    expect_shape("torgb.out", a, [2, 3, 8, 8])
    cfg["torgb"] = torgb_kwargs

    # --- Discriminator convolutions -----------------------------------------
    conv_kwargs = dict(in_channels=6, out_channels=8, kernel_size=3, bias=True, activation="lrelu", up=1, down=2, conv_clamp=None)
    conv = ref.Conv2dLayer(**conv_kwargs)
    randomize_(conv, gen)
    T.update(tensors_of(conv, "conv."))
    x = randn(2, 6, 8, 8)
    T["conv.in.x"] = x
    conv = conv.double()
    y = conv(x.double())
    T["conv.out"] = f32(y)
    expect_shape("conv.out", y, [2, 8, 4, 4])
    g = generic_conv2d_resample(
        x.double(), conv.weight * conv.weight_gain, conv.resample_filter, 1, 2, 1, True
    )
    check("conv: strided fast path vs generic composition", maxdiff(ref.bias_act(g, conv.bias, "lrelu"), y), 1e-12)
    cfg["conv"] = dict(conv_kwargs, resample_filter=[1, 3, 3, 1])

    skip_kwargs = dict(in_channels=6, out_channels=8, kernel_size=1, bias=False, activation="linear", up=1, down=2, conv_clamp=None)
    skip = ref.Conv2dLayer(**skip_kwargs)
    randomize_(skip, gen)
    T.update(tensors_of(skip, "skip."))
    x = randn(2, 6, 8, 8)
    T["skip.in.x"] = x
    skip = skip.double()
    y = skip(x.double(), gain=math.sqrt(0.5))
    T["skip.out"] = f32(y)
    expect_shape("skip.out", y, [2, 8, 4, 4])
    g = generic_conv2d_resample(x.double(), skip.weight * skip.weight_gain, skip.resample_filter, 1, 2, 0, True) * math.sqrt(0.5)
    check("skip: 1x1 fast path vs generic composition", maxdiff(g, y), 1e-12)
    cfg["skip"] = dict(skip_kwargs, resample_filter=[1, 3, 3, 1], forward_gain=math.sqrt(0.5))

    # --- Upsampling conv paths vs the generic composition --------------------
    layer = ref.SynthesisLayer(8, 6, w_dim=16, resolution=16, up=2).double()
    xx = torch.randn(1, 8, 8, 8, generator=gen, dtype=torch.float32).double()
    wt = layer.weight
    fast = ref.conv2d_resample(xx, wt, f=layer.resample_filter, up=2, padding=1, flip_weight=False)
    slow = generic_conv2d_resample(xx, wt, layer.resample_filter, 2, 1, 1, False)
    check("up=2 3x3: transposed-conv fast path vs generic composition", maxdiff(fast, slow), 1e-12)
    w1 = torch.randn(6, 8, 1, 1, generator=gen, dtype=torch.float32).double()
    fast = ref.conv2d_resample(xx, w1, f=layer.resample_filter, up=2, padding=0, flip_weight=False)
    slow = generic_conv2d_resample(xx, w1, layer.resample_filter, 2, 1, 0, False)
    check("up=2 1x1: fast path vs generic composition", maxdiff(fast, slow), 1e-12)

    # --- Minibatch stddev ----------------------------------------------------
    x = randn(8, 6, 4, 4)
    x2 = randn(2, 6, 4, 4)
    T["mbstd.in.x"], T["mbstd.in.x2"] = x, x2
    for key, inp, gs, nc, shape in (
        ("g4", x, 4, 1, [8, 7, 4, 4]),
        ("g4n2", x2, 4, 1, [2, 7, 4, 4]),
        ("g4c2", x, 4, 2, [8, 8, 4, 4]),
    ):
        y = ref.MinibatchStdLayer(gs, nc)(inp.double())
        expect_shape("mbstd.out." + key, y, shape)
        check(f"mbstd.{key}: vectorised vs explicit groups", maxdiff(y, mbstd_loop(inp.double(), gs, nc)), 1e-12)
        T["mbstd.out." + key] = f32(y)
    cfg["mbstd"] = {
        "g4": {"input": "mbstd.in.x", "group_size": 4, "num_channels": 1},
        "g4n2": {"input": "mbstd.in.x2", "group_size": 4, "num_channels": 1},
        "g4c2": {"input": "mbstd.in.x", "group_size": 4, "num_channels": 2},
    }

    path = os.path.join(out_dir, "layers.safetensors")
    save(path, T, cfg)
    return path


def mapping_config(num_layers, lr_multiplier=0.01, w_avg_beta=0.995):
    return {
        "num_layers": num_layers,
        "embed_features": None,
        "layer_features": None,
        "lr_multiplier": lr_multiplier,
        "w_avg_beta": w_avg_beta,
    }


def g_config(z_dim, c_dim, w_dim, res, img_channels, map_layers, channel_base, channel_max, conv_clamp):
    return {
        "z_dim": z_dim,
        "c_dim": c_dim,
        "w_dim": w_dim,
        "img_resolution": res,
        "img_channels": img_channels,
        "mapping": mapping_config(map_layers),
        "synthesis": {
            "channel_base": channel_base,
            "channel_max": channel_max,
            "num_fp16_res": 0,
            "conv_clamp": conv_clamp,
            "architecture": "skip",
        },
    }


def build_generator(cfg) -> ref.Generator:
    m = cfg["mapping"]
    s = cfg["synthesis"]
    return ref.Generator(
        cfg["z_dim"], cfg["c_dim"], cfg["w_dim"], cfg["img_resolution"], cfg["img_channels"],
        mapping_kwargs=dict(m),
        synthesis_kwargs=dict(s),
    )


def make_generator(out_dir, name, cfg, z, c, seed, extra=True) -> str:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    G = build_generator(cfg)
    randomize_(G, gen)
    T = tensors_of(G)
    z = z.to(torch.float32)
    T["in.z"] = z
    if c is not None:
        T["in.c"] = c.to(torch.float32)
    G = G.double().eval()
    zd = z.double()
    cd = c.double() if c is not None else None
    n = z.shape[0]
    res = cfg["img_resolution"]
    with torch.no_grad():
        ws = G.mapping(zd, cd)
        expect_shape("out.ws", ws, [n, G.num_ws, cfg["w_dim"]])
        T["out.ws"] = f32(ws)
        trace = {}
        img = G.synthesis(ws, noise_mode="const", fused_modconv=False, trace=trace)
        expect_shape("out.img.const", img, [n, cfg["img_channels"], res, res])
        img_f = G.synthesis(ws, noise_mode="const", fused_modconv=True)
        check(f"{name}: fused vs non-fused synthesis", maxdiff(img, img_f), 1e-10)
        T["out.img.const"] = f32(img)
        T["out.img.none"] = f32(G.synthesis(ws, noise_mode="none", fused_modconv=False))
        assert maxdiff(T["out.img.const"], T["out.img.none"]) > 1e-3, f"{name}: noise has no effect"

        # float32 forward of the same model, to show the tolerance the Rust side needs.
        G32 = build_generator(cfg)
        G32.load_state_dict({k: v for k, v in T.items() if not k.startswith(("in.", "out."))})
        G32.eval()
        img32 = G32(z, T.get("in.c"), noise_mode="const")
        check(f"{name}: float32 vs float64 image (info)", maxdiff(img32, img), 1e-3)

        if extra:
            ws07 = G.mapping(zd, cd, truncation_psi=0.7)
            T["out.ws_psi0.7"] = f32(ws07)
            ws05 = G.mapping(zd, cd, truncation_psi=0.5, truncation_cutoff=2)
            T["out.ws_psi0.5_cutoff2"] = f32(ws05)
            check(f"{name}: cutoff leaves later ws alone", maxdiff(ws05[:, 2:], ws[:, 2:]), 0.0)
            T["out.img.psi0.7"] = f32(G.synthesis(ws07, noise_mode="const", fused_modconv=False))
            for r in G.synthesis.block_resolutions:
                blk = getattr(G.synthesis, f"b{r}")
                ch = blk.conv1.out_channels
                expect_shape(f"b{r}.x", trace[f"b{r}.x"], [n, ch, r, r])
                T[f"out.blocks.b{r}.x"] = f32(trace[f"b{r}.x"])
                T[f"out.blocks.b{r}.img"] = f32(trace[f"b{r}.img"])
            check(f"{name}: last block image is the output", maxdiff(trace[f"b{res}.img"], img), 0.0)
    config = dict(cfg, num_ws=G.num_ws)
    path = os.path.join(out_dir, f"{name}.safetensors")
    save(path, T, config)
    return path


G_SEEDS = [0, 1, 42, 4294967295]
G_SEEDS_PSI = (("psi1", 1.0), ("psi0.7", 0.7))


def make_g_seeds(out_dir: str, g_path: str) -> str:
    """End-to-end ``generate.py`` pipeline on the generator stored in ``g_path``.

    For each seed: z = RandomState(seed).randn(1, z_dim) (float64),
    img = G(z, None, truncation_psi=psi, noise_mode='const') in float64, then
    pixels = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(uint8).
    Stores ``seeds`` (int64 [S]), ``out.img.<psi>`` (float32 [S, C, H, W]) and
    ``out.pixels.<psi>`` (the uint8 values as float32 [S, H, W, C]).
    """
    with safe_open(g_path, "pt") as f:
        src_cfg = json.loads(f.metadata()["config"])
    stored = load_torch(g_path)
    G = build_generator(src_cfg)
    G.load_state_dict({k: v for k, v in stored.items() if not k.startswith(("in.", "out."))})
    G = G.double().eval()
    z_dim = src_cfg["z_dim"]
    res = src_cfg["img_resolution"]
    ch = src_cfg["img_channels"]
    name = os.path.basename(g_path)

    T: Dict[str, torch.Tensor] = {"seeds": torch.tensor(G_SEEDS, dtype=torch.int64)}
    with torch.no_grad():
        # The stored parameters must reproduce the stored image of the source fixture.
        img = G(stored["in.z"].double(), None, noise_mode="const")
        check(f"g_seeds: reloaded {name} vs its out.img.const", maxdiff(img, stored["out.img.const"]), 1e-6)

        zs = [torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim)) for seed in G_SEEDS]
        for z in zs:
            assert z.dtype == torch.float64
        for label, psi in G_SEEDS_PSI:
            imgs, pixels = [], []
            for z in zs:
                img = G(z, None, truncation_psi=psi, noise_mode="const")
                expect_shape(f"g_seeds img {label}", img, [1, ch, res, res])
                px = (img.permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
                imgs.append(img)
                pixels.append(px)
            img = torch.cat(imgs)
            px = torch.cat(pixels)
            T[f"out.img.{label}"] = f32(img)
            T[f"out.pixels.{label}"] = px.to(torch.float32).contiguous()

            # Batched evaluation gives the same images (no cross-sample coupling).
            batched = G(torch.cat(zs), None, truncation_psi=psi, noise_mode="const")
            check(f"g_seeds {label}: batched vs per-seed image", maxdiff(batched, img), 1e-12)
            # The randomised generator's images have std ~2, so most values clamp;
            # make sure every seed still leaves a good share of the range in play.
            v = img.permute(0, 2, 3, 1) * 127.5 + 128
            live = ((v >= 0) & (v < 256)).double().flatten(1).mean(dim=1)
            assert live.min().item() > 0.1, f"g_seeds {label}: unclamped fraction per seed {live.tolist()}"
            near = (v - v.round()).abs() < 0.01
            near_live = near & (v > -0.01) & (v < 255.01)
            print(f"g_seeds {label}: {int(near.sum())} of {v.numel()} values within 0.01 of an integer "
                  f"({int(near_live.sum())} inside [0, 255]), {100 * live.mean().item():.1f}% unclamped")
        assert maxdiff(T["out.img.psi1"], T["out.img.psi0.7"]) > 1e-3, "g_seeds: truncation has no effect"

    config = dict(src_cfg, source_fixture=name)
    path = os.path.join(out_dir, "g_seeds.safetensors")
    save(path, T, config)
    return path


def d_config(c_dim, res, img_channels, channel_base, channel_max, conv_clamp):
    return {
        "c_dim": c_dim,
        "img_resolution": res,
        "img_channels": img_channels,
        "architecture": "resnet",
        "channel_base": channel_base,
        "channel_max": channel_max,
        "num_fp16_res": 0,
        "conv_clamp": conv_clamp,
        "cmap_dim": None,
        "mbstd_group_size": 4,
        "mbstd_num_channels": 1,
        "mapping": mapping_config(8, w_avg_beta=None),
    }


def build_discriminator(cfg) -> ref.Discriminator:
    m = dict(cfg["mapping"])
    m.pop("w_avg_beta")  # fixed to None for the label embedding
    return ref.Discriminator(
        cfg["c_dim"], cfg["img_resolution"], cfg["img_channels"],
        architecture=cfg["architecture"],
        channel_base=cfg["channel_base"],
        channel_max=cfg["channel_max"],
        num_fp16_res=cfg["num_fp16_res"],
        conv_clamp=cfg["conv_clamp"],
        cmap_dim=cfg["cmap_dim"],
        mapping_kwargs=m,
        epilogue_kwargs=dict(mbstd_group_size=cfg["mbstd_group_size"], mbstd_num_channels=cfg["mbstd_num_channels"]),
    )


def make_discriminator(out_dir, name, cfg, img, c, seed, blocks=True) -> str:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    D = build_discriminator(cfg)
    randomize_(D, gen)
    T = tensors_of(D)
    T["in.img"] = img.to(torch.float32)
    if c is not None:
        T["in.c"] = c.to(torch.float32)
    D = D.double().eval()
    with torch.no_grad():
        trace = {}
        logits = D(img.double(), c.double() if c is not None else None, trace=trace)
        expect_shape("out.logits", logits, [img.shape[0], 1])
        T["out.logits"] = f32(logits)
        if blocks:
            for r in D.block_resolutions:
                T[f"out.blocks.b{r}.x"] = f32(trace[f"b{r}.x"])
        D32 = build_discriminator(cfg)
        D32.load_state_dict({k: v for k, v in T.items() if not k.startswith(("in.", "out."))})
        l32 = D32.eval()(T["in.img"], T.get("in.c"))
        check(f"{name}: float32 vs float64 logits (info)", maxdiff(l32, logits), 1e-3)
    config = dict(cfg, cmap_dim_resolved=D.cmap_dim)
    path = os.path.join(out_dir, f"{name}.safetensors")
    save(path, T, config)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    paths = [make_seeds(args.out), make_layers(args.out)]

    g = torch.Generator().manual_seed(7)
    cfg = g_config(32, 0, 32, 32, 3, map_layers=2, channel_base=512, channel_max=64, conv_clamp=None)
    paths.append(make_generator(args.out, "g_small", cfg, torch.randn(3, 32, generator=g), None, seed=11))
    paths.append(make_g_seeds(args.out, paths[-1]))

    cfg = g_config(16, 5, 24, 16, 3, map_layers=3, channel_base=256, channel_max=32, conv_clamp=0.5)
    c = torch.zeros(4, 5)
    c[0, 0] = c[1, 2] = c[2, 4] = 1.0
    c[3] = torch.randn(5, generator=g)
    paths.append(make_generator(args.out, "g_cond", cfg, torch.randn(4, 16, generator=g), c, seed=12, extra=False))

    cfg = d_config(0, 32, 3, channel_base=512, channel_max=64, conv_clamp=None)
    paths.append(make_discriminator(args.out, "d_small", cfg, torch.randn(8, 3, 32, 32, generator=g), None, seed=13))

    cfg = d_config(5, 16, 3, channel_base=256, channel_max=32, conv_clamp=0.5)
    c = torch.zeros(4, 5)
    c[0, 1] = c[1, 3] = c[2, 0] = 1.0
    c[3] = torch.randn(5, generator=g)
    paths.append(make_discriminator(args.out, "d_cond", cfg, torch.randn(4, 3, 16, 16, generator=g), c, seed=14, blocks=False))

    print("\nself-checks:")
    for name, value, limit in CHECKS:
        print(f"  ok  {value:9.2e} <= {limit:7.1e}  {name}")
    print("\nfixtures:")
    total = 0
    for p in paths:
        size = os.path.getsize(p)
        total += size
        print(f"  {size / 1024:8.1f} KiB  {os.path.relpath(p, REPO)}")
    print(f"  {total / 1024:8.1f} KiB  total")


if __name__ == "__main__":
    main()

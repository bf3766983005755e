#!/usr/bin/env python3
"""Write the reference outputs of the ADA 'bgc' augmentation pipeline.

Usage:  python3 tools/make_augment_fixtures.py [--out DIR]

Writes ``augment.safetensors`` (default directory:
``crates/fauxto-train/tests/fixtures``) from ``ada_ref.py``:

* ``in.images`` [4, 3, 32, 32]: smooth random images in [-1, 1] (bicubic
  upsampled 8x8 noise, each image scaled to max |x| = 1), float32, used
  exactly.
* ``filter.hz_geom`` [12]: the geometric filter taps (sym6, unit sum).
* for every case: ``params.<case>.<name>`` [4] for the 15 names of
  ``PARAM_NAMES`` and ``out.<case>`` [4, 3, 32, 32] = ``apply(in.images,
  params)``. Cases: ``identity`` (all parameters at their identity value; the
  geometric stage still runs), one case per augmentation with a non-identity
  value for every sample (``xint`` and ``xfrac`` set both components), and
  ``all`` (``draw_params(4, p=1)`` from a seeded generator).
* ``__metadata__["config"]``: JSON ``{"param_names", "cases", "note"}``.

Parameters are rounded to float32 first and the outputs computed in float64
from the rounded values, then stored as float32.

Self-checks (printed): x-flip against ``torch.flip`` filtered by the
x-flip's own line response (the official mirror is not exact: sym6 is not
symmetric), 90-degree rotations against ``torch.rot90`` (dims [2, 3]); integer translation against a shifted,
reflect-padded image; the colour stage alone for brightness, contrast, luma
flip twice and a full hue turn; invariance of the output to extra padding; the
draw statistics over 100k samples at p = 1 and p = 0.5; linearity of
``apply`` in the images (affine when the brightness is non-zero) and the
adjoint identity of its autograd backward.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ada_ref as ada  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "fauxto-train", "tests", "fixtures")

N, RES = 4, 32
D64 = torch.float64

# Single-augmentation cases: name -> {param: values}.
SINGLE = {
    "xflip": {"xflip": [1, 1, 1, 1]},
    "rot90": {"rot90": [1, 2, 3, 1]},
    "xint": {"xint_x": [3, -4, 2, -1], "xint_y": [-2, 4, -3, 1]},
    "scale": {"scale": [1.25, 0.8, 1.5, 0.7]},
    "rot_pre": {"rot_pre": [0.3, -1.2, 2.5, -2.9]},
    "aniso": {"aniso": [1.2, 0.85, 1.4, 0.75]},
    "rot_post": {"rot_post": [-0.5, 1.0, -2.2, 3.0]},
    "xfrac": {"xfrac_x": [1.3, -2.6, 0.45, -0.8], "xfrac_y": [-0.7, 1.9, -3.1, 0.25]},
    "brightness": {"brightness": [0.2, -0.3, 0.1, -0.15]},
    "contrast": {"contrast": [1.5, 0.6, 2.0, 0.8]},
    "lumaflip": {"lumaflip": [1, 1, 1, 1]},
    "hue": {"hue": [0.5, -1.5, 2.8, -3.0]},
    "saturation": {"saturation": [0.4, 2.0, 0.7, 1.6]},
}
ALL_SEED = 20240611


def smooth_images(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn([N, 3, 8, 8], generator=g, dtype=D64)
    x = F.interpolate(z, size=(RES, RES), mode="bicubic", align_corners=False)
    x = x / x.abs().amax(dim=(1, 2, 3), keepdim=True)
    return x.to(torch.float32)


def case_params(values) -> dict:
    p = ada.identity_params(N, torch.float32)
    for k, v in values.items():
        p[k] = torch.tensor(v, dtype=torch.float32)
    return p


def maxabs(a, b) -> float:
    return float((a - b).abs().max())


def interior(x, m=6):
    return x[:, :, m:-m, m:-m]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)

    x32 = smooth_images(7)
    x = x32.to(D64)
    cases = {"identity": ada.identity_params(N, torch.float32)}
    for name, vals in SINGLE.items():
        cases[name] = case_params(vals)
    cases["all"] = ada.draw_params(N, 1.0, torch.Generator().manual_seed(ALL_SEED), RES, RES)

    outs = {name: ada.apply(x, p) for name, p in cases.items()}
    failures = []

    def check(label, err, limit):
        ok = err <= limit
        print(f"  {'ok  ' if ok else 'FAIL'} {label}: {err:.3e} (limit {limit:.0e})")
        if not ok:
            failures.append(label)

    print("geometric stage:")
    id_err = maxabs(outs["identity"], x)
    print(f"  identity: max |out - in| = {id_err:.3e}, interior (6 px) {maxabs(interior(outs['identity']), interior(x)):.3e}")
    print(f"  identity margin (mx0, my0, mx1, my1) = {ada.geom_margin(ada.geom_matrix(cases['identity']), RES, RES)}")
    tol = max(id_err, 1e-12) * 10
    # The mirror is not an exact torch.flip: sym6 is not symmetric, so up-filter, mirror and
    # down-filter leave a small horizontal filter (about -0.1 px shift plus ringing). Its
    # response to a vertical line at column 10 gives the kernel; the x-flip output of any
    # image must then be torch.flip convolved with it (rows untouched).
    line = torch.zeros([1, 3, RES, RES], dtype=D64)
    line[:, :, :, 10] = 1
    one = {k: v[:1] for k, v in cases["xflip"].items()}
    resp = ada.apply(line, one)[0, 0, RES // 2]
    col = torch.arange(RES, dtype=D64)
    print(f"  xflip line response: sum {float(resp.sum()):.12f}, centroid {float((resp * col).sum() / resp.sum()):.4f} "
          f"(mirrored column {RES - 1 - 10}), peak {float(resp.max()):.4f}")
    kern = resp[RES - 1 - 10 - 9: RES - 1 - 10 + 10]  # offsets -9..9 around the mirrored column
    xf = F.pad(torch.flip(x, [3]).reshape(N * 3, 1, RES, RES), [9, 9, 0, 0], mode="reflect")
    pred = F.conv2d(xf, kern.flip(0).reshape(1, 1, 1, -1)).reshape(N, 3, RES, RES)
    check("xflip == torch.flip(x, [3]) filtered by its line response", maxabs(outs["xflip"], pred), tol)
    const_x = x[:, :, :, :1].expand(N, 3, RES, RES).contiguous()
    check("xflip leaves an image constant along x unchanged", maxabs(ada.apply(const_x, cases["xflip"]), const_x), tol)
    e_flip = maxabs(outs["xflip"], torch.flip(x, [3]))
    e_none = maxabs(outs["xflip"], x)
    check(f"xflip vs torch.flip(x, [3]) (unflipped: {e_none:.3f})", e_flip, 0.1)
    rot = torch.stack([torch.rot90(x[n], int(k), [1, 2]) for n, k in enumerate(cases["rot90"]["rot90"].tolist())])
    rot_cw = torch.stack([torch.rot90(x[n], int(k), [2, 1]) for n, k in enumerate(cases["rot90"]["rot90"].tolist())])
    check(f"rot90 k vs torch.rot90(x, k, [2, 3]) (vs [3, 2]: {maxabs(outs['rot90'], rot_cw):.3f})",
          maxabs(outs["rot90"], rot), 0.1)
    # Integer translation by (tx, ty): out[y, x] = in[y - ty, x - tx], beyond the border the
    # reflection of the image.
    pad = F.pad(x, [8, 8, 8, 8], mode="reflect")
    shifted = torch.stack([
        pad[n, :, 8 - int(ty): 8 - int(ty) + RES, 8 - int(tx): 8 - int(tx) + RES]
        for n, (tx, ty) in enumerate(zip(cases["xint"]["xint_x"].tolist(), cases["xint"]["xint_y"].tolist()))
    ])
    check("xint == reflect-padded shift (interior, 6 px)", maxabs(interior(outs["xint"]), interior(shifted)), tol)
    print(f"  (xint vs reflect-padded shift, whole image: {maxabs(outs['xint'], shifted):.3e})")
    for name in ["identity", "rot90", "scale", "rot_pre", "aniso", "xfrac", "all"]:
        m = ada.geom_margin(ada.geom_matrix(cases[name]), RES, RES)
        r = ada.geom_margin(ada.geom_matrix(cases[name]), RES, RES, raw=True)
        d = maxabs(ada.apply(x, cases[name], extra_margin=2), outs[name])
        print(f"  {name}: margin {m} (before ceil {[f'{v:.6f}' for v in r]}); "
              f"output change with 2 px extra padding: {d:.3e}")
    # Each sample alone (own margin) against the batch (shared margin).
    alone = torch.cat([ada.apply(x[n:n + 1], {k: v[n:n + 1] for k, v in cases["all"].items()}) for n in range(N)])
    print(f"  all: per-sample margins {[ada.geom_margin(ada.geom_matrix({k: v[n:n + 1] for k, v in cases['all'].items()}), RES, RES) for n in range(N)]}")
    print(f"  all: each sample alone vs in the batch: {maxabs(alone, outs['all']):.3e}")

    print("colour stage alone:")
    br = case_params(SINGLE["brightness"])
    b = br["brightness"].to(D64).reshape(N, 1, 1, 1)
    check("brightness b: x + b", maxabs(ada.color_stage(x, ada.color_matrix(br)), x + b), 1e-14)
    co = case_params(SINGLE["contrast"])
    c = co["contrast"].to(D64).reshape(N, 1, 1, 1)
    check("contrast c: c * x", maxabs(ada.color_stage(x, ada.color_matrix(co)), c * x), 1e-14)
    cl = ada.color_matrix(case_params(SINGLE["lumaflip"]))
    check("lumaflip twice: identity", maxabs(ada.color_stage(ada.color_stage(x, cl), cl), x), 1e-14)
    lum = x.mean(dim=1, keepdim=True)
    check("lumaflip: x - 2 * mean_rgb(x)", maxabs(ada.color_stage(x, cl), x - 2 * lum), 1e-14)
    hu = case_params({"hue": [2 * math.pi] * N})
    check("hue 2*pi: identity", maxabs(ada.color_stage(x, ada.color_matrix(hu)), x), 1e-6)
    hu64 = ada.identity_params(N)
    hu64["hue"] = torch.full([N], 2 * math.pi, dtype=D64)
    check("hue 2*pi (float64 angle): identity", maxabs(ada.color_stage(x, ada.color_matrix(hu64)), x), 1e-14)
    sa = case_params({"saturation": [0.0] * N})
    check("saturation 0: grey mean_rgb(x)", maxabs(ada.color_stage(x, ada.color_matrix(sa)), lum.expand_as(x)), 1e-14)
    check("colour cases: output of colour stage on the identity geometric output",
          max(maxabs(outs[k], ada.color_stage(outs["identity"], ada.color_matrix(cases[k])))
              for k in ["brightness", "contrast", "lumaflip", "hue", "saturation"]), 1e-14)

    print("draw statistics (100k samples):")
    for p in [1.0, 0.5]:
        d = ada.draw_params(100_000, p, torch.Generator().manual_seed(1), RES, RES)
        d = {k: v.to(D64) for k, v in d.items()}
        p_rot = 1 - math.sqrt(1 - p)
        stats = [
            ("xflip == 1", (d["xflip"] == 1).double().mean(), p / 2),
            ("rot90 != 0", (d["rot90"] != 0).double().mean(), p * 3 / 4),
            ("rot90 == 2", (d["rot90"] == 2).double().mean(), p / 4),
            ("xint_x != 0", (d["xint_x"] != 0).double().mean(), p * 7 / 8),
            ("scale != 1", (d["scale"] != 1).double().mean(), p),
            ("rot_pre != 0", (d["rot_pre"] != 0).double().mean(), p_rot),
            ("rot_pre or rot_post != 0", ((d["rot_pre"] != 0) | (d["rot_post"] != 0)).double().mean(), p),
            ("aniso != 1", (d["aniso"] != 1).double().mean(), p),
            ("xfrac_x != 0", (d["xfrac_x"] != 0).double().mean(), p),
            ("brightness != 0", (d["brightness"] != 0).double().mean(), p),
            ("contrast != 1", (d["contrast"] != 1).double().mean(), p),
            ("lumaflip == 1", (d["lumaflip"] == 1).double().mean(), p / 2),
            ("hue != 0", (d["hue"] != 0).double().mean(), p),
            ("saturation != 1", (d["saturation"] != 1).double().mean(), p),
        ]
        for label, got, want in stats:
            check(f"p={p} P({label}) = {float(got):.4f} vs {want:.4f}", abs(float(got) - want), 0.01)
        if p == 1.0:
            moments = [
                ("std log2 scale", d["scale"].log2().std(), ada.SCALE_STD),
                ("std log2 aniso", d["aniso"].log2().std(), ada.ANISO_STD),
                ("std xfrac_x / W", (d["xfrac_x"] / RES).std(), ada.XFRAC_STD),
                ("std brightness", d["brightness"].std(), ada.BRIGHTNESS_STD),
                ("std log2 contrast", d["contrast"].log2().std(), ada.CONTRAST_STD),
                ("std log2 saturation", d["saturation"].log2().std(), ada.SATURATION_STD),
                ("max |rot_pre| / pi", d["rot_pre"].abs().max() / math.pi, 1.0),
                ("max |hue| / pi", d["hue"].abs().max() / math.pi, 1.0),
                ("max |xint_x|", d["xint_x"].abs().max(), RES * ada.XINT_MAX),
            ]
            for label, got, want in moments:
                check(f"p=1 {label} = {float(got):.4f} vs {want:.4f}", abs(float(got) - want) / want, 0.02)

    print("linearity / gradient:")
    g = torch.Generator().manual_seed(3)
    xa = torch.randn([N, 3, RES, RES], generator=g, dtype=D64)
    xb = torch.randn([N, 3, RES, RES], generator=g, dtype=D64)
    pa = {k: v.clone() for k, v in cases["all"].items()}
    lin = dict(pa)
    lin["brightness"] = torch.zeros(N)
    a_, b_ = 0.7, -1.9
    e = maxabs(ada.apply(a_ * xa + b_ * xb, lin), a_ * ada.apply(xa, lin) + b_ * ada.apply(xb, lin))
    check("linear (brightness 0): apply(a x + b y) = a apply(x) + b apply(y)", e, 1e-10)
    a_, b_ = 0.7, 0.3
    e = maxabs(ada.apply(a_ * xa + b_ * xb, pa), a_ * ada.apply(xa, pa) + b_ * ada.apply(xb, pa))
    check("affine (all params, a + b = 1)", e, 1e-10)
    xr = xa.clone().requires_grad_(True)
    y = torch.randn([N, 3, RES, RES], generator=g, dtype=D64)
    (ada.apply(xr, lin) * y).sum().backward()
    lhs = float((ada.apply(xb, lin) * y).sum())
    rhs = float((xb * xr.grad).sum())
    check("adjoint: <J v, y> = <v, J^T y>", abs(lhs - rhs) / abs(lhs), 1e-12)

    tensors = {"in.images": x32.contiguous(), "filter.hz_geom": ada.hz_geom(torch.float32).contiguous()}
    for name, p in cases.items():
        for k in ada.PARAM_NAMES:
            tensors[f"params.{name}.{k}"] = p[k].to(torch.float32).contiguous()
        tensors[f"out.{name}"] = outs[name].to(torch.float32).contiguous()
    config = {
        "param_names": ada.PARAM_NAMES,
        "cases": list(cases.keys()),
        "note": (
            "ADA 'bgc' pipeline (tools/ada_ref.py): out = colour(geometric(in)), float64 from the "
            "float32 params. Geometric stage always runs; its padding margin is shared by the batch. "
            f"'all' = draw_params(4, p=1, seed {ALL_SEED}). Pixel units for xint/xfrac, radians for "
            "rot_pre/rot_post/hue."
        ),
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "augment.safetensors")
    save_file(tensors, path, metadata={"config": json.dumps(config)})
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")
    print("all-case params:")
    for k in ada.PARAM_NAMES:
        print(f"  {k:10s} {[round(v, 4) for v in cases['all'][k].tolist()]}")
    if failures:
        print(f"{len(failures)} self-check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch generation-throughput baseline (peer of the fauxto generate benchmark).

Builds the reference Generator from ``stylegan2_ref.py`` (random weights),
runs z -> image in float32, eval mode, ``torch.no_grad()``, fused modulated
convolutions (as at inference in the original code; ``--no-fused`` for the
other formulation), noise mode 'const', and
prints one JSON line (CUDA runs use strict float32 unless ``--tf32``):

  {"impl": "pytorch", "res": ..., "batch": ..., "threads": ...,
   "images_per_s": ..., "ms_per_batch": ..., "gflop_per_image": ..., ...}

Examples:
  python3 tools/bench_generate_torch.py --preset stylegan2 --res 64 --batch 8 --threads 2
  python3 tools/bench_generate_torch.py --preset small --res 256 --channel-max 128
  python3 tools/bench_generate_torch.py --preset stylegan2 --res 256 --batch 32 --device cuda

FLOP convention (``count_generator_flops``): 2 x multiply-adds of all dense
layers and convolutions, per image:
  * mapping: every fully connected layer (and the label embedding, if any);
  * every style affine (w_dim x in_channels);
  * 3x3 convolutions at their output resolution; the upsampling conv0 is a
    stride-2 transposed convolution and is counted at its *input* resolution
    (in * out * 9 * (res/2)^2), which is the dense work it performs;
  * 1x1 toRGB convolutions.
Not counted: FIR filtering, style modulation / demodulation, bias,
activations, noise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stylegan2_ref as ref  # noqa: E402

PRESETS = {
    # Official config-f widths (StyleGAN2 / StyleGAN2-ADA "stylegan2" config).
    "stylegan2": dict(channel_base=32768, channel_max=512, map_layers=8, z_dim=512, w_dim=512),
    # fauxto's `small` preset: a narrow network for CPU work.
    "small": dict(channel_base=4096, channel_max=256, map_layers=2, z_dim=256, w_dim=256),
}


def count_generator_flops(z_dim, c_dim, w_dim, res, img_channels, channel_base, channel_max, map_layers):
    """FLOPs (2 x MACs) per generated image under the convention in the module docstring."""
    macs = 0
    # Mapping network.
    embed = w_dim if c_dim > 0 else 0
    feats = [z_dim + embed] + [w_dim] * map_layers
    if c_dim > 0:
        macs += c_dim * w_dim
    for i in range(map_layers):
        macs += feats[i] * feats[i + 1]
    # Synthesis network.
    log2 = int(math.log2(res))
    ch = {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, log2 + 1)}
    for r in sorted(ch):
        out = ch[r]
        if r > 4:
            cin = ch[r // 2]
            macs += w_dim * cin  # conv0 affine
            macs += cin * out * 9 * (r // 2) ** 2  # transposed conv at input resolution
        macs += w_dim * out  # conv1 affine
        macs += out * out * 9 * r * r
        macs += w_dim * out  # toRGB affine
        macs += out * img_channels * r * r  # toRGB 1x1
    return 2 * macs


def main() -> None:
    ap = argparse.ArgumentParser(description="PyTorch StyleGAN2 generation throughput")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="stylegan2")
    ap.add_argument("--res", type=int, default=64, help="output resolution (power of two)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--iters", type=int, default=5, help="timed iterations")
    ap.add_argument("--warmup", type=int, default=2, help="untimed iterations")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--channel-base", type=int, default=None)
    ap.add_argument("--channel-max", type=int, default=None)
    ap.add_argument("--map-layers", type=int, default=None)
    ap.add_argument("--z-dim", type=int, default=None, help="z and w dimensionality")
    ap.add_argument("--img-channels", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in CUDA convolutions / matmuls (default: strict float32)")
    ap.add_argument("--no-fused", action="store_true", help="non-fused modulated conv (scale activations instead of weights)")
    ap.add_argument("--conv-clamp", type=float, default=256.0,
                    help="conv clamp of the synthesis layers (the official training configs use 256)")
    args = ap.parse_args()

    p = dict(PRESETS[args.preset])
    if args.channel_base is not None:
        p["channel_base"] = args.channel_base
    if args.channel_max is not None:
        p["channel_max"] = args.channel_max
    if args.map_layers is not None:
        p["map_layers"] = args.map_layers
    if args.z_dim is not None:
        p["z_dim"] = p["w_dim"] = args.z_dim

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    device = torch.device(args.device)
    # PyTorch enables TF32 for cuDNN convolutions by default; keep float32 strict
    # unless asked, so the numbers compare with a plain float32 implementation.
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.manual_seed(args.seed)

    G = ref.Generator(
        z_dim=p["z_dim"],
        c_dim=0,
        w_dim=p["w_dim"],
        img_resolution=args.res,
        img_channels=args.img_channels,
        mapping_kwargs=dict(num_layers=p["map_layers"]),
        synthesis_kwargs=dict(channel_base=p["channel_base"], channel_max=p["channel_max"], conv_clamp=args.conv_clamp),
    )
    G = G.to(device=device, dtype=torch.float32).eval().requires_grad_(False)
    z = torch.randn(args.batch, p["z_dim"], device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def step():
        return G(z, None, truncation_psi=1.0, noise_mode="const", fused_modconv=not args.no_fused)

    with torch.no_grad():
        for _ in range(args.warmup):
            img = step()
        sync()
        t0 = time.perf_counter()
        for _ in range(args.iters):
            img = step()
        sync()
        elapsed = time.perf_counter() - t0
    assert img.shape == (args.batch, args.img_channels, args.res, args.res)

    flops = count_generator_flops(
        p["z_dim"], 0, p["w_dim"], args.res, args.img_channels, p["channel_base"], p["channel_max"], p["map_layers"]
    )
    ms = 1000.0 * elapsed / args.iters
    result = {
        "impl": "pytorch",
        "res": args.res,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "images_per_s": round(args.batch * args.iters / elapsed, 3),
        "ms_per_batch": round(ms, 3),
        "gflop_per_image": round(flops / 1e9, 4),
        "preset": args.preset,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "channel_base": p["channel_base"],
        "channel_max": p["channel_max"],
        "map_layers": p["map_layers"],
        "z_dim": p["z_dim"],
        "fused_modconv": not args.no_fused,
        "tf32": bool(args.tf32) if device.type == "cuda" else False,
        "iters": args.iters,
        "torch": torch.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

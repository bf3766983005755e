#!/usr/bin/env python3
"""Run an ONNX generator exported by `fauxto export-onnx` in onnxruntime and compare it
with fauxto's own output, and optionally time it.

Usage:
  fauxto export-onnx --model M --out g.onnx --check-seeds 0-7
  python3 tools/check_onnx.py g.onnx                    # parity against g.onnx.check.safetensors
  python3 tools/check_onnx.py g.onnx --bench --batch 8 --threads 2 --iters 5

Parity: `img` within 1e-4 relative error (largest absolute difference over the largest
absolute value), `pixels` within 1 (float rounding at a uint8 boundary) with at most 1 in
500 values off by one. Prints one JSON line; exits 1 when a check fails.

Needs `pip install onnxruntime numpy safetensors` (no PyTorch).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

REL_TOL = 1e-4


def session(path: str, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def parity(sess: ort.InferenceSession, check_path: str) -> dict:
    ref = load_file(check_path)
    names = {i.name for i in sess.get_inputs()}
    feed = {k: ref[k].astype(np.float32) for k in ("z", "c", "truncation_psi") if k in names}
    img, pixels = sess.run(["img", "pixels"], feed)
    want = ref["img"]
    rel = float(np.abs(img - want).max() / max(np.abs(want).max(), 1e-30))
    diff = np.abs(pixels.astype(np.int32) - ref["pixels"].astype(np.int32))
    off = int((diff > 0).sum())
    ok = rel <= REL_TOL and diff.max() <= 1 and off <= diff.size // 500
    return {
        "images": int(img.shape[0]),
        "img_rel_err": rel,
        "pixels_max_diff": int(diff.max()),
        "pixels_off_by_one": off,
        "ok": bool(ok),
    }


def bench(sess: ort.InferenceSession, batch: int, iters: int, warmup: int) -> dict:
    inputs = {i.name: i for i in sess.get_inputs()}
    rng = np.random.RandomState(0)
    feed = {}
    for name, spec in inputs.items():
        if name == "truncation_psi":
            continue
        width = spec.shape[1]
        x = rng.randn(batch, width).astype(np.float32)
        if name == "c":
            x = np.eye(width, dtype=np.float32)[np.arange(batch) % width]
        feed[name] = x
    for _ in range(warmup):
        sess.run(["img"], feed)
    t0 = time.perf_counter()
    for _ in range(iters):
        sess.run(["img"], feed)
    dt = time.perf_counter() - t0
    return {"batch": batch, "iters": iters, "img_per_s": batch * iters / dt}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx")
    ap.add_argument("--check", help="check file (default: ONNX.check.safetensors)")
    ap.add_argument("--no-parity", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    sess = session(args.onnx, args.threads)
    out = {"peer": "onnxruntime", "version": ort.__version__, "threads": args.threads}
    ok = True
    if not args.no_parity:
        out["parity"] = parity(sess, args.check or args.onnx + ".check.safetensors")
        ok = out["parity"]["ok"]
    if args.bench:
        out.update(bench(sess, args.batch, args.iters, args.warmup))
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

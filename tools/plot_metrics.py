#!/usr/bin/env python3
"""Plot a training run's metrics.jsonl as a PNG a person can read at a glance.

Usage:  python3 tools/plot_metrics.py RUN/metrics.jsonl --out docs/metrics.png

Panels: G and D losses, the R1 and path-length penalties, the mean sign of D on
reals (the overfitting heuristic ADA steers by), and throughput, all against kimg.
When a run was resumed, lines for a kimg already logged are replaced by the later ones.
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    by_kimg = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                m = json.loads(line)
                by_kimg[round(m["kimg"], 3)] = m
    return [by_kimg[k] for k in sorted(by_kimg)]


def series(rows, key):
    pts = [(r["kimg"], r[key]) for r in rows if r.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("metrics")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    rows = load(args.metrics)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    ax = axes[0][0]
    ax.plot(*series(rows, "loss_g"), label="G loss")
    ax.plot(*series(rows, "loss_d"), label="D loss")
    ax.set_title("losses")
    ax.legend()
    ax = axes[0][1]
    ax.plot(*series(rows, "r1_penalty"), label="R1 penalty ‖∇D‖²")
    ax.plot(*series(rows, "pl_penalty"), label="path-length penalty")
    ax.set_yscale("log")
    ax.set_title("regularisers")
    ax.legend()
    ax = axes[1][0]
    ax.plot(*series(rows, "real_sign"), label="mean sign D(real)")
    ax.axhline(0.6, color="grey", linestyle=":", label="ADA target 0.6")
    ax.set_ylim(-1.05, 1.05)
    ax.set_title("discriminator on reals")
    ax.legend()
    ax = axes[1][1]
    ax.plot(*series(rows, "img_per_s"))
    ax.set_title("throughput (images/s)")
    for row in axes:
        for a in row:
            a.set_xlabel("kimg")
            a.grid(alpha=0.3)
    if args.title:
        fig.suptitle(args.title)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out} ({len(rows)} ticks, up to {rows[-1]['kimg']:.1f} kimg)")


if __name__ == "__main__":
    main()

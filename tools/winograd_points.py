#!/usr/bin/env python3
"""Winograd F(4x4, 3x3) matrices for a choice of interpolation points, and their float32 error.

Derives Aᵀ and G by the Toom-Cook construction (Lavin & Gray 2016, §4; the point at infinity
last) and solves exactly for the Bᵀ that makes Aᵀ[(G g) ⊙ (Bᵀ d)] the cross-correlation of
d with g, then measures the float32 error of one 4x4 tile summed over 64 channels against the
float64 direct sum. `crates/fauxto-nn/src/kernels/winograd/f4.rs` uses the first point set.

    python3 tools/winograd_points.py        # needs sympy and numpy
"""
import numpy as np
import sympy as sp

M, R = 4, 3
N = M + R - 1


def derive(points):
    """(Aᵀ, G, Bᵀ) for the finite points `points` and infinity."""
    assert len(points) == N - 1
    pts = [sp.nsimplify(p) for p in points]
    at, g = sp.zeros(M, N), sp.zeros(N, R)
    for j, p in enumerate(pts):
        for i in range(M):
            at[i, j] = p**i
        norm = sp.prod([p - q for q in pts if q != p])
        for k in range(R):
            g[j, k] = p**k / norm
    at[M - 1, N - 1] = 1
    g[N - 1, R - 1] = 1
    bt = sp.Matrix(N, N, lambda a, b: sp.Symbol(f"b{a}_{b}"))
    equations = [
        sum(at[i, j] * g[j, k] * bt[j, l] for j in range(N)) - (1 if l == i + k else 0)
        for i in range(M)
        for k in range(R)
        for l in range(N)
    ]
    bt = bt.subs(sp.solve(equations, list(bt)))
    assert all(not e.free_symbols for e in bt), "no unique input transform"
    return at, g, bt


def error(at, g, bt, trials=200, channels=64, seed=0):
    """Mean and largest error of a float32 tile relative to its largest output."""
    rng = np.random.default_rng(seed)
    at, g32, bt = (np.array(m.evalf(), dtype=np.float32) for m in (at, g, bt))
    errors = []
    for _ in range(trials):
        d = rng.standard_normal((channels, N, N)).astype(np.float32)
        k = rng.standard_normal((channels, R, R)).astype(np.float32)
        u = np.einsum("ak,ckl,bl->cab", g32, k, g32).astype(np.float32)
        v = np.einsum("ak,ckl,bl->cab", bt, d, bt).astype(np.float32)
        y = at @ (u * v).sum(0, dtype=np.float32) @ at.T
        ref = np.array(
            [[(d[:, i : i + R, j : j + R].astype(np.float64) * k).sum() for j in range(M)] for i in range(M)]
        )
        errors.append(np.abs(y - ref).max() / np.abs(ref).max())
    return float(np.mean(errors)), float(np.max(errors))


if __name__ == "__main__":
    half = sp.Rational(1, 2)
    for points in [(0, 1, -1, 2, -2), (0, 1, -1, half, -half), (0, 1, -1, 2, -half)]:
        at, g, bt = derive(points)
        mean, worst = error(at, g, bt)
        print(f"points {points}: relative error mean {mean:.2e}, worst {worst:.2e}")
        print(f"  Aᵀ = {at.tolist()}\n  G = {g.tolist()}\n  Bᵀ = {bt.tolist()}")

#!/usr/bin/env python3
"""Write the reference parameter gradients of the R1 and path-length regularisers.

Usage:  python3 tools/make_train_fixtures.py [--out DIR]

Writes ``regularizers.safetensors`` (default directory:
``crates/fauxto-train/tests/fixtures``). The training code computes both
regularisers' parameter gradients with a finite-difference Hessian-vector
product; this script computes them exactly, with PyTorch's double backward in
float64, on the small discriminator and generator of the fauxto-nn fixtures
(``d_small`` / ``g_small``: same float32 weights, same configs), following the
official StyleGAN2-ADA ``loss.py`` without augmentation:

* R1 (Mescheder et al. 2018): ``g = d(sum_n D(x)_n)/dx`` (create_graph),
  ``r1_n = sum_{c,h,w} g_n^2``. Stored: ``in.r1.x`` [N, C, R, R] (uniform in
  [-1, 1]), ``out.r1.penalty`` [N] and, for every D parameter,
  ``r1grad.<name>`` = d(sum_n r1_n)/d(theta).
* Path length (StyleGAN2 section 3.2): ``ws = mapping(z)`` broadcast to num_ws
  and left attached to the mapping, ``img = synthesis(ws)`` with noise mode
  'const' and non-fused modulated convolutions (the training formulation), no
  truncation, no style mixing; ``y = randn_like(img) / sqrt(H * W)``,
  ``v = d(sum img * y)/d(ws)`` (create_graph), ``pl_n = sqrt(mean_i sum_k
  v_{n,i,k}^2)`` (officially ``pl_grads.square().sum(2).mean(1).sqrt()``).
  Stored: ``in.pl.z`` [N, z_dim], ``in.pl.y`` [N, C, R, R], ``in.pl.coef`` [N]
  (random weights), ``out.pl.lengths`` [N] and, for every G parameter (mapping
  layers included; the buffers ``noise_const``, ``w_avg`` and
  ``resample_filter`` are not parameters), ``plgrad.<name>`` =
  d(sum_n coef_n pl_n)/d(theta).

Parameters on which a penalty does not depend get an all-zero gradient, so
there is exactly one ``r1grad.*`` / ``plgrad.*`` entry per parameter: for R1
the biases of D's epilogue after the minibatch-stddev layer (``b4.conv``,
``b4.fc``, ``b4.out``; D is piecewise linear in x there and these biases only
move the leaky-ReLU kinks), for the path length the toRGB biases of G. The networks' parameters and buffers are
stored under ``D.<name>`` and ``G.<name>``; ``__metadata__["config"]`` is
``{"D": <d_small config>, "G": <g_small config>}``. Inputs are drawn in
float32 and used exactly; gradients are computed in float64 and stored as
float32.

Self-checks (printed with their errors): the reloaded networks reproduce the
stored outputs of ``d_small`` / ``g_small``; for a few parameters, the
double-backward derivative of the largest-magnitude entry against a plain
float64 central difference of the penalty (parameter perturbed by +-h); and a
directional derivative along a random direction in the space of all
parameters against the same central difference. The penalties jump where a
leaky-ReLU input changes sign (they contain the input gradient), so each
difference uses a step h small enough that no leaky-ReLU input has a
different sign at the two evaluation points.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, Dict, List

import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import stylegan2_ref as ref  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NN_FIXTURES = os.path.join(REPO, "crates", "fauxto-nn", "tests", "fixtures")
DEFAULT_OUT = os.path.join(REPO, "crates", "fauxto-train", "tests", "fixtures")

N = 4  # samples per regulariser; one minibatch-stddev group of 4

# Limits of the self-checks.
RELOAD_LIMIT = 1e-6  # max |diff| / max |reference| of a reloaded network's output
ENTRY_LIMIT = 1e-6  # relative error, double backward vs central difference, one entry
DIRECTION_LIMIT = 1e-6  # relative error of the directional derivative


def load(name: str):
    """Config and float32 parameters/buffers (no ``in.*`` / ``out.*``) of a fauxto-nn fixture."""
    path = os.path.join(NN_FIXTURES, name + ".safetensors")
    with safe_open(path, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
        params = {k: f.get_tensor(k) for k in f.keys() if not k.startswith(("in.", "out."))}
        io = {k: f.get_tensor(k) for k in f.keys() if k.startswith(("in.", "out."))}
    return cfg, params, io


def rel_maxdiff(a: torch.Tensor, ref: torch.Tensor) -> float:
    return mf.maxdiff(a, ref) / max(ref.double().abs().max().item(), 1e-30)


# ---------------------------------------------------------------------------
# The two penalties
# ---------------------------------------------------------------------------


def r1_penalties(D, x: torch.Tensor) -> torch.Tensor:
    """[N]: squared norm of each sample's input gradient of sum_n D(x)_n."""
    x = x.detach().requires_grad_(True)
    logits = D(x, None)
    (g,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return g.square().sum([1, 2, 3])


def path_lengths(G, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[N]: path lengths at ws = mapping(z) (attached), noise const, no mixing."""
    ws = G.mapping(z, None, skip_w_avg_update=True)
    img = G.synthesis(ws, noise_mode="const", fused_modconv=False)
    (v,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
    return v.square().sum(2).mean(1).sqrt()


def param_gradients(module, loss: torch.Tensor) -> Dict[str, torch.Tensor]:
    """d(loss)/d(theta) for every parameter by name, zeros where the loss does not depend on it."""
    named = list(module.named_parameters())
    grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g.detach() for (n, p), g in zip(named, grads)}


# ---------------------------------------------------------------------------
# Plain finite-difference checks
# ---------------------------------------------------------------------------


class KinkRecorder:
    """Records the sign pattern of every leaky-ReLU input while active.

    The penalties are piecewise smooth in the parameters: they contain the
    networks' input gradients, which jump where a leaky-ReLU input changes
    sign. A central difference is only meaningful when no input changes sign
    between its two evaluation points, which this lets the checks verify.
    """

    def __enter__(self):
        self.masks: List[torch.Tensor] = []
        self.saved = ref.ACTIVATIONS["lrelu"]
        fn, gain = self.saved

        def recording(x):
            self.masks.append((x > 0).detach().flatten())
            return fn(x)

        ref.ACTIVATIONS["lrelu"] = (recording, gain)
        return self

    def __exit__(self, *exc):
        ref.ACTIVATIONS["lrelu"] = self.saved
        return False

    def take(self) -> torch.Tensor:
        out = torch.cat(self.masks)
        self.masks = []
        return out


def central_difference(loss_fn: Callable[[], torch.Tensor], perturb: Callable[[float], None], h: float):
    """(L(+h) - L(-h)) / 2h, where perturb(t) sets the parameters to theta + t * direction.

    h is halved until no leaky-ReLU input has a different sign at the two
    points (at most 20 times). Returns (difference, h used, sign changes).
    """
    with KinkRecorder() as rec:
        for _ in range(21):
            perturb(h)
            up = loss_fn().item()
            m_up = rec.take()
            perturb(-h)
            down = loss_fn().item()
            m_down = rec.take()
            flips = int((m_up != m_down).sum())
            if flips == 0:
                break
            h /= 2
    perturb(0.0)
    return (up - down) / (2 * h), h, flips


def entry_checks(label: str, module, loss_fn, grads: Dict[str, torch.Tensor], names: List[str]) -> None:
    """Central difference on the largest-|gradient| entry of each named parameter."""
    params = dict(module.named_parameters())
    for name in names:
        p, g = params[name], grads[name]
        flat = int(g.abs().argmax())
        idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), g.shape)) if g.ndim else ()
        old = p[idx].item()
        h = 1e-6 * max(abs(old), 1.0)

        def perturb(t, p=p, idx=idx, old=old):
            with torch.no_grad():
                p[idx] = old + t

        fd, h, flips = central_difference(loss_fn, perturb, h)
        assert flips == 0, f"{label} {name}: no kink-free step found"
        exact = g[idx].item()
        rel = abs(fd - exact) / max(abs(exact), 1e-300)
        print(f"  {label} {name}{list(idx)}: double backward {exact:+.12e}, "
              f"central difference {fd:+.12e} (h {h:.1e}), rel. error {rel:.2e}")
        mf.check(f"{label}: {name}{list(idx)} double backward vs central difference", rel, ENTRY_LIMIT)


def direction_check(label: str, module, loss_fn, grads: Dict[str, torch.Tensor], seed: int) -> None:
    """Directional derivative along a random u over all parameters: sum(grad * u) vs central difference.

    Each parameter's component of u is N(0, 1) scaled by the parameter's rms
    (1 where that is 0), so every parameter moves relative to its own scale.
    """
    gen = torch.Generator().manual_seed(seed)
    named = list(module.named_parameters())
    base = {n: p.detach().clone() for n, p in named}
    u = {}
    for n, p in named:
        scale = p.detach().square().mean().sqrt().item() or 1.0
        u[n] = torch.randn(p.shape, generator=gen, dtype=torch.float64) * scale
    exact = sum((grads[n] * u[n]).sum().item() for n, _ in named)

    def perturb(t):
        with torch.no_grad():
            for n, p in named:
                p.copy_(base[n] + t * u[n])

    fd, h, flips = central_difference(loss_fn, perturb, 1e-6)
    assert flips == 0, f"{label}: no kink-free step found"
    rel = abs(fd - exact) / max(abs(exact), 1e-300)
    print(f"  {label} random direction over all {len(named)} parameters: double backward {exact:+.12e}, "
          f"central difference {fd:+.12e} (h {h:.1e}), rel. error {rel:.2e}")
    mf.check(f"{label}: directional derivative, double backward vs central difference", rel, DIRECTION_LIMIT)


# ---------------------------------------------------------------------------
# Fixture
# ---------------------------------------------------------------------------


def make_r1(T: Dict[str, torch.Tensor], gen: torch.Generator):
    d_cfg, d_params, d_io = load("d_small")
    D = mf.build_discriminator(d_cfg)
    D.load_state_dict(d_params)
    D = D.double().eval()
    with torch.no_grad():
        logits = D(d_io["in.img"].double(), None)
    mf.check("R1: reloaded d_small reproduces its out.logits (relative)", rel_maxdiff(logits, d_io["out.logits"]), RELOAD_LIMIT)

    res, ch = d_cfg["img_resolution"], d_cfg["img_channels"]
    x = (torch.rand(N, ch, res, res, generator=gen) * 2 - 1).float()
    T["in.r1.x"] = x
    penalty = r1_penalties(D, x.double())
    mf.expect_shape("out.r1.penalty", penalty, [N])
    assert (penalty > 0).all(), penalty
    T["out.r1.penalty"] = mf.f32(penalty)
    grads = param_gradients(D, penalty.sum())
    for n, g in grads.items():
        T[f"r1grad.{n}"] = mf.f32(g)
    for k, v in d_params.items():
        T[f"D.{k}"] = v
    zero = [n for n, g in grads.items() if not g.abs().max() > 0]
    print(f"R1: penalties {[round(v, 4) for v in penalty.tolist()]}; zero gradient: {zero}")
    # After the minibatch-stddev layer D is piecewise linear in x, so the biases there
    # only move the leaky-ReLU kinks: their R1 gradient is exactly zero.
    assert set(zero) <= {"b4.conv.bias", "b4.fc.bias", "b4.out.bias"}, zero

    loss = lambda: r1_penalties(D, x.double()).sum()  # noqa: E731
    entry_checks("R1", D, loss, grads, ["b32.fromrgb.weight", "b32.conv0.weight", "b16.skip.weight", "b8.conv1.bias", "b4.conv.weight", "b4.fc.weight", "b4.out.weight"])
    direction_check("R1", D, loss, grads, seed=31)
    return d_cfg


def make_path_length(T: Dict[str, torch.Tensor], gen: torch.Generator):
    g_cfg, g_params, g_io = load("g_small")
    G = mf.build_generator(g_cfg)
    G.load_state_dict(g_params)
    G = G.double().eval()
    with torch.no_grad():
        img = G.synthesis(G.mapping(g_io["in.z"].double(), None), noise_mode="const", fused_modconv=False)
    mf.check("PL: reloaded g_small reproduces its out.img.const (relative)", rel_maxdiff(img, g_io["out.img.const"]), RELOAD_LIMIT)

    res, ch = g_cfg["img_resolution"], g_cfg["img_channels"]
    z = torch.randn(N, g_cfg["z_dim"], generator=gen)
    y = torch.randn(N, ch, res, res, generator=gen) / (res * res) ** 0.5  # randn_like(img) / sqrt(H * W)
    coef = torch.randn(N, generator=gen)
    T["in.pl.z"], T["in.pl.y"], T["in.pl.coef"] = z, y, coef
    zd, yd, cd = z.double(), y.double(), coef.double()
    lengths = path_lengths(G, zd, yd)
    mf.expect_shape("out.pl.lengths", lengths, [N])
    assert (lengths > 0).all(), lengths
    T["out.pl.lengths"] = mf.f32(lengths)
    grads = param_gradients(G, (cd * lengths).sum())
    for n, g in grads.items():
        T[f"plgrad.{n}"] = mf.f32(g)
    for k, v in g_params.items():
        T[f"G.{k}"] = v
    zero = [n for n, g in grads.items() if not g.abs().max() > 0]
    print(f"PL: lengths {[round(v, 6) for v in lengths.tolist()]}; zero gradient: {zero}")
    assert all(n.endswith("torgb.bias") for n in zero), zero
    assert not any(k.startswith("plgrad.") and ("noise_const" in k or "w_avg" in k or "resample_filter" in k) for k in T)

    loss = lambda: (cd * path_lengths(G, zd, yd)).sum()  # noqa: E731
    entry_checks("PL", G, loss, grads, [
        "mapping.fc0.weight", "mapping.fc1.bias", "synthesis.b4.const", "synthesis.b8.conv0.noise_strength",
        "synthesis.b16.conv0.weight", "synthesis.b16.conv1.affine.weight", "synthesis.b32.torgb.affine.weight",
        "synthesis.b32.torgb.weight",
    ])
    direction_check("PL", G, loss, grads, seed=32)
    return g_cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)

    gen = torch.Generator().manual_seed(21)
    T: Dict[str, torch.Tensor] = {}
    d_cfg = make_r1(T, gen)
    g_cfg = make_path_length(T, gen)

    path = os.path.join(args.out, "regularizers.safetensors")
    T = {k: v.contiguous() for k, v in T.items()}
    for k, v in T.items():
        assert v.dtype == torch.float32 and torch.isfinite(v).all(), k
    save_file(T, path, metadata={"config": json.dumps({"D": d_cfg, "G": g_cfg}, sort_keys=True)})

    print("\nself-checks:")
    for name, value, limit in mf.CHECKS:
        print(f"  ok  {value:9.2e} <= {limit:7.1e}  {name}")
    print("\nkeys:")
    groups: Dict[str, List[int]] = {}
    for k, v in T.items():
        head = k.split(".")[0] if not k.startswith(("in.", "out.")) else k
        groups.setdefault(head, [0, 0])
        groups[head][0] += 1
        groups[head][1] += v.numel()
    for head, (count, numel) in groups.items():
        shape = list(T[head].shape) if head in T else f"{count} tensors"
        print(f"  {head:24s} {str(shape):22s} {numel:9d} values")
    print(f"\nwrote {os.path.relpath(path, REPO)} ({os.path.getsize(path) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

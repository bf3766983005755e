#!/usr/bin/env python3
"""PyTorch training-throughput baseline (peer of fauxto's training loop).

One StyleGAN2-ADA training step as the official ``training_loop.py`` /
``loss.py`` run it, on the networks of ``stylegan2_ref.py`` (official
initialisation), float32 on CPU or CUDA (``--device``), no augmentation:

* Gmain, every step: ``softplus(-D(G(z)))``, G updated;
* Greg, every 4 steps: path-length regularisation on ``batch // 2`` samples,
  ``pl_weight`` 2, ``pl_decay`` 0.01, gain 4 (the interval), double backward;
* Dmain, every step: ``softplus(D(G(z)))`` (G not differentiated) and
  ``softplus(-D(x_real))``, two backward passes, D updated;
* Dreg, every 16 steps: R1 with weight ``gamma / 2``, gain 16, double backward;
* then the G EMA update (half-life ``batch * 10 / 32`` kimg, ramp-up 0.05).

Each phase zeroes the gradients, enables gradients of its own network only,
runs its loss, sanitises the gradients (NaN -> 0, +-inf -> +-1e5) and takes an
Adam step (betas (0, 0.99), eps 1e-8, lr 0.0025; with lazy regularisation the
optimiser of a network uses ``lr * c`` and ``beta ** c``, ``c = k / (k + 1)``,
k its regularisation interval). Every G evaluation draws its own z, mixes
styles with probability 0.9 (a second mapping evaluated for every batch, the
crossover layer uniform in [1, num_ws)), uses random noise and the non-fused
modulated convolution (training mode), and updates ``w_avg`` as the official
mapping does. R1's gamma defaults to the official ``auto`` heuristic
``0.0002 * res^2 / batch``. Real images are uint8 (random, or a ``.npy`` given
with ``--real``) converted per step as the official loader does
(``x / 127.5 - 1``).

Networks follow fauxto's presets (``crates/fauxto-nn/src/config.rs``,
``Preset::spec``: z/w dim, channel base, channel max, mapping layers, D
architecture; conv clamp 256 in G and D) and, as fauxto's trainer does, a
minibatch-stddev group of ``min(batch, 4)``.

Timing: ``--warmup`` untimed steps run every phase; the ``--steps`` timed
steps then follow the schedule from step 0, so each regulariser runs at least
once. ``step_ms`` holds the mean wall time of one execution of each phase
(``data``: real batch and latents; ``ema``: the EMA update) and ``step``, the
amortised cost of a step, ``data + Gmain + Greg / 4 + Dmain + Dreg / 16 +
ema``; ``img_per_s = batch / step`` and ``s_per_kimg = 1000 / img_per_s`` come
from it (a long run's average). ``measured_step_ms`` is the plain mean of the
timed steps, which over-weights the regularisers unless ``--steps`` is a
multiple of 16. ``cpu_step_ms`` / ``cpu_s_per_kimg`` are the same with the
process's CPU time (all threads) instead of wall time: on a machine shared
with other work they say what the step costs when the wall time does not.

Examples:
  python3 tools/bench_train_torch.py --res 32 --batch 16 --preset small --threads 2 --steps 4 --json
  python3 tools/bench_train_torch.py --res 64 --batch 32 --preset small --channel-base 2048 --threads 2
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stylegan2_ref as ref  # noqa: E402


def preset_spec(name: str, res: int):
    """(z/w dim, channel base, channel max, mapping layers, mbstd group, D architecture).

    The same table as ``Preset::spec`` in crates/fauxto-nn/src/config.rs.
    """
    table = {
        "stylegan2": (512, 32768, 512, 8, 4, "resnet"),
        "paper256": (512, 16384, 512, 8, 4, "resnet"),
        "paper512": (512, 32768, 512, 8, 4, "resnet"),
        "paper1024": (512, 65536, 512, 8, 4, "resnet"),
        "cifar": (512, 32768, 512, 2, 32, "orig"),
        "auto": (512, 32768 if res >= 512 else 16384, 512, 2, 4, "resnet"),
        "small": (256, 4096, 256, 2, 4, "resnet"),
    }
    return table[name]


PRESETS = ["small", "auto", "stylegan2", "paper256", "paper512", "paper1024", "cifar"]
PHASES = ["data", "Gmain", "Greg", "Dmain", "Dreg", "ema"]


class Trainer:
    """The official loop's state: G, D, G_ema, two Adam optimisers, pl_mean, cur_nimg."""

    def __init__(self, args, spec):
        zw, base, cmax, map_layers, _mbstd, d_arch = spec
        self.args = args
        self.batch = args.batch
        self.z_dim = zw
        self.G = ref.Generator(
            z_dim=zw, c_dim=0, w_dim=zw, img_resolution=args.res, img_channels=args.img_channels,
            mapping_kwargs=dict(num_layers=map_layers),
            synthesis_kwargs=dict(channel_base=base, channel_max=cmax, conv_clamp=256),
        ).train().requires_grad_(False)
        self.D = ref.Discriminator(
            c_dim=0, img_resolution=args.res, img_channels=args.img_channels, architecture=d_arch,
            channel_base=base, channel_max=cmax, conv_clamp=256,
            epilogue_kwargs=dict(mbstd_group_size=min(args.batch, 4), mbstd_num_channels=1),
        ).train().requires_grad_(False)
        self.device = torch.device(args.device)
        self.G.to(self.device)
        self.D.to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.num_ws = self.G.num_ws

        def adam(module, interval):
            c = interval / (interval + 1)
            return torch.optim.Adam(module.parameters(), lr=args.lr * c, betas=(0.0 ** c, 0.99 ** c), eps=1e-8)

        self.g_opt = adam(self.G, args.g_reg_interval)
        self.d_opt = adam(self.D, args.d_reg_interval)
        self.pl_mean = torch.zeros([], device=self.device)
        self.cur_nimg = 0

        if args.real:
            arr = np.load(args.real)
            assert arr.ndim == 4, f"{args.real}: expected [N, C, H, W] or [N, H, W, C], got {arr.shape}"
            if arr.shape[1] != args.img_channels and arr.shape[-1] == args.img_channels:
                arr = arr.transpose(0, 3, 1, 2)
            assert arr.shape[1:] == (args.img_channels, args.res, args.res), arr.shape
            assert arr.shape[0] >= args.batch, f"{args.real}: fewer than {args.batch} images"
            self.reals = torch.from_numpy(np.ascontiguousarray(arr.astype(np.uint8)))
        else:
            gen = torch.Generator().manual_seed(args.seed + 1)
            shape = (4 * args.batch, args.img_channels, args.res, args.res)
            self.reals = torch.randint(0, 256, shape, generator=gen, dtype=torch.uint8)
        self.reals = self.reals.to(self.device)

    # --- official loss.py -------------------------------------------------

    def run_G(self, z):
        ws = self.G.mapping(z, None)
        if self.args.style_mixing > 0:
            cutoff = torch.empty([], dtype=torch.int64).random_(1, ws.shape[1])
            cutoff = torch.where(torch.rand([]) < self.args.style_mixing, cutoff, torch.full_like(cutoff, ws.shape[1]))
            ws[:, cutoff:] = self.G.mapping(torch.randn_like(z), None, skip_w_avg_update=True)[:, cutoff:]
        img = self.G.synthesis(ws, noise_mode="random")
        return img, ws

    def gmain(self, z):
        img, _ = self.run_G(z)
        logits = self.D(img, None)
        F.softplus(-logits).mean().backward()

    def greg(self, z):
        n = self.batch // self.args.pl_batch_shrink
        img, ws = self.run_G(z[:n])
        pl_noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (pl_grads,) = torch.autograd.grad((img * pl_noise).sum(), ws, create_graph=True, only_inputs=True)
        pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
        pl_mean = self.pl_mean.lerp(pl_lengths.mean(), self.args.pl_decay)
        self.pl_mean.copy_(pl_mean.detach())
        loss = (pl_lengths - pl_mean).square() * self.args.pl_weight
        (img[:, 0, 0, 0] * 0 + loss).mean().mul(self.args.g_reg_interval).backward()

    def dmain(self, z, real):
        img, _ = self.run_G(z)  # G does not require grad here: no graph
        F.softplus(self.D(img, None)).mean().backward()
        F.softplus(-self.D(real.detach(), None)).mean().backward()

    def dreg(self, real):
        x = real.detach().requires_grad_(True)
        logits = self.D(x, None)
        (r1_grads,) = torch.autograd.grad(logits.sum(), x, create_graph=True, only_inputs=True)
        loss = r1_grads.square().sum([1, 2, 3]) * (self.args.gamma / 2)
        (logits * 0 + loss).mean().mul(self.args.d_reg_interval).backward()

    # --- official training_loop.py -------------------------------------------

    @staticmethod
    def phase(module, opt, fn, *inputs):
        opt.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        fn(*inputs)
        module.requires_grad_(False)
        for p in module.parameters():
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
        opt.step()

    def ema(self):
        ema_nimg = self.args.ema_kimg * 1000
        if self.args.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.cur_nimg * self.args.ema_rampup)
        beta = 0.5 ** (self.batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)
        self.cur_nimg += self.batch

    def sync(self) -> None:
        """Waits for the device, so that each phase's wall time is its own."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def step(self, idx: int, times, every_phase: bool = False) -> None:
        """One training step with index ``idx``; adds each phase's wall time to ``times``."""
        clock = time.perf_counter
        cpu = time.process_time
        t, c = clock(), cpu()
        k = (idx * self.batch) % self.reals.shape[0]
        real = self.reals[k:k + self.batch]
        if real.shape[0] < self.batch:
            real = torch.cat([real, self.reals[: self.batch - real.shape[0]]])
        real = real.to(torch.float32) / 127.5 - 1
        z_gmain, z_greg, z_dmain, _z_dreg = torch.randn([4 * self.batch, self.z_dim], device=self.device).split(self.batch)
        self.sync()
        times["data"].append((clock() - t, cpu() - c))

        def timed(name, fn):
            t0, c0 = clock(), cpu()
            fn()
            self.sync()
            times[name].append((clock() - t0, cpu() - c0))

        timed("Gmain", lambda: self.phase(self.G, self.g_opt, self.gmain, z_gmain))
        if every_phase or idx % self.args.g_reg_interval == 0:
            timed("Greg", lambda: self.phase(self.G, self.g_opt, self.greg, z_greg))
        timed("Dmain", lambda: self.phase(self.D, self.d_opt, self.dmain, z_dmain, real))
        if every_phase or idx % self.args.d_reg_interval == 0:
            timed("Dreg", lambda: self.phase(self.D, self.d_opt, self.dreg, real))
        timed("ema", self.ema)


def main() -> None:
    ap = argparse.ArgumentParser(description="PyTorch StyleGAN2-ADA training throughput (CPU or CUDA)")
    ap.add_argument("--res", type=int, default=32, help="image resolution, a power of two >= 8 (default %(default)s)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--preset", choices=PRESETS, default="small")
    ap.add_argument("--steps", type=int, default=4, help="timed steps (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps running every phase (default %(default)s)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--json", action="store_true", help="print only the JSON result line")
    ap.add_argument("--real", default=None, help="uint8 .npy of real images, [N, C, H, W] or [N, H, W, C]")
    ap.add_argument("--channel-base", type=int, default=None, help="override the preset's channel base")
    ap.add_argument("--channel-max", type=int, default=None, help="override the preset's channel max")
    ap.add_argument("--img-channels", type=int, default=3)
    ap.add_argument("--gamma", type=float, default=None, help="R1 weight (default 0.0002 * res^2 / batch)")
    ap.add_argument("--lr", type=float, default=0.0025)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default %(default)s)")
    ap.add_argument("--tf32", action="store_true",
                    help="on CUDA, let matmul and cuDNN use TF32 (the official loop turns it off)")
    args = ap.parse_args()

    if args.res < 8 or args.res & (args.res - 1):
        ap.error("--res must be a power of two >= 8")
    if args.batch < 2 or args.steps < 1 or args.warmup < 0:
        ap.error("need --batch >= 2, --steps >= 1, --warmup >= 0")
    if args.batch >= 4 and args.batch % 4:
        ap.error("--batch must be a multiple of the minibatch-stddev group (4)")
    if args.gamma is None:
        args.gamma = 0.0002 * args.res * args.res / args.batch
    # The remaining options are fixed to the official / fauxto defaults.
    args.ema_kimg = args.batch * 10 / 32
    args.ema_rampup = 0.05
    args.pl_weight = 2.0
    args.pl_batch_shrink = 2
    args.pl_decay = 0.01
    args.style_mixing = 0.9
    args.g_reg_interval = 4
    args.d_reg_interval = 16

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    torch.manual_seed(args.seed)
    if args.device.startswith("cuda"):
        # As the official training_loop.py: cuDNN autotuning on, TF32 off unless asked for.
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32

    spec = list(preset_spec(args.preset, args.res))
    if args.channel_base is not None:
        spec[1] = args.channel_base
    if args.channel_max is not None:
        spec[2] = args.channel_max
    trainer = Trainer(args, spec)

    warm = defaultdict(list)
    for _ in range(args.warmup):
        trainer.step(0, warm, every_phase=True)
    times = defaultdict(list)
    t0 = time.perf_counter()
    for idx in range(args.steps):
        trainer.step(idx, times)
    wall = time.perf_counter() - t0
    if not math.isfinite(float(trainer.pl_mean)):
        raise SystemExit("training diverged (pl_mean is not finite)")

    def amortised(col):
        ms = {p: 1000 * sum(t[col] for t in times[p]) / len(times[p]) for p in PHASES}
        step = (ms["data"] + ms["Gmain"] + ms["Greg"] / args.g_reg_interval + ms["Dmain"]
                + ms["Dreg"] / args.d_reg_interval + ms["ema"])
        return ms, step

    ms, step = amortised(0)
    cpu_ms, cpu_step = amortised(1)
    img_per_s = 1000 * args.batch / step
    result = {
        "peer": "pytorch",
        "res": args.res,
        "batch": args.batch,
        "preset": args.preset,
        "threads": torch.get_num_threads(),
        "img_per_s": round(img_per_s, 4),
        "s_per_kimg": round(1000 / img_per_s, 2),
        "step_ms": {**{p: round(ms[p], 2) for p in PHASES}, "step": round(step, 2)},
        "measured_step_ms": round(1000 * wall / args.steps, 2),
        "cpu_step_ms": {**{p: round(cpu_ms[p], 2) for p in PHASES}, "step": round(cpu_step, 2)},
        "cpu_s_per_kimg": round(cpu_step / args.batch, 2),  # ms per image = s per kimg
        "calls": {p: len(times[p]) for p in PHASES},
        "steps": args.steps,
        "warmup": args.warmup,
        "channel_base": spec[1],
        "channel_max": spec[2],
        "z_dim": spec[0],
        "map_layers": spec[3],
        "d_architecture": spec[5],
        "mbstd_group_size": min(args.batch, 4),
        "gamma": args.gamma,
        "real": os.path.basename(args.real) if args.real else "random",
        "device": args.device,
        "tf32": bool(args.tf32),
        "torch": torch.__version__,
    }
    if not args.json:
        print(f"{args.preset} {args.res}x{args.res}, batch {args.batch}, {result['threads']} threads, "
              f"{args.steps} timed steps after {args.warmup} warm-up")
        for p in PHASES:
            print(f"  {p:6s} {ms[p]:10.1f} ms per call, {cpu_ms[p]:10.1f} ms CPU ({len(times[p])} calls)")
        print(f"  amortised step {step:.1f} ms -> {img_per_s:.3f} img/s, {1000 / img_per_s:.1f} s/kimg "
              f"({cpu_step:.1f} ms CPU per step, {cpu_step / args.batch:.1f} s CPU per kimg)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the network-pickle fixtures used by the fauxto-interop tests.

Usage:  python3 tools/make_pickle_fixtures.py [--out DIR]

The official StyleGAN2-ADA PyTorch tools save a training snapshot with

    pickle.dump(dict(training_set_kwargs=dict(...), G=G, D=D, G_ema=G_ema,
                     augment_pipe=augment_pipe), f)

after ``copy.deepcopy(module).eval().requires_grad_(False).cpu()`` of each
network.  Every network class is decorated by
``torch_utils.persistence.persistent_class``; an instance of a decorated class
pickles as

    torch_utils.persistence._reconstruct_persistent_obj(meta)
    meta = dict(type='class', version=6, module_src=<source of the defining
                module>, class_name=<name>, state=<the instance __dict__>)

where the state holds the torch.nn.Module bookkeeping (``training``,
``_parameters``, ``_buffers``, ``_modules``, hook dicts, ...), the plain
attributes the constructor set, and ``_init_args`` / ``_init_kwargs`` (deep
copies of the constructor arguments, recorded by the decorator).  Tensors go
through torch's own reducers: ``torch._utils._rebuild_parameter(data,
requires_grad, OrderedDict())``, ``torch._utils._rebuild_tensor_v2(storage,
offset, size, stride, requires_grad, OrderedDict())`` and, for every storage,
``torch.storage._load_from_bytes(<legacy torch.save blob>)``.

This script builds the networks from ``stylegan2_ref.py`` (every parameter and
buffer randomised, as in ``make_fixtures.py``), attaches what the official
decorator and constructors would have recorded (constructor arguments in the
official call layout, official plain attributes, numpy scalars included), and
pickles them with a ``pickle.Pickler`` whose ``reducer_override`` emits the
persistent form.  The names ``torch_utils.persistence`` and ``dnnlib.util``
are provided by stand-in modules registered in ``sys.modules`` while pickling,
so the GLOBAL opcodes carry the official names.  Nothing in the files refers
to this script.

Outputs (``crates/fauxto-interop/tests/fixtures/`` by default):

  cond.pkl, cond_protocol3.pkl   conditional snapshot, module state laid out as
                                 torch 1.7 / numpy 1.x wrote it
  fp16.pkl, fp16_protocol2.pkl   unconditional snapshot, torch 2.x / numpy 2.x
                                 layout, float16 / strided / shared tensors in
                                 G_ema, plus an AugmentPipe object
  cond_G_ema.pt, fp16_G_ema.pt   torch.save(G_ema.state_dict()) (zip format)
  reference.safetensors          every tensor as a reader should see it,
                                 generated images, configs
  malformed/*.pkl, README.md     hostile or broken inputs, written opcode by
                                 opcode

Self-checks: every pickle and .pt file is read back twice, by a restricted
unpickler that allows only the listed globals and parses the storage blobs
and zip records itself, and by torch's own rebuild functions; both must give
the stored tensors exactly (values, dtype, size, stride, offset), and
generators rebuilt from the pickled top-level ``_init_kwargs`` must reproduce
the stored images.  Every malformed file must be refused.  The script prints
the globals and opcodes each file uses and the file sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import os
import pickle
import pickletools
import struct
import sys
import time
import types
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import ada_ref  # noqa: E402
import stylegan2_ref as ref  # noqa: E402
from make_fixtures import randomize_  # noqa: E402

REPO = os.path.dirname(TOOLS)
DEFAULT_OUT = os.path.join(REPO, "crates", "fauxto-interop", "tests", "fixtures")

PERSISTENCE_VERSION = 6  # torch_utils.persistence._version
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization MAGIC_NUMBER
LEGACY_PROTOCOL_VERSION = 1001
SEEDS = [0, 1, 42, 4294967295]
PSIS = (("psi1", 1.0), ("psi0.7", 0.7))

CHECKS: List[Tuple[str, float, float]] = []


def check(name: str, value: float, limit: float) -> None:
    CHECKS.append((name, float(value), limit))
    if not value <= limit:
        raise AssertionError(f"self-check failed: {name}: {value:.3e} > {limit:.1e}")


def fail(msg: str) -> None:
    raise AssertionError(f"self-check failed: {msg}")


# ---------------------------------------------------------------------------
# Stand-ins for the official module-level names
# ---------------------------------------------------------------------------


class EasyDict(dict):
    """``dnnlib.util.EasyDict``: a dict whose items are also attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        del self[name]


EasyDict.__module__ = "dnnlib.util"


class AugmentPipeStandIn(torch.nn.Module):
    """Buffers of the official ``AugmentPipe`` (its forward is never needed here)."""

    def __init__(self, p: float):
        super().__init__()
        self.register_buffer("p", torch.tensor(p, dtype=torch.float32))
        hz = torch.as_tensor(ada_ref.SYM6, dtype=torch.float32)  # upfirdn2d.setup_filter: float32, unit sum
        self.register_buffer("Hz_geom", hz / hz.sum())
        self.register_buffer("Hz_fbank", torch.as_tensor(augment_filter_bank(), dtype=torch.float32))


NETWORK_CLASSES = [
    "FullyConnectedLayer", "Conv2dLayer", "MappingNetwork", "SynthesisLayer", "ToRGBLayer",
    "SynthesisBlock", "SynthesisNetwork", "Generator", "DiscriminatorBlock", "MinibatchStdLayer",
    "DiscriminatorEpilogue", "Discriminator",
]
RECONSTRUCT_CLASSES: Dict[str, type] = {name: getattr(ref, name) for name in NETWORK_CLASSES}
RECONSTRUCT_CLASSES["AugmentPipe"] = AugmentPipeStandIn


def _reconstruct_persistent_obj(meta):
    """``torch_utils.persistence._reconstruct_persistent_obj`` without running ``module_src``.

    The class is looked up by ``class_name`` among the reference classes and the
    instance gets the pickled state, as the official function does after it has
    imported the embedded source.
    """
    if not isinstance(meta, dict):
        raise pickle.UnpicklingError("persistent object: meta is not a dict")
    if meta.get("type") != "class" or meta.get("version") != PERSISTENCE_VERSION:
        raise pickle.UnpicklingError(f"persistent object: type {meta.get('type')!r}, version {meta.get('version')!r}")
    if not isinstance(meta.get("module_src"), str) or not isinstance(meta.get("state"), dict):
        raise pickle.UnpicklingError("persistent object: module_src / state missing")
    cls = RECONSTRUCT_CLASSES.get(meta.get("class_name"))
    if cls is None:
        raise pickle.UnpicklingError(f"persistent object: unknown class {meta.get('class_name')!r}")
    obj = cls.__new__(cls)
    obj.__setstate__(dict(meta["state"]))
    return obj


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"


def _numpy1_scalar(dtype, data):
    """numpy 1.x ``numpy.core.multiarray.scalar``: a numpy scalar from its raw bytes."""
    if not isinstance(dtype, np.dtype) or not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("numpy scalar: bad dtype or byte count")
    return np.frombuffer(data, dtype=dtype)[0]


_numpy1_scalar.__module__ = "numpy.core.multiarray"
_numpy1_scalar.__name__ = _numpy1_scalar.__qualname__ = "scalar"


@contextlib.contextmanager
def official_module_names(numpy1: bool):
    """Register stand-in modules so pickle writes the official global names."""
    persistence = types.ModuleType("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    torch_utils = types.ModuleType("torch_utils")
    torch_utils.persistence = persistence
    util = types.ModuleType("dnnlib.util")
    util.EasyDict = EasyDict
    dnnlib = types.ModuleType("dnnlib")
    dnnlib.util = util
    dnnlib.EasyDict = EasyDict
    fakes = {"torch_utils": torch_utils, "torch_utils.persistence": persistence, "dnnlib": dnnlib, "dnnlib.util": util}
    if numpy1:
        multiarray = types.ModuleType("numpy.core.multiarray")
        multiarray.scalar = _numpy1_scalar
        fakes["numpy.core.multiarray"] = multiarray
    saved = {name: sys.modules.get(name) for name in fakes}
    sys.modules.update(fakes)
    try:
        yield
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def augment_filter_bank() -> np.ndarray:
    """The official AugmentPipe ``Hz_fbank`` (4 bands from the sym2 wavelet), float64."""
    sym2 = np.asarray([-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025])
    hz_hi = sym2 * ((-1) ** np.arange(sym2.size))
    lo2 = np.convolve(sym2, sym2[::-1]) / 2
    hi2 = np.convolve(hz_hi, hz_hi[::-1]) / 2
    fbank = np.eye(4, 1)
    for i in range(1, fbank.shape[0]):
        fbank = np.dstack([fbank, np.zeros_like(fbank)]).reshape(fbank.shape[0], -1)[:, :-1]
        fbank = np.stack([np.convolve(row, lo2) for row in fbank])  # full 2-D convolution with a 1-row kernel
        lo = (fbank.shape[1] - hi2.size) // 2
        fbank[i, lo:lo + hi2.size] += hi2
    return fbank


# ---------------------------------------------------------------------------
# What the official decorator and constructors leave on each instance
# ---------------------------------------------------------------------------

LRELU_GAIN = np.sqrt(2)  # bias_act.activation_funcs['lrelu'].def_gain: one shared numpy float64
RESAMPLE_FILTER = [1, 3, 3, 1]
NETWORKS_SRC = open(os.path.join(TOOLS, "stylegan2_ref.py"), encoding="utf-8").read()
AUGMENT_SRC = (
    '"""Stand-in for the source text of training/augment.py.\n\n'
    "Official pickles embed the full source of the module that defines each\n"
    "persistent class; a reader keeps it as an opaque string.\n"
    '"""\n\n\nclass AugmentPipe:\n    pass\n'
)

# torch.nn.Module.__init__ of torch 1.7 (what the published pickles were written with).
TORCH17_MODULE_KEYS = [
    "training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_backward_hooks",
    "_forward_hooks", "_forward_pre_hooks", "_state_dict_hooks", "_load_state_dict_pre_hooks", "_modules",
]
MODULE_KEYS = list(torch.nn.Module().__dict__.keys())  # this torch version

AUGMENT_BGC = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1,
                   brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1)
AUGMENT_DEFAULTS = [
    ("xflip", 0), ("rotate90", 0), ("xint", 0), ("xint_max", 0.125),
    ("scale", 0), ("rotate", 0), ("aniso", 0), ("xfrac", 0), ("scale_std", 0.2), ("rotate_max", 1),
    ("aniso_std", 0.2), ("xfrac_std", 0.125),
    ("brightness", 0), ("contrast", 0), ("lumaflip", 0), ("hue", 0), ("saturation", 0),
    ("brightness_std", 0.2), ("contrast_std", 0.5), ("hue_max", 1), ("saturation_std", 1),
    ("imgfilter", 0), ("imgfilter_bands", [1, 1, 1, 1]), ("imgfilter_std", 1),
    ("noise", 0), ("cutout", 0), ("noise_std", 0.1), ("cutout_size", 0.5),
]


class Flavour:
    """How the module state is laid out: torch 1.7 + numpy 1.x, or this torch + numpy."""

    def __init__(self, name: str, torch17: bool, numpy1: bool):
        self.name, self.torch17, self.numpy1 = name, torch17, numpy1


LEGACY = Flavour("torch 1.7 / numpy 1.x", torch17=True, numpy1=True)
CURRENT = Flavour(f"torch {torch.__version__} / numpy {np.__version__}", torch17=False, numpy1=False)


class Info:
    def __init__(self, class_name, module_src, init_args, init_kwargs, attrs):
        self.class_name = class_name
        self.module_src = module_src
        self.init_args = tuple(init_args)
        self.init_kwargs = init_kwargs
        self.attrs = attrs


class Registry:
    """id(module) -> what the official code would have recorded on it."""

    def __init__(self):
        self.infos: Dict[int, Info] = {}
        self.keep: List[torch.nn.Module] = []

    def add(self, module, class_name, init_args, init_kwargs, attrs, module_src=NETWORKS_SRC):
        assert id(module) not in self.infos, class_name
        # The decorator deep-copies the arguments (EasyDict values stay EasyDict).
        self.infos[id(module)] = Info(class_name, module_src, copy.deepcopy(tuple(init_args)),
                                      copy.deepcopy(dict(init_kwargs)), attrs)
        self.keep.append(module)

    def covers(self, net: torch.nn.Module) -> None:
        missing = [name for name, m in net.named_modules() if id(m) not in self.infos]
        if missing:
            fail(f"modules without persistent info: {missing}")

    def meta(self, module: torch.nn.Module, flavour: Flavour) -> dict:
        info = self.infos.get(id(module))
        if info is None:
            raise pickle.PicklingError(f"no persistent info for {type(module).__name__}")
        d = module.__dict__
        state: Dict[str, Any] = {}
        if flavour.torch17:
            for key in TORCH17_MODULE_KEYS:
                if key == "training":
                    state[key] = d["training"]
                elif key in ("_parameters", "_buffers", "_modules"):
                    state[key] = OrderedDict(d[key])
                elif key == "_non_persistent_buffers_set":
                    state[key] = set(d[key])
                else:
                    assert not d[key], (key, "hooks are not expected")
                    state[key] = OrderedDict()
        else:
            full = module.__getstate__()
            for key in full:
                if key in MODULE_KEYS:
                    state[key] = full[key]
        for name, value in info.attrs:
            state[name] = value
        state["_init_args"] = copy.deepcopy(info.init_args)
        state["_init_kwargs"] = copy.deepcopy(info.init_kwargs)
        return dict(type="class", version=PERSISTENCE_VERSION, module_src=info.module_src,
                    class_name=info.class_name, state=state)


def act_gain(activation: str):
    return LRELU_GAIN if activation == "lrelu" else 1


def reg_fc(reg: Registry, layer, args, kwargs):
    lr = kwargs.get("lr_multiplier", 1)
    in_features = layer.weight.shape[1]
    attrs = [("activation", kwargs.get("activation", "linear"))]
    if not kwargs.get("bias", True):
        attrs.append(("bias", None))
    attrs += [("weight_gain", lr / np.sqrt(in_features)), ("bias_gain", lr)]
    reg.add(layer, "FullyConnectedLayer", args, kwargs, attrs)


def reg_conv(reg: Registry, layer, args, kwargs):
    k = kwargs["kernel_size"]
    activation = kwargs.get("activation", "linear")
    attrs = [("activation", activation), ("up", kwargs.get("up", 1)), ("down", kwargs.get("down", 1)),
             ("conv_clamp", kwargs.get("conv_clamp")), ("padding", k // 2),
             ("weight_gain", 1 / np.sqrt(args[0] * (k ** 2))), ("act_gain", act_gain(activation))]
    if not kwargs.get("bias", True):
        attrs.append(("bias", None))
    assert tuple(layer.weight.shape) == (args[1], args[0], k, k)
    reg.add(layer, "Conv2dLayer", args, kwargs, attrs)


def reg_mapping(reg: Registry, m, kwargs):
    lr = kwargs.get("lr_multiplier", 0.01)
    activation = kwargs.get("activation", "lrelu")
    reg.add(m, "MappingNetwork", (), kwargs, [
        ("z_dim", kwargs["z_dim"]), ("c_dim", kwargs["c_dim"]), ("w_dim", kwargs["w_dim"]),
        ("num_ws", kwargs["num_ws"]), ("num_layers", kwargs.get("num_layers", 8)),
        ("w_avg_beta", kwargs.get("w_avg_beta", 0.995)),
    ])
    if kwargs["c_dim"] > 0:
        reg_fc(reg, m.embed, (kwargs["c_dim"], m.embed.weight.shape[0]), {})
    for i in range(m.num_layers):
        layer = getattr(m, f"fc{i}")
        reg_fc(reg, layer, (layer.weight.shape[1], layer.weight.shape[0]), dict(activation=activation, lr_multiplier=lr))


def reg_synthesis_layer(reg: Registry, layer, args, kwargs):
    reg.add(layer, "SynthesisLayer", args, kwargs, [
        ("resolution", kwargs["resolution"]), ("up", kwargs.get("up", 1)), ("use_noise", True),
        ("activation", "lrelu"), ("conv_clamp", kwargs.get("conv_clamp")), ("padding", 1),
        ("act_gain", LRELU_GAIN),
    ])
    reg_fc(reg, layer.affine, (kwargs["w_dim"], args[0]), dict(bias_init=1))


def register_generator(reg: Registry, G: ref.Generator, kw: dict) -> None:
    """Generator(**kw) as training_loop constructs it, and all its sub-modules."""
    z_dim, c_dim, w_dim = kw["z_dim"], kw["c_dim"], kw["w_dim"]
    res, img_channels = kw["img_resolution"], kw["img_channels"]
    syn = dict(kw["synthesis_kwargs"])
    S = G.synthesis
    log2 = int(np.log2(res))
    reg.add(G, "Generator", (), kw, [
        ("z_dim", z_dim), ("c_dim", c_dim), ("w_dim", w_dim), ("img_resolution", res),
        ("img_channels", img_channels), ("num_ws", G.num_ws),
    ])
    reg.add(S, "SynthesisNetwork", (), dict(w_dim=w_dim, img_resolution=res, img_channels=img_channels, **syn), [
        ("w_dim", w_dim), ("img_resolution", res), ("img_resolution_log2", log2), ("img_channels", img_channels),
        ("block_resolutions", list(S.block_resolutions)), ("num_ws", S.num_ws),
    ])
    block_kwargs = {k: v for k, v in syn.items() if k not in ("channel_base", "channel_max", "num_fp16_res")}
    fp16_resolution = max(2 ** (log2 + 1 - syn.get("num_fp16_res", 0)), 8)
    conv_clamp = block_kwargs.get("conv_clamp")
    for r in S.block_resolutions:
        blk = getattr(S, f"b{r}")
        in_ch, out_ch = blk.in_channels, blk.conv1.weight.shape[0]
        use_fp16 = r >= fp16_resolution
        channels_last = use_fp16 and block_kwargs.get("fp16_channels_last", False)
        is_last = r == res
        reg.add(blk, "SynthesisBlock", (in_ch, out_ch),
                dict(w_dim=w_dim, resolution=r, img_channels=img_channels, is_last=is_last, use_fp16=use_fp16,
                     **block_kwargs), [
            ("in_channels", in_ch), ("w_dim", w_dim), ("resolution", r), ("img_channels", img_channels),
            ("is_last", is_last), ("architecture", block_kwargs.get("architecture", "skip")),
            ("use_fp16", use_fp16), ("channels_last", channels_last),
            ("num_conv", blk.num_conv), ("num_torgb", blk.num_torgb),
        ])
        if in_ch != 0:
            reg_synthesis_layer(reg, blk.conv0, (in_ch, out_ch), dict(
                w_dim=w_dim, resolution=r, up=2, resample_filter=RESAMPLE_FILTER, conv_clamp=conv_clamp,
                channels_last=channels_last))
        reg_synthesis_layer(reg, blk.conv1, (out_ch, out_ch), dict(
            w_dim=w_dim, resolution=r, conv_clamp=conv_clamp, channels_last=channels_last))
        if hasattr(blk, "torgb"):
            reg.add(blk.torgb, "ToRGBLayer", (out_ch, img_channels),
                    dict(w_dim=w_dim, conv_clamp=conv_clamp, channels_last=channels_last),
                    [("conv_clamp", conv_clamp), ("weight_gain", 1 / np.sqrt(out_ch * (1 ** 2)))])
            reg_fc(reg, blk.torgb.affine, (w_dim, out_ch), dict(bias_init=1))
    reg_mapping(reg, G.mapping, dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=G.num_ws, **kw["mapping_kwargs"]))
    reg.covers(G)


def register_discriminator(reg: Registry, D: ref.Discriminator, kw: dict) -> None:
    """Discriminator(**kw) as training_loop constructs it, and all its sub-modules."""
    c_dim, res, img_channels = kw["c_dim"], kw["img_resolution"], kw["img_channels"]
    architecture = kw.get("architecture", "resnet")
    conv_clamp = kw.get("conv_clamp")
    log2 = int(np.log2(res))
    reg.add(D, "Discriminator", (), kw, [
        ("c_dim", c_dim), ("img_resolution", res), ("img_resolution_log2", log2), ("img_channels", img_channels),
        ("block_resolutions", list(D.block_resolutions)),
    ])
    block_kwargs = dict(kw.get("block_kwargs", {}))
    common = dict(img_channels=img_channels, architecture=architecture, conv_clamp=conv_clamp)
    fp16_resolution = max(2 ** (log2 + 1 - kw.get("num_fp16_res", 0)), 8)
    activation = block_kwargs.get("activation", "lrelu")
    freeze = block_kwargs.get("freeze_layers", 0)
    layer_idx = 0
    for r in D.block_resolutions:
        blk = getattr(D, f"b{r}")
        in_ch, tmp, out = blk.in_channels, blk.conv0.weight.shape[0], blk.conv1.weight.shape[0]
        use_fp16 = r >= fp16_resolution
        channels_last = use_fp16 and block_kwargs.get("fp16_channels_last", False)
        layers = [n for n in ("fromrgb", "conv0", "conv1", "skip") if hasattr(blk, n)]
        reg.add(blk, "DiscriminatorBlock", (in_ch, tmp, out),
                dict(resolution=r, first_layer_idx=layer_idx, use_fp16=use_fp16, **block_kwargs, **common), [
            ("in_channels", in_ch), ("resolution", r), ("img_channels", img_channels),
            ("first_layer_idx", layer_idx), ("architecture", architecture), ("use_fp16", use_fp16),
            ("channels_last", channels_last), ("num_layers", len(layers)),
        ])
        idx = layer_idx
        if "fromrgb" in layers:
            reg_conv(reg, blk.fromrgb, (img_channels, tmp), dict(
                kernel_size=1, activation=activation, trainable=idx >= freeze, conv_clamp=conv_clamp,
                channels_last=channels_last))
            idx += 1
        reg_conv(reg, blk.conv0, (tmp, tmp), dict(
            kernel_size=3, activation=activation, trainable=idx >= freeze, conv_clamp=conv_clamp,
            channels_last=channels_last))
        idx += 1
        reg_conv(reg, blk.conv1, (tmp, out), dict(
            kernel_size=3, activation=activation, down=2, trainable=idx >= freeze,
            resample_filter=RESAMPLE_FILTER, conv_clamp=conv_clamp, channels_last=channels_last))
        idx += 1
        if "skip" in layers:
            reg_conv(reg, blk.skip, (tmp, out), dict(
                kernel_size=1, bias=False, down=2, trainable=idx >= freeze, resample_filter=RESAMPLE_FILTER,
                channels_last=channels_last))
        layer_idx += len(layers)
    if c_dim > 0:
        reg_mapping(reg, D.mapping, dict(z_dim=0, c_dim=c_dim, w_dim=D.cmap_dim, num_ws=None, w_avg_beta=None,
                                         **kw.get("mapping_kwargs", {})))
    ep = D.b4
    ek = dict(kw.get("epilogue_kwargs", {}))
    ch4 = ep.in_channels
    reg.add(ep, "DiscriminatorEpilogue", (ch4,), dict(cmap_dim=D.cmap_dim, resolution=4, **ek, **common), [
        ("in_channels", ch4), ("cmap_dim", D.cmap_dim), ("resolution", 4), ("img_channels", img_channels),
        ("architecture", architecture),
    ])
    mbstd_channels = ek.get("mbstd_num_channels", 1)
    reg.add(ep.mbstd, "MinibatchStdLayer", (), dict(group_size=ek.get("mbstd_group_size", 4), num_channels=mbstd_channels),
            [("group_size", ek.get("mbstd_group_size", 4)), ("num_channels", mbstd_channels)])
    ep_act = ek.get("activation", "lrelu")
    reg_conv(reg, ep.conv, (ch4 + mbstd_channels, ch4), dict(kernel_size=3, activation=ep_act, conv_clamp=conv_clamp))
    reg_fc(reg, ep.fc, (ch4 * 16, ch4), dict(activation=ep_act))
    reg_fc(reg, ep.out, (ch4, 1 if D.cmap_dim == 0 else D.cmap_dim), {})
    reg.covers(D)


def register_augment_pipe(reg: Registry, pipe: AugmentPipeStandIn, kwargs: dict) -> None:
    attrs = []
    for name, default in AUGMENT_DEFAULTS:
        value = kwargs.get(name, default)
        attrs.append((name, list(value) if isinstance(value, list) else float(value)))
    reg.add(pipe, "AugmentPipe", (), kwargs, attrs, module_src=AUGMENT_SRC)


# ---------------------------------------------------------------------------
# Pickling
# ---------------------------------------------------------------------------


class RawReduce:
    """An object that pickles as the given reduce tuple (used for the broken fixtures)."""

    def __init__(self, rv):
        self.rv = rv


class SnapshotPickler(pickle.Pickler):
    """Pickles registered modules in the persistent form, numpy scalars by flavour."""

    def __init__(self, file, protocol, registry: Registry, flavour: Flavour, overrides=None):
        super().__init__(file, protocol=protocol)
        self.registry = registry
        self.flavour = flavour
        self.overrides = overrides or {}

    def reducer_override(self, obj):
        rv = self.overrides.get(id(obj))
        if rv is not None:
            return rv
        if isinstance(obj, RawReduce):
            return obj.rv
        if isinstance(obj, torch.nn.Module):
            return (_reconstruct_persistent_obj, (self.registry.meta(obj, self.flavour),))
        if self.flavour.numpy1 and type(obj) is np.float64:
            return (_numpy1_scalar, (obj.dtype, obj.tobytes()))
        return NotImplemented


def dump_snapshot(data, protocol, registry, flavour, overrides=None) -> bytes:
    buf = io.BytesIO()
    with official_module_names(flavour.numpy1):
        SnapshotPickler(buf, protocol, registry, flavour, overrides).dump(data)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


class Model:
    def __init__(self, name, g_kwargs, d_kwargs, training_set_kwargs, seeds, flavour):
        self.name = name
        self.g_kwargs = g_kwargs
        self.d_kwargs = d_kwargs
        self.training_set_kwargs = training_set_kwargs
        self.flavour = flavour
        g_seed, g_ema_seed, d_seed = seeds
        self.G = self._make(ref.Generator, g_kwargs, g_seed)
        self.G_ema = self._make(ref.Generator, g_kwargs, g_ema_seed)
        self.D = self._make(ref.Discriminator, d_kwargs, d_seed)
        self.augment_pipe: Optional[AugmentPipeStandIn] = None
        self.registry = Registry()
        for net in (self.G, self.G_ema):
            register_generator(self.registry, net, g_kwargs)
        register_discriminator(self.registry, self.D, d_kwargs)
        self.layout: Dict[str, Any] = {}

    @staticmethod
    def _make(cls, kwargs, seed):
        torch.manual_seed(seed)
        net = cls(**kwargs)
        torch.manual_seed(seed)
        fresh = cls(**kwargs)
        randomize_(net, torch.Generator().manual_seed(seed + 1000))  # a stream unrelated to the init draws
        # Nothing may be left at its initial value (the fixed FIR filters aside).
        fresh_sd = fresh.state_dict()
        for name, t in net.state_dict().items():
            if name.endswith("resample_filter"):
                continue
            if torch.equal(t, fresh_sd[name]) or (t.numel() > 1 and bool((t == t.flatten()[0]).all())):
                fail(f"{cls.__name__}.{name} is still at its initial value")
        return net.eval().requires_grad_(False)

    def add_augment_pipe(self, p: float, kwargs: dict) -> None:
        self.augment_pipe = AugmentPipeStandIn(p).eval().requires_grad_(False)
        register_augment_pipe(self.registry, self.augment_pipe, kwargs)

    def snapshot(self) -> dict:
        # training_loop.py: dict(training_set_kwargs=dict(...)), then G, D, G_ema, augment_pipe.
        data = dict(training_set_kwargs=dict(self.training_set_kwargs))
        data["G"], data["D"], data["G_ema"], data["augment_pipe"] = self.G, self.D, self.G_ema, self.augment_pipe
        return data

    def networks(self) -> Dict[str, torch.nn.Module]:
        nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        if self.augment_pipe is not None:
            nets["augment_pipe"] = self.augment_pipe
        return nets


def g_kwargs(z_dim, w_dim, map_layers, channel_base, channel_max, num_fp16_res, conv_clamp, c_dim, res, img_channels):
    # train.py: G_kwargs = EasyDict(class_name=..., z_dim, w_dim, mapping_kwargs, synthesis_kwargs), then
    # training_loop adds c_dim, img_resolution, img_channels; class_name is consumed by construct_class_by_name.
    return dict(
        z_dim=z_dim, w_dim=w_dim,
        mapping_kwargs=EasyDict(num_layers=map_layers),
        synthesis_kwargs=EasyDict(channel_base=channel_base, channel_max=channel_max,
                                  num_fp16_res=num_fp16_res, conv_clamp=conv_clamp),
        c_dim=c_dim, img_resolution=res, img_channels=img_channels,
    )


def d_kwargs(mbstd_group_size, channel_base, channel_max, num_fp16_res, conv_clamp, c_dim, res, img_channels):
    # train.py: D_kwargs = EasyDict(class_name=..., block_kwargs, mapping_kwargs, epilogue_kwargs), channel_base,
    # channel_max, num_fp16_res, conv_clamp, epilogue_kwargs.mbstd_group_size; then the common kwargs.
    return dict(
        block_kwargs=EasyDict(), mapping_kwargs=EasyDict(),
        epilogue_kwargs=EasyDict(mbstd_group_size=mbstd_group_size),
        channel_base=channel_base, channel_max=channel_max, num_fp16_res=num_fp16_res, conv_clamp=conv_clamp,
        c_dim=c_dim, img_resolution=res, img_channels=img_channels,
    )


def get_owner(root: torch.nn.Module, name: str):
    mod_name, _, leaf = name.rpartition(".")
    return (root.get_submodule(mod_name) if mod_name else root), leaf


def replace_tensor(root: torch.nn.Module, name: str, new: torch.Tensor) -> None:
    mod, leaf = get_owner(root, name)
    if leaf in mod._parameters:
        mod._parameters[leaf] = torch.nn.Parameter(new, requires_grad=False)
    elif leaf in mod._buffers:
        mod._buffers[leaf] = new
    else:
        raise KeyError(name)


def apply_fp16_layout(model: Model) -> None:
    """float16 highest-resolution blocks, strided layouts and a shared storage in G_ema."""
    G = model.G_ema
    sd = G.state_dict()
    half = [n for n in sd if n.startswith(("synthesis.b16.", "synthesis.b32."))]
    for name in half:
        replace_tensor(G, name, sd[name].detach().to(torch.float16))
    sd = G.state_dict()
    w = sd["mapping.fc1.weight"]
    replace_tensor(G, "mapping.fc1.weight", w.t().contiguous().t())  # column-major 2-D
    for name in ("synthesis.b8.conv1.weight", "synthesis.b32.conv1.weight"):
        replace_tensor(G, name, sd[name].contiguous(memory_format=torch.channels_last))
    a, b = sd["synthesis.b4.conv1.bias"], sd["synthesis.b8.conv0.bias"]
    base = torch.cat([torch.tensor([111.0, 222.0, 333.0]), a, b, torch.tensor([444.0, 555.0])])
    replace_tensor(G, "synthesis.b4.conv1.bias", base[3:3 + a.numel()])
    replace_tensor(G, "synthesis.b8.conv0.bias", base[3 + a.numel():3 + a.numel() + b.numel()])

    sd = G.state_dict()
    ptrs: Dict[int, List[str]] = {}
    for name, t in sd.items():
        ptrs.setdefault(t.untyped_storage().data_ptr(), []).append(name)
    shared = [names for names in ptrs.values() if len(names) > 1]
    strided = {n: dict(size=list(t.shape), stride=list(t.stride()), offset=t.storage_offset(), dtype=str(t.dtype).replace("torch.", ""))
               for n, t in sd.items() if not t.is_contiguous()}
    offsets = {n: dict(offset=t.storage_offset(), storage_numel=t.untyped_storage().nbytes() // t.element_size())
               for names in shared for n in names for t in [sd[n]]}
    model.layout = {
        "G_ema": {
            "float16": sorted(half),
            "non_contiguous": strided,
            "shared_storage": [sorted(names) for names in shared],
            "shared_storage_views": offsets,
            "note": "in the .pkl files each view has its own _load_from_bytes blob holding the whole storage "
                    "(both blobs carry the same storage key); in fp16_G_ema.pt both views point at one data/ record",
        }
    }
    if len(shared) != 1 or len(strided) != 3 or any(sd[n].dtype != torch.float16 for n in half):
        fail("fp16 layout was not applied as intended")


# ---------------------------------------------------------------------------
# Reference values
# ---------------------------------------------------------------------------


def seeds_z(z_dim: int) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([np.random.RandomState(s).randn(1, z_dim) for s in SEEDS]))


def one_hot_c(c_dim: int) -> Optional[torch.Tensor]:
    if c_dim == 0:
        return None
    c = torch.zeros(len(SEEDS), c_dim, dtype=torch.float64)
    for i in range(len(SEEDS)):
        c[i, i % c_dim] = 1
    return c


def reader_view(net: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """What a reader should produce: every tensor as contiguous float32."""
    return {k: v.detach().to(torch.float32).contiguous() for k, v in net.state_dict().items()}


def generate(g_kw: dict, sd: Dict[str, torch.Tensor], z: torch.Tensor, c: Optional[torch.Tensor]):
    """ws (psi 1) and images (psi 1, 0.7) in float64 from the given tensors."""
    G = ref.Generator(**g_kw).double().eval()
    G.load_state_dict({k: v.double() for k, v in sd.items()})
    out = {}
    with torch.no_grad():
        out["ws.psi1"] = G.mapping(z, c)
        for label, psi in PSIS:
            out[f"img.{label}"] = G(z, c, truncation_psi=psi, noise_mode="const")
    return out


def plain(obj):
    """EasyDict / tuple -> JSON-ready dict / list."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------
# Reading back: restricted unpickler, legacy storage blobs, zip records
# ---------------------------------------------------------------------------

STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "HalfStorage": torch.float16, "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64,
}


class StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


class StorageData:
    """A storage read from a file: dtype, element count and its raw little-endian bytes."""

    def __init__(self, dtype, numel: int, data: bytes, key: str):
        self.dtype, self.numel, self.data, self.key = dtype, numel, data, key
        self.flat = torch.frombuffer(bytearray(data), dtype=dtype) if numel else torch.empty(0, dtype=dtype)


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals in ``allowed``; records every global it is asked for."""

    def __init__(self, file, allowed: Dict[Tuple[str, str], Any], seen: set, persistent=None):
        super().__init__(file, fix_imports=False)
        self.allowed, self.seen, self.persistent = allowed, seen, persistent

    def find_class(self, module, name):
        self.seen.add(f"{module}.{name}")
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed") from None

    def persistent_load(self, pid):
        if self.persistent is None:
            raise pickle.UnpicklingError("persistent id outside a storage record")
        return self.persistent(pid)


def elem_size(dtype) -> int:
    return torch.empty(0, dtype=dtype).element_size()


class Reader:
    """Pure-Python reader of network pickles and zip state dicts (no torch.load, nothing executed)."""

    def __init__(self):
        self.globals_outer: set = set()
        self.globals_blob: set = set()
        self.blobs: List[bytes] = []
        self.blob_pids: set = set()  # tuple shapes of the storage persistent ids
        self.blob_keys: List[str] = []
        self.rebuild_arities: set = set()
        self.state_keys: Dict[str, List[str]] = {}  # class name -> keys of the first pickled state

    def reconstruct(self, meta):
        if isinstance(meta, dict) and isinstance(meta.get("state"), dict):
            self.state_keys.setdefault(meta.get("class_name"), list(meta["state"].keys()))
        return _reconstruct_persistent_obj(meta)

    # -- torch reducers ---------------------------------------------------
    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad, backward_hooks, *metadata):
        self.rebuild_arities.add(6 + len(metadata))
        if not isinstance(storage, StorageData):
            raise pickle.UnpicklingError("tensor without a storage")
        if len(metadata) > 1 or (metadata and not isinstance(metadata[0], dict)):
            raise pickle.UnpicklingError("unexpected tensor metadata")
        size, stride = tuple(size), tuple(stride)
        ints = (storage_offset,) + size + stride
        if not all(type(v) is int and v >= 0 for v in ints) or len(size) != len(stride):
            raise pickle.UnpicklingError("bad tensor size / stride / offset")
        if not isinstance(requires_grad, bool) or not isinstance(backward_hooks, OrderedDict) or backward_hooks:
            raise pickle.UnpicklingError("bad requires_grad / backward hooks")
        if math.prod(size) > 0:
            last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= storage.numel:
                raise pickle.UnpicklingError(f"tensor view reaches element {last} of a {storage.numel}-element storage")
        return storage.flat.as_strided(size, stride, storage_offset)

    @staticmethod
    def rebuild_parameter(data, requires_grad, backward_hooks):
        if not isinstance(data, torch.Tensor) or not isinstance(requires_grad, bool) or backward_hooks:
            raise pickle.UnpicklingError("bad parameter")
        return torch.nn.Parameter(data, requires_grad=requires_grad)

    def load_from_bytes(self, blob):
        if not isinstance(blob, bytes):
            raise pickle.UnpicklingError("storage blob is not bytes")
        self.blobs.append(blob)
        return self.parse_legacy_blob(blob)

    def parse_legacy_blob(self, blob: bytes) -> StorageData:
        """torch.save(storage, _use_new_zipfile_serialization=False): five pickles, then the data."""
        f = io.BytesIO(blob)
        allowed = {("torch", name): StorageType(name) for name in STORAGE_DTYPES}
        pending: Dict[str, Tuple[StorageType, int]] = {}

        def persistent(pid):
            if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
                raise pickle.UnpicklingError(f"unexpected storage id {pid!r}")
            _, stype, key, location, numel, view = pid
            self.blob_pids.add(("storage", f"torch.{stype.name}", "<key: str>", location, "<numel: int>", view))
            if not isinstance(stype, StorageType) or not isinstance(key, str) or location != "cpu" \
                    or type(numel) is not int or numel < 0 or view is not None:
                raise pickle.UnpicklingError(f"unexpected storage id {pid!r}")
            pending[key] = (stype, numel)
            return key

        def load(persistent_fn=None):
            return RestrictedUnpickler(f, allowed, self.globals_blob, persistent_fn).load()

        if load() != LEGACY_MAGIC or load() != LEGACY_PROTOCOL_VERSION:
            raise pickle.UnpicklingError("not a legacy torch.save blob")
        sys_info = load()
        if sys_info != dict(protocol_version=LEGACY_PROTOCOL_VERSION, little_endian=True,
                            type_sizes=dict(short=2, int=4, long=4)):
            raise pickle.UnpicklingError(f"unexpected sys_info {sys_info!r}")
        key = load(persistent)
        keys = load()
        if keys != [key] or key not in pending:
            raise pickle.UnpicklingError("storage keys do not match")
        stype, numel = pending[key]
        self.blob_keys.append(key)
        (count,) = struct.unpack("<q", f.read(8))
        nbytes = count * elem_size(stype.dtype)
        left = len(blob) - f.tell()
        if count != numel or nbytes != left:
            raise pickle.UnpicklingError(f"storage declares {numel} elements ({count} in its record), {left} bytes follow")
        return StorageData(stype.dtype, numel, f.read(nbytes), key)

    # -- whole files ----------------------------------------------------------
    def pickle_globals(self) -> Dict[Tuple[str, str], Any]:
        return {
            ("collections", "OrderedDict"): OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor_v2,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch.storage", "_load_from_bytes"): self.load_from_bytes,
            ("torch_utils.persistence", "_reconstruct_persistent_obj"): self.reconstruct,
            ("dnnlib.util", "EasyDict"): EasyDict,
            ("numpy.core.multiarray", "scalar"): _numpy1_scalar,
            ("numpy._core.multiarray", "scalar"): _numpy1_scalar,
            ("numpy", "dtype"): np.dtype,
            ("builtins", "set"): set,
            ("__builtin__", "set"): set,
            ("_codecs", "encode"): codecs_encode_latin1,
        }

    def read_pickle(self, data: bytes):
        return RestrictedUnpickler(io.BytesIO(data), self.pickle_globals(), self.globals_outer).load()

    def read_zip(self, path: str):
        with zipfile.ZipFile(path) as z:
            pkls = [n for n in z.namelist() if n.endswith("/data.pkl")]
            if len(pkls) != 1:
                raise pickle.UnpicklingError("no single data.pkl")
            prefix = pkls[0][: -len("data.pkl")]
            if z.read(prefix + "byteorder") != b"little":
                raise pickle.UnpicklingError("not little-endian")
            cache: Dict[str, StorageData] = {}

            def persistent(pid):
                if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
                    raise pickle.UnpicklingError(f"unexpected storage id {pid!r}")
                _, stype, key, location, numel = pid
                self.blob_pids.add(("storage", f"torch.{stype.name}", "<key: str>", location, "<numel: int>"))
                if not isinstance(stype, StorageType) or not isinstance(key, str) or not key.isdigit() \
                        or location != "cpu" or type(numel) is not int or numel < 0:
                    raise pickle.UnpicklingError(f"unexpected storage id {pid!r}")
                if key not in cache:
                    data = z.read(f"{prefix}data/{key}")
                    if len(data) != numel * elem_size(stype.dtype):
                        raise pickle.UnpicklingError(f"record data/{key}: {len(data)} bytes for {numel} elements")
                    cache[key] = StorageData(stype.dtype, numel, data, key)
                return cache[key]

            allowed = {
                ("collections", "OrderedDict"): OrderedDict,
                ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor_v2,
            }
            allowed.update({("torch", name): StorageType(name) for name in STORAGE_DTYPES})
            return RestrictedUnpickler(io.BytesIO(z.read(pkls[0])), allowed, self.globals_outer, persistent).load()


def codecs_encode_latin1(text, encoding):
    """``_codecs.encode(str, 'latin1')``: how protocol 2 writes bytes objects."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode: only (str, 'latin1') is allowed")
    return text.encode("latin1")


def torch_globals() -> Dict[Tuple[str, str], Any]:
    """The same allow-list with torch's own rebuild functions (cross-check only: our own files)."""
    g = Reader().pickle_globals()
    g[("torch._utils", "_rebuild_tensor_v2")] = torch._utils._rebuild_tensor_v2
    g[("torch._utils", "_rebuild_parameter")] = torch._utils._rebuild_parameter
    g[("torch.storage", "_load_from_bytes")] = torch.storage._load_from_bytes
    g[("numpy._core.multiarray", "scalar")] = np._core.multiarray.scalar
    return g


def persistent_state(obj) -> dict:
    if not isinstance(obj, torch.nn.Module):
        raise pickle.UnpicklingError("not a persistent network object")
    return obj.__dict__


def extract_snapshot(obj) -> Dict[str, Any]:
    """Top-level checks a reader makes, then the state dicts and constructor kwargs."""
    if not isinstance(obj, dict) or not isinstance(obj.get("G_ema"), torch.nn.Module):
        raise ValueError("no G_ema network in the pickle")
    out: Dict[str, Any] = {"keys": list(obj.keys()), "training_set_kwargs": obj.get("training_set_kwargs")}
    for name in ("G", "D", "G_ema", "augment_pipe"):
        net = obj.get(name)
        if net is None:
            continue
        st = persistent_state(net)
        out[name] = dict(state_dict=net.state_dict(), init_args=st["_init_args"], init_kwargs=st["_init_kwargs"],
                         class_name=type(net).__name__, state_keys=list(st.keys()))
    return out


def describe_layouts(sd: Dict[str, torch.Tensor]) -> Dict[str, Any]:
    """Dtype counts and every tensor that is not a plain contiguous view of its own storage."""
    count: Dict[str, int] = {}
    special = {}
    for k, t in sd.items():
        dt = str(t.dtype).replace("torch.", "")
        count[dt] = count.get(dt, 0) + 1
        numel = t.untyped_storage().nbytes() // t.element_size()
        if not t.is_contiguous() or t.storage_offset() or numel != t.numel():
            special[k] = (f"{dt} size {list(t.shape)} stride {list(t.stride())} offset {t.storage_offset()} "
                          f"storage {numel} elements")
    return dict(count=count, special=special)


def same_tensor(name: str, a: torch.Tensor, b: torch.Tensor, layout=True) -> None:
    if a.dtype != b.dtype or a.shape != b.shape:
        fail(f"{name}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}")
    if layout and (a.stride() != b.stride() or a.storage_offset() != b.storage_offset()):
        fail(f"{name}: stride/offset {a.stride()}/{a.storage_offset()} vs {b.stride()}/{b.storage_offset()}")
    if not torch.equal(a, b):
        fail(f"{name}: values differ")


def compare_state_dicts(label: str, got: Dict[str, torch.Tensor], want: Dict[str, torch.Tensor], layout=True,
                        ordered=True) -> int:
    if (list(got.keys()) != list(want.keys())) if ordered else (set(got) != set(want)):
        fail(f"{label}: keys differ: {sorted(set(got) ^ set(want))}")
    for k in want:
        same_tensor(f"{label}.{k}", got[k], want[k], layout)
    return len(want)


# ---------------------------------------------------------------------------
# Opcode / global listing (pickletools)
# ---------------------------------------------------------------------------

STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}


def scan_pickle(data: bytes, start: int = 0):
    """Globals (GLOBAL and resolved STACK_GLOBAL) and opcodes of one pickle; returns the end offset too."""
    globals_, opcodes = set(), set()
    memo: Dict[int, Any] = {}
    recent: List[Any] = []
    end = start
    for op, arg, pos in pickletools.genops(io.BytesIO(data[start:]) if start else data):
        opcodes.add(op.name)
        if op.name == "GLOBAL":
            globals_.add(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            globals_.add(f"{recent[-2]}.{recent[-1]}")
        if op.name in STRING_OPS:
            recent.append(arg)
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            recent.append(memo.get(arg))
        elif op.name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = recent[-1] if recent else None
        elif op.name not in ("FRAME", "PROTO"):
            recent.append(None)
        if op.name == "STOP":
            end = start + pos + 1
    return globals_, opcodes, end


def scan_blob(blob: bytes):
    globals_, opcodes, pos = set(), set(), 0
    for _ in range(5):
        g, o, pos = scan_pickle(blob, pos)
        globals_ |= g
        opcodes |= o
    return globals_, opcodes


# ---------------------------------------------------------------------------
# Hand-written pickles
# ---------------------------------------------------------------------------


class Ops:
    """Writes pickle opcodes one by one."""

    def __init__(self):
        self.b = bytearray()

    def raw(self, data: bytes):
        self.b += data
        return self

    def proto(self, n):
        return self.raw(b"\x80" + bytes([n]))

    def stop(self):
        return self.raw(b".")

    def mark(self):
        return self.raw(b"(")

    def global_(self, module, name):
        return self.raw(b"c" + f"{module}\n{name}\n".encode("ascii"))

    def stack_global(self):
        return self.raw(b"\x93")

    def unicode(self, s):  # BINUNICODE
        d = s.encode("utf-8")
        return self.raw(b"X" + struct.pack("<I", len(d)) + d)

    def short_unicode(self, s):  # SHORT_BINUNICODE (protocol 4)
        d = s.encode("utf-8")
        return self.raw(b"\x8c" + bytes([len(d)]) + d)

    def int_(self, n):
        if 0 <= n < 256:
            return self.raw(b"K" + bytes([n]))
        if 0 <= n < 65536:
            return self.raw(b"M" + struct.pack("<H", n))
        if -2 ** 31 <= n < 2 ** 31:
            return self.raw(b"J" + struct.pack("<i", n))
        d = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
        return self.raw(b"\x8a" + bytes([len(d)]) + d)  # LONG1

    def op(self, name):
        codes = {"TUPLE": b"t", "TUPLE1": b"\x85", "TUPLE2": b"\x86", "EMPTY_TUPLE": b")", "EMPTY_LIST": b"]",
                 "EMPTY_DICT": b"}", "APPEND": b"a", "SETITEM": b"s", "SETITEMS": b"u", "LIST": b"l",
                 "REDUCE": b"R", "NONE": b"N", "NEWTRUE": b"\x88", "BINPERSID": b"Q"}
        return self.raw(codes[name])

    def binput(self, i):
        return self.raw(b"q" + bytes([i]))

    def binget(self, i):
        return self.raw(b"h" + bytes([i]))

    def bytes_(self) -> bytes:
        return bytes(self.b)


def legacy_blob_header(storage_type: str, key: str, numel: int) -> bytes:
    """The five pickles of a legacy torch.save(storage) blob, written opcode by opcode."""
    w = Ops()
    w.proto(2).int_(LEGACY_MAGIC).stop()
    w.proto(2).int_(LEGACY_PROTOCOL_VERSION).stop()
    w.proto(2).op("EMPTY_DICT").mark()
    w.unicode("protocol_version").int_(LEGACY_PROTOCOL_VERSION).unicode("little_endian").op("NEWTRUE")
    w.unicode("type_sizes").op("EMPTY_DICT").mark().unicode("short").int_(2).unicode("int").int_(4)
    w.unicode("long").int_(4).op("SETITEMS").op("SETITEMS").stop()
    w.proto(2).mark().unicode("storage").global_("torch", storage_type).unicode(key).unicode("cpu").int_(numel)
    w.op("NONE").op("TUPLE").op("BINPERSID").stop()
    w.proto(2).op("EMPTY_LIST").unicode(key).op("APPEND").stop()
    return w.bytes_()


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    w = h = 8
    rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 32, y * 32, 128)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


MALFORMED_DOC: List[Tuple[str, str, str]] = []


def write_malformed(out_dir: str, cond: Model, cond_pkl: bytes) -> Dict[str, bytes]:
    files: Dict[str, bytes] = {}

    def add(name, data, contents, expected):
        files[name] = data
        MALFORMED_DOC.append((name, contents, expected))

    add("os_system.pkl",
        Ops().proto(2).global_("posix", "system").unicode("echo fauxto-fixture").op("TUPLE1").op("REDUCE").stop().bytes_(),
        "protocol 2: `GLOBAL 'posix system'`, `BINUNICODE 'echo fauxto-fixture'`, `TUPLE1`, `REDUCE`",
        "refuse the global `posix.system` (not on the allow-list) before anything is called")
    add("builtins_eval.pkl",
        Ops().proto(4).short_unicode("builtins").short_unicode("eval").stack_global().short_unicode("1+1")
        .op("TUPLE1").op("REDUCE").stop().bytes_(),
        "protocol 4: `SHORT_BINUNICODE 'builtins'`, `'eval'`, `STACK_GLOBAL`, `'1+1'`, `TUPLE1`, `REDUCE`",
        "refuse the global `builtins.eval`")
    add("subprocess.pkl",
        Ops().proto(3).global_("subprocess", "Popen").op("EMPTY_LIST").unicode("true").op("APPEND")
        .op("TUPLE1").op("REDUCE").stop().bytes_(),
        "protocol 3: `GLOBAL 'subprocess Popen'`, `['true']`, `TUPLE1`, `REDUCE`",
        "refuse the global `subprocess.Popen`")
    add("huge_binbytes.pkl", Ops().proto(4).raw(b"\x8e" + struct.pack("<Q", 2 ** 60) + b"abcd").bytes_(),
        "protocol 4: `BINBYTES8` declaring 2^60 bytes, 4 bytes present, no `STOP`",
        "error: the declared length runs past the end of the input, checked before allocating (Python's own "
        "unpickler allocates first and fails with MemoryError)")
    add("huge_binunicode.pkl", Ops().proto(4).raw(b"\x8d" + struct.pack("<Q", 2 ** 60) + b"abcd").bytes_(),
        "protocol 4: `BINUNICODE8` declaring 2^60 bytes, 4 bytes present, no `STOP`",
        "error: the declared length runs past the end of the input (checked before allocating)")

    # Official-shaped snapshots with one broken tensor in G_ema.
    G = cond.G_ema
    bias = G.synthesis.b4.conv1._parameters["bias"]
    blob = legacy_blob_header("FloatStorage", "140000000000000", 2 ** 40) + struct.pack("<q", 2 ** 40) \
        + bias.detach()[:4].numpy().astype("<f4").tobytes()
    tensor = RawReduce((torch._utils._rebuild_tensor_v2,
                        (RawReduce((torch.storage._load_from_bytes, (blob,))), 0, tuple(bias.shape), (1,), False, OrderedDict())))
    overrides = {id(bias): (torch._utils._rebuild_parameter, (tensor, False, OrderedDict()))}
    add("huge_storage.pkl", dump_snapshot(cond.snapshot(), None, cond.registry, cond.flavour, overrides),
        f"the cond snapshot, except that G_ema `synthesis.b4.conv1.bias` ({list(bias.shape)}) points at a `_load_from_bytes` blob "
        "whose storage id and element count declare 2^40 float32 elements while 16 bytes follow",
        "error: storage size does not match the blob (no 4 TiB allocation)")

    weight = G.mapping.fc0._parameters["weight"]
    storage = torch.storage.TypedStorage(wrap_storage=weight.detach().untyped_storage(), dtype=weight.dtype, _internal=True)
    tensor = RawReduce((torch._utils._rebuild_tensor_v2,
                        (storage, 5, tuple(weight.shape), tuple(weight.stride()), False, OrderedDict())))
    overrides = {id(weight): (torch._utils._rebuild_parameter, (tensor, False, OrderedDict()))}
    add("out_of_bounds_view.pkl", dump_snapshot(cond.snapshot(), None, cond.registry, cond.flavour, overrides),
        f"the cond snapshot, except that G_ema `mapping.fc0.weight` is rebuilt with offset 5, size "
        f"{list(weight.shape)}, stride {list(weight.stride())} on its {weight.numel()}-element storage "
        f"(last element {5 + weight.numel() - 1})",
        "error: tensor view out of bounds of its storage")

    add("self_list.pkl", Ops().proto(2).op("EMPTY_LIST").binput(0).binget(0).op("APPEND").stop().bytes_(),
        "protocol 2: `EMPTY_LIST`, `BINPUT 0`, `BINGET 0`, `APPEND` (a list that contains itself)",
        "no hang or stack overflow: refuse the cycle (or keep it as a shared reference), then `no networks`")
    add("self_dict.pkl",
        Ops().proto(2).op("EMPTY_DICT").binput(0).unicode("self").binget(0).op("SETITEM").stop().bytes_(),
        "protocol 2: `EMPTY_DICT`, `BINPUT 0`, `'self'`, `BINGET 0`, `SETITEM` (a dict that contains itself)",
        "no hang or stack overflow: refuse the cycle (or keep it as a shared reference), then `no networks`")
    depth = 200000
    add("deep_nesting.pkl", Ops().proto(2).raw(b"(" * depth + b"l" * depth).stop().bytes_(),
        f"protocol 2: {depth} × `MARK`, then {depth} × `LIST` (lists nested {depth} deep)",
        "error at a nesting / mark-stack limit; no stack overflow while building or dropping the value")
    add("wrong_protocol.pkl", Ops().proto(9).op("NONE").stop().bytes_(),
        "`PROTO 9`, `NONE`, `STOP`", "error: unsupported pickle protocol 9")
    add("empty.pkl", b"", "0 bytes", "error: empty input")
    add("not_a_pickle.pkl", tiny_png()[:64], "the first 64 bytes of an 8x8 PNG",
        "error: does not start with `PROTO` (0x80). Read as opcodes it is `NEWFALSE` (0x89), then `PERSID` "
        "(0x50 'P') with the id `'NG\\r'`: a reader that accepts `PROTO`-less input must refuse that persistent "
        "id (only storage records carry one)")
    add("truncated.pkl", cond_pkl[: int(len(cond_pkl) * 0.6)], "`cond.pkl` cut at 60 % of its length",
        "error: unexpected end of input")
    add("memo_bad_get.pkl", Ops().proto(2).op("EMPTY_DICT").binput(0).binget(7).stop().bytes_(),
        "protocol 2: `EMPTY_DICT`, `BINPUT 0`, `BINGET 7`", "error: memo index 7 was never stored")
    add("stack_underflow.pkl", Ops().proto(2).op("REDUCE").stop().bytes_(),
        "protocol 2: `REDUCE` on an empty stack", "error: stack underflow")
    add("stack_underflow_setitems.pkl", Ops().proto(2).op("SETITEMS").stop().bytes_(),
        "protocol 2: `SETITEMS` on an empty stack (no `MARK`)", "error: stack underflow / missing MARK")
    add("no_networks.pkl", pickle.dumps({"hello": 1}),
        "a valid pickle (default protocol) of `{'hello': 1}`", "loads, then error: no `G_ema` network")

    mdir = os.path.join(out_dir, "malformed")
    os.makedirs(mdir, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(mdir, name), "wb") as f:
            f.write(data)
    write_malformed_readme(mdir)
    return files


def write_malformed_readme(mdir: str) -> None:
    lines = [
        "# Malformed pickles",
        "",
        "Written by `tools/make_pickle_fixtures.py`, opcode by opcode (never by pickling a real",
        "object), except the two official-shaped snapshots with one broken tensor, `truncated.pkl`",
        "(a prefix of `../cond.pkl`) and `no_networks.pkl`. None of them is ever unpickled by",
        "anything that resolves arbitrary globals: the script checks that its restricted",
        "unpickler refuses each one.",
        "",
        "| file | contents | a safe reader should |",
        "| --- | --- | --- |",
    ]
    for name, contents, expected in MALFORMED_DOC:
        lines.append(f"| `{name}` | {contents} | {expected} |")
    with open(os.path.join(mdir, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def build_models() -> Tuple[Model, Model]:
    cond = Model(
        "cond",
        g_kwargs(32, 32, 2, 64, 16, 0, None, c_dim=4, res=16, img_channels=3),
        d_kwargs(4, 64, 16, 0, None, c_dim=4, res=16, img_channels=3),
        dict(class_name="training.dataset.ImageFolderDataset", path="~/datasets/tiny.zip", use_labels=True,
             max_size=1000, xflip=False, resolution=16),
        seeds=(21, 22, 23), flavour=LEGACY,
    )
    fp16 = Model(
        "fp16",
        g_kwargs(32, 32, 2, 128, 16, 2, 256, c_dim=0, res=32, img_channels=3),
        d_kwargs(2, 128, 16, 2, 256, c_dim=0, res=32, img_channels=3),
        dict(class_name="training.dataset.ImageFolderDataset", path="~/datasets/tiny32.zip", use_labels=False,
             max_size=500, xflip=True, resolution=32),
        seeds=(31, 32, 33), flavour=CURRENT,
    )
    fp16.add_augment_pipe(0.0123, AUGMENT_BGC)
    apply_fp16_layout(fp16)
    return cond, fp16


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()
    t0 = time.time()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    out = args.out

    cond, fp16 = build_models()
    models = [cond, fp16]

    # --- network pickles and zip state dicts -------------------------------
    pickles = {
        "cond.pkl": (cond, None),  # pickle.dump's default protocol
        "cond_protocol3.pkl": (cond, 3),
        "fp16.pkl": (fp16, None),
        "fp16_protocol2.pkl": (fp16, 2),
    }
    written: Dict[str, bytes] = {}
    for fname, (model, protocol) in pickles.items():
        data = dump_snapshot(model.snapshot(), protocol, model.registry, model.flavour)
        written[fname] = data
        with open(os.path.join(out, fname), "wb") as f:
            f.write(data)
    for model in models:
        torch.save(model.G_ema.state_dict(), os.path.join(out, f"{model.name}_G_ema.pt"))

    # --- reference values ----------------------------------------------------
    T: Dict[str, torch.Tensor] = {"seeds": torch.tensor(SEEDS, dtype=torch.int64)}
    z = seeds_z(32)
    T["z"] = z.clone()
    refs: Dict[str, Dict[str, torch.Tensor]] = {}
    config: Dict[str, Any] = {}
    for model in models:
        for net_name, net in model.networks().items():
            for k, v in reader_view(net).items():
                T[f"{model.name}.{net_name}.{k}"] = v
        assert model.g_kwargs["z_dim"] == z.shape[1]
        c = one_hot_c(model.g_kwargs["c_dim"])
        if c is not None:
            T[f"{model.name}.c"] = c.to(torch.float32)
        outs = generate(model.g_kwargs, reader_view(model.G_ema), z, c)
        refs[model.name] = outs
        for k, v in outs.items():
            T[f"{model.name}.{k}"] = v.to(torch.float32).contiguous()
        if (outs["img.psi1"] - outs["img.psi0.7"]).abs().max() < 1e-3:
            fail(f"{model.name}: truncation has no effect")
        config[model.name] = {"G": plain(model.g_kwargs), "D": plain(model.d_kwargs)}
    meta = {
        "config": json.dumps(config),
        "layout": json.dumps({"fp16": fp16.layout}),
        "note": json.dumps({
            "z": "numpy.random.RandomState(seed).randn(1, 32) per seed, float64",
            "c": "cond: one-hot, class i % c_dim for the i-th seed",
            "img": "G_ema(z, c, truncation_psi=psi, noise_mode='const'), float64 from the stored values, stored as float32",
            "ws.psi1": "G_ema.mapping(z, c)",
            "tensors": "<model>.<G|D|G_ema|augment_pipe>.<state-dict name>, as float32 (float16 values widened)",
        }),
    }
    ref_path = os.path.join(out, "reference.safetensors")
    save_file(T, ref_path, metadata=meta)
    stored = load_file(ref_path)

    # --- read everything back -------------------------------------------------
    listing: Dict[str, Dict[str, Any]] = {}
    for fname, (model, protocol) in pickles.items():
        data = written[fname]
        reader = Reader()
        snap = extract_snapshot(reader.read_pickle(data))
        torch_reader_seen: set = set()
        snap_torch = extract_snapshot(RestrictedUnpickler(io.BytesIO(data), torch_globals(), torch_reader_seen).load())
        want_keys = ["training_set_kwargs", "G", "D", "G_ema", "augment_pipe"]
        if snap["keys"] != want_keys or snap["training_set_kwargs"] != model.training_set_kwargs \
                or type(snap["training_set_kwargs"]) is not dict:
            fail(f"{fname}: top-level dict {snap['keys']}")
        n = 0
        for net_name, net in model.networks().items():
            got = snap[net_name]
            n += compare_state_dicts(f"{fname}:{net_name}", got["state_dict"], net.state_dict())
            compare_state_dicts(f"{fname}:{net_name} (torch rebuild)", snap_torch[net_name]["state_dict"], net.state_dict())
            info = model.registry.infos[id(net)]
            if got["init_kwargs"] != info.init_kwargs or got["init_args"] != info.init_args:
                fail(f"{fname}:{net_name}: _init_args / _init_kwargs differ")
            compare_state_dicts(f"{fname}:{net_name} vs reference", {k: v.float() for k, v in got["state_dict"].items()},
                                {k[len(f'{model.name}.{net_name}.'):]: v for k, v in stored.items()
                                 if k.startswith(f"{model.name}.{net_name}.")}, layout=False, ordered=False)
        for sub in ("mapping_kwargs", "synthesis_kwargs"):
            if type(snap["G_ema"]["init_kwargs"][sub]) is not EasyDict:
                fail(f"{fname}: G_ema _init_kwargs.{sub} is not an EasyDict")
        # Generators rebuilt from the pickled top-level _init_kwargs reproduce the images.
        c = one_hot_c(model.g_kwargs["c_dim"])
        sd = {k: v.float() for k, v in snap["G_ema"]["state_dict"].items()}
        outs = generate(dict(snap["G_ema"]["init_kwargs"]), sd, z, c)
        for k, v in outs.items():
            check(f"{fname}: reloaded G_ema {k} vs in-memory float64", (v - refs[model.name][k]).abs().max().item(), 1e-12)
            scale = max(1.0, refs[model.name][k].abs().max().item())
            check(f"{fname}: reloaded G_ema {k} vs reference.safetensors (/max(1,|x|))",
                  (v - stored[f"{model.name}.{k}"].double()).abs().max().item() / scale, 1e-6)
        g_outer, ops_outer, end = scan_pickle(data)
        if end != len(data):
            fail(f"{fname}: {len(data) - end} bytes after STOP")
        g_blob, ops_blob = set(), set()
        for blob in reader.blobs:
            g, o = scan_blob(blob)
            g_blob |= g
            ops_blob |= o
        if g_outer != reader.globals_outer or g_blob != reader.globals_blob or torch_reader_seen != g_outer:
            fail(f"{fname}: opcode scan and unpickler disagree on globals")
        repeated = {k: reader.blob_keys.count(k) for k in set(reader.blob_keys) if reader.blob_keys.count(k) > 1}
        listing[fname] = dict(protocol=data[1] if data[:1] == b"\x80" else 0, globals=g_outer, opcodes=ops_outer,
                              blob_globals=g_blob, blob_opcodes=ops_blob, blobs=len(reader.blobs),
                              pids=reader.blob_pids, arities=reader.rebuild_arities, tensors=n,
                              state_keys=reader.state_keys["Generator"], repeated_keys=repeated,
                              layouts=describe_layouts(snap["G_ema"]["state_dict"]))

    for model in models:
        fname = f"{model.name}_G_ema.pt"
        path = os.path.join(out, fname)
        reader = Reader()
        sd = reader.read_zip(path)
        if not isinstance(sd, OrderedDict):
            fail(f"{fname}: not an OrderedDict")
        want = model.G_ema.state_dict()
        compare_state_dicts(fname, sd, want)
        compare_state_dicts(f"{fname} (torch.load weights_only)", torch.load(path, weights_only=True), want)
        ptrs = {}
        for k, v in sd.items():
            ptrs.setdefault(v.untyped_storage().data_ptr(), []).append(k)
        shared = [sorted(v) for v in ptrs.values() if len(v) > 1]
        with zipfile.ZipFile(path) as zf:
            pkl = next(n for n in zf.namelist() if n.endswith("/data.pkl"))
            pkl_bytes = zf.read(pkl)
            g, o, _ = scan_pickle(pkl_bytes)
            records = sorted(zf.namelist())
        if g != reader.globals_outer:
            fail(f"{fname}: opcode scan and unpickler disagree on globals")
        outs = generate(model.g_kwargs, {k: v.float() for k, v in sd.items()}, z, one_hot_c(model.g_kwargs["c_dim"]))
        check(f"{fname}: reloaded G_ema img.psi1 vs in-memory float64",
              (outs["img.psi1"] - refs[model.name]["img.psi1"]).abs().max().item(), 1e-12)
        listing[fname] = dict(protocol=pkl_bytes[1], globals=g, opcodes=o, pids=reader.blob_pids,
                              arities=reader.rebuild_arities, tensors=len(sd), shared=shared, records=records,
                              layouts=describe_layouts(sd))

    # --- malformed inputs -----------------------------------------------------
    files = write_malformed(out, cond, written["cond.pkl"])
    refusals = {}
    for name, data in files.items():
        reader = Reader()
        try:
            extract_snapshot(reader.read_pickle(data))
        except (pickle.UnpicklingError, ValueError, EOFError, MemoryError, OverflowError, KeyError, IndexError) as e:
            refusals[name] = f"{type(e).__name__}: {str(e)[:90]}"
        else:
            fail(f"malformed/{name} was accepted")
        if any(g in reader.globals_outer for g in ("posix.system", "builtins.eval", "subprocess.Popen")) \
                and name not in ("os_system.pkl", "builtins_eval.pkl", "subprocess.pkl"):
            fail(f"malformed/{name}: unexpected dangerous global")

    # --- report -----------------------------------------------------------------
    print(f"module state flavours: cond = {LEGACY.name}, fp16 = {CURRENT.name}; "
          f"pickle.DEFAULT_PROTOCOL = {pickle.DEFAULT_PROTOCOL}")
    for fname, info in listing.items():
        print(f"\n{fname}: protocol {info['protocol']}, {info['tensors']} tensors checked")
        print("  globals:     " + ", ".join(sorted(info["globals"])))
        print("  opcodes:     " + " ".join(sorted(info["opcodes"])))
        if "blob_globals" in info:
            print(f"  storage blobs ({info['blobs']} _load_from_bytes): globals " + ", ".join(sorted(info["blob_globals"])))
            print("  blob opcodes: " + " ".join(sorted(info["blob_opcodes"])))
            print("  Generator state keys (as pickled): " + ", ".join(info["state_keys"]))
            print(f"  storage blobs repeating a storage key: {info['repeated_keys'] or 'none'}")
        else:
            records = [r.split("/", 1)[1] for r in info["records"]]
            print(f"  zip records ({len(records)}): " + ", ".join(r for r in records if not r.startswith("data/"))
                  + f", data/0 .. data/{sum(r.startswith('data/') for r in records) - 1}")
            print(f"  shared storages: {info['shared']}")
        print(f"  storage ids: {sorted(info['pids'])}")
        print(f"  _rebuild_tensor_v2 argument counts: {sorted(info['arities'])}")
        print(f"  G_ema tensors as read back: {info['layouts']['count']}")
        for name, desc in info["layouts"]["special"].items():
            print(f"    {name}: {desc}")
    print("\nfp16 G_ema layout:")
    print(json.dumps(fp16.layout, indent=1))
    print("\ntop-level _init_kwargs:")
    print(json.dumps(config, indent=1))
    print("\nmalformed inputs refused by the restricted unpickler:")
    for name, why in refusals.items():
        print(f"  {name:30s} {why}")
    print("\nself-checks:")
    for name, value, limit in CHECKS:
        print(f"  ok  {value:9.2e} <= {limit:7.1e}  {name}")
    print("\nfixtures:")
    total = 0
    for root, _, names in sorted(os.walk(out)):
        for name in sorted(names):
            p = os.path.join(root, name)
            size = os.path.getsize(p)
            total += size
            print(f"  {size / 1024:8.1f} KiB  {os.path.relpath(p, REPO)}")
    print(f"  {total / 1024:8.1f} KiB  total")
    print(f"\ndone in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Invisible-watermark robustness: fauxto against ``invisible-watermark`` (imwatermark).

Every method marks the same images with the same 48-bit payload per image; the
marked images then go through the same attacks (implemented once, here, with
Pillow: JPEG, crops, a resize and back, and the edits kept as they are — resizes by
0.5–2x with five filters, brightness, contrast, gamma, small rotations, each also
followed by a crop and JPEG 75) and each method's own decoder. Reported per method and attack:

* bit accuracy: the fraction of the 48 payload bits decoded correctly (fauxto:
  its best-effort ``decoded`` field, whether or not it reports ``found``;
  imwatermark: the decoded bits), averaged over images;
* exact recovery: fauxto: ``found`` and ``payload`` equal to the embedded one;
  imwatermark (which has no detection decision): all 48 bits correct;
* PSNR of the marked image against the original (RGB, all channels, peak 255);
* embed and detect wall time per image.

False positives: unmarked UTKFace images (disjoint from the marked ones) go
through fauxto's detector (count of ``found``, a one-sided 95% upper bound on
the rate, the distribution of ``score``) and through the imwatermark decoders,
whose bits are compared with a random 48-bit target per image (bit agreement,
and how many agree to within ``--match-errors`` bit errors).

imwatermark's public API (``WatermarkEncoder.encode`` / ``WatermarkDecoder.decode``)
raises on images of fewer than 256x256 pixels, which includes the 128x128
faces and 64x64 generated images used here. The refusal is recorded and
reported. By default the benchmark then runs the same embedder classes the API
calls after that check (``imwatermark.maxDct.EmbedMaxDct``,
``imwatermark.dwtDctSvd.EmbedDwtDctSvd``, package defaults) on the images at
their own size; such results are flagged in the output. ``--peer-api-only``
reports them as n/a instead. No image is resized for any method.

Normally run through ``bench/watermark/run.sh``; see ``--help`` for running it
directly.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import time
import warnings
import zipfile
from importlib import metadata

import numpy as np
from PIL import Image, ImageEnhance

PAYLOAD_BITS = 48
FAUXTO = "fauxto"
PEER_METHODS = ("dwtDct", "dwtDctSvd")
ALL_METHODS = (FAUXTO,) + PEER_METHODS
LABELS = {FAUXTO: "fauxto", "dwtDct": "imwatermark dwtDct", "dwtDctSvd": "imwatermark dwtDctSvd"}


# ---------------------------------------------------------------- attacks

def jpeg(quality):
    def write(img, path):
        img.save(path, "JPEG", quality=quality, subsampling="4:2:0")
    return write


def png(transform):
    def write(img, path):
        transform(img).save(path, "PNG", compress_level=1)
    return write


def resize_half_and_back(img):
    w, h = img.size
    small = img.resize((max(1, round(w * 0.5)), max(1, round(h * 0.5))), Image.BICUBIC)
    return small.resize((w, h), Image.BICUBIC)


def crop_box(size, keep, centred):
    w, h = size
    cw, ch = round(w * keep), round(h * keep)
    left, top = ((w - cw) // 2, (h - ch) // 2) if centred else (0, 0)
    return (left, top, left + cw, top + ch)


def crop_centre(img):
    return img.crop(crop_box(img.size, 0.9, centred=True))


def crop_corner(img):
    return img.crop(crop_box(img.size, 0.9, centred=False))


def crop_centre_resize(img):
    return crop_centre(img).resize(img.size, Image.BICUBIC)


def resized_kept(factor, resample):
    def transform(img):
        w, h = img.size
        return img.resize((max(1, round(w * factor)), max(1, round(h * factor))), resample)
    return transform


def gain(a):
    return lambda img: ImageEnhance.Brightness(img).enhance(a)


def contrast(a):
    return lambda img: ImageEnhance.Contrast(img).enhance(a)


def gamma(g):
    table = [min(255, round(255 * (v / 255) ** g)) for v in range(256)] * 3
    return lambda img: img.point(table)


def rotate(degrees, crop):
    """Bicubic rotation about the centre at the same size (black corners), or cut to the
    largest centred square inside the rotated image (what a straighten tool keeps)."""
    def transform(img):
        out = img.rotate(degrees, resample=Image.BICUBIC)
        if not crop:
            return out
        t = math.radians(abs(degrees))
        side = int(min(img.size) / (math.cos(t) + math.sin(t))) - 2
        left, top = (img.size[0] - side) // 2, (img.size[1] - side) // 2
        return out.crop((left, top, left + side, top + side))
    return transform


def then_crop_jpeg75(transform):
    def write(img, path):
        crop_corner(transform(img)).save(path, "JPEG", quality=75, subsampling="4:2:0")
    return write


FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS,
           "box": Image.BOX, "nearest": Image.NEAREST}

# Edits the detector undoes by search: resizes kept at the new size, tone curves, small
# rotations; each also followed by a 10% corner crop and JPEG 75.
EDITS = {}
for _f in (0.5, 0.71, 0.85, 1.3, 2.0):
    EDITS[f"keep{_f}-bicubic"] = (resized_kept(_f, Image.BICUBIC), f"resized {_f}x (bicubic), kept")
for _f in (0.5, 0.71):
    for _name in ("bilinear", "lanczos", "box", "nearest"):
        EDITS[f"keep{_f}-{_name}"] = (resized_kept(_f, FILTERS[_name]), f"resized {_f}x ({_name}), kept")
for _a in (1.2, 0.8):
    EDITS[f"brightness{_a}"] = (gain(_a), f"brightness x{_a}")
    EDITS[f"contrast{_a}"] = (contrast(_a), f"contrast x{_a}")
for _g in (0.8, 1.25):
    EDITS[f"gamma{_g}"] = (gamma(_g), f"gamma {_g}")
for _d, _crop in ((1, False), (-2, False), (2, True)):
    EDITS[f"rotate{_d}{'-crop' if _crop else ''}"] = (
        rotate(_d, _crop), f"rotated {_d} degrees" + (", cut to the inner square" if _crop else ", black corners"))

# name -> (writer(img, path), or None for the marked file itself; file extension; description)
ATTACKS = {
    "none": (None, ".png", "no attack"),
    "jpeg90": (jpeg(90), ".jpg", "JPEG quality 90, 4:2:0"),
    "jpeg75": (jpeg(75), ".jpg", "JPEG quality 75, 4:2:0"),
    "jpeg50": (jpeg(50), ".jpg", "JPEG quality 50, 4:2:0"),
    "resize0.5": (png(resize_half_and_back), ".png", "bicubic to 0.5x and back"),
    "crop10-centre": (png(crop_centre), ".png", "keep the central 90% x 90%, no resize"),
    "crop10-corner": (png(crop_corner), ".png", "keep the top-left 90% x 90%, no resize"),
    "crop10-centre-resize": (png(crop_centre_resize), ".png", "central 90% x 90%, bicubic back to full size"),
}
for _name, (_fn, _desc) in EDITS.items():
    ATTACKS[_name] = (png(_fn), ".png", _desc)
    ATTACKS[_name + "+crop+jpeg75"] = (then_crop_jpeg75(_fn), ".jpg", _desc + ", then a 10% corner crop and JPEG 75")


# ---------------------------------------------------------------- images and payloads

def utkface_names(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return sorted(n for n in zf.namelist() if n.lower().endswith(".jpg") and not n.endswith("/"))


def every_kth(names, n, offset_half=False):
    if n <= 0 or not names:
        return []
    n = min(n, len(names))
    step = len(names) // n
    start = step // 2 if offset_half else 0
    return names[start::step][:n]


def select_utkface(names, n_faces, n_unmarked):
    """Every k-th JPEG by name for the marked faces; the unmarked set comes from the rest."""
    faces = every_kth(names, n_faces)
    chosen = set(faces)
    rest = [n for n in names if n not in chosen]
    return faces, every_kth(rest, n_unmarked, offset_half=True)


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def extract_as_png(zip_path, names, out_dir, size=None):
    """The named images as PNG files, bicubic-resized to size x size when size is given."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    with zipfile.ZipFile(zip_path) as zf:
        for name in names:
            path = os.path.join(out_dir, stem(name) + ".png")
            img = Image.open(io.BytesIO(zf.read(name))).convert("RGB")
            if size:
                img = img.resize((size, size), Image.BICUBIC)
            img.save(path, "PNG", compress_level=1)
            paths.append(path)
    return paths


def copy_as_png(paths, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    out = []
    for p in paths:
        dst = os.path.join(out_dir, stem(p) + ".png")
        Image.open(p).convert("RGB").save(dst, "PNG", compress_level=1)
        out.append(dst)
    return out


def random_payloads(n, seed):
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.integers(0, 1 << PAYLOAD_BITS, size=n, dtype=np.int64)]


def to_bits(value):
    return [(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)]


def from_bits(bits):
    value = 0
    for b in bits:
        value = (value << 1) | (1 if b else 0)
    return value


def to_hex(value):
    return f"{value:012x}"


def bits_correct(a, b):
    return PAYLOAD_BITS - bin((a ^ b) & ((1 << PAYLOAD_BITS) - 1)).count("1")


def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def psnr(original_path, marked_path):
    a, b = load_rgb(original_path), load_rgb(marked_path)
    if a.shape != b.shape:
        raise SystemExit(f"{marked_path}: size {b.shape[1]}x{b.shape[0]} differs from the original {a.shape[1]}x{a.shape[0]}")
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


# ---------------------------------------------------------------- fauxto

def run_fauxto(args, argv):
    cmd = [args.fauxto] + argv
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        shown = " ".join(cmd[:8]) + (" ..." if len(cmd) > 8 else "")
        raise SystemExit(f"{shown} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout, wall


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def key_args(args):
    return ["--key", args.key] if args.key else []


def fauxto_startup_s(args, repeats=5):
    times = []
    for _ in range(repeats):
        _, wall = run_fauxto(args, ["--version"])
        times.append(wall)
    return float(np.median(times))


def fauxto_embed(args, image, out_dir):
    """One process per image, so every image gets its own payload. Returns (path, seconds, own PSNR)."""
    out, wall = run_fauxto(args, ["watermark", "embed", image["orig"], "--out", out_dir,
                                  "--payload", to_hex(image["payload"]), "--json"] + key_args(args))
    lines = json_lines(out)
    if len(lines) != 1:
        raise SystemExit(f"fauxto watermark embed {image['orig']}: expected one JSON line, got {len(lines)}:\n{out}")
    rec = lines[0]
    path = rec.get("out") or os.path.join(out_dir, image["id"] + ".png")
    return path, wall, rec.get("psnr")


def fauxto_detect(args, paths):
    """Detect in batches of --batch files. Returns ({path: record}, total wall seconds)."""
    records, total = {}, 0.0
    for i in range(0, len(paths), args.batch):
        chunk = paths[i:i + args.batch]
        out, wall = run_fauxto(args, ["watermark", "detect"] + chunk + ["--json"] + key_args(args))
        total += wall
        by_file = {os.path.normpath(r["file"]): r for r in json_lines(out) if "file" in r}
        for p in chunk:
            rec = by_file.get(os.path.normpath(p))
            if rec is None:
                raise SystemExit(f"fauxto watermark detect printed no JSON line for {p}")
            if "decoded" not in rec or "found" not in rec or "score" not in rec:
                raise SystemExit(f"fauxto watermark detect: {p}: expected found/decoded/score, got {rec}")
            records[p] = rec
    return records, total


def fauxto_outcome(rec, payload):
    decoded = int(rec["decoded"], 16) if rec.get("decoded") else None
    reported = int(rec["payload"], 16) if rec.get("payload") else None
    exact = bool(rec["found"]) and reported == payload
    correct = bits_correct(decoded, payload) if decoded is not None else None
    return {"bits_correct": correct, "exact": exact, "found": bool(rec["found"]),
            "score": rec.get("score"), "z": rec.get("z"), "decoded": rec.get("decoded"), "payload": rec.get("payload")}


# ---------------------------------------------------------------- imwatermark

def peer_modules():
    import cv2  # noqa: F401
    from imwatermark import WatermarkDecoder, WatermarkEncoder
    from imwatermark.dwtDctSvd import EmbedDwtDctSvd
    from imwatermark.maxDct import EmbedMaxDct
    return WatermarkEncoder, WatermarkDecoder, {"dwtDct": EmbedMaxDct, "dwtDctSvd": EmbedDwtDctSvd}


class Peer:
    """imwatermark through its public API; below the API's size limit, through the embedder classes."""

    def __init__(self, api_only):
        import cv2
        self.cv2 = cv2
        self.Encoder, self.Decoder, self.classes = peer_modules()
        self.api_only = api_only
        self.refusal = None  # the API's error message, once seen

    def _refused(self, err):
        if "too small" not in str(err):
            raise err
        self.refusal = str(err)

    def encode(self, bgr, bits, method):
        """Returns (marked BGR or None when refused, below_api_minimum)."""
        enc = self.Encoder()
        enc.set_watermark("bits", bits)
        try:
            return enc.encode(bgr, method), False
        except RuntimeError as err:
            self._refused(err)
        if self.api_only:
            return None, True
        return self.classes[method](bits, wmLen=PAYLOAD_BITS).encode(bgr), True

    def decode(self, bgr, method):
        """Returns (decoded bits or None when refused, below_api_minimum)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty slots on tiny crops
            try:
                return list(self.Decoder("bits", PAYLOAD_BITS).decode(bgr, method)), False
            except RuntimeError as err:
                self._refused(err)
            if self.api_only:
                return None, True
            return list(self.classes[method](watermarks=[], wmLen=PAYLOAD_BITS).decode(bgr)), True

    def embed_file(self, src, dst, bits, method):
        t0 = time.perf_counter()
        marked, small = self.encode(self.cv2.imread(src, self.cv2.IMREAD_COLOR), bits, method)
        if marked is not None:
            self.cv2.imwrite(dst, marked)
        return (dst if marked is not None else None), time.perf_counter() - t0, small

    def decode_file(self, path, method):
        t0 = time.perf_counter()
        bits, small = self.decode(self.cv2.imread(path, self.cv2.IMREAD_COLOR), method)
        return bits, time.perf_counter() - t0, small


# ---------------------------------------------------------------- marking, attacking, detecting

def embed_all(args, images, method, peer, work):
    """Mark every image with its payload. Returns {id: {...}} and per-image embed seconds."""
    out_dir = os.path.join(work, "marked", method)
    os.makedirs(out_dir, exist_ok=True)
    marked, times = {}, []
    for im in images:
        entry = {"path": None, "psnr": None, "below_api_minimum": False}
        if method == FAUXTO:
            path, wall, own_psnr = fauxto_embed(args, im, out_dir)
            entry["fauxto_psnr"] = own_psnr
        else:
            path, wall, entry["below_api_minimum"] = peer.embed_file(
                im["orig"], os.path.join(out_dir, im["id"] + ".png"), to_bits(im["payload"]), method)
        if path is not None:
            entry["path"] = path
            entry["psnr"] = psnr(im["orig"], path)
            times.append(wall)
        marked[im["id"]] = entry
    return marked, times


def attack_all(marked, method, work):
    """Write every attacked version of every marked image. Returns {attack: {id: path}}."""
    out = {a: {} for a in ATTACKS}
    for image_id, entry in marked.items():
        if entry["path"] is None:
            continue
        img = Image.open(entry["path"]).convert("RGB")
        for attack, (fn, ext, _) in ATTACKS.items():
            if fn is None:
                out[attack][image_id] = entry["path"]
                continue
            d = os.path.join(work, "attacked", method, attack)
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, image_id + ext)
            fn(img, path)
            out[attack][image_id] = path
    return out


def detect_all(args, images, method, attacked, peer):
    """Run the method's detector on every attacked image. Returns ({attack: {id: outcome}}, seconds per image)."""
    payload = {im["id"]: im["payload"] for im in images}
    results, total_s, count = {}, 0.0, 0
    for attack, files in attacked.items():
        results[attack] = {}
        if method == FAUXTO:
            records, wall = fauxto_detect(args, list(files.values()))
            total_s += wall
            count += len(files)
            for image_id, path in files.items():
                results[attack][image_id] = fauxto_outcome(records[path], payload[image_id])
            continue
        for image_id, path in files.items():
            bits, wall, small = peer.decode_file(path, method)
            if bits is None:
                results[attack][image_id] = {"bits_correct": None, "exact": None, "below_api_minimum": True}
                continue
            total_s += wall
            count += 1
            correct = bits_correct(from_bits(bits), payload[image_id])
            results[attack][image_id] = {"bits_correct": correct, "exact": correct == PAYLOAD_BITS,
                                         "decoded": to_hex(from_bits(bits)), "below_api_minimum": small}
    return results, (total_s / count if count else None)


# ---------------------------------------------------------------- false positives

def clopper_pearson_upper(k, n, conf=0.95):
    """One-sided upper confidence bound on a binomial rate (3/n, the rule of three, when k == 0)."""
    if n == 0:
        return None
    if k == 0:
        return 3.0 / n
    if k >= n:
        return 1.0

    def cdf(p):  # P(X <= k) for X ~ Bin(n, p)
        logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                + i * math.log(p) + (n - i) * math.log1p(-p) for i in range(k + 1)]
        m = max(logs)
        return math.exp(m) * sum(math.exp(x - m) for x in logs)

    lo, hi = k / n, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if cdf(mid) > 1 - conf:
            lo = mid
        else:
            hi = mid
    return hi


def agreement_stats(correct_counts, match_errors):
    c = np.asarray(correct_counts, dtype=np.float64)
    return {"n": int(c.size),
            "bit_agreement_mean": float(c.mean() / PAYLOAD_BITS) if c.size else None,
            "bit_agreement_max": float(c.max() / PAYLOAD_BITS) if c.size else None,
            "within_match_errors": int(np.sum(c >= PAYLOAD_BITS - match_errors)),
            "exact": int(np.sum(c == PAYLOAD_BITS))}


def unmarked_fauxto(args, paths, targets):
    records, wall = fauxto_detect(args, paths)
    recs = [records[p] for p in paths]
    scores = np.array([float(r["score"]) for r in recs])
    found = int(sum(bool(r["found"]) for r in recs))
    correct = [bits_correct(int(r["decoded"], 16), t) for r, t in zip(recs, targets)]
    return {"n": len(paths), "found": found,
            "found_files": [os.path.basename(p) for p, r in zip(paths, recs) if r["found"]],
            "fpr": found / len(paths) if paths else None,
            "fpr_upper95": clopper_pearson_upper(found, len(paths)),
            "score_max": float(scores.max()) if scores.size else None,
            "score_p999": float(np.percentile(scores, 99.9)) if scores.size else None,
            "score_p99": float(np.percentile(scores, 99)) if scores.size else None,
            "score_mean": float(scores.mean()) if scores.size else None,
            "scores": scores.tolist(),
            "z_max": max((float(r["z"]) for r in recs if r.get("z") is not None), default=None),
            "random_target": agreement_stats(correct, args.match_errors),
            "detect_s_per_image": wall / len(paths) if paths else None}


def unmarked_peer(args, peer, method, paths, targets):
    correct, below = [], 0
    for p, t in zip(paths, targets):
        bits, _, small = peer.decode_file(p, method)
        below += int(small)
        if bits is not None:
            correct.append(bits_correct(from_bits(bits), t))
    out = agreement_stats(correct, args.match_errors)
    out.update({"below_api_minimum": below, "bits_correct": correct})
    return out


# ---------------------------------------------------------------- summaries and tables

def summarise(images, methods, marked, results, sets):
    """Mean bit accuracy and exact-recovery rate per set, method and attack."""
    summary = {}
    for set_name, ids in sets.items():
        summary[set_name] = {}
        for m in methods:
            summary[set_name][m] = {}
            for attack in ATTACKS:
                rows = [results[m][attack].get(i) for i in ids]
                rows = [r for r in rows if r is not None and r.get("bits_correct") is not None]
                refused = sum(1 for i in ids if marked[m][i]["path"] is None
                              or results[m][attack].get(i, {}).get("bits_correct") is None)
                summary[set_name][m][attack] = {
                    "n": len(rows), "n_refused": refused,
                    "bit_acc": float(np.mean([r["bits_correct"] for r in rows]) / PAYLOAD_BITS) if rows else None,
                    "exact": float(np.mean([bool(r["exact"]) for r in rows])) if rows else None,
                    "below_api_minimum": sum(1 for r in rows if r.get("below_api_minimum")),
                }
            psnrs = [marked[m][i]["psnr"] for i in ids if marked[m][i]["psnr"] is not None]
            finite = [p for p in psnrs if math.isfinite(p)]
            summary[set_name][m]["psnr_mean"] = float(np.mean(finite)) if finite else None
            summary[set_name][m]["psnr_min"] = float(min(psnrs)) if psnrs else None
    return summary


def fmt(x, kind):
    if x is None:
        return "n/a"
    if kind == "acc":
        return f"{x:.3f}"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if kind == "db":
        return "inf" if math.isinf(x) else f"{x:.1f}"
    return str(x)


def method_label(m, flagged):
    return LABELS[m] + (" †" if flagged else "")


def print_table(set_name, desc, methods, summ, flagged):
    print(f"\n### {set_name}: {desc}\n")
    head = ["attack"]
    for m in methods:
        head += [f"{method_label(m, flagged.get(m))} bit acc", "exact"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for attack in ATTACKS:
        row = [attack]
        for m in methods:
            s = summ[m][attack]
            row += [fmt(s["bit_acc"], "acc"), fmt(s["exact"], "pct")]
        print("| " + " | ".join(row) + " |")
    row = ["mean of the rows above"]
    for m in methods:
        accs = [summ[m][a]["bit_acc"] for a in ATTACKS]
        exs = [summ[m][a]["exact"] for a in ATTACKS]
        row += [fmt(float(np.mean(accs)) if None not in accs else None, "acc"),
                fmt(float(np.mean(exs)) if None not in exs else None, "pct")]
    print("| " + " | ".join(row) + " |")


def print_report(args, images, methods, summary, sets, set_desc, timing, unmarked, peer_refusal, flagged):
    print("\n## Invisible watermark: fauxto and imwatermark on the same images and attacks\n")
    print(f"48-bit payload per image (seed {args.seed}); bit acc = mean fraction of payload bits decoded "
          "correctly; exact = fauxto: found with the right payload, imwatermark: all 48 bits right.")
    for set_name in sets:
        print_table(set_name, set_desc[set_name], methods, summary[set_name], flagged)

    print("\nAttacks: " + "; ".join(f"{a}: {d}" for a, (_, _, d) in ATTACKS.items() if a != "none") + ".")
    if any(flagged.values()):
        print(f"\n† imwatermark's public API refuses these images ({peer_refusal!r}); the numbers come from "
              "the embedder classes it calls after that check, with its default parameters, at the images' own size.")
    elif peer_refusal:
        print(f"\nimwatermark: n/a where its API refuses the images ({peer_refusal!r}); "
              "run without --peer-api-only to measure its embedder at these sizes.")

    print("\nPSNR of marked vs original (dB, RGB, peak 255), mean / min:")
    for m in methods:
        parts = [f"{s} {fmt(summary[s][m]['psnr_mean'], 'db')} / {fmt(summary[s][m]['psnr_min'], 'db')}" for s in sets]
        print(f"- {LABELS[m]}: " + ", ".join(parts))

    print("\nWall time per image (ms), embed / detect:")
    for m in methods:
        t = timing[m]
        e = "n/a" if t["embed_s"] is None else f"{1000 * t['embed_s']:.1f}"
        d = "n/a" if t["detect_s"] is None else f"{1000 * t['detect_s']:.1f}"
        if m == FAUXTO:
            note = (f" (embed: one process per image, start-up included, start-up alone "
                    f"{1000 * timing['fauxto_startup_s']:.1f} ms; detect: {args.batch} files per process)")
        else:
            note = " (in process: read file, embed or decode, write file)"
        print(f"- {LABELS[m]}: {e} / {d}{note}")

    if not unmarked:
        return
    print(f"\nUnmarked images (false positives), {unmarked['n']} UTKFace images not among the marked ones:")
    if FAUXTO in unmarked:
        u = unmarked[FAUXTO]
        bound = "rule of three" if u["found"] == 0 else "one-sided Clopper-Pearson"
        print(f"- fauxto: found {u['found']}/{u['n']}, FPR {u['fpr']:.2e}, 95% upper bound "
              f"{u['fpr_upper95']:.2e} ({bound}); score max {u['score_max']:.3f}, "
              f"99.9th pct {u['score_p999']:.3f}, 99th pct {u['score_p99']:.3f}, mean {u['score_mean']:.3f}"
              + (f"; z max {u['z_max']:.2f}" if u.get("z_max") is not None else ""))
        marked_scores = unmarked.get("fauxto_marked_scores")
        if marked_scores:
            print(f"  (marked, no attack: score min {marked_scores['min']:.3f}, median {marked_scores['median']:.3f})")
        if "generated" in unmarked:
            g = unmarked["generated"]
            print(f"- fauxto on the {g['n']} generated images before marking: found {g['found']}/{g['n']}, "
                  f"score max {g['score_max']:.3f}")
    print(f"- decoded bits vs a random 48-bit target per image (no mark present: ~0.5 expected); "
          f"mean agreement / max / within {args.match_errors} bit errors / exact:")
    for m in methods:
        r = unmarked[m]["random_target"] if m == FAUXTO else unmarked[m]
        if r["n"] == 0:
            print(f"  - {LABELS[m]}: n/a (refused)")
            continue
        print(f"  - {LABELS[m]}: {r['bit_agreement_mean']:.3f} / {r['bit_agreement_max']:.3f} / "
              f"{r['within_match_errors']}/{r['n']} / {r['exact']}/{r['n']}")


# ---------------------------------------------------------------- main

def versions(args, methods):
    v = {"python": sys.version.split()[0], "numpy": np.__version__, "pillow": Image.__version__}
    for pkg in ("invisible-watermark", "opencv-python-headless", "opencv-python", "PyWavelets"):
        try:
            v[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    if FAUXTO in methods:
        out, _ = run_fauxto(args, ["--version"])
        v["fauxto"] = out.strip()
    return v


def load_images(args, work):
    names = utkface_names(args.zip)
    faces, unmarked = select_utkface(names, args.n_faces, args.n_unmarked)
    face_paths = extract_as_png(args.zip, faces, os.path.join(work, "orig", "faces"), args.face_size)
    gen_paths = []
    if args.generated:
        found = sorted(os.path.join(args.generated, f) for f in os.listdir(args.generated)
                       if f.lower().endswith(".png"))[:args.n_generated]
        gen_paths = copy_as_png(found, os.path.join(work, "orig", "generated"))
    payloads = random_payloads(len(face_paths) + len(gen_paths), args.seed)
    images = []
    for (set_name, path), p in zip([("faces", x) for x in face_paths] + [("generated", x) for x in gen_paths], payloads):
        w, h = Image.open(path).size
        images.append({"id": stem(path), "set": set_name, "orig": path, "size": [w, h], "payload": p})
    if len({im["id"] for im in images}) != len(images):
        raise SystemExit("image names are not unique across the sets")
    unmarked_paths = (extract_as_png(args.zip, unmarked, os.path.join(work, "unmarked"), args.face_size)
                      if unmarked else [])
    return images, unmarked_paths


def image_sets(images):
    sets = {}
    for set_name in ("faces", "generated"):
        ids = [im["id"] for im in images if im["set"] == set_name]
        if ids:
            sets[set_name] = ids
    if len(sets) > 1:
        sets["all"] = [im["id"] for im in images]
    return sets


def set_descriptions(images, sets):
    desc = {}
    for s, ids in sets.items():
        sizes = sorted({tuple(im["size"]) for im in images if im["id"] in set(ids)})
        desc[s] = f"{len(ids)} images, " + ", ".join(f"{w}x{h}" for w, h in sizes)
    return desc


def json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example (peer only, 20 faces, no generated images, 500 unmarked):\n"
               "  python3 bench/watermark/bench.py --zip ../shared/data/utkface-128.zip "
               "--n-faces 20 --n-unmarked 500 --methods dwtDct,dwtDctSvd --work /tmp/wm")
    ap.add_argument("--zip", default="../shared/data/utkface-128.zip", help="UTKFace zip (JPEG files)")
    ap.add_argument("--generated", help="folder of generated PNGs (fauxto generate --out); none: no generated set")
    ap.add_argument("--n-faces", type=int, default=150, help="marked UTKFace images (every k-th by name)")
    ap.add_argument("--face-size", type=int,
                    help="resize the UTKFace images (marked and unmarked) to this square size first, bicubic "
                         "(default: their own 128x128)")
    ap.add_argument("--n-generated", type=int, default=50, help="at most this many generated images")
    ap.add_argument("--n-unmarked", type=int, default=5000, help="unmarked UTKFace images for false positives (0: skip)")
    ap.add_argument("--fauxto", default="target/release/fauxto", help="fauxto binary")
    ap.add_argument("--key", help="watermark key passed to fauxto (default: fauxto's own default)")
    ap.add_argument("--methods", default=",".join(ALL_METHODS), help=f"comma-separated subset of {','.join(ALL_METHODS)}")
    ap.add_argument("--peer-api-only", action="store_true",
                    help="report imwatermark as n/a on images its API refuses instead of calling its embedder classes")
    ap.add_argument("--seed", type=int, default=0, help="seed of the payloads and the random targets")
    ap.add_argument("--batch", type=int, default=200, help="files per fauxto detect process")
    ap.add_argument("--match-errors", type=int, default=4, help="bit errors allowed in the lenient match on unmarked images")
    ap.add_argument("--work", required=True, help="scratch folder (filled, not cleaned)")
    ap.add_argument("--out-json", default="bench/watermark/results.json", help="raw numbers go here")
    args = ap.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    bad = [m for m in args.methods if m not in ALL_METHODS]
    if bad:
        ap.error(f"unknown method(s) {bad}; choose from {ALL_METHODS}")
    return args


def main(argv=None):
    args = parse_args(argv)
    methods = args.methods
    peer = Peer(args.peer_api_only) if any(m in PEER_METHODS for m in methods) else None
    images, unmarked_paths = load_images(args, args.work)
    if not images:
        raise SystemExit("no images selected")
    sets = image_sets(images)
    print(f"{len(images)} marked images ({', '.join(f'{s} {len(v)}' for s, v in sets.items() if s != 'all')}), "
          f"{len(unmarked_paths)} unmarked; methods: {', '.join(LABELS[m] for m in methods)}", file=sys.stderr)

    timing = {"fauxto_startup_s": fauxto_startup_s(args) if FAUXTO in methods else None}
    marked, results = {}, {}
    for m in methods:
        t0 = time.perf_counter()
        marked[m], embed_times = embed_all(args, images, m, peer, args.work)
        attacked = attack_all(marked[m], m, args.work)
        results[m], detect_s = detect_all(args, images, m, attacked, peer)
        timing[m] = {"embed_s": float(np.mean(embed_times)) if embed_times else None, "detect_s": detect_s}
        print(f"{LABELS[m]}: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    summary = summarise(images, methods, marked, results, sets)
    flagged = {m: any(summary[s][m][a]["below_api_minimum"] for s in sets for a in ATTACKS)
               for m in methods}

    unmarked = {}
    if unmarked_paths:
        targets = random_payloads(len(unmarked_paths), args.seed + 1)
        unmarked["n"] = len(unmarked_paths)
        for m in methods:
            if m == FAUXTO:
                unmarked[m] = unmarked_fauxto(args, unmarked_paths, targets)
                scores = [float(r["score"]) for r in results[m]["none"].values()]
                if scores:
                    unmarked["fauxto_marked_scores"] = {"min": float(min(scores)), "median": float(np.median(scores))}
                gen = [im["orig"] for im in images if im["set"] == "generated"]
                if gen:
                    unmarked["generated"] = unmarked_fauxto(args, gen, random_payloads(len(gen), args.seed + 2))
            else:
                unmarked[m] = unmarked_peer(args, peer, m, unmarked_paths, targets)
        print("unmarked images: done", file=sys.stderr)

    print_report(args, images, methods, summary, sets, set_descriptions(images, sets), timing, unmarked,
                 peer.refusal if peer else None, flagged)

    raw = {
        "config": {k: v for k, v in vars(args).items() if k != "work"},
        "attacks": {a: d for a, (_, _, d) in ATTACKS.items()},
        "versions": versions(args, methods),
        "peer_api_refusal": peer.refusal if peer else None,
        "images": [{k: im[k] for k in ("id", "set", "size")} | {"payload": to_hex(im["payload"])} for im in images],
        "unmarked_files": [os.path.basename(p) for p in unmarked_paths],
        "timing": timing,
        "summary": summary,
        "marked": {m: {i: {k: v for k, v in e.items() if k != "path"} for i, e in marked[m].items()} for m in methods},
        "results": results,
        "unmarked": unmarked,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out_json)), exist_ok=True)
    with open(args.out_json, "w") as f:
        json.dump(json_safe(raw), f, indent=1)
    print(f"\nRaw numbers: {args.out_json}")


if __name__ == "__main__":
    main()

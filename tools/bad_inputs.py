#!/usr/bin/env python3
"""Runs a suite of bad inputs through every fauxto command that reads outside data and checks
that each one ends with a clear error (exit code 1, an `error:` line on stderr that is not a
panic) or a clean result, never a panic, a crash by signal or a hang.

    python3 tools/bad_inputs.py [--fauxto target/release/fauxto] [--markdown]

Standard library only. Prints one line per case and a summary; with --markdown, a table for
bench/RESULTS.md. Exits 1 if any case failed.
"""

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def png_bytes(width, height, pixels=None):
    """A valid 8-bit RGB PNG (`pixels`: bytes of width*height*3, default grey)."""
    if pixels is None:
        pixels = bytes([128]) * (width * height * 3)
    raw = b"".join(b"\0" + pixels[y * width * 3:(y + 1) * width * 3] for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def huge_png():
    """A small file whose header declares a 60000x60000 RGB image (10.8 GB decoded)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\0" + bytes(60000 * 3)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(64)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def zip_bomb(path):
    """A zip whose one image entry inflates to 2 GiB of zeros (about 2 MB on disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("faces/bomb.png", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(2048):
                f.write(block)


def make_inputs(d, fauxto):
    """Writes the bad inputs into `d`; returns {name: path}."""
    sample = os.path.join(ROOT, "testdata", "utkface-sample.zip")
    with zipfile.ZipFile(sample) as z:
        jpeg = z.read(sorted(n for n in z.namelist() if n.endswith(".jpg"))[0])
    face_png = png_bytes(64, 64, bytes((x * 7 + y) % 256 for y in range(64) for x in range(64 * 3)))
    files = {
        "missing.png": None,
        "empty.png": b"",
        "text-named.png": b"this is a text file, not an image\n",
        "truncated.png": face_png[: len(face_png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "1x1.png": png_bytes(1, 1),
        "60000x60000.png": huge_png(),
    }
    paths = {}
    for name, data in files.items():
        p = os.path.join(d, name)
        if data is not None:
            with open(p, "wb") as f:
                f.write(data)
        paths[name] = p
    paths["bomb.zip"] = os.path.join(d, "bomb.zip")
    zip_bomb(paths["bomb.zip"])
    paths["forbidden.pkl"] = os.path.join(ROOT, "crates/fauxto-interop/tests/fixtures/malformed/builtins_eval.pkl")
    # Model files: random bytes named .safetensors, and a real one cut in half.
    model = os.path.join(d, "model.safetensors")
    subprocess.run([fauxto, "init-model", "--preset", "small", "--res", "16", "--out", model],
                   check=True, capture_output=True)
    with open(model, "rb") as f:
        good = f.read()
    for name, data in [("random.safetensors", os.urandom(4096)), ("truncated.safetensors", good[: len(good) // 2]),
                       ("empty.safetensors", b"")]:
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        paths[name] = p
    # Training runs whose checkpoint is damaged, on a real (small) dataset.
    data = os.path.join(d, "data16")
    subprocess.run([fauxto, "dataset", sample, "--out", data, "--res", "16", "--max-images", "16"],
                   check=True, capture_output=True)
    for name, blob in [("run-random", os.urandom(4096)), ("run-truncated", good[: len(good) // 3]),
                       ("run-model-not-checkpoint", good)]:
        run = os.path.join(d, name)
        os.makedirs(run, exist_ok=True)
        with open(os.path.join(run, "checkpoint.safetensors"), "wb") as f:
            f.write(blob)
        with open(os.path.join(run, "dataset.txt"), "w") as f:
            f.write(data + "\n")
        paths[name] = run
    return paths


def run_case(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env={**os.environ, "FAUXTO_LOG": "off"})
    except subprocess.TimeoutExpired:
        return "FAIL", "hang (no result in %d s)" % timeout
    err = p.stderr.decode("utf-8", "replace")
    if "panicked" in err:
        return "FAIL", "panic: " + err.strip().splitlines()[-1][:120]
    if p.returncode < 0:
        return "FAIL", "killed by signal %d" % -p.returncode
    if p.returncode == 0:
        return "ok", "succeeded"
    if p.returncode != 1:
        return "FAIL", "exit code %d" % p.returncode
    lines = [l for l in err.strip().splitlines() if l.startswith("error:")]
    if not lines:
        return "FAIL", "exit 1 without an error message: " + err.strip()[:120]
    return "error", lines[-1][len("error: "):][:150]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fauxto", default=os.path.join(ROOT, "target/release/fauxto"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--timeout", type=int, default=120)
    args = ap.parse_args()
    fauxto = os.path.abspath(args.fauxto)
    with tempfile.TemporaryDirectory() as d:
        home = os.path.join(d, "home")
        os.environ.update({"HOME": home, "FAUXTO_KEYS": os.path.join(home, "keys"),
                           "FAUXTO_INDEXES": os.path.join(home, "indexes.json")})
        paths = make_inputs(d, fauxto)
        subprocess.run([fauxto, "keys", "init"], check=True, capture_output=True)
        out = os.path.join(d, "out")
        images = ["missing.png", "empty.png", "text-named.png", "truncated.png", "truncated.jpg", "1x1.png",
                  "60000x60000.png"]
        models = ["missing.png", "empty.safetensors", "random.safetensors", "truncated.safetensors",
                  "text-named.png"]
        cases = []
        for img in images:
            p = paths[img]
            cases += [
                ("analyze", img, ["analyze", p]),
                ("watermark detect", img, ["watermark", "detect", p]),
                ("watermark embed", img, ["watermark", "embed", p, "--payload", "0123456789ab", "--out", out]),
                ("verify", img, ["verify", p]),
                ("sign", img, ["sign", p, "--out", os.path.join(out, "signed" + os.path.splitext(p)[1])]),
                ("dataset", img, ["dataset", p, "--out", os.path.join(out, "ds"), "--res", "32"]),
            ]
        cases.append(("dataset", "bomb.zip", ["dataset", paths["bomb.zip"], "--out", os.path.join(out, "ds"),
                                              "--res", "32"]))
        cases.append(("import", "forbidden.pkl", ["import", paths["forbidden.pkl"], "--out",
                                                  os.path.join(out, "m.safetensors")]))
        for name in ["empty.png", "text-named.png"]:
            cases.append(("import", name, ["import", paths[name], "--out", os.path.join(out, "m.safetensors")]))
        for m in models:
            p = paths[m]
            cases += [
                ("generate", m, ["generate", "--model", p, "--seeds", "0", "--out", out]),
                ("mix", m, ["mix", "--model", p, "--rows", "1", "--cols", "2", "--out", os.path.join(out, "mix.png")]),
                ("interpolate", m, ["interpolate", "--model", p, "--seeds", "1,2", "--frames", "2", "--out",
                                    os.path.join(out, "w.gif")]),
                ("info", m, ["info", p]),
                ("export-onnx", m, ["export-onnx", "--model", p, "--out", os.path.join(out, "g.onnx")]),
            ]
        for run in ["run-random", "run-truncated", "run-model-not-checkpoint"]:
            cases.append(("train --resume", run + "/checkpoint.safetensors", ["train", "--resume", paths[run]]))
        results = []
        failed = 0
        for command, what, argv in cases:
            status, detail = run_case([fauxto] + argv, args.timeout)
            failed += status == "FAIL"
            results.append((command, what, status, detail))
            print("%-5s %-17s %-22s %s" % (status, command, what, detail), flush=True)
        print("%d cases: %d clear errors, %d clean results, %d failed" % (
            len(results), sum(r[2] == "error" for r in results), sum(r[2] == "ok" for r in results), failed))
        if args.markdown:
            print("\n| command | input | outcome | message |\n| --- | --- | --- | --- |")
            for command, what, status, detail in results:
                print("| `%s` | %s | %s | %s |" % (command, what, status, detail.replace("|", "\\|")))
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

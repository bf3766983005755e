#!/usr/bin/env bash
# ONNX export throughput: the exported generator in onnxruntime (CPU) against fauxto's own
# CPU generator, side by side in one run, same network, batch and thread count. The
# export is checked against fauxto first (tools/check_onnx.py), so both compute the same
# images. Prints one JSON line per measurement and a table with the ratio.
#
#   bench/onnx.sh                            # small preset at 64² and stylegan2 at 64², batch 8
#   CONFIGS="stylegan2:256" BATCH=4 bench/onnx.sh
#
# Needs: a release build of fauxto (built here if missing) and
# `pip install -r tools/requirements-onnx.txt` (onnxruntime, numpy, safetensors).
set -euo pipefail
cd "$(dirname "$0")/.."

BATCH=${BATCH:-8}
ITERS=${ITERS:-5}
CONFIGS=${CONFIGS:-"small:64 stylegan2:64"}
THREADS=${THREADS:-$(nproc)}
FAUXTO=${FAUXTO:-target/release/fauxto}
[ -x "$FAUXTO" ] || cargo build --release -p fauxto

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
for config in $CONFIGS; do
    preset=${config%%:*}
    res=${config##*:}
    model=$work/$preset$res.safetensors
    "$FAUXTO" init-model --preset "$preset" --res "$res" --out "$model" >/dev/null
    "$FAUXTO" export-onnx --model "$model" --out "$work/$preset$res.onnx" --check-seeds 0-3 >/dev/null
    RAYON_NUM_THREADS=$THREADS "$FAUXTO" bench --preset "$preset" --res "$res" --batch "$BATCH" \
        --iters "$ITERS" | tee -a "$results"
    python3 tools/check_onnx.py "$work/$preset$res.onnx" --bench --batch "$BATCH" \
        --iters "$ITERS" --threads "$THREADS" 2>/dev/null \
        | sed "s/^{/{\"preset\": \"$preset\", \"res\": $res, /" | tee -a "$results"
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
print()
print("| network | batch | fauxto img/s | onnxruntime img/s | parity (rel. err) | fauxto / onnxruntime |")
print("| --- | --- | --- | --- | --- | --- |")
for f in (r for r in rows if r.get("impl") == "fauxto"):
    o = next(r for r in rows if r.get("peer") == "onnxruntime" and r["preset"] == f["preset"] and r["res"] == f["res"])
    print(f"| {f['preset']} {f['res']}² | {o['batch']} | {f['images_per_s']:.1f} | {o['img_per_s']:.1f} "
          f"| {o['parity']['img_rel_err']:.1e} | {f['images_per_s'] / o['img_per_s']:.2f}x |")
PY

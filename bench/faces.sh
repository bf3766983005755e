#!/usr/bin/env bash
# Face-analysis throughput: fauxto's networks (batched, burn CPU backend) against face-api
# 1.7.15 on TensorFlow.js's WASM backend in Node (one face per call, as its pipeline calls
# them), on the same 24 faces, in one run. Then, optionally, the time to index a whole
# dataset. Prints JSON lines and a table with the ratios.
#
#   bench/faces.sh                      # networks only
#   INDEX_DATA=data/utk128 bench/faces.sh   # also `fauxto index` over that dataset (from scratch)
#
# Needs: Node 20 and `npm ci --prefix tools/face` (done here if node_modules is missing),
# a release build of fauxto (built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

ITERS=${ITERS:-5}
BATCH=${BATCH:-32}
FAUXTO=${FAUXTO:-target/release/fauxto}
[ -x "$FAUXTO" ] || cargo build --release -p fauxto
[ -d tools/face/node_modules ] || npm ci --prefix tools/face --no-audit --no-fund >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
images=(crates/fauxto-face/tests/fixtures/images/*.png)
"$FAUXTO" bench-faces "${images[@]}" --batch "$BATCH" --iters "$ITERS" | tee "$work/fauxto.json"
"$FAUXTO" bench-faces "${images[@]}" --batch 1 --iters "$ITERS" | tee "$work/fauxto1.json"
node tools/face/make_face_fixtures.mjs --bench --iters "$ITERS" | tee "$work/faceapi.json"

python3 - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
f = json.load(open(os.path.join(w, "fauxto.json")))
f1 = json.load(open(os.path.join(w, "fauxto1.json")))
a = json.load(open(os.path.join(w, "faceapi.json")))
print()
print(f"| network | face-api (tfjs-wasm, {a['backend']['threads']} thread) faces/s | fauxto batch 1 faces/s | fauxto batch {f['batch']} faces/s | ratio (batched / face-api) |")
print("| --- | --- | --- | --- | --- |")
for key, name in [("descriptor", "descriptor (150x150)"), ("age_gender", "age + gender (112x112)"), ("expression", "expressions (112x112)")]:
    fa, fb1, fb = a[key]["faces_per_s"], f1[key]["faces_per_s"], f[key]["faces_per_s"]
    print(f"| {name} | {fa:.1f} | {fb1:.1f} | {fb:.1f} | {fb / fa:.1f}x |")
print(f"\nfauxto whole pipeline (detector, landmarks, age/gender, expressions, descriptor), batch {f['batch']}: "
      f"{f['pipeline']['faces_per_s']:.1f} faces/s")
PY

if [ -n "${INDEX_DATA:-}" ]; then
    "$FAUXTO" index "$INDEX_DATA" --restart --json
fi

#!/usr/bin/env bash
# Data-parallel overhead: the same training run (same global batch, same steps) as
#   1 process × 2 threads            (one device: the baseline)
#   1 process, --devices cpu:2       (two peers sharing the process's threads)
#   2 processes × 1 thread, --nodes 2 on 127.0.0.1 (burn-collective's orchestrator and ring)
# side by side in one run. On one 2-core machine the two peers share the same cores, so
# this mostly shows what the collective costs (gradient all-reduce every phase, the
# barrier, per-peer overheads), not a speed-up. Images/s are averaged over the second
# 16-step cycle (Gmain + Dmain every step, path length every 4, R1 every 16).
#
#   bench/parallel.sh                      # small preset, 64², batch 16
#   RES=32 BATCH=32 bench/parallel.sh
#
# Needs: a release build of fauxto (built here if missing) and the UTKFace zip beside the
# project (../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."

BATCH=${BATCH:-16}
RES=${RES:-64}
PRESET=${PRESET:-small}
FAUXTO=${FAUXTO:-target/release/fauxto}
ZIP=${ZIP:-../shared/data/utkface-128.zip}
PORT=${PORT:-39500}
[ -x "$FAUXTO" ] || cargo build --release -p fauxto

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$FAUXTO" dataset "$ZIP" --out "$work/data" --res "$RES" --max-images 2048 --json >/dev/null
tick=$(python3 -c "print($BATCH * 16 / 1000)")
common=(train --data "$work/data" --preset "$PRESET" --batch "$BATCH" --aug noaug
        --max-steps 32 --tick "$tick" --snap 1000 --seed 0)

rate() { # the second tick's images/s
    python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['img_per_s'])" "$1/metrics.jsonl"
}

RAYON_NUM_THREADS=2 "$FAUXTO" "${common[@]}" --out "$work/one" --devices cpu:1 >/dev/null 2>&1
RAYON_NUM_THREADS=2 "$FAUXTO" "${common[@]}" --out "$work/devices" --devices cpu:2 >/dev/null 2>&1
cluster=(--nodes 2 --orchestrator "127.0.0.1:$PORT")
RAYON_NUM_THREADS=1 "$FAUXTO" "${common[@]}" --out "$work/procs" "${cluster[@]}" --node-rank 0 >/dev/null 2>&1 &
leader=$!
RAYON_NUM_THREADS=1 "$FAUXTO" "${common[@]}" --out "$work/procs1" "${cluster[@]}" --node-rank 1 >/dev/null 2>&1
wait "$leader"

one=$(rate "$work/one")
python3 - "$one" "$(rate "$work/devices")" "$(rate "$work/procs")" "$RES" "$BATCH" "$PRESET" <<'PY'
import json, sys
one, dev, procs = map(float, sys.argv[1:4])
res, batch, preset = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
for name, v in [("1 process x 2 threads", one), ("1 process, 2 peers (cpu:2)", dev),
                ("2 processes x 1 thread", procs)]:
    print(json.dumps({"setup": name, "res": res, "batch": batch, "preset": preset,
                      "img_per_s": round(v, 3), "vs_one_process": round(v / one, 3)}))
PY

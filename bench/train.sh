#!/usr/bin/env bash
# Training throughput: fauxto against the same StyleGAN2-ADA step in PyTorch, side by side
# in one run, same preset, batch and thread count. One step = Gmain + Dmain every step,
# path length every 4 steps, R1 every 16 steps; images/s are averaged over a full 16-step
# cycle after a warm-up cycle. Prints one JSON line per measurement and a table.
#
#   bench/train.sh                          # CPU: small preset at 32² and 64², batch 16
#   PEERS=0 bench/train.sh                  # without the peers row (see below)
#   RESOLUTIONS=64 BATCH=32 bench/train.sh
#   FAUXTO_KERNELS=0 bench/train.sh       # fauxto on burn's own operations (no fauxto kernels)
#   DEVICE=cuda RESOLUTIONS="64 128" BATCH=32 bench/train.sh   # GPU; TF32=1 lets PyTorch use TF32
#
# On the CPU, fauxto is measured twice: one peer whose operations split over all threads
# (`--devices cpu:1`), and data-parallel peers in one process, each on its share of the
# threads (`--devices cpu:P`, the same step to float rounding): one per thread, at most one
# per minibatch-std group of 4 in the batch, as many as split it evenly (P = 2 on 2 cores at
# batch 16, which is also what `fauxto train` does when it is given no --devices).
#
# Needs: a release build of fauxto (built here if missing), the UTKFace zip beside the
# project (../shared/data) and PyTorch for the peer (`pip install -r tools/requirements.txt`).
set -euo pipefail
cd "$(dirname "$0")/.."

BATCH=${BATCH:-16}
RESOLUTIONS=${RESOLUTIONS:-"32 64"}
PRESET=${PRESET:-small}
THREADS=${THREADS:-$(nproc)}
FAUXTO=${FAUXTO:-target/release/fauxto}
ZIP=${ZIP:-../shared/data/utkface-128.zip}
DEVICE=${DEVICE:-cpu}
TF32=${TF32:-0}
PEERS=${PEERS:-1}
peers=$(( THREADS < BATCH / 4 ? THREADS : BATCH / 4 ))
# The batch's groups and its path-length half must split evenly over the peers.
while [ "$peers" -gt 1 ] && (( (BATCH / 4) % peers || (BATCH / 2) % peers )); do
    peers=$((peers - 1))
done
torch_flags=(--device "$DEVICE")
[ "$TF32" = 1 ] && torch_flags+=(--tf32)
[ -x "$FAUXTO" ] || cargo build --release -p fauxto

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
for res in $RESOLUTIONS; do
    "$FAUXTO" dataset "$ZIP" --out "$work/d$res" --res "$res" --max-images 2048 --json >/dev/null
    tick=$(python3 -c "print($BATCH * 16 / 1000)")
    setups=(one)
    [ "$DEVICE" = cpu ] && [ "$PEERS" = 1 ] && [ "$peers" -gt 1 ] && setups+=(peers)
    for setup in "${setups[@]}"; do
        extra=(--devices cpu:1)
        [ "$setup" = peers ] && extra=(--devices "cpu:$peers")
        log=$work/r$res-$setup.log
        RAYON_NUM_THREADS=$THREADS "$FAUXTO" train --data "$work/d$res" --out "$work/r$res-$setup" \
            --preset "$PRESET" --batch "$BATCH" --device "$DEVICE" --aug noaug --max-steps 32 --tick "$tick" --snap 1000 \
            "${extra[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
        # The second tick: steps 16..31, a full regularisation cycle after warm-up.
        python3 - "$work/r$res-$setup/metrics.jsonl" "$res" "$BATCH" "$PRESET" "$THREADS" "$setup" <<'PY' | tee -a "$results"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
m = lines[-1]
peer = "fauxto" if sys.argv[6] == "one" else "fauxto-peers"
print(json.dumps({"peer": peer, "res": int(sys.argv[2]), "batch": int(sys.argv[3]),
                  "preset": sys.argv[4], "threads": int(sys.argv[5]),
                  "img_per_s": m["img_per_s"], "s_per_kimg": 1000 / m["img_per_s"]}))
PY
    done
    python3 tools/bench_train_torch.py --res "$res" --batch "$BATCH" --preset "$PRESET" \
        --steps 16 --warmup 1 --threads "$THREADS" "${torch_flags[@]}" --json | tee -a "$results"
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"\n{'res':>4} {'batch':>5} {'fauxto img/s':>13} {'peers img/s':>12} {'pytorch img/s':>14} {'ratio':>6} {'peers ratio':>11}")
for res in sorted({r["res"] for r in rows}):
    f = next(r for r in rows if r["res"] == res and r["peer"] == "fauxto")
    p = next((r for r in rows if r["res"] == res and r["peer"] == "fauxto-peers"), None)
    t = next(r for r in rows if r["res"] == res and r["peer"] == "pytorch")
    peers = f"{p['img_per_s']:>12.2f}" if p else f"{'-':>12}"
    ratio = f"{p['img_per_s'] / t['img_per_s']:>11.2f}" if p else f"{'-':>11}"
    print(f"{res:>4} {f['batch']:>5} {f['img_per_s']:>13.2f} {peers} {t['img_per_s']:>14.2f} {f['img_per_s'] / t['img_per_s']:>6.2f} {ratio}")
PY

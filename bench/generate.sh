#!/usr/bin/env bash
# Generation throughput: fauxto against the same StyleGAN2 generator in PyTorch, side by
# side in one run, same batch and thread count. Prints one JSON line per measurement and
# a table with the ratio.
#
#   bench/generate.sh                      # CPU: stylegan2 at 64² and 256², batch 8
#   DEVICE=cuda BATCH=32 bench/generate.sh # GPU
#
# Needs: a release build of fauxto (built here if missing) and PyTorch for the peer
# (`pip install -r tools/requirements.txt`).
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=${DEVICE:-cpu}
BATCH=${BATCH:-8}
ITERS=${ITERS:-5}
RESOLUTIONS=${RESOLUTIONS:-"64 256"}
PRESET=${PRESET:-stylegan2}
THREADS=${THREADS:-$(nproc)}
FAUXTO=${FAUXTO:-target/release/fauxto}
[ -x "$FAUXTO" ] || cargo build --release -p fauxto

results=$(mktemp)
for res in $RESOLUTIONS; do
    iters=$ITERS
    # The 256² network is ~3x the work per image; keep CPU runs short.
    if [ "$DEVICE" = cpu ] && [ "$res" -ge 256 ]; then iters=$(( (ITERS + 1) / 2 )); fi
    "$FAUXTO" bench --preset "$PRESET" --res "$res" --batch "$BATCH" --iters "$iters" \
        --device "$DEVICE" | tee -a "$results"
    for fused in "" "--no-fused"; do
        python3 tools/bench_generate_torch.py --preset "$PRESET" --res "$res" --batch "$BATCH" \
            --iters "$iters" --threads "$THREADS" --device "$DEVICE" $fused | tee -a "$results"
        # The peer again with the allocator settings fauxto applies to itself
        # (crates/fauxto/src/allocator.rs), so that the comparison is like for like.
        if [ "$DEVICE" = cpu ]; then
            MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_TOP_PAD_=268435456 \
                python3 tools/bench_generate_torch.py --preset "$PRESET" --res "$res" \
                --batch "$BATCH" --iters "$iters" --threads "$THREADS" --device "$DEVICE" $fused \
                | sed 's/"impl": "pytorch"/"impl": "pytorch", "malloc": "tuned"/' | tee -a "$results"
        fi
    done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
def peer(res, fused, tuned):
    for x in rows:
        if (x["res"] == res and x["impl"] == "pytorch" and bool(x.get("fused_modconv")) == fused
                and (x.get("malloc") == "tuned") == tuned):
            return x["images_per_s"]
    return None
print()
print("| res | batch | fauxto img/s | fauxto GFLOP/s | peer | PyTorch img/s | fauxto / PyTorch |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in sorted({x["res"] for x in rows}):
    f = next(x for x in rows if x["res"] == r and x["impl"] == "fauxto")
    for fused in (True, False):
        for tuned in (False, True):
            p = peer(r, fused, tuned)
            if p is None:
                continue
            name = ("fused (official inference path)" if fused else "non-fused") + (", tuned malloc" if tuned else "")
            print(f"| {r} | {f['batch']} | {f['images_per_s']:.2f} | {f['gflop_per_s']:.0f} | {name} | {p:.2f} | {f['images_per_s'] / p:.2f}x |")
PY

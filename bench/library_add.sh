#!/usr/bin/env bash
# `fauxto library add` throughput on the CPU: rendering alone, analysis alone, and a whole
# add (render one batch ahead of analysis; guard, labels, files, catalogue) of SEEDS seeds of
# the demo model into a fresh embedded library, in one run. The overlap goal: add's rate at
# least 80% of the slower half's.
#
#   bench/library_add.sh                 # 10,000 seeds of the demo model
#   SEEDS=1000 MODEL=M.safetensors bench/library_add.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-10000}
MODEL=${MODEL:-assets/fauxto-demo-utkface64.safetensors}
cargo build --release --quiet -p fauxto-library --example add_bench
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"${CARGO_TARGET_DIR:-target}/release/examples/add_bench" --model "$MODEL" --seeds "$SEEDS" \
    --stage-seeds "${STAGE_SEEDS:-512}" --batch "${BATCH:-16}" >"$out"
cat "$out"
python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print()
print(f"| render alone | analyse alone | add ({r['add_outputs']:,} seeds) | overlap (add / slower half) | 10,000 seeds take |")
print("| --- | --- | --- | --- | --- |")
print(f"| {r['render_alone_per_s']:.1f}/s | {r['analyse_alone_per_s']:.1f}/s "
      f"| {r['add_outputs_per_s']:.1f}/s, {r['add_catalogued']:,} catalogued "
      f"| {r['overlap_efficiency']:.0%} | {10000 / r['add_outputs_per_s'] / 60:.1f} min |")
PY

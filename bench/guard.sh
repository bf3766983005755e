#!/usr/bin/env bash
# Memorisation-guard benchmark: 1,000 training faces planted among the outputs (each
# mirrored, cropped 5 %, brightness-shifted and saved as JPEG 75) must be flagged; 1,000
# held-out faces of the same dataset (not in the guard's index) show the false-flag rate.
# See crates/fauxto-face/examples/guard_bench.rs. Prints one JSON object.
#
#   bench/guard.sh                 # UTKFace at 128x128 from ../shared/data (built and indexed if missing)
#   DATA=data/utk128 bench/guard.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DATA:-data/utk128}
FAUXTO=${FAUXTO:-target/release/fauxto}
[ -x "$FAUXTO" ] || cargo build --release -p fauxto
if [ ! -f "$DATA/dataset.json" ]; then
    "$FAUXTO" dataset ../shared/data/utkface-128.zip --out "$DATA" --res 128 --labels labels.csv \
        --license "UTKFace: non-commercial research use only"
fi
"$FAUXTO" index "$DATA"
cargo run --release -q -p fauxto-face --example guard_bench -- "$DATA"

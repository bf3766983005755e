#!/usr/bin/env bash
# Face-space metrics sanity check on real data: two disjoint halves of UTKFace (2,000 faces
# each) should score near zero, and Fréchet distance and KID should rise monotonically as
# one half is blurred more. See crates/fauxto-face/examples/metrics_bench.rs.
#
#   bench/metrics.sh                 # data/utk128 (built and indexed if missing)
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
cargo run --release -q -p fauxto-face --example metrics_bench -- "$DATA"

#!/usr/bin/env bash
# Face-space metrics sanity check on real data: two disjoint halves of UTKFace (2,000 faces
# each) should score near zero, and Fréchet distance and KID should rise monotonically as
# one half is blurred more. See crates/fauxto-face/examples/metrics_bench.rs.
#
#   bench/metrics.sh                 # data/utk128 (built and indexed if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

source bench/utk128.sh
cargo run --release -q -p fauxto-face --example metrics_bench -- "$DATA"

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

source bench/utk128.sh
cargo run --release -q -p fauxto-face --example guard_bench -- "$DATA"

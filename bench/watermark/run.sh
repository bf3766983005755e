#!/usr/bin/env bash
# Invisible watermark: fauxto against invisible-watermark (imwatermark, methods dwtDct and
# dwtDctSvd), side by side in one run on the same images, payloads and attacks. Each image
# gets a random 48-bit payload (fixed seed); the marked images go through the same attacks
# (none, JPEG 90/75/50, bicubic 0.5x and back, 10% crops centred / corner / centred and
# resized back; then the edits kept as they are: resizes by 0.5-2x with five filters,
# brightness, contrast and gamma, small rotations, each alone and followed by a corner crop
# and JPEG 75) and each method's decoder. Prints a markdown table of bit accuracy and exact
# payload recovery per attack, PSNR and time per image, and false positives on unmarked
# UTKFace images; writes every raw number to $OUT_JSON. Arguments after the variables go to
# bench.py (e.g. --face-size 256).
#
#   bench/watermark/run.sh                                # 150 faces, 50 generated, 5000 unmarked
#   N_FACES=40 N_GENERATED=10 N_UNMARKED=500 bench/watermark/run.sh   # quick look
#   N_FACES=40 N_GENERATED=0 bench/watermark/run.sh --face-size 256   # faces enlarged to 256²
#   METHODS=dwtDct,dwtDctSvd bench/watermark/run.sh       # the peer alone
#
# Images: every k-th JPEG (by name) of the UTKFace zip beside the project (128x128), and
# N_GENERATED images from `fauxto generate` with $MODEL (64x64 for the demo model; seeds
# 1000 onwards); no generated set if no model is found. The unmarked set is drawn the same
# way from the other UTKFace images. KEY, if set, is passed to fauxto as --key.
#
# Needs: a release build of fauxto with the watermark command (built here if missing) and
# the peer (`pip install -r bench/watermark/requirements.txt`).
set -euo pipefail
cd "$(dirname "$0")/../.."

FAUXTO=${FAUXTO:-target/release/fauxto}
ZIP=${ZIP:-../shared/data/utkface-128.zip}
N_FACES=${N_FACES:-150}
N_GENERATED=${N_GENERATED:-50}
N_UNMARKED=${N_UNMARKED:-5000}
METHODS=${METHODS:-fauxto,dwtDct,dwtDctSvd}
SEED=${SEED:-0}
DEVICE=${DEVICE:-cpu}
OUT_JSON=${OUT_JSON:-bench/watermark/results.json}
if [ -z "${MODEL:-}" ]; then
    for m in assets/fauxto-demo-utkface64.safetensors runs/demo64/model.safetensors; do
        if [ -f "$m" ]; then MODEL=$m; break; fi
    done
fi
[ -x "$FAUXTO" ] || cargo build --release -p fauxto
if [[ ",$METHODS," == *,fauxto,* ]] && ! "$FAUXTO" watermark --help >/dev/null 2>&1; then
    echo "$FAUXTO has no watermark command; build a newer fauxto or run with METHODS=dwtDct,dwtDctSvd" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gen_flags=()
if [ "$N_GENERATED" -gt 0 ]; then
    if [ -n "${MODEL:-}" ]; then
        "$FAUXTO" generate --model "$MODEL" --seeds "1000-$((1000 + N_GENERATED - 1))" \
            --device "$DEVICE" --no-watermark --no-credentials --out "$work/generated" >/dev/null
        gen_flags=(--generated "$work/generated" --n-generated "$N_GENERATED")
    else
        echo "note: no model (set MODEL, or train runs/demo64); skipping the generated images" >&2
    fi
fi
key_flags=()
[ -n "${KEY:-}" ] && key_flags=(--key "$KEY")

python3 bench/watermark/bench.py --fauxto "$FAUXTO" --zip "$ZIP" --n-faces "$N_FACES" \
    --n-unmarked "$N_UNMARKED" --methods "$METHODS" --seed "$SEED" --work "$work" \
    --out-json "$OUT_JSON" ${gen_flags[@]+"${gen_flags[@]}"} ${key_flags[@]+"${key_flags[@]}"} "$@"

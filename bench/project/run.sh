#!/usr/bin/env bash
# Projection of real photos: each photo's face aligned as the model frames its faces and
# searched for in W, then W+ (`fauxto project`); the found image judged against the aligned
# photo by PSNR, and by the face networks — the descriptor and the landmarks are in the
# loss, age and gender are not (they are the independent judges).
#
#   bench/project/run.sh                       # 200 UTKFace photos, default settings
#   PHOTOS=20 STEPS=100 bench/project/run.sh   # quick look
#   EXTRA="--w-only" OUT=bench/project/out-w bench/project/run.sh
#
# Then the model's directions move every projected photo (`fauxto directions --evaluate
# --latents`): the re-scoring matrix and editing figures on real faces, W+ against W.
#
# Needs a release build of fauxto (built here if missing) and the UTKFace zip beside the
# project. Writes the per-photo JSON and a Markdown summary under $OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."

FAUXTO=${FAUXTO:-target/release/fauxto}
MODEL=${MODEL:-assets/fauxto-demo-utkface64.safetensors}
ZIP=${ZIP:-../shared/data/utkface-128.zip}
PHOTOS=${PHOTOS:-200}
STEPS=${STEPS:-}
EXTRA=${EXTRA:-}
OUT=${OUT:-bench/project/out}

[ -x "$FAUXTO" ] || cargo build --release --locked --bin fauxto
[ -f "$ZIP" ] || { echo "no $ZIP: the benchmark needs the UTKFace zip" >&2; exit 1; }
mkdir -p "$OUT"
photos="$OUT/photos"
rm -rf "$photos" && mkdir -p "$photos"
# Every k-th photo by name, offset from the anonymiser benchmark's choice.
python3 - "$ZIP" "$PHOTOS" "$photos" <<'PY'
import sys, zipfile, pathlib
zip_path, n, out = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
with zipfile.ZipFile(zip_path) as z:
    names = sorted(n for n in z.namelist() if n.lower().endswith(".jpg"))
    step = max(1, len(names) // n)
    for name in names[step // 2::step][:n]:
        (out / pathlib.Path(name).name).write_bytes(z.read(name))
PY

steps=()
[ -n "$STEPS" ] && steps=(--steps "$STEPS")
echo "== projecting $PHOTOS photos ($(nproc) cores) ${steps[*]} $EXTRA"
# shellcheck disable=SC2086
"$FAUXTO" project "$photos"/*.jpg --model "$MODEL" --out "$OUT/projected" "${steps[@]}" \
    $EXTRA --no-credentials --json > "$OUT/project.json"
python3 bench/project/summarise.py "$OUT/project.json" | tee "$OUT/summary.md"

echo "== the directions on the projected photos"
"$FAUXTO" directions --model "$MODEL" --evaluate --latents "$OUT"/projected/*.latent.safetensors \
    --json --markdown "$OUT/edits.md" > "$OUT/edits.json"
cat "$OUT/edits.md"

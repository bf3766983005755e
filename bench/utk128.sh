# Sourced by bench scripts: the release binary and UTKFace at 128x128, packed and indexed.
FAUXTO=${FAUXTO:-target/release/fauxto}
DATA=${DATA:-data/utk128}
[ -x "$FAUXTO" ] || cargo build --release -p fauxto
if [ ! -f "$DATA/dataset.json" ]; then
    "$FAUXTO" dataset ../shared/data/utkface-128.zip --out "$DATA" --res 128 --labels labels.csv \
        --license "UTKFace: non-commercial research use only"
fi
"$FAUXTO" index "$DATA"

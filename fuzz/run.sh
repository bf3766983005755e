#!/usr/bin/env bash
# Fuzzes every loader of outside data, then keeps what it found:
#   fuzz/corpora/TARGET/      the minimised corpus (committed; replayed by `cargo test`)
#   fuzz/regressions/TARGET/  every input that crashed, hung or ran out of memory (committed
#                             once fixed; replayed by `cargo test`)
#
#   fuzz/run.sh [TARGET...]          # all targets by default
#   SECONDS_PER_TARGET=1800 RUNS=1000000 fuzz/run.sh image_input
#   SEED_ONLY=1 fuzz/run.sh          # only copy the seed inputs into fuzz/corpora
#
# Each target runs until RUNS executions or SECONDS_PER_TARGET seconds, whichever comes
# first. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); seeds come
# from the repository's fixtures and from the fauxto binary (FAUXTO, built if missing).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-1800}
# No sanitizer by default: the loaders are safe Rust, whose failures (panics, overflows
# under debug assertions, unbounded allocation, hangs) libFuzzer sees without one, at
# several times the speed. SANITIZER=address adds AddressSanitizer for the unsafe code
# of dependencies.
SANITIZER=${SANITIZER:-none}
RUNS=${RUNS:-1000000}
FAUXTO=${FAUXTO:-../target/release/fauxto}
[ -x "$FAUXTO" ] || (cd .. && cargo build --release -p fauxto)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(import model_file dataset_source image_input credential)

seed() {
    local target=$1 dir=corpus/$1
    mkdir -p "$dir"
    cp corpora/"$target"/* "$dir"/ 2>/dev/null || true
    local work
    work=$(mktemp -d)
    case $target in
    import)
        cp ../crates/fauxto-interop/tests/fixtures/*.pkl "$dir"/
        ;;
    model_file)
        for res in 8 16; do
            "$FAUXTO" init-model --preset small --res $res --channel-base 64 --channel-max 8 \
                --out "$work/small$res.safetensors" >/dev/null
            cp "$work/small$res.safetensors" "$dir"/
        done
        ;;
    dataset_source)
        python3 - "$dir" <<'PY'
import io, sys, zipfile
d = sys.argv[1]
src = zipfile.ZipFile("../testdata/utkface-sample.zip")
names = sorted(n for n in src.namelist() if n.endswith(".jpg"))[:2]
for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for n in names:
            z.writestr("faces/" + n, src.read(n))
        z.writestr("labels.csv", "file,age,gender\n%s,30,1\n%s,4,0\n" % tuple(names))
    open("%s/faces-%d.zip" % (d, method), "wb").write(buf.getvalue())
open("%s/labels.csv" % d, "w").write('file,age,"note, quoted"\na.png,1,"x ""y"""\n')
PY
        ;;
    image_input | credential)
        "$FAUXTO" init-model --preset small --res 64 --out "$work/m.safetensors" >/dev/null
        "$FAUXTO" generate --model "$work/m.safetensors" --seeds 1 --format png --out "$work" \
            --keys "$work/keys" --no-guard >/dev/null
        "$FAUXTO" generate --model "$work/m.safetensors" --seeds 2 --format jpg --out "$work" \
            --keys "$work/keys" --no-guard >/dev/null
        "$FAUXTO" interpolate --model "$work/m.safetensors" --seeds 1,2 --frames 2 \
            --out "$work/walk.gif" --keys "$work/keys" >/dev/null
        cp "$work"/seed0001.png "$work"/seed0002.jpg "$work"/walk.gif "$dir"/
        ;;
    esac
    rm -rf "$work"
}

for target in "${targets[@]}"; do
    echo "== $target: seeding"
    seed "$target"
    if [ -n "${SEED_ONLY:-}" ]; then
        mkdir -p "corpora/$target" && cp "corpus/$target"/* "corpora/$target"/
        continue
    fi
    echo "== $target: fuzzing (at most $RUNS runs or $SECONDS_PER_TARGET s)"
    mkdir -p "artifacts/$target" "regressions/$target" "corpora/$target"
    log="artifacts/$target.log"
    set +e
    cargo +nightly fuzz run -s "$SANITIZER" "$target" "corpus/$target" -- \
        -runs="$RUNS" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 \
        -timeout=20 -max_len=1048576 -print_final_stats=1 2>&1 | tee "$log" | grep -E "^(#[0-9]+.*(pulse|DONE)|==|SUMMARY|stat::)" 
    status=${PIPESTATUS[0]}
    set -e
    cp artifacts/"$target"/* "regressions/$target"/ 2>/dev/null || true
    echo "== $target: exit $status; minimising the corpus"
    rm -rf "corpora/$target.new" && mkdir -p "corpora/$target.new"
    cargo +nightly fuzz cmin -s "$SANITIZER" "$target" "corpus/$target" -- -rss_limit_mb=2048 -timeout=20 \
        >"artifacts/$target.cmin.log" 2>&1 || true
    rm -rf "corpora/$target" && cp -r "corpus/$target" "corpora/$target"
    rm -rf "corpora/$target.new"
    echo "== $target: $(ls "corpora/$target" | wc -l) corpus inputs, $(du -sh "corpora/$target" | cut -f1)"
done

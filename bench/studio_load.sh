#!/usr/bin/env bash
# The studio under load, with a real load generator (oha, from crates.io), against a library
# of 100,000 faces: 1,000 seeds of the demo model through `library add` (real faces and
# labelled images), the rest synthetic catalogue rows (attributes and descriptors, no
# images). Measures, at 16 and 64 concurrent clients:
#   - attribute search (random filters, sorts and pages over the whole catalogue),
#   - image download (random real faces),
#   - generation on demand (random seeds of the demo model), beside `fauxto bench --model`
#     (the bare generator at batch 16) run in the same script;
# the studio's peak memory after each phase; then kills the studio with SIGKILL while it
# runs a job under search load, restarts it, and checks that the job finishes and that no
# catalogued face was lost (`library check`). Prints JSON lines and a table.
#
#   bench/studio_load.sh                      # DURATION=20s per run
#   PHASES=kill bench/studio_load.sh          # only the kill -9 check (PHASES=load: only load)
#
# Needs: a Rust toolchain (builds fauxto and installs oha if missing), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
PHASES=${PHASES:-"load kill"}
FACES=${FACES:-100000}
REAL=${REAL:-1000}
TARGET=${CARGO_TARGET_DIR:-target}
if ! command -v oha >/dev/null; then
    cargo install --locked oha
fi
# One build of both (building them apart unifies features differently: two builds).
cargo build --release --quiet -p fauxto --bin fauxto -p fauxto-library --example fill_synthetic
F=$TARGET/release/fauxto
FILL=$TARGET/release/examples/fill_synthetic
MODEL=assets/fauxto-demo-utkface64.safetensors

work=$(mktemp -d)
studio_pid=""
cleanup() {
    [ -n "$studio_pid" ] && kill -9 "$studio_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export HOME=$work/home FAUXTO_KEYS=$work/keys
lib=$work/lib

echo "== library: $REAL demo seeds + $((FACES - REAL)) synthetic rows" >&2
"$F" library init "$lib" >/dev/null
"$F" library add --library "$lib" --seeds "0-$((REAL - 1))" --json >"$work/add.json"
real_faces=$(python3 -c "import json; print(json.load(open('$work/add.json'))['this_run']['added'])")
"$FILL" --library "$lib" --faces "$((FACES - real_faces))" --first-seed 1000000 >&2
key=$("$F" studio keys create --scope admin --name load --library "$lib")
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
url=http://127.0.0.1:$port

start_studio() {
    "$F" studio --library "$lib" --listen "127.0.0.1:$port" --rate-limit 0 \
        >"$work/studio.out" 2>>"$work/studio.log" &
    studio_pid=$!
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null -H "Authorization: Bearer $key" "$url/api/models" && return 0
        sleep 0.2
    done
    echo "the studio did not start" >&2
    cat "$work/studio.log" >&2
    exit 1
}

peak_rss_mb() { awk '/VmHWM/ {print $2 / 1024}' "/proc/$studio_pid/status"; }
rss_mb() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$studio_pid/status"; }

# oha over random URLs; one JSON line: phase, clients, requests/s, latency percentiles (ms),
# non-200 answers, connection errors, memory.
load() {
    local phase=$1 clients=$2 duration=$3
    shift 3
    oha --no-tui --output-format json -z "$duration" -c "$clients" \
        -H "Authorization: Bearer $key" "$@" >"$work/oha.json"
    python3 - "$work/oha.json" "$phase" "$clients" "$(rss_mb)" "$(peak_rss_mb)" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
s, p = o["summary"], o["latencyPercentiles"]
codes = {int(k): v for k, v in o.get("statusCodeDistribution", {}).items()}
ok = codes.get(200, 0)
print(json.dumps({
    "phase": sys.argv[2], "clients": int(sys.argv[3]),
    "requests": sum(codes.values()), "per_s": s["requestsPerSec"],
    "p50_ms": p["p50"] * 1e3, "p99_ms": p["p99"] * 1e3, "max_ms": s["slowest"] * 1e3,
    "non_200": sum(codes.values()) - ok,
    # Requests still in flight when the run's time is up are cut off by oha itself.
    "errors": sum(v for k, v in o.get("errorDistribution", {}).items() if k != "aborted due to deadline"),
    "rss_mb": float(sys.argv[4]), "peak_rss_mb": float(sys.argv[5]),
}))
PY
}

# The catalogue's faces and the images it names but lacks (the synthetic rows have none).
catalogue() {
    ("$F" library check --json --library "$lib" 2>/dev/null || true) | python3 -c \
        "import json,sys; c=json.load(sys.stdin); print(c['faces'], len(c['missing']), len(c['orphans']))"
}

start_studio
results=$work/results.jsonl
: >"$results"
if [[ $PHASES == *load* ]]; then
echo "== bare generator: fauxto bench --model $MODEL --batch 16" >&2
"$F" bench --model "$MODEL" --batch 16 --iters 60 --warmup 3 | tee -a "$results"
max_id=$real_faces
for clients in 16 64; do
    load search "$clients" "$DURATION" --rand-regex-url \
        "$url/api/faces\?(gender=(male|female)&)?(expression=(happy|neutral|sad)&)?(facing=(left|frontal|right)&)?age=[1-3][0-9]-[4-8][0-9]&(sort=(newest|diverse|random&seed=[0-9])&)?page=[1-5]" \
        | tee -a "$results"
    # Real faces are the catalogue's first ids (1..real_faces).
    python3 -c "import random; r=random.Random(1); print('\n'.join('$url/api/faces/%d/image' % r.randint(1, $max_id) for _ in range(20000)))" >"$work/downloads.txt"
    load download "$clients" "$DURATION" --urls-from-file "$work/downloads.txt" | tee -a "$results"
    load generate "$clients" "$DURATION" --rand-regex-url "$url/api/generate/[1-9][0-9]{6}" \
        | tee -a "$results"
done

fi

if [[ $PHASES == *kill* ]]; then
echo "== kill -9 during a job under load" >&2
read -r faces_before missing_before _ < <(catalogue)
job=$(curl -sf -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"seeds\": \"$REAL-$((REAL + 319))\"}" "$url/api/jobs" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
oha --no-tui -z 30s -c 16 -H "Authorization: Bearer $key" \
    --rand-regex-url "$url/api/faces\?gender=(male|female)&page=[1-5]" >/dev/null 2>&1 &
oha_pid=$!
sleep 6
done_at_kill=$(curl -sf -H "Authorization: Bearer $key" "$url/api/jobs/$job" | python3 -c "import json,sys; print(json.load(sys.stdin)['done_seeds'])")
kill -9 "$studio_pid"
wait "$studio_pid" 2>/dev/null || true
read -r committed _ _ < <(catalogue)
start_studio
for _ in $(seq 1 600); do
    state=$(curl -sf -H "Authorization: Bearer $key" "$url/api/jobs/$job" | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['state'] if not j['running'] or j['state'] != 'open' else 'running')")
    [ "$state" = done ] && break
    sleep 0.5
done
wait "$oha_pid" 2>/dev/null || true
curl -sf -H "Authorization: Bearer $key" "$url/api/jobs/$job" >"$work/job.json"
read -r faces_after missing_after orphans_after < <(catalogue)
python3 - "$work/job.json" "$faces_before" "$committed" "$done_at_kill" "$faces_after" \
    "$missing_before" "$missing_after" "$orphans_after" <<'PY' | tee -a "$results"
import json, sys
job = json.load(open(sys.argv[1]))
before, committed, at_kill, after, missing_before, missing_after, orphans = map(int, sys.argv[2:9])
print(json.dumps({
    "phase": "kill -9 during a job under load",
    "seeds_done_at_kill": at_kill, "faces_committed_at_kill": committed - before,
    "job_state": job["state"], "job_done_seeds": job["done_seeds"], "job_seeds": job["total_seeds"],
    "job_added": job["counts"]["added"], "faces_after": after - before,
    "lost": max(0, committed - after),
    "consistent": orphans == 0 and missing_after == missing_before
                  and after == before + job["counts"]["added"],
}))
PY
fi

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bare = next((r for r in rows if r.get("impl") == "fauxto"), {"images_per_s": float("nan")})
print(f"\nbare generator (fauxto bench --model, batch 16): {bare['images_per_s']:.1f} images/s\n")
print("| phase | clients | requests | req/s | p50 ms | p99 ms | max ms | non-200 | errors | RSS MB (peak) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    if "clients" not in r:
        continue
    extra = f" ({r['per_s'] / bare['images_per_s']:.0%} of bare)" if r["phase"] == "generate" else ""
    print(f"| {r['phase']} | {r['clients']} | {r['requests']:,} | {r['per_s']:.1f}{extra} | {r['p50_ms']:.2f} | "
          f"{r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['non_200']} | {r['errors']} | {r['rss_mb']:.0f} ({r['peak_rss_mb']:.0f}) |")
k = rows[-1] if rows and "job_state" in rows[-1] else None
if k: print(f"\nkill -9 after {k['seeds_done_at_kill']} of {k['job_seeds']} seeds ({k['faces_committed_at_kill']} faces committed): "
      f"job {k['job_state']} after restart, {k['job_done_seeds']} seeds, {k['job_added']} faces added; "
      f"lost {k['lost']}; catalogue and images consistent: {k['consistent']}")
PY

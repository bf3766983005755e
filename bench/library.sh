#!/usr/bin/env bash
# Library search latency over 100,000 synthetic faces (attributes drawn from plausible
# distributions, random descriptors: the speed of the catalogue, not of the face networks):
# fauxto's attribute search — through SQL (sqlx, two-phase: ids from the covering index,
# then the page's rows) and through the in-memory facet index (a scan, then the page's
# rows) — and look-alike search (exact, in memory) beside the peer (bench/library_peer.py: the
# same queries as plain SQL through Python's sqlite3, look-alikes with numpy and FAISS
# IndexFlatL2) on the same catalogue, in one run. Prints a table with the ratios.
#
#   bench/library.sh                    # embedded library (SQLite)
#   POSTGRES=1 bench/library.sh         # also fauxto on a throwaway PostgreSQL cluster
#
# Needs: Python 3 with numpy (faiss-cpu optional), a Rust toolchain; PostgreSQL's server
# programs for POSTGRES=1 (tools/install-test-services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

FACES=${FACES:-100000}
REPEAT=${REPEAT:-200}
cargo build --release --quiet -p fauxto-library --example search_bench
BENCH=${CARGO_TARGET_DIR:-target}/release/examples/search_bench

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
    if [ -f "$work/pg/postmaster.pid" ]; then
        $as_postgres "$pg_bin/pg_ctl" -D "$work/pg" stop -m immediate >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$BENCH" --library "$work/lib" --faces "$FACES" --repeat "$REPEAT" >"$work/fauxto.json"
python3 bench/library_peer.py "$work/lib/catalogue.db" --repeat "$REPEAT" >"$work/peer.json"

if [ -n "${POSTGRES:-}" ]; then
    pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    as_postgres=""
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$work/pg" && chown postgres "$work/pg"
        as_postgres="runuser -u postgres --"
    fi
    port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    $as_postgres "$pg_bin/initdb" -D "$work/pg" -U fauxto -A trust --no-sync >/dev/null
    $as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
        -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    "$BENCH" --library "postgres://fauxto@127.0.0.1:$port/postgres" --faces "$FACES" \
        --repeat "$REPEAT" >"$work/postgres.json"
fi

python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
f = json.load(open(os.path.join(w, "fauxto.json")))
p = json.load(open(os.path.join(w, "peer.json")))
pg_path = os.path.join(w, "postgres.json")
pg = json.load(open(pg_path)) if os.path.exists(pg_path) else None
print(json.dumps({"fauxto": f, "peer": p, "postgres": pg}))
print(f"\n{f['faces']:,} faces; latency in ms, p50 / p99 over {f['search_all']['n'] // len(f['search'])} runs each\n")
head = "| query | matches | fauxto SQL (SQLite) | fauxto facets (SQLite) | sqlite3 peer | ratio p99 (peer / facets) |"
if pg:
    head += " fauxto SQL (PostgreSQL) | fauxto facets (PostgreSQL) |"
print(head)
print("| --- " * (head.count("|") - 1) + "|")
fmt = lambda r: f"{r['p50']:.2f} / {r['p99']:.2f}"
for name, r in f["search"].items():
    m, q = f["facets"][name], p["search"][name]
    row = f"| {name} | {r['matches']:,} | {fmt(r)} | {fmt(m)} | {fmt(q)} | {q['p99'] / m['p99']:.1f}x |"
    if pg:
        row += f" {fmt(pg['search'][name])} | {fmt(pg['facets'][name])} |"
    print(row)
a, m, b = f["search_all"], f["facets_all"], p["search_all"]
row = f"| **all attribute searches** | | {fmt(a)} | **{fmt(m)}** | {fmt(b)} | {b['p99'] / m['p99']:.1f}x |"
if pg:
    row += f" {fmt(pg['search_all'])} | **{fmt(pg['facets_all'])}** |"
print(row)
print(f"\nfacet index load: {f['facets_load_ms']:.0f} ms (SQLite)" + (f", {pg['facets_load_ms']:.0f} ms (PostgreSQL)" if pg else ""))
s = f["similar"]
print(f"\nlook-alike, k = 10, exact: fauxto {s['p50']:.2f} / **{s['p99']:.2f}** ms; "
      f"numpy {p['similar_numpy']['p50']:.2f} / {p['similar_numpy']['p99']:.2f} ms "
      f"({p['similar_numpy']['p99'] / s['p99']:.1f}x)", end="")
if p.get("similar_faiss"):
    fa = p["similar_faiss"]
    print(f"; FAISS IndexFlatL2 ({p['faiss_threads']} threads) {fa['p50']:.2f} / {fa['p99']:.2f} ms "
          f"({fa['p99'] / s['p99']:.1f}x)", end="")
print(f"\nloading the descriptors: fauxto {f['similar_index_load_ms']:.0f} ms, peer {p['similar_index_load_ms']:.0f} ms")
if pg:
    print(f"PostgreSQL look-alike {pg['similar']['p50']:.2f} / {pg['similar']['p99']:.2f} ms, loading {pg['similar_index_load_ms']:.0f} ms")
PY

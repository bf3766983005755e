"""The peer of `search_bench`: the same queries on the same SQLite catalogue, written the
obvious way with Python's sqlite3 (a COUNT and a page, one SQL each), and the same
look-alike searches with numpy (brute force) and FAISS (IndexFlatL2, exact).

    python3 bench/library_peer.py CATALOGUE.db [--repeat 200] [--threads N]

Prints one JSON object of latencies in milliseconds (p50, p99, max), like search_bench.
"""

import argparse
import json
import sqlite3
import time

import numpy as np

SHUFFLE_MOD = 2_147_483_647
MASK = (1 << 64) - 1


def shuffle_params(seed):
    """The parameters of fauxto's seeded shuffle (fauxto-library's search.rs)."""
    state = seed

    def draw():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    a = draw() % SHUFFLE_MOD
    b = 1 + draw() % (SHUFFLE_MOD - 1)
    c = draw() % SHUFFLE_MOD
    return a, b, c


def summary(ms):
    ms = sorted(ms)
    at = lambda q: ms[round((len(ms) - 1) * q)]
    return {"p50": at(0.5), "p99": at(0.99), "max": at(1.0), "n": len(ms)}


def sql_of(spec):
    where, args = ["1 = 1"], []
    if "age" in spec:
        where += ["age >= ?", "age <= ?"]
        args += spec["age"]
    for column in ("age_band", "gender", "expression", "facing"):
        if column in spec:
            where.append(f"{column} = ?")
            args.append(spec[column])
    sort = spec.get("sort", "newest")
    if sort == "random":
        a, b, c = shuffle_params(spec.get("seed", 0))
        p = SHUFFLE_MOD
        order = f"(((id + {a}) % {p}) * {b} % {p}) * ((id + {c}) % {p}) % {p}, id"
    elif sort == "diverse":
        order = "group_rank, id"
    else:
        order = "id DESC"
    per_page, page = spec.get("per_page", 24), spec.get("page", 1)
    w = " AND ".join(where)
    count = f"SELECT COUNT(*) FROM faces WHERE {w}"
    select = f"SELECT * FROM faces WHERE {w} ORDER BY {order} LIMIT {per_page} OFFSET {(page - 1) * per_page}"
    return count, select, args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("catalogue")
    ap.add_argument("--queries", default="bench/library_queries.json")
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    db = sqlite3.connect(f"file:{a.catalogue}?mode=ro", uri=True)
    out, every = {}, []
    for spec in json.load(open(a.queries)):
        count, select, args = sql_of(spec)
        db.execute(select, args).fetchall()
        ms = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            total = db.execute(count, args).fetchone()[0]
            db.execute(select, args).fetchall()
            ms.append((time.perf_counter() - t) * 1e3)
        every += ms
        out[spec["name"]] = dict(summary(ms), matches=total)

    t = time.perf_counter()
    rows = db.execute("SELECT id, descriptor FROM faces ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows])
    x = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), 128).copy()
    load_ms = (time.perf_counter() - t) * 1e3
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(ids), a.repeat)
    numpy_ms = []
    for i in picks:
        t = time.perf_counter()
        d = ((x - x[i]) ** 2).sum(axis=1)
        d[i] = np.inf
        top = np.argpartition(d, 10)[:10]
        top = top[np.argsort(d[top])]
        numpy_ms.append((time.perf_counter() - t) * 1e3)
    result = {
        "faces": len(ids),
        "search": out,
        "search_all": summary(every),
        "similar_numpy": summary(numpy_ms),
        "similar_index_load_ms": load_ms,
    }
    try:
        import faiss

        index = faiss.IndexFlatL2(128)
        index.add(x)
        faiss_ms = []
        for i in picks:
            t = time.perf_counter()
            index.search(x[i : i + 1], 11)
            faiss_ms.append((time.perf_counter() - t) * 1e3)
        result["similar_faiss"] = summary(faiss_ms)
        result["faiss_threads"] = faiss.omp_get_max_threads()
    except ImportError:
        result["similar_faiss"] = None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

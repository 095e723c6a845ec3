"""Quantized index types against exact search: recall@10 and memory per million vectors.

    .venv/bin/python benchmarks/quantized.py                    # 1,000,000 vectors
    .venv/bin/python benchmarks/quantized.py --articles 100000  # quicker

Vectors: scale.py's synthetic clustered unit vectors (dimension 384, stories within topics).
Each index type is built once in this process (timed), saved, then loaded memory-mapped in a
child process that answers the same queries one at a time with one thread (p50/p99) and reports
its resident memory. Recall@10 is measured against exact inner-product search (``flat-ip``) of
the same queries. ``hnsw`` (full precision) is in scale.md at 1M; run with ``--kinds`` to add it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
from scale import synthetic_vectors

from recommender.storage.index import INDEX_FILE, index_class

DIMENSION = 384


def child(folder: str, kind: str, queries_file: str) -> None:
    """Load memory-mapped, answer the queries one at a time; print JSON."""
    import faiss
    import psutil

    faiss.omp_set_num_threads(1)
    process = psutil.Process()
    before = process.memory_info().rss
    index = index_class(kind).load(Path(folder), DIMENSION)
    loaded = process.memory_info().rss
    queries = np.load(queries_file)
    rows, times = [], []
    for q in queries:
        t = time.perf_counter()
        _, found = index.search(q[None, :], 10)
        times.append(time.perf_counter() - t)
        rows.append(found[0].tolist())
    after = process.memory_info().rss
    print(
        json.dumps(
            {
                "rss_loaded_mb": round((loaded - before) / 1e6, 1),
                "rss_after_queries_mb": round((after - before) / 1e6, 1),
                "p50_ms": round(float(np.percentile(times, 50)) * 1000, 3),
                "p99_ms": round(float(np.percentile(times, 99)) * 1000, 3),
                "rows": rows,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--kinds", default="flat-ip,hnsw-sq,ivf-pq")
    args = parser.parse_args()
    info = common.machine()
    vectors = synthetic_vectors(args.articles)[0].astype(np.float32)
    picks = np.random.default_rng(9).choice(args.articles, args.queries, replace=False)
    figures: dict = {"articles": args.articles, "queries": args.queries, "kinds": {}}
    with tempfile.TemporaryDirectory(prefix="bench-quantized-") as tmp:
        queries_file = Path(tmp) / "queries.npy"
        np.save(queries_file, vectors[picks])
        for kind in args.kinds.split(","):
            folder = Path(tmp) / kind
            folder.mkdir()
            started = time.perf_counter()
            index = index_class(kind).build(vectors)
            build_s = time.perf_counter() - started
            index.save(folder)
            described = index.describe()
            del index
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), kind, str(queries_file)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result.update(
                build_s=round(build_s, 1),
                file_mb=round((folder / INDEX_FILE).stat().st_size / 1e6, 1),
                params=described["params"],
                load_average=round(os.getloadavg()[0], 2),
            )
            figures["kinds"][kind] = result
            print(kind, {k: v for k, v in result.items() if k != "rows"}, flush=True)
    truth = figures["kinds"].get("flat-ip", {}).get("rows")
    for result in figures["kinds"].values():
        rows = result.pop("rows")
        if truth is not None:
            hits = [len(set(a) & set(t)) / 10 for a, t in zip(rows, truth, strict=True)]
            result["recall_at_10"] = round(float(np.mean(hits)), 4)
    line = common.record("quantized", info, figures)
    path = common.write_fragment(
        "quantized", "Quantized indexes: recall and memory", fragment(figures), info, line
    )
    print(f"wrote {path}")
    common.finish()


def fragment(f: dict) -> str:
    million = f["articles"] / 1e6
    rows = []
    for kind, r in f["kinds"].items():
        rows.append(
            [
                kind,
                json.dumps(r["params"]).replace('"', ""),
                f"{r['build_s']:.0f}",
                f"{r['file_mb']:,.0f}",
                f"{r['file_mb'] / million:,.0f}",
                f"{r['rss_after_queries_mb']:,.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                common.fmt(r.get("recall_at_10")),
                f"{r['load_average']:.1f}",
            ]
        )
    table = common.md_table(
        [
            "index",
            "params",
            "build s",
            "file MB",
            "MB per million",
            "RSS after queries MB",
            "search p50 ms",
            "search p99 ms",
            "recall@10 vs exact",
            "load avg",
        ],
        rows,
        "llrrrrrrrr",
    )
    return f"""{f["articles"]:,} synthetic clustered unit vectors of dimension 384 (scale.py's
generator); {f["queries"]} queries (indexed vectors), k = 10, one at a time, one thread, in a
child process that loads the saved index memory-mapped. "MB per million" is the index file per
million vectors (what must stay in memory for fast search); "RSS after queries" is the child's
resident growth after loading and answering (mapped pages count once touched). Full-precision
`hnsw` at 1M: see the scale section (2,182 MB on disk, recall@10 0.970). The machine is 2 shared
cores; "load avg" is the 1-minute load average after each build.

{table}

`hnsw-sq` keeps the HNSW graph and 8-bit codes (a quarter of the vectors' memory): at 10M
articles about {f["kinds"].get("hnsw-sq", {}).get("file_mb", 0) / million * 10 / 1000:.1f} GB;
`ivf-pq` stores 48 bytes per vector plus ids. `auto` picks `hnsw-sq` above 2M articles.
"""


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main()

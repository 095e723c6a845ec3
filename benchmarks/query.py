"""Query speed: ``related()`` latency and throughput at 10k and 100k articles, against a raw
FAISS search of the same index; memory and size on disk.

    .venv/bin/python benchmarks/query.py [--sizes 10000 100000] [--queries 400]

The indexes are synthetic: clustered random unit vectors of dimension 384 (the default model's)
stand in for embeddings (50 articles per cluster around a random centre; cosine within a
cluster about 0.55, across clusters about 0), with pseudo-word titles and bodies drawn mostly
from their cluster's words (so the lexical component has real work), 8 sections, tags, and dates
over five years. They are real index folders, written by ``Engine.build`` itself with an encoder
object that returns the precomputed vectors, so every code path after the model is the
engine's own. Each size runs in a fresh process so its memory figures are its own.

Timed, one query at a time, FAISS on one OpenMP thread (as ``recommender serve`` runs each
request), in the same process:
- ``engine.related(id, k=10)`` at the shipped ranking defaults;
- the same with ``dedupe=False`` (what duplicate collapse costs);
- ``engine.related_many`` over the same ids (batched, as static export uses), per article;
- raw FAISS: ``index.search(vector, 11)`` on the same ``index.faiss`` read with
  ``faiss.read_index``; the vector is fetched before the clock starts. This is what a vector
  database's nearest-neighbour call costs; the ratio is the ranking layer's cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    RESULTS,
    PrecomputedEncoder,
    finish,
    fmt,
    machine,
    md_table,
    pyplot,
    record,
    write_fragment,
)

DIMENSION = 384
PER_CLUSTER = 50
SECTIONS = ("world", "politics", "business", "sport", "science", "culture", "tech", "health")
K = 10


def _pseudo_words(rng: np.random.Generator, count: int) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(letters, size=int(rng.integers(4, 10)))))
    return sorted(words)


def synthetic_corpus(n: int, seed: int = 11) -> tuple[list[Any], np.ndarray]:
    from recommender.articles import Article

    rng = np.random.default_rng(seed)
    clusters = max(1, n // PER_CLUSTER)
    centres = rng.normal(size=(clusters, DIMENSION))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster = rng.integers(0, clusters, size=n)
    vectors = centres[cluster] + rng.normal(scale=0.9 / np.sqrt(DIMENSION), size=(n, DIMENSION))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vocabulary = _pseudo_words(rng, 20_000)
    common = np.array(vocabulary[:2000])
    topic_words = [rng.choice(vocabulary[2000:], size=12, replace=False) for _ in range(clusters)]
    tags = [f"tag-{i}" for i in range(300)]
    start = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
    hours = rng.integers(0, 5 * 365 * 24, size=n)
    articles = []
    for i in range(n):
        c = int(cluster[i])
        topic = topic_words[c]
        title = " ".join(rng.choice(topic, size=5)).capitalize()
        body = " ".join([*rng.choice(topic, size=18), *rng.choice(common, size=12)])
        articles.append(
            Article(
                id=f"syn-{i:06d}",
                title=f"{title} {i}",
                body=body.capitalize() + ".",
                published_at=start + dt.timedelta(hours=int(hours[i])),
                category=SECTIONS[c % len(SECTIONS)],
                tags=(f"story-{c}", tags[int(rng.integers(0, len(tags)))]),
                language="en",
            )
        )
    return articles, vectors.astype(np.float32)


def _rss() -> int:
    import psutil

    gc.collect()
    return int(psutil.Process().memory_info().rss)


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "per_s": float(len(ms) / (ms.sum() / 1000)),
    }


def build(n: int, path: Path) -> float:
    """Write the synthetic index of ``n`` articles at ``path`` (in its own process)."""
    from recommender.engine import Engine
    from recommender.text import article_text

    articles, vectors = synthetic_corpus(n)
    encoder = PrecomputedEncoder(
        {article_text(a): v for a, v in zip(articles, vectors, strict=True)}
    )
    started = time.perf_counter()
    Engine.build(articles, path, encoder=encoder, cache=False, precompute=False)
    return time.perf_counter() - started


def measure(path: Path, queries: int, seed: int = 5) -> dict[str, Any]:
    """Load and query one index, in a fresh process (so RSS is this index's alone)."""
    import faiss

    from recommender.engine import INDEX_FILE, Engine
    from recommender.storage import versions as persistence

    # One OpenMP thread, as `recommender serve` runs each request: single-query latency on
    # shared cores is steadier, and engine and raw search get the same budget.
    faiss.omp_set_num_threads(1)
    rss_before = _rss()
    started = time.perf_counter()
    engine = Engine.load(path)
    load_s = time.perf_counter() - started
    ids = [
        str(i)
        for i in np.random.default_rng(seed).choice(engine.ids(), size=queries, replace=False)
    ]
    for aid in ids[:5]:  # warm-up: first-call costs (caches, lazy columns) are not latency
        engine.related(aid, k=K)
        engine.related(aid, k=K, dedupe=False)
    rss_loaded = _rss()

    def timed(call: Any) -> list[float]:
        out = []
        for aid in ids:
            t = time.perf_counter()
            call(aid)
            out.append(time.perf_counter() - t)
        return out

    default = timed(lambda aid: engine.related(aid, k=K))
    no_dedupe = timed(lambda aid: engine.related(aid, k=K, dedupe=False))
    started = time.perf_counter()
    for _ in engine.related_many(ids, k=K):
        pass
    many_s = time.perf_counter() - started
    rss_queried = _rss()
    n = len(engine)
    source_vectors = engine.vectors(ids)
    size = persistence.folder_size(engine.folder)
    raw_index = faiss.read_index(str(engine.folder / INDEX_FILE))
    engine.close()

    raw = []
    for v in source_vectors:
        q = v[None, :]
        t = time.perf_counter()
        raw_index.search(q, K + 1)
        raw.append(time.perf_counter() - t)
    return {
        "articles": n,
        "queries": queries,
        "k": K,
        "load_s": load_s,
        "related": _percentiles(default),
        "related_no_dedupe": _percentiles(no_dedupe),
        "related_many_ms_per_article": many_s / len(ids) * 1000,
        "raw_faiss": _percentiles(raw),
        "rss_before_load_mb": rss_before / 1e6,
        "rss_loaded_mb": rss_loaded / 1e6,
        "rss_after_queries_mb": rss_queried / 1e6,
        "rss_growth_mb": (rss_queried - rss_before) / 1e6,
        "disk_mb": size / 1e6,
        "vectors_mb": n * DIMENSION * 4 / 1e6,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=400, help="Source articles per size.")
    args = parser.parse_args(argv)
    info = machine()
    print("machine:", info, flush=True)
    results = []
    context = multiprocessing.get_context("spawn")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
            path = Path(tmp) / f"syn-{n}"
            with context.Pool(1) as pool:
                build_s = pool.apply(build, (n, path))
            with context.Pool(1) as pool:
                result = pool.apply(measure, (path, min(args.queries, n)))
        result["build_s"] = build_s
        results.append(result)
        print(
            f"  {n:>7} articles: related p50 {result['related']['p50_ms']:.2f} ms, "
            f"p99 {result['related']['p99_ms']:.2f} ms; raw FAISS p50 "
            f"{result['raw_faiss']['p50_ms']:.3f} ms",
            flush=True,
        )
    figures = {"sizes": results}
    line = record("query", info, figures)
    plot(results, RESULTS / "query.png")
    write_fragment(
        "query", "Query: related() against a raw FAISS search", fragment(results, args), info, line
    )
    finish()


def fragment(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    rows = []
    for r in results:
        raw = r["raw_faiss"]
        for label, key in (
            ("`related()`, defaults", "related"),
            ("`related()`, dedupe=False", "related_no_dedupe"),
            ("raw FAISS `search` (k=11)", "raw_faiss"),
        ):
            p = r[key]
            rows.append(
                [
                    f"{r['articles']:,}",
                    label,
                    fmt(p["p50_ms"], 2),
                    fmt(p["p99_ms"], 2),
                    fmt(p["per_s"], 0),
                    "1" if key == "raw_faiss" else f"x{p['p50_ms'] / raw['p50_ms']:.1f}",
                ]
            )
        rows.append(
            [
                f"{r['articles']:,}",
                "`related_many` (batched), per article",
                fmt(r["related_many_ms_per_article"], 2),
                "",
                fmt(1000 / r["related_many_ms_per_article"], 0),
                f"x{r['related_many_ms_per_article'] / raw['p50_ms']:.1f}",
            ]
        )
    mem = [
        [
            f"{r['articles']:,}",
            fmt(r["build_s"], 1),
            fmt(r["load_s"], 2),
            fmt(r["disk_mb"], 1),
            fmt(r["vectors_mb"], 1),
            fmt(r["rss_before_load_mb"], 0),
            fmt(r["rss_loaded_mb"], 0),
            fmt(r["rss_after_queries_mb"], 0),
            fmt(r["rss_growth_mb"], 0),
        ]
        for r in results
    ]
    return f"""
**Synthetic data:** clustered random unit vectors (dimension {DIMENSION}, {PER_CLUSTER} articles
per cluster) stand in for embeddings, with pseudo-word texts, 8 sections, tags and dates; real
index folders written by `Engine.build` (exact flat inner-product index). Figures measure the
index and ranking layer, not the model. {results[0]["queries"]} source articles per size, one
query at a time, k={K}, after 5 warm-up queries; each index is built in one fresh process and
queried in another.

{md_table(["articles", "call", "p50 ms", "p99 ms", "per second", "p50 vs raw FAISS"], rows)}

Memory (RSS of the querying process, MB: "before load" is Python with the engine's modules
imported; the FAISS file is memory-mapped, so its pages count once touched) and size on disk
(the whole index folder: FAISS file, SQLite store, lexical statistics, manifest):

{
        md_table(
            [
                "articles",
                "build s",
                "load s",
                "disk MB",
                "of which raw vectors MB",
                "RSS before load",
                "RSS loaded",
                "RSS after queries",
                "growth",
            ],
            mem,
        )
    }
"""


def plot(results: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    labels = ["related() defaults", "related() dedupe=False", "raw FAISS search"]
    keys = ["related", "related_no_dedupe", "raw_faiss"]
    width = 0.8 / len(results)
    x = np.arange(len(labels))
    for i, r in enumerate(results):
        for j, stat in enumerate(("p50_ms", "p99_ms")):
            values = [r[k][stat] for k in keys]
            ax.bar(
                x + i * width - 0.4 + width / 2 + (j - 0.5) * width / 2,
                values,
                width=width / 2,
                label=f"{r['articles']:,} articles, {stat[:3]}",
                color=["#48c", "#c84", "#8a4", "#a4a"][(2 * i + j) % 4],
            )
    ax.set_xticks(x, labels)
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds per query (log)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

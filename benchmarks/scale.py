"""Scale: exact against approximate indexes at 10k, 100k and 1M articles; live updates with the
real model.

    .venv/bin/python benchmarks/scale.py [--sizes 10000 100000 1000000] [--queries 500]
        [--types flat-ip hnsw ivf] [--model-articles 3000] [--skip-model]

**Synthetic part.** Clustered unit vectors of dimension 384 stand in for embeddings: every
article belongs to a story (40 articles on average) within a topic (2,000 articles); its vector
is topic centre + 0.8 x story centre + noise with a decaying spectrum (like real sentence
embeddings, whose variance sits in few directions), normalized. Nearest neighbours have cosine
about 0.75, the 10th about 0.65, random pairs about 0. Texts are pseudo-words of the story's
topic, with 8 sections, a story tag and dates over five years. The index folders are real ones:
for each size, one process generates the corpus and writes the exact index with
``Engine.build`` and an encoder object that returns the precomputed vectors (so build times
exclude the model); each approximate type is then made from it with ``Engine.reindex`` (same
vectors, store and lexical statistics; only the vector index is built), which saves one
corpus generation, lexical fit and store per type at 1M. After each write, a fresh process loads
the index (RSS measured with psutil before and after) and times ``Engine.related(id, k=10)`` at
the default settings
(ranking layer included) for the same random source articles, one query at a time, with FAISS
and BLAS on one thread (as ``recommender serve`` runs a request). Recall@10 of an approximate
index against the exact one is measured on the raw neighbours (``index.search``, k=10, the
source excluded) and on the final ``related`` lists.

**Real-model part.** About 3,000 news-length articles: 3-sentence windows (stride 1) and
2-sentence windows (stride 2) of gensim's ``lee_background.cor`` plus the 100 demo articles,
distinct texts. The packaged all-MiniLM-L6-v2 is loaded once (not timed). Timed: a full build
with the embedding cache off (everything embedded), then ``Engine.upsert`` of 1% of the articles
with a changed body (cache off too), then a full rebuild of the same edited corpus (cache off).

Index folders go to ``benchmarks/.work/`` and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import re
import shutil
import subprocess
import sys
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

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
DIMENSION = 384
STORY_SIZE = 40
TOPIC_SIZE = 2000
SECTIONS = ("world", "politics", "business", "sport", "science", "culture", "tech", "health")
K = 10
APPROXIMATE = ("hnsw", "ivf")
TITLE = "Scale: exact and approximate indexes to 1M articles; live updates"


# ---------------------------------------------------------------------- synthetic corpus
def synthetic_vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, story of each article, topic of each story)."""
    rng = np.random.default_rng(seed)
    topics, stories = max(1, n // TOPIC_SIZE), max(1, n // STORY_SIZE)
    topic_centres = rng.standard_normal((topics, DIMENSION)).astype(np.float32)
    topic_centres /= np.linalg.norm(topic_centres, axis=1, keepdims=True)
    story_centres = rng.standard_normal((stories, DIMENSION)).astype(np.float32)
    story_centres /= np.linalg.norm(story_centres, axis=1, keepdims=True)
    story_topic = rng.integers(0, topics, stories)
    spectrum = np.arange(1, DIMENSION + 1, dtype=np.float32) ** -0.7
    spectrum *= 1.5 / np.linalg.norm(spectrum)
    story = rng.integers(0, stories, n)
    vectors = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):
        s = story[start : start + 100_000]
        x = rng.standard_normal((len(s), DIMENSION)).astype(np.float32) * spectrum
        x += topic_centres[story_topic[s]]
        x += 0.8 * story_centres[s]
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        vectors[start : start + 100_000] = x
    return vectors, story, story_topic


def synthetic_corpus(n: int) -> tuple[list[Any], np.ndarray]:
    from recommender.articles import Article

    vectors, story, story_topic = synthetic_vectors(n)
    rng = np.random.default_rng(1)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = np.array(["".join(rng.choice(letters, 7)) for _ in range(30_000)])
    topic_words = rng.integers(0, len(vocabulary), (int(story_topic.max()) + 1, 16))
    picks = rng.integers(0, 16, (n, 14))
    start = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    stamps = start + rng.integers(0, 5 * 365 * 86400, n)
    articles = []
    for i in range(n):
        topic = int(story_topic[story[i]])
        words = vocabulary[topic_words[topic][picks[i]]]
        articles.append(
            Article(
                id=f"s{i:07d}",
                title=f"{' '.join(words[:5]).capitalize()} {i}",
                body=" ".join(words[5:]).capitalize() + ".",
                published_at=dt.datetime.fromtimestamp(float(stamps[i]), tz=dt.timezone.utc),
                category=SECTIONS[topic % len(SECTIONS)],
                tags=(f"story-{story[i]}",),
                language="en",
            )
        )
    return articles, vectors


def folder(n: int) -> Path:
    return WORK / f"scale-{n}" / "index"


# ---------------------------------------------------------------------- child processes
def _built(report: Any, seconds: float) -> dict[str, Any]:
    from recommender.storage.versions import folder_size

    path = report.version_path
    return {
        "seconds": round(seconds, 1),
        "timings": report.timings,
        "index": report.index,
        "disk_mb": round(folder_size(path) / 1e6, 1),
        "index_file_mb": round((path / "index.faiss").stat().st_size / 1e6, 1),
    }


def child_build(n: int) -> dict[str, Any]:
    """Generate the corpus and build its exact index with ``Engine.build``."""
    from recommender.engine import Engine
    from recommender.text import article_text

    started = time.perf_counter()
    articles, vectors = synthetic_corpus(n)
    encoder = PrecomputedEncoder(
        {article_text(a): v for a, v in zip(articles, vectors, strict=True)}
    )
    generate_s = time.perf_counter() - started
    t = time.perf_counter()
    report = Engine.build(
        articles, folder(n), encoder=encoder, cache=False, index_type="flat-ip", precompute=False
    )
    return {**_built(report, time.perf_counter() - t), "generate_s": round(generate_s, 1)}


def child_reindex(n: int, kind: str) -> dict[str, Any]:
    """The same index as another type (``Engine.reindex``: the vectors are reused)."""
    from recommender.engine import Engine

    t = time.perf_counter()
    report = Engine.reindex(folder(n), index_type=kind)
    return _built(report, time.perf_counter() - t)


def child_measure(n: int, queries: int, seed: int = 5) -> dict[str, Any]:
    """Load one index in this fresh process; RSS, load time, latency, neighbours and lists."""
    import faiss
    import psutil
    from threadpoolctl import threadpool_limits

    from recommender.engine import Engine

    threadpool_limits(1)
    faiss.omp_set_num_threads(1)
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    t = time.perf_counter()
    engine = Engine.load(folder(n))
    load_s = time.perf_counter() - t
    gc.collect()
    rss_loaded = process.memory_info().rss
    rng = np.random.default_rng(seed)
    picks = rng.choice(n, size=min(queries, n), replace=False)
    all_ids = engine.ids()
    ids = [all_ids[i] for i in picks]
    for aid in ids[:20]:  # warm-up: first touches of the memory-mapped pages
        engine.related(aid, k=K)
    seconds, cpu, lists = [], [], []
    for aid in ids:
        t, c = time.perf_counter(), time.thread_time()
        results = engine.related(aid, k=K)
        seconds.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)  # this thread's CPU: the work, without waiting
        lists.append([r.id for r in results])
    raw_s = []
    neighbours = []
    for aid in ids:
        vector = engine.vectors([aid])
        t = time.perf_counter()
        found = engine.nearest(vector, K + 1)[0]
        raw_s.append(time.perf_counter() - t)
        neighbours.append([other for other, _ in found if other != aid][:K])
    ms = np.array(seconds) * 1000
    raw_ms = np.array(raw_s) * 1000
    return {
        "load_s": round(load_s, 2),
        "rss_before_load_mb": round(rss_before / 1e6),
        "rss_loaded_mb": round(rss_loaded / 1e6),
        "rss_after_queries_mb": round(process.memory_info().rss / 1e6),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "cpu_p50_ms": round(float(np.percentile(np.array(cpu) * 1000, 50)), 2),
        "cpu_p99_ms": round(float(np.percentile(np.array(cpu) * 1000, 99)), 2),
        "raw_p50_ms": round(float(np.percentile(raw_ms, 50)), 3),
        "raw_p99_ms": round(float(np.percentile(raw_ms, 99)), 3),
        "queries": len(ids),
        "ids": ids,
        "lists": lists,
        "neighbours": neighbours,
    }


def child_profile(n: int, queries: int = 200) -> str:
    """Where the time of related() goes (cProfile, cumulative, top entries)."""
    import cProfile
    import io
    import pstats

    import faiss
    from threadpoolctl import threadpool_limits

    from recommender.engine import Engine

    threadpool_limits(1)
    faiss.omp_set_num_threads(1)
    engine = Engine.load(folder(n))
    all_ids = engine.ids()
    ids = [all_ids[i] for i in np.random.default_rng(9).choice(n, size=queries, replace=False)]
    for aid in ids[:20]:
        engine.related(aid, k=K)
    profile = cProfile.Profile()
    profile.enable()
    for aid in ids:
        engine.related(aid, k=K)
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(12)
    return text.getvalue()


def run_child(*args: str) -> Any:
    """Run this script as a fresh process; it prints one JSON line last."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        text=True,
        capture_output=True,
        cwd=HERE.parent,
    )
    sys.stdout.write("".join(f"    {line}\n" for line in proc.stdout.splitlines()[:-1]))
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {args} failed ({proc.returncode})")
    return json.loads(proc.stdout.splitlines()[-1])


# ---------------------------------------------------------------------- real model
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def model_corpus(limit: int) -> list[Any]:
    from recommender.articles import Article
    from recommender.demo import demo_articles_path
    from recommender.evaluation.lee import load_lee
    from recommender.loaders import load_articles
    from recommender.text import article_text

    articles: list[Any] = list(load_articles([demo_articles_path()]))
    for size, stride in ((3, 1), (2, 2)):
        for d, doc in enumerate(load_lee().background):
            sentences = _SENTENCE.split(doc)
            for w in range(0, max(1, len(sentences) - size + 1), stride):
                window = sentences[w : w + size]
                articles.append(
                    Article(
                        id=f"lee-{size}-{d:03d}-{w:02d}",
                        title=window[0].rstrip("."),
                        body=" ".join(window[1:]),
                    )
                )
    seen: set[str] = set()
    unique = []
    for a in articles:
        text = article_text(a)
        if text not in seen:
            seen.add(text)
            unique.append(a)
    return unique[:limit]


def model_updates(limit: int) -> dict[str, Any]:
    from recommender.articles import Article
    from recommender.encoder import SentenceTransformerEncoder
    from recommender.engine import Engine

    articles = model_corpus(limit)
    encoder = SentenceTransformerEncoder(None)
    encoder.encode(["warm-up text for the model"] * 32)
    path = WORK / "model" / "news"
    shutil.rmtree(path.parent, ignore_errors=True)
    t = time.perf_counter()
    first = Engine.build(articles, path, encoder=encoder, cache=False, precompute=False)
    first_s = time.perf_counter() - t
    rng = np.random.default_rng(3)
    picks = rng.choice(len(articles), size=max(1, round(0.01 * len(articles))), replace=False)
    edited = list(articles)
    for i in picks:
        edited[i] = Article(
            **{**articles[i].__dict__, "body": articles[i].body + " (Updated with new details.)"}
        )
    t = time.perf_counter()
    update = Engine.upsert([edited[i] for i in picks], path, encoder=encoder, cache=False)
    upsert_s = time.perf_counter() - t
    t = time.perf_counter()
    rebuild = Engine.build(
        edited, WORK / "model" / "rebuilt", encoder=encoder, cache=False, precompute=False
    )
    rebuild_s = time.perf_counter() - t
    upserted = Engine.load(path, encoder=encoder)
    rebuilt = Engine.load(WORK / "model" / "rebuilt", encoder=encoder)
    same = sum(
        [r.id for r in upserted.related(a.id, k=K)] == [r.id for r in rebuilt.related(a.id, k=K)]
        for a in edited[:300]
    )
    shutil.rmtree(path.parent, ignore_errors=True)
    return {
        "articles": len(articles),
        "changed": len(picks),
        "model": encoder.name,
        "first_build_s": round(first_s, 2),
        "first_embedded": first.embedded,
        "upsert_s": round(upsert_s, 2),
        "upsert_embedded": update.embedded,
        "upsert_timings": update.timings,
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_embedded": rebuild.embedded,
        "rebuild_timings": rebuild.timings,
        "upsert_vs_rebuild": round(upsert_s / rebuild_s, 4),
        "same_lists_of_300": int(same),
    }


# ---------------------------------------------------------------------- the run
def recall(found: list[list[Any]], truth: list[list[Any]]) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / max(1, len(t)) for f, t in zip(found, truth, strict=True)])
    )


def run_in_child(command: str, *rest: str) -> Any:
    """One measurement in this (fresh) process, as asked for by :func:`run_child`."""
    if command == "build":
        return child_build(int(rest[0]))
    if command == "reindex":
        return child_reindex(int(rest[0]), rest[1])
    if command == "measure":
        return child_measure(int(rest[0]), int(rest[1]))
    if command == "profile":
        return child_profile(int(rest[0]))
    return model_updates(int(rest[0]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--types", nargs="+", default=["flat-ip", *APPROXIMATE])
    parser.add_argument("--model-articles", type=int, default=3000)
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument(
        "--profile", default="hnsw", help="Index type to profile at the largest size (empty: none)."
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Print the figures; write no results (for trying the script).",
    )
    parser.add_argument(
        "--from-log",
        action="store_true",
        help="Only rewrite the fragment and plot from the last scale line of "
        "results.jsonl (no measuring).",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.from_log:
        from common import LOG

        last = [json.loads(x) for x in LOG.read_text().splitlines() if '"scale"' in x][-1]
        plot(last["figures"], RESULTS / "scale.png")
        write_fragment("scale", TITLE, fragment(last["figures"]), last["machine"], last)
        finish()
        return
    if args.child:
        print(json.dumps(run_in_child(*args.child)))
        return

    started = time.perf_counter()
    info = machine()
    print("machine:", info, flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"sizes": {}, "queries": args.queries, "k": K, "threads_per_query": 1}
    profile_text = ""
    kinds = ["flat-ip", *[t for t in args.types if t != "flat-ip"]]  # exact first: the truth
    for n in args.sizes:
        print(f"{n:,} articles", flush=True)
        row: dict[str, Any] = {}
        exact: dict[str, Any] | None = None
        for kind in kinds:
            if kind == "flat-ip":
                built = run_child("build", str(n))
                row["generate_s"] = built.pop("generate_s")
            else:
                built = run_child("reindex", str(n), kind)
            measured = run_child("measure", str(n), str(args.queries))
            entry = {
                **built,
                **{k: v for k, v in measured.items() if k not in ("ids", "lists", "neighbours")},
            }
            if kind == "flat-ip":
                exact = measured
            elif exact is not None:
                entry["recall_raw_at_10"] = round(
                    recall(measured["neighbours"], exact["neighbours"]), 4
                )
                entry["recall_lists_at_10"] = round(recall(measured["lists"], exact["lists"]), 4)
            row[kind] = entry
            print(
                f"  {kind}: "
                + ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("index",)),
                flush=True,
            )
            if kind == args.profile and n == max(args.sizes):
                profile_text = run_child("profile", str(n))
        figures["sizes"][str(n)] = row
        shutil.rmtree(WORK / f"scale-{n}", ignore_errors=True)
    if not args.skip_model:
        print(
            f"real model: {args.model_articles} articles, upsert of 1% against a rebuild",
            flush=True,
        )
        figures["model"] = run_child("model", str(args.model_articles))
        print("  ", figures["model"], flush=True)
    figures["profile"] = profile_text
    figures["profile_type"] = args.profile
    figures["total_s"] = round(time.perf_counter() - started, 1)
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.dry_run:
        print(fragment(figures))
        return
    line = record("scale", info, figures)
    plot(figures, RESULTS / "scale.png")
    write_fragment("scale", TITLE, fragment(figures), info, line)
    finish()


def fragment(f: dict[str, Any]) -> str:
    rows = []
    for n, row in f["sizes"].items():
        for kind, e in row.items():
            if not isinstance(e, dict):
                continue
            build = (
                f"{e['seconds']:.1f} (`Engine.build`)"
                if kind == "flat-ip"
                else f"{e['seconds']:.1f} (`reindex`)"
            )
            rows.append(
                [
                    f"{int(n):,}",
                    kind,
                    build,
                    fmt(e["timings"].get("index_s"), 1),
                    fmt(e["disk_mb"], 0),
                    fmt(e["rss_loaded_mb"], 0),
                    fmt(e["rss_after_queries_mb"], 0),
                    fmt(e["load_s"], 1),
                    fmt(e["p50_ms"], 2),
                    fmt(e["p99_ms"], 2),
                    fmt(e["cpu_p99_ms"], 2),
                    fmt(e["raw_p50_ms"], 3),
                    fmt(e.get("recall_raw_at_10"), 3) if kind != "flat-ip" else "1 (exact)",
                    fmt(e.get("recall_lists_at_10"), 3) if kind != "flat-ip" else "1 (exact)",
                ]
            )
    params = {}
    for row in f["sizes"].values():
        for kind, e in row.items():
            if isinstance(e, dict) and kind != "flat-ip":
                params[kind] = e["index"]["params"]
    table = md_table(
        [
            "articles",
            "index",
            "build s",
            "of which vector index s",
            "disk MB",
            "RSS loaded MB",
            "RSS after queries MB",
            "load s",
            "related p50 ms",
            "related p99 ms",
            "related p99 CPU ms",
            "raw search p50 ms",
            "recall@10 raw",
            "recall@10 lists",
        ],
        rows,
    )
    largest = max(f["sizes"], key=int)
    big = f["sizes"][largest]
    verdicts = []
    for kind in APPROXIMATE:
        e = big.get(kind)
        if e:
            met = e["p99_ms"] < 10 and e.get("recall_raw_at_10", 0) >= 0.95
            verdicts.append(
                f"{kind}: p99 {e['p99_ms']:.2f} ms, recall@10 "
                f"{e.get('recall_raw_at_10', float('nan')):.3f} raw / "
                f"{e.get('recall_lists_at_10', float('nan')):.3f} lists: "
                f"{'met' if met else 'missed'}"
            )
    text = f"""
**Synthetic vectors stand in for embeddings** (see the script's docstring: clustered unit vectors,
dimension 384, nearest-neighbour cosine about 0.75; pseudo-word texts, 8 sections, dates over
five years). The index folders are real ones written by `Engine.build` (build times exclude the
model). Build column: the exact index is written by `Engine.build` (text recipe, hashing,
lexical fit, FAISS, SQLite store, checksums, switch); each approximate one by `Engine.reindex`
from it (load, vector index from the same vectors, copy of store and lexical statistics,
checksums, switch), so a full `Engine.build` of that type costs the exact build's time minus
its vector index plus the approximate vector index. `related()` is
`Engine.related(id, k={f["k"]})` at the default settings, ranking layer
included, {f["queries"]} random source articles, one at a time, one thread (FAISS and BLAS), after
20 warm-up calls; "p99 CPU" is the 99th percentile of the calling thread's CPU time per call
(the work itself: the wall-clock figures also hold waits for the CPU on this shared machine);
"raw search" is the vector index's own `search(k=11)`. Recall@10 of an
approximate index is measured against the exact index of the same corpus: on the raw
neighbours, and on the final related lists. RSS: psutil in a fresh process per index (the
process has Python, numpy, FAISS and the engine imported at about {_rss_before(f)} MB before
loading). Vectors are memory-mapped, so their pages count in RSS once
touched (an HNSW search visits nodes all over the file, so after 1,000 searches most of it
is resident: page cache shared with other readers, not private memory). Index parameters:
{json.dumps(params)}.

{table}

**Aim at {int(largest):,} articles (p99 < 10 ms with recall@10 >= 0.95):** {"; ".join(verdicts)}.
{_exact_cost(f)}
"""
    if f.get("profile"):
        text += f"""
Where the time of `related()` goes at {int(largest):,} articles ({f["profile_type"]};
cProfile of 200 calls, sorted by own time, top entries):

```
{_trim_profile(f["profile"])}
```
"""
    m = f.get("model")
    if m:
        t = m["upsert_timings"]
        text += f"""
**Live updates with the real model** ({m["model"]}, {m["articles"]} articles: 3- and 2-sentence
windows of `lee_background.cor` plus the 100 demo articles). Embedding cache off throughout.

{
            md_table(
                ["run", "seconds", "texts embedded"],
                [
                    ["full build", fmt(m["first_build_s"], 1), m["first_embedded"]],
                    [
                        f"`upsert` of {m['changed']} changed articles (1%)",
                        fmt(m["upsert_s"], 2),
                        m["upsert_embedded"],
                    ],
                    [
                        "full rebuild of the same edited corpus",
                        fmt(m["rebuild_s"], 1),
                        m["rebuild_embedded"],
                    ],
                ],
            )
        }

**Upsert: {m["upsert_vs_rebuild"]:.1%} of the rebuild's time.** Its stages: load and verify the
current version {t.get("load_s", 0):.2f} s, embed {t.get("embed_s", 0):.2f} s, vector index
{t.get("index_s", 0):.2f} s, lexical refit on the whole corpus {t.get("lexical_s", 0):.2f} s,
write + checksums + switch {t.get("write_s", 0):.2f} s (the rebuild's lexical fit:
{m["rebuild_timings"].get("lexical_s", 0):.2f} s). The upserted and the rebuilt index gave the
same related lists for {m["same_lists_of_300"]} of 300 articles.
"""
    flat = big.get("flat-ip")
    if flat and m:
        rate = m["rebuild_embedded"] / m["rebuild_timings"]["embed_s"]
        text += f"""
Every write refits the lexical statistics on the whole corpus: {flat["timings"]["lexical_s"]:.0f} s
of the {flat["seconds"]:.0f} s exact build at {int(largest):,} articles, so an upsert at that size
costs at least that (plus load and write), where re-embedding the corpus at the model's
{rate:.0f} texts/s here would take {int(largest) / rate / 3600:.1f} h.
"""
    text += f"\nWhole run: {f['total_s'] / 60:.1f} min.\n"
    return text


def _rss_before(f: dict[str, Any]) -> str:
    values = [
        e["rss_before_load_mb"]
        for row in f["sizes"].values()
        for e in row.values()
        if isinstance(e, dict)
    ]
    if not values:
        return "?"
    return str(min(values)) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _exact_cost(f: dict[str, Any]) -> str:
    """Raw exact-search cost per 1,000 articles, from the largest size measured."""
    sizes = [n for n in f["sizes"] if "flat-ip" in f["sizes"][n]]
    if not sizes:
        return ""
    n = max(sizes, key=int)
    per_k = f["sizes"][n]["flat-ip"]["raw_p50_ms"] / (int(n) / 1000)
    return (
        f"Exact search reads every vector: {per_k:.3f} ms per 1,000 articles here (raw p50 at "
        f"{int(n):,}), so `auto` (the default) keeps exact search up to 50,000 articles "
        "(about 5 ms of the 10 ms budget) and switches to HNSW above."
    )


def _trim_profile(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    keep = [line for line in lines if "ncalls" in line or re.match(r"^\s*\d", line)]
    return "\n".join(keep[:14])


def plot(f: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    sizes = sorted(f["sizes"], key=int)
    kinds = sorted({k for n in sizes for k, e in f["sizes"][n].items() if isinstance(e, dict)})
    colours = {"flat-ip": "#555", "hnsw": "#2a7", "ivf": "#36c"}
    for kind in kinds:
        xs = [int(n) for n in sizes if kind in f["sizes"][n]]
        colour = colours.get(kind)
        left.plot(
            xs,
            [f["sizes"][str(x)][kind]["p99_ms"] for x in xs],
            marker="o",
            color=colour,
            label=f"{kind} p99",
        )
        left.plot(
            xs,
            [f["sizes"][str(x)][kind]["p50_ms"] for x in xs],
            marker=".",
            color=colour,
            linestyle="--",
            label=f"{kind} p50",
        )
        right.plot(
            xs,
            [f["sizes"][str(x)][kind]["rss_loaded_mb"] for x in xs],
            marker="o",
            color=colour,
            label=f"{kind}, loaded",
        )
        right.plot(
            xs,
            [f["sizes"][str(x)][kind]["rss_after_queries_mb"] for x in xs],
            marker=".",
            color=colour,
            linestyle="--",
            label=f"{kind}, after queries",
        )
    left.axhline(10, color="#c44", linewidth=0.8, linestyle=":", label="10 ms aim")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("articles (synthetic vectors, 384 dims)")
        ax.legend(fontsize=7)
    left.set_yscale("log")
    left.set_ylabel("related() ms, k=10, one thread")
    right.set_ylabel("RSS of the querying process, MB")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()

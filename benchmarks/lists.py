"""Precomputed read-more lists: what writes cost, incremental against a full recompute.

    .venv/bin/python benchmarks/lists.py                                 # 10,000 articles
    .venv/bin/python benchmarks/lists.py --articles 3000 --publishes 0   # quicker

One process, one index (query.py's synthetic articles: pseudo-word texts, clustered 384-d
vectors; exact flat index; ranking defaults), side by side:

1. build: every list ranked and stored (full);
2. writes that keep the fitted corpus statistics, so each updates the lists incrementally: a
   text upsert of 1 article (new text and vector), a text upsert of 10 (5 changed, 5 new, with
   words no indexed text has), a metadata upsert of 1, a remove of 1;
3. after each text upsert, the full recompute of the same version's lists (every list ranked
   again into a scratch folder, as a build or refit does), and whether the incremental lists
   equal it byte for byte (``lists.bin``, ``lists-index.npy``, ``lists-floor.npy``);
4. ``--publishes N``: publish-to-visible through a real ``recommender serve`` (ingest.py's
   measurement: ``PUT /articles/{id}`` of a new article, embedded by the packaged model, until
   ``GET /related/{id}`` answers 200), the server-side stages included.

Writes benchmarks/results/lists.md, appends to benchmarks/results.jsonl, regenerates RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import numpy as np
from common import PrecomputedEncoder
from query import synthetic_corpus

from recommender import precomputed
from recommender.encoder import resolve_model
from recommender.engine import Engine
from recommender.storage.versions import resolve_version
from recommender.text import article_text

LIST_FILES = (precomputed.LISTS_FILE, precomputed.LISTS_INDEX, precomputed.LISTS_FLOOR)


def lists_of(index: Path) -> dict[str, Any]:
    return dict(json.loads((index / "manifest.json").read_text())["lists"])


def full_recompute(index: Path, encoder: PrecomputedEncoder, scratch: Path) -> dict[str, Any]:
    """Every list of the current version ranked again; equal to the stored ones?"""
    scratch.mkdir()
    engine = Engine.load(index, encoder=encoder)
    try:
        report = precomputed.write_lists(scratch, engine)
    finally:
        engine.close()
    folder = resolve_version(index)
    same = {
        name: (folder / name).read_bytes() == (scratch / name).read_bytes() for name in LIST_FILES
    }
    return {**report.to_dict(), "identical": same}


def write(step: str, figures: dict[str, Any], index: Path, started: float, report: Any) -> None:
    figures[step] = {
        "lists": lists_of(index),
        "write_s": round(time.perf_counter() - started, 3),
        "timings": report.timings,
    }
    print(step, figures[step], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=5, help="0: skip publish-to-visible")
    args = parser.parse_args()
    info = common.machine()
    articles, vectors = synthetic_corpus(args.articles)
    encoder = PrecomputedEncoder(
        {article_text(a): v for a, v in zip(articles, vectors, strict=True)}
    )
    encoder.name = resolve_model(None)[0]  # the packaged model's name: the server embeds with it
    rng = np.random.default_rng(5)

    def edited(i: int, words: str) -> Any:
        """Article ``i`` with a new text and the vector of another story (a real rewrite)."""
        article = dataclasses.replace(articles[i], body=f"{articles[i].body} {words}")
        other = vectors[int(rng.integers(0, len(articles)))]
        encoder.by_text[article_text(article)] = other
        return article

    def fresh(i: int) -> Any:
        source = articles[int(rng.integers(0, len(articles)))]
        article = dataclasses.replace(
            source,
            id=f"new-{i}",
            title=f"Follow-up {i}: {source.title}",
            body=f"{source.body} zqx{i}",
        )
        encoder.by_text[article_text(article)] = vectors[int(rng.integers(0, len(articles)))]
        return article

    figures: dict[str, Any] = {"articles": args.articles}
    with tempfile.TemporaryDirectory(prefix="bench-lists-") as tmp:
        work = Path(tmp)
        index = work / "indexes" / "syn"
        started = time.perf_counter()
        Engine.build(articles, index, encoder=encoder, cache=False, index_type="flat-ip")
        figures["build_s"] = round(time.perf_counter() - started, 2)
        figures["build_lists"] = lists_of(index)
        print("build", figures["build_lists"], flush=True)

        picks = rng.choice(len(articles), 12, replace=False).tolist()
        started = time.perf_counter()
        report = Engine.upsert([edited(picks[0], "an added paragraph")], index, encoder=encoder)
        write("text_upsert_1", figures, index, started, report)
        figures["text_upsert_1"]["full"] = full_recompute(index, encoder, work / "full-1")
        print("  full", figures["text_upsert_1"]["full"], flush=True)

        ten = [edited(i, "a correction") for i in picks[1:6]] + [fresh(i) for i in range(5)]
        started = time.perf_counter()
        report = Engine.upsert(ten, index, encoder=encoder)
        write("text_upsert_10", figures, index, started, report)
        figures["text_upsert_10"]["full"] = full_recompute(index, encoder, work / "full-10")
        print("  full", figures["text_upsert_10"]["full"], flush=True)

        moved = dataclasses.replace(articles[picks[6]], category="moved")
        started = time.perf_counter()
        report = Engine.upsert([moved], index, encoder=encoder)
        write("metadata_upsert_1", figures, index, started, report)
        started = time.perf_counter()
        report = Engine.remove([articles[picks[7]].id], index)
        write("remove_1", figures, index, started, report)
        figures["statistics"] = json.loads((index / "manifest.json").read_text())["statistics"]

        if args.publishes:
            from ingest import publish_latency

            figures["publish"] = publish_latency(index, work, args.publishes)
            print("publish", figures["publish"], flush=True)
    figures["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    line = common.record("lists", info, figures)
    path = common.write_fragment("lists", "Precomputed lists", fragment(figures), info, line)
    print(f"wrote {path}")
    common.finish()


def fragment(f: dict[str, Any]) -> str:
    n = f["articles"]
    b = f["build_lists"]
    rows = [
        ["build (every list)", b["mode"], b["computed"], b["reused"], f"{b['seconds']:.1f}", ""]
    ]
    labels = {
        "text_upsert_1": "text upsert, 1 article",
        "text_upsert_10": "text upsert, 10 articles (5 changed, 5 new)",
        "metadata_upsert_1": "metadata upsert, 1 article",
        "remove_1": "remove, 1 article",
    }
    for step, label in labels.items():
        lists = f[step]["lists"]
        rows.append(
            [
                label,
                lists["mode"],
                lists["computed"],
                lists["reused"],
                f"{lists['seconds']:.2f}",
                f"{f[step]['write_s']:.2f}",
            ]
        )
        if "full" in f[step]:
            full = f[step]["full"]
            same = (
                "identical" if all(full["identical"].values()) else f"DIFFERENT {full['identical']}"
            )
            rows.append(
                [f"  the same version, full recompute ({same})", full["mode"], full["computed"], 0,
                 f"{full['seconds']:.1f}", ""]
            )  # fmt: skip
    table = common.md_table(
        ["write", "lists mode", "lists ranked", "lists reused", "lists s", "write s"],
        rows,
        "llrrrr",
    )
    one, ten = f["text_upsert_1"], f["text_upsert_10"]
    ratio1 = one["full"]["seconds"] / one["lists"]["seconds"]
    ratio10 = ten["full"]["seconds"] / ten["lists"]["seconds"]
    publish = ""
    if "publish" in f:
        p = f["publish"]
        stages = ", ".join(f"{k} {v:.3f}" for k, v in p["server_stages_p50_s"].items())
        publish = f"""
**Publish to visible** through `recommender serve` (ingest.py's measurement on this index, the
packaged model embedding each new article): `PUT /articles/{{id}}` answered in
{p["put_p50_s"]:.2f} s p50 (max {p["put_max_s"]:.2f}), visible in `GET /related/{{id}}` after
{p["visible_p50_s"]:.2f} s p50 (max {p["visible_max_s"]:.2f}); server-side stages (median, s):
{stages}. Reads meanwhile: {p["reads_ok"]} answered, {p["reads_failed"]} failed.
"""
    return f"""{n:,} synthetic articles (query.py's pseudo-word texts and clustered vectors), exact
flat index, ranking defaults; one process, one BLAS thread while ranking lists. "lists s": the
time spent ranking and storing lists inside the write (the manifest's `lists` field); "write s":
the whole `Engine.upsert`/`remove` call. The corpus statistics stay as fitted at the build
(lexical idf, tag idf; new terms get the idf of a one-document term), so every write below
carries the lists over and ranks only those it can change; each full recompute ranks every list
of the same version again, and its files are compared with the incremental ones.

{table}

**A text upsert of 1 article: {ratio1:.0f}x faster lists than a full recompute**
({one["lists"]["computed"]:,} of {n:,} lists ranked: {one["lists"]["seconds"]:.2f} s against
{one["full"]["seconds"]:.1f} s); **of 10 articles: {ratio10:.0f}x**
({ten["lists"]["computed"]:,} lists, {ten["lists"]["seconds"]:.2f} s). Each written vector (a
changed article's old and new one) reaches about `candidate_pool` lists (those that retrieve
it), so the lists ranked grow with the write, until the statistics are refitted
(`refit_drift`, 20% of the fitted corpus written by default; statistics after these writes:
{f["statistics"]["written"]} written since the fit of {f["statistics"]["articles"]:,}).
{publish}
Load average at the end: {", ".join(map(str, f["load_average_end"]))} (2 shared cores).
"""


if __name__ == "__main__":
    main()

"""Ray on this machine, side by side in one run: build throughput with the real model, local
against a local Ray (fixed cost and steady state apart), and ranking every article's list
(``related_many``) locally against Ray workers.

    .venv/bin/python benchmarks/ray_build.py                  # 2,500 articles, about 8 minutes
    .venv/bin/python benchmarks/ray_build.py --articles 600   # quicker

Articles: build.py's corpus (Lee background windows + the demo). Each build is a full
``Engine.build`` with the embedding cache off and no precomputed lists (this measures the
embedding stage), in this order: local (the model loaded in this process beforehand, as a long
build amortizes it); ``ray.init`` alone; then for each Ray layout (one actor holding both CPUs
with 2 torch threads; one 1-CPU actor per CPU with 1 thread) a tiny job of 8 texts, which
measures that layout's fixed cost per job (actors start and load the model, Ray Data
schedules), then the full build. Steady-state throughput = articles / (build s - fixed s).
Ranking: every article's top-10 list of the locally built index (ranked live), by
``Engine.related_many`` here, then by ``RayRanker`` (one 1-CPU actor per CPU, each opening the
index from its path); the two must be identical. Needs the ``ray`` and ``eval`` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from build import corpus

from recommender.distributed import RayEncoder, RayRanker
from recommender.encoder import LazyEncoder
from recommender.engine import Engine
from recommender.text import article_text

LAYOUTS = ((1, 2), (2, 1))  # (actors, CPUs and torch threads per actor) on 2 cores


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed_build(articles: list, path: Path, encoder: Any) -> float:
    started = time.perf_counter()
    report = Engine.build(articles, path, encoder=encoder, cache=False, precompute=False)
    assert report.embedded == len(articles)
    return time.perf_counter() - started


def builds(articles: list, work: Path, f: dict) -> None:
    n = len(articles)
    started = time.perf_counter()
    local = LazyEncoder(None)
    local.encode(["warm-up"])
    f["local_model_load_s"] = round(time.perf_counter() - started, 1)
    seconds = timed_build(articles, work / "local", local)
    f["runs"].append({"mode": "local", "workers": 1, "cpus_per_worker": 2, "seconds": seconds})
    print(f["runs"][-1], load(), flush=True)
    ray_encoder = RayEncoder(None)
    started = time.perf_counter()
    ray_encoder._start()
    f["ray_init_s"] = round(time.perf_counter() - started, 1)
    tiny = [article_text(a) for a in articles[:8]]
    for actors, cpus in LAYOUTS:
        ray_encoder.workers, ray_encoder.cpus_per_worker = actors, cpus
        started = time.perf_counter()
        ray_encoder.encode(tiny)
        fixed = time.perf_counter() - started
        ray_encoder.busy_seconds = 0.0
        seconds = timed_build(articles, work / f"ray-{actors}x{cpus}", ray_encoder)
        run = {"mode": "ray", "workers": actors, "cpus_per_worker": cpus, "seconds": seconds}
        run["fixed_s"] = fixed
        run["steady_rate"] = n / max(seconds - fixed, 1e-9)
        run["actor_busy_s"] = ray_encoder.busy_seconds  # summed over actors
        run["per_actor_rate"] = n / ray_encoder.busy_seconds
        f["runs"].append(run)
        print(run, load(), flush=True)
    # local again, last: the machine's load drifts, and the two local runs bracket the Ray runs
    seconds = timed_build(articles, work / "local-again", local)
    f["runs"].append(
        {"mode": "local again", "workers": 1, "cpus_per_worker": 2, "seconds": seconds}
    )
    print(f["runs"][-1], load(), flush=True)
    for run in f["runs"]:
        run["rate"] = n / run["seconds"]


def ranking(index: Path, f: dict, k: int = 10) -> None:
    now = time.time()
    with Engine.load(index) as engine:
        started = time.perf_counter()
        local = list(engine.related_many(None, k, now=now))
        local_s = time.perf_counter() - started
        ranker = RayRanker(workers=os.cpu_count() or 1)
        started = time.perf_counter()
        lists = ranker.related_many(engine, None, k, now=now)
        remote = [next(lists)]
        first_s = time.perf_counter() - started
        remote += list(lists)
        ray_s = time.perf_counter() - started
        assert remote == local, "Ray's lists differ from the local ones"
        started = time.perf_counter()
        again = list(engine.related_many(None, k, now=now))
        again_s = time.perf_counter() - started
        assert again == local
    f["ranking"] = {
        "k": k,
        "lists": len(local),
        "local_s": local_s,
        "local_again_s": again_s,
        "ray_workers": ranker.workers,
        "ray_s": ray_s,
        "ray_first_task_s": first_s,
        "identical": True,
    }
    print(f["ranking"], load(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2500)
    parser.add_argument(
        "--render", action="store_true", help="Rewrite the section from the last logged run."
    )
    args = parser.parse_args()
    if args.render:
        lines = [json.loads(x) for x in common.LOG.read_text().splitlines() if x.strip()]
        line = [x for x in lines if x["benchmark"] == "ray_build"][-1]
        body = fragment(line["figures"], line["machine"])
        print(common.write_fragment("ray_build", "Build on Ray", body, line["machine"], line))
        common.finish()
        return
    info = common.machine()
    articles = corpus(args.articles)
    f: dict = {"articles": len(articles), "cpus": os.cpu_count() or 1, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        builds(articles, Path(tmp), f)
        ranking(Path(tmp) / "local", f)
    f["load_average_end"] = load()
    f = round_floats(f)
    line = common.record("ray_build", info, f)
    path = common.write_fragment("ray_build", "Build on Ray", fragment(f, info), info, line)
    print(f"wrote {path}")
    common.finish()


def round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [round_floats(v) for v in value]
    return value


def fragment(f: dict, info: dict) -> str:
    locals_ = [r for r in f["runs"] if r["mode"] != "ray"]
    local = {"rate": sum(r["rate"] for r in locals_) / len(locals_)}
    rays = [r for r in f["runs"] if r["mode"] == "ray"]
    rows = [
        [
            r["mode"],
            f"{r['workers']} x {r['cpus_per_worker']} CPU",
            f"{r['seconds']:.1f}",
            f"{r['rate']:.1f}",
            f"{r['rate'] / local['rate']:.2f}x",
            f"{r['fixed_s']:.1f}" if "fixed_s" in r else "",
            f"{r['steady_rate']:.1f}" if "steady_rate" in r else f"{r['rate']:.1f}",
            f"{r.get('steady_rate', r['rate']) / local['rate']:.2f}x",
        ]
        for r in f["runs"]
    ]
    table = common.md_table(
        [
            "embedding",
            "actors",
            "build s",
            "articles/s",
            "vs local",
            "fixed s",
            "steady articles/s",
            "steady vs local",
        ],
        rows,
        "llrrrrrr",
    )
    best = max(rays, key=lambda r: r["rate"])
    per_cpu = next(r for r in rays if r["cpus_per_worker"] == 1)
    per_worker = per_cpu["per_actor_rate"]
    projections = []
    for total in (1_000_000, 10_000_000):
        cells = [f"{total:,}"]
        for workers in (8, 32, 128):
            hours = total / (per_worker * workers) / 3600
            cells.append(f"{hours:.1f} h")
        projections.append(cells)
    projection = common.md_table(
        ["articles", "8 workers", "32 workers", "128 workers"], projections, "lrrr"
    )
    layouts = "; ".join(
        f"{r['per_actor_rate']:.1f} articles/s per {r['cpus_per_worker']}-CPU actor"
        f" ({r['workers']} x, {r['actor_busy_s']:.0f} actor-seconds)"
        for r in rays
    )
    r = f["ranking"]
    rank_ratio = (r["local_s"] + r["local_again_s"]) / 2 / r["ray_s"]
    return f"""{f["articles"]:,} articles (build.py's corpus), the packaged all-MiniLM-L6-v2 on CPU,
full `Engine.build` with the embedding cache off and no precomputed lists. Local first (model
load {f["local_model_load_s"]:.1f} s beforehand, not counted) and local again last, bracketing
the Ray runs ("vs local" divides by the mean of the two local rates); between them a local
Ray (`ray.init` {
        f[
            "ray_init_s"
        ]:.1f} s, not counted below) with two layouts of the 2 cores: one actor holding
both CPUs with 2 torch threads, and one 1-CPU actor per CPU with 1 thread each. "fixed s" is
a tiny 8-text job run just before with the same layout: the cost every Ray build pays once
(actors start and load the model, Ray Data schedules); "steady" is the build without it.

{table}

**Ray local, best layout ({best["workers"]} x {best["cpus_per_worker"]} CPU):
{best["rate"] / local["rate"]:.2f}x the local build's throughput** with its fixed cost included
(aim: 0.8x), {best["steady_rate"] / local["rate"]:.2f}x in steady state. The fixed cost
(about {best["fixed_s"]:.0f} s per build, plus {f["ray_init_s"]:.0f} s for `ray.init` once
per process) is what a small build on a local Ray loses and a long build amortizes.
Ray above 1x here is not a speed-up Ray brings to 2 cores: on this shared, loaded machine both
the embedding and the ranking ran slower in the benchmark's own process than in Ray's worker
processes, in this run and in the one before it (results.jsonl), for a reason not isolated
(not the thread count: 1 against 2 torch threads, and 1 against 2 BLAS and faiss threads, gave
the same rates in a separate process). What it shows: Ray local is not below the aim, its ranked
lists are identical to the local ones, and its fixed cost is seconds; on a cluster every
worker brings its own cores.

Per-worker rate: articles embedded per second of an actor's own embedding time (timed inside
the actors): {layouts}. Projected embedding wall time at the 1-CPU actor's rate
({per_worker:.1f} articles/s; 2 shared, busy cores here, so a dedicated cluster CPU is likely
faster), scaling linearly with workers; add the fixed cost once, and the driver writing the
index after embedding (about 3 minutes per million articles for an exact index,
benchmarks/results/scale.md):

{projection}

Ranking every article's top-{r["k"]} list live ({r["lists"]:,} lists, `related_many`):
{r["local_s"]:.1f} s here, then {r["ray_s"]:.1f} s on {r["ray_workers"]} Ray actors, then
{r["local_again_s"]:.1f} s here again ({
        rank_ratio:.2f}x the mean local throughput; the first task returned after
{r["ray_first_task_s"]:.1f} s: actors start and open the index), and the lists are identical.

Load average at start {", ".join(map(str, info["load_average"]))}, at the end
{", ".join(map(str, f["load_average_end"]))} (2 cores shared with other jobs; the figures
move with it).
"""


if __name__ == "__main__":
    main()

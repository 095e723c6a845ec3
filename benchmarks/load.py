"""Load figures for `recommender serve`: wrk on loopback against a 10k-article index,
precomputed lists vs live ranking, 1 vs 2 worker processes, side by side in one run.

    .venv/bin/python benchmarks/load.py            # 1, 16, 64 connections, 10 s each
    .venv/bin/python benchmarks/load.py --quick    # a 2 s smoke run

Needs wrk (Debian: apt-get install -y wrk) and the `serve` and `bench` extras. The index holds
synthetic articles whose vectors stand in for embeddings: 10,000 unit vectors of dimension 384 (the
default model's) drawn around 100 cluster centres, with fake titles, sections, tags and dates,
built by Engine.build with an encoder object that returns the precomputed vectors, so the figures
measure the server and the ranking layer, not the model. Every request is
`GET /related/<random id>?k=5` (no If-None-Match: each one is answered in full): "precomputed"
as is (the list stored at build time), "live" with `&weight_similarity=1.0` added (the index's
own value, so the same list, but a per-request option: ranked at request time).

Writes benchmarks/results/load.md (a fragment for RESULTS.md), appends a JSON line to
benchmarks/results.jsonl and regenerates RESULTS.md (benchmarks/common.py). Exits 1 if any
request failed (socket error or non-2xx answer).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import common
import numpy as np
from common import PrecomputedEncoder

from recommender.articles import Article
from recommender.engine import Engine

HERE = Path(__file__).resolve().parent
DIMENSION = 384
CLUSTERS = 100
SECTIONS = ("world", "politics", "business", "sport", "science", "culture", "tech", "health")
WORDS = (
    "summit",
    "trade",
    "election",
    "market",
    "league",
    "orbit",
    "museum",
    "chip",
    "vaccine",
    "budget",
    "storm",
    "court",
    "energy",
    "transfer",
    "album",
    "startup",
    "climate",
    "border",
)

WRK_SCRIPT = """
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + seed)
end
function request()
  return wrk.format("GET", string.format("/related/art-%05d?k=5", math.random(0, N - 1)) .. EXTRA)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"max_us\\": %d, \\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, "
    .. "\\"status\\": %d, \\"timeout\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def synthetic_articles(n: int, seed: int = 7) -> tuple[list[Article], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, DIMENSION))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster = rng.integers(0, CLUSTERS, size=n)
    vectors = centres[cluster] + rng.normal(scale=0.9 / np.sqrt(DIMENSION), size=(n, DIMENSION))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    articles = []
    for i in range(n):
        c = int(cluster[i])
        topic = [WORDS[(c + j) % len(WORDS)] for j in range(3)]
        articles.append(
            Article(
                id=f"art-{i:05d}",
                title=f"Story {i}: {' '.join(topic)} update",
                body=f"Report number {i} on the {topic[0]} {topic[1]} story, cluster {c}.",
                url=f"https://news.example/{SECTIONS[c % len(SECTIONS)]}/art-{i:05d}",
                published_at=start + dt.timedelta(hours=int(rng.integers(0, 5 * 365 * 24))),
                category=SECTIONS[c % len(SECTIONS)],
                tags=(topic[0], f"cluster-{c}"),
            )
        )
    return articles, vectors.astype(np.float32)


def build_index(path: Path, n: int) -> tuple[float, dict]:
    """(seconds, the manifest's "lists" report) of a build with precomputed lists."""
    from recommender.text import article_text

    articles, vectors = synthetic_articles(n)
    by_text = {article_text(a): v for a, v in zip(articles, vectors, strict=True)}
    encoder = PrecomputedEncoder(by_text)
    started = time.perf_counter()
    Engine.build(articles, path, encoder=encoder, cache=False)
    seconds = time.perf_counter() - started
    return seconds, json.loads((path / "manifest.json").read_text())["lists"]


def wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not come up")


def run_wrk(wrk: str, base: str, script: Path, connections: int, seconds: int) -> tuple[dict, str]:
    threads = min(connections, 2)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"^RESULT (\{.*\})$", done.stdout, re.M)
    if not match:
        raise SystemExit(f"no result from wrk:\n{done.stdout}\n{done.stderr}")
    data = json.loads(match.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    data["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return data, " ".join(command).replace(str(script), script.name)


VARIANTS = {"precomputed": "", "live": "&weight_similarity=1.0"}


def serve_command(index: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from recommender.cli import main; main()",
        "serve",
        "--index",
        str(index),
        "--port",
        str(port),
        "--no-access-log",
        "--workers",
        str(workers),
    ]


def measure(wrk: str, base: str, scripts: dict[str, Path], levels: list[int], seconds: int):
    rows = []
    for (label, script), connections in itertools.product(scripts.items(), levels):
        data, command = run_wrk(wrk, base, script, connections, seconds)
        errors = sum(data[k] for k in ("connect", "read", "write", "timeout", "non_2xx"))
        rows.append(
            {
                "settings": label,
                "connections": connections,
                "requests": data["requests"],
                "rps": round(data["requests"] / (data["duration_us"] / 1e6), 1),
                "p50_ms": round(data["p50_us"] / 1000, 2),
                "p90_ms": round(data["p90_us"] / 1000, 2),
                "p99_ms": round(data["p99_us"] / 1000, 2),
                "max_ms": round(data["max_us"] / 1000, 2),
                "errors": errors,
                "load_average": round(os.getloadavg()[0], 2),
                "command": command,
            }
        )
        print(
            f"{label}, {connections:>3} connections: {rows[-1]['rps']:>8} req/s, "
            f"p50 {rows[-1]['p50_ms']} ms, p99 {rows[-1]['p99_ms']} ms, "
            f"errors {errors}, load {rows[-1]['load_average']}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", default="1,2", help="worker processes, one run each")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 s per level, 1 and 16 conns")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.connections = 2, "1,16"
    levels = [int(c) for c in args.connections.split(",")]
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")

    info = common.machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="recommender-load-") as tmp:
        work = Path(tmp)
        index = work / "indexes" / "load"
        build_seconds, lists = build_index(index, args.articles)
        print(f"built {args.articles} articles in {build_seconds:.1f} s; lists: {lists}")
        scripts: dict[str, Path] = {}
        for label, extra in VARIANTS.items():
            scripts[label] = work / f"related-{label}.lua"
            scripts[label].write_text(f"N = {args.articles}\nEXTRA = {extra!r}\n{WRK_SCRIPT}")
        base = f"http://127.0.0.1:{args.port}"
        for workers in [int(w) for w in args.workers.split(",")]:
            process = subprocess.Popen(
                serve_command(index, args.port, workers),
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                health = wait_healthy(base, process)
                run_wrk(wrk, base, scripts["precomputed"], 4, 2)  # warm-up, not reported
                run_wrk(wrk, base, scripts["live"], 4, 2)
                for row in measure(wrk, base, scripts, levels, args.seconds):
                    rows.append({"workers": workers, **row})
            finally:
                process.terminate()
                process.wait(timeout=30)

    figures = {
        "articles": args.articles,
        "index_version": health["version_id"],
        "build_seconds": round(build_seconds, 1),
        "lists": lists,
        "seconds_per_level": args.seconds,
        "levels": rows,
        "errors": sum(r["errors"] for r in rows),
    }
    line = common.record("load", info, figures)
    path = common.write_fragment("load", "HTTP API under load", fragment(figures), info, line)
    print(f"wrote {path}")
    common.finish()
    if figures["errors"]:
        raise SystemExit(f"{figures['errors']} failed requests: the load run does not pass")


def fragment(figures: dict) -> str:
    rows = [
        [
            r["settings"],
            r["workers"],
            r["connections"],
            f"{r['rps']:,.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p90_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            f"{r['requests']:,}",
            r["errors"],
            f"{r['load_average']:.1f}",
        ]
        for r in figures["levels"]
    ]
    table = common.md_table(
        [
            "lists",
            "workers",
            "connections",
            "requests/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "requests",
            "errors",
            "load avg",
        ],
        rows,
        "lrrrrrrrrrr",
    )
    seconds = figures["seconds_per_level"]
    lists = figures["lists"]
    return f"""`GET /related/<random id>?k=5` against `recommender serve --workers <1|2>` on
loopback, driven by wrk (4.1, Debian) on the same machine: {seconds} s per concurrency level
after 2 s warm-ups; per level `wrk -t<min(N,2)> -c<N> -d{seconds}s --timeout 10s
-s related-<lists>.lua http://127.0.0.1:<port>`, the Lua script picking a random article id per
request. Every request is answered in full (no `If-None-Match`); one BLAS/OpenMP thread per
request (`[serve] compute_threads = 1`, the default). "precomputed": the plain request, answered
from the lists stored at build time; "live": the same request with `&weight_similarity=1.0` (the
index's own value: the same list, ranked at request time because a per-request option is set).
"load avg" is the 1-minute load average just after the level: the machine (2 cores) is shared
with other jobs, and the figures move with it.

Index: {figures["articles"]:,} synthetic articles. Clustered random unit vectors of dimension
384 stand in for embeddings (the model plays no part in this measurement), with fake titles,
sections, tags and dates; exact flat index; the ranking defaults. The build took
{figures["build_seconds"]:.0f} s, of which {lists["seconds"]:.0f} s ranking and storing the
{lists["computed"]:,} lists.

{table}

Errors count socket errors (connect, read, write, timeout) and non-2xx answers; the script fails
on any. wrk shares the 2 CPUs with the server, and the load average says how busy the machine
was with other work.
"""


if __name__ == "__main__":
    main()

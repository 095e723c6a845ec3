"""Read-more latency while draft queries are hammered: the draft gate on and off, side by side.

    .venv/bin/python benchmarks/drafts.py                 # 60 draft clients, 8 s per setting
    .venv/bin/python benchmarks/drafts.py --quick         # 16 clients, 3 s (a smoke run)

Builds the bundled demo corpus (~100 articles) with the real packaged model, then runs
`recommender serve` on loopback twice with the same index, once per `[serve]` setting:

- "unbounded": the gate's limits set so high they never bite (`draft_concurrency = 1000`,
  `draft_queue = 1000`, `draft_timeout = 600`): every draft is admitted and waits for the model
  inside a worker thread, as before the gate existed;
- "gated": the defaults (`draft_concurrency`, `draft_queue`, `draft_timeout` of ServeSettings).

For each: the median and p90 of `GET /related/<id>?k=5` on an idle server, then the same while
N threads post drafts (`POST /related`, each a different text, so each is embedded) in a loop
for D seconds; the drafts' status codes (200, 503 with Retry-After) and median latency.
Requests are bounded by the duration and a 30 s client timeout. Appends a JSON line to
benchmarks/results.jsonl, writes benchmarks/results/drafts.md and regenerates RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import common

from recommender.demo import demo_articles_path
from recommender.engine import Engine
from recommender.loaders import load_articles

UNBOUNDED = {"draft_concurrency": 1000, "draft_queue": 1000, "draft_timeout": 600}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(index: Path, work: Path, serve: dict[str, Any]) -> Iterator[int]:
    port = free_port()
    config = work / f"serve-{port}.toml"
    config.write_text("[serve]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in serve.items()))
    command = [sys.executable, "-c", "from recommender.cli import main; main()", "serve"]
    command += ["--index", str(index), "--port", str(port), "--config", str(config)]
    log = (work / f"serve-{port}.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}: see {log.name}")
            with contextlib.suppress(OSError):
                status, _, _ = request(port, "GET", "/health")
                if status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up within 120 s")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def request(
    port: int, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, float, dict[str, str]]:
    """(status, seconds, headers) of one request on a fresh loopback connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started, dict(response.getheaders())
    finally:
        connection.close()


def read_more_latency(port: int, ids: list[str], stop: threading.Event | None, count: int) -> list:
    """Sequential GET /related latencies (ms): ``count`` requests, or until ``stop`` is set."""
    samples: list[float] = []
    errors = 0
    n = 0
    while (stop is None and n < count) or (stop is not None and not stop.is_set()):
        status, seconds, _ = request(port, "GET", f"/related/{ids[n % len(ids)]}?k=5")
        n += 1
        if status == 200:
            samples.append(seconds * 1000)
        else:
            errors += 1
    return [samples, errors]


def hammer(
    port: int, stop: threading.Event, worker: int, out: list[tuple[int, float, bool]]
) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        draft = {
            "title": f"Draft {worker}-{n}: leaders meet to discuss trade and security",
            "body": f"Variant {worker * 100000 + n} of a draft about summit diplomacy and trade.",
        }
        try:
            status, seconds, headers = request(port, "POST", "/related?k=5", draft)
        except OSError:
            status, seconds, headers = 0, 30.0, {}
        out.append((status, seconds, "retry-after" in {h.lower() for h in headers}))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(port: int, ids: list[str], clients: int, seconds: float) -> dict[str, Any]:
    request(port, "POST", "/related?k=5", {"title": "warm up the model"})  # loads the model
    idle, idle_errors = read_more_latency(port, ids, None, 200)
    stop = threading.Event()
    drafts: list[tuple[int, float, bool]] = []
    threads = [
        threading.Thread(target=hammer, args=(port, stop, i, drafts), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let the drafts pile up first
    loaded: list[Any] = []
    reader = threading.Thread(
        target=lambda: loaded.extend(read_more_latency(port, ids, stop, 0)), daemon=True
    )
    reader.start()
    time.sleep(seconds)
    stop.set()
    reader.join(60)
    for thread in threads:
        thread.join(60)
    busy, busy_errors = loaded
    codes = Counter(status for status, _, _ in drafts)
    ok_times = [s * 1000 for status, s, _ in drafts if status == 200]
    return {
        "get_idle_p50_ms": statistics.median(idle),
        "get_idle_p90_ms": percentile(idle, 0.9),
        "get_loaded_p50_ms": statistics.median(busy) if busy else None,
        "get_loaded_p90_ms": percentile(busy, 0.9),
        "get_loaded_requests": len(busy),
        "get_errors": idle_errors + busy_errors,
        "drafts": len(drafts),
        "draft_codes": {str(k): v for k, v in sorted(codes.items())},
        "draft_503_with_retry_after": sum(1 for st, _, ra in drafts if st == 503 and ra),
        "draft_200_p50_ms": statistics.median(ok_times) if ok_times else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--quick", action="store_true", help="16 clients, 3 s")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 16, 3.0
    info = common.machine()
    work = Path(tempfile.mkdtemp(prefix="bench-drafts-"))
    try:
        index = work / "indexes" / "demo"
        articles = load_articles([demo_articles_path()])
        Engine.build(articles, index, cache=False)
        ids = [a.id for a in articles]
        from recommender.config import ServeSettings

        defaults = ServeSettings()
        gated = {
            "draft_concurrency": defaults.draft_concurrency,
            "draft_queue": defaults.draft_queue,
            "draft_timeout": defaults.draft_timeout,
        }
        figures: dict[str, Any] = {"clients": args.clients, "seconds": args.seconds}
        for name, serve in (("unbounded", UNBOUNDED), ("gated", gated)):
            with server(index, work, serve) as port:
                figures[name] = {"serve": serve, **measure(port, ids, args.clients, args.seconds)}
                print(name, json.dumps(figures[name]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    line = common.record("drafts", info, figures)
    rows = []
    for name in ("unbounded", "gated"):
        f = figures[name]
        rows.append(
            [
                name,
                ", ".join(f"{k}={v}" for k, v in f["serve"].items()),
                common.fmt(f["get_idle_p50_ms"], 1),
                common.fmt(f["get_loaded_p50_ms"], 1),
                common.fmt(f["get_loaded_p90_ms"], 1),
                f["get_loaded_requests"],
                f["get_errors"],
                " ".join(f"{k}: {v}" for k, v in f["draft_codes"].items()),
                f["draft_503_with_retry_after"],
                common.fmt(f["draft_200_p50_ms"], 0),
            ]
        )
    ratio = None
    if figures["gated"]["get_loaded_p50_ms"] and figures["unbounded"]["get_loaded_p50_ms"]:
        ratio = figures["unbounded"]["get_loaded_p50_ms"] / figures["gated"]["get_loaded_p50_ms"]
    body = (
        f"{args.clients} threads post drafts (each a new text, so each is embedded by the real "
        f"packaged model) for {args.seconds:g} s while one client reads `GET /related/<id>?k=5` "
        "in a loop; demo corpus (~100 articles). Same index, same process type, two `[serve]` "
        "settings. Latencies in ms.\n\n"
        + common.md_table(
            [
                "setting",
                "[serve]",
                "GET p50 idle",
                "GET p50 loaded",
                "GET p90 loaded",
                "GETs",
                "GET errors",
                "draft answers",
                "503 + Retry-After",
                "draft p50 (200)",
            ],
            rows,
            "ll" + "r" * 8,
        )
        + (f"\n\nLoaded read-more median, unbounded / gated: {ratio:.1f}x.\n" if ratio else "\n")
    )
    common.write_fragment("drafts", "Draft queries under load (the draft gate)", body, info, line)
    common.finish()


if __name__ == "__main__":
    main()

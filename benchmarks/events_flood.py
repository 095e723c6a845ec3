"""Does a flood of ``POST /events`` slow ``GET /related/{id}``?

    .venv/bin/python benchmarks/events_flood.py [--requests 300] [--flooders 2]

The real ``recommender serve`` process over the demo corpus (fake-free: the packaged model's
index, built once). Phase 1: sequential ``GET /related`` requests alone. Phase 2: the same while
``--flooders`` processes post events as fast as they can, cycling through valid batches, malformed
JSON, oversized bodies and (past the per-client budget) rate-limited ones. Reports p50/p99 of
``GET /related`` in both phases, their ratio, and the server's own counts of what it stored and
refused (``GET /events/stats``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import finish, machine, md_table, record, write_fragment  # noqa: E402

from recommender.demo import demo_articles_path  # noqa: E402
from recommender.engine import Engine  # noqa: E402
from recommender.loaders import load_articles  # noqa: E402
from tests._serving import serve_process  # noqa: E402

VALID = {
    "events": [
        {
            "type": "impression",
            "impression": "bench",
            "source": "a",
            "shown": [{"id": "b", "position": 1}],
        }
    ]
}
BODIES = [
    json.dumps(VALID).encode(),
    b"{not json",
    json.dumps({"events": [{**VALID["events"][0], "source": "x" * 500}] * 40}).encode(),
]


def call(url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def flood(base: str, stop: Any, results: Any, route: str = "/events") -> None:
    codes: Counter[int] = Counter()
    i = 0
    while not stop.is_set():
        codes[call(f"{base}{route}", BODIES[i % len(BODIES)])] += 1
        i += 1
    results.put(dict(codes))


def latencies(base: str, ids: list[str], n: int) -> np.ndarray:
    out = []
    for i in range(n):
        started = time.perf_counter()
        assert call(f"{base}/related/{ids[i % len(ids)]}?k=5&exclude=bench-{i}") == 200
        out.append((time.perf_counter() - started) * 1000)
    return np.array(out)


def flooded_latencies(
    base: str, ids: list[str], args: argparse.Namespace, route: str
) -> tuple[np.ndarray, Counter[int]]:
    """Read-more latencies while ``args.flooders`` processes post to ``route`` nonstop."""
    stop = multiprocessing.Event()
    results: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=flood, args=(base, stop, results, route))
        for _ in range(args.flooders)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # the flood is on before the first measured request
    measured = latencies(base, ids, args.requests)
    stop.set()
    codes: Counter[int] = Counter()
    for _ in procs:
        codes.update(results.get(timeout=60))
    for p in procs:
        p.join()
    return measured, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--flooders", type=int, default=2)
    args = parser.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory() as work:
        index = Path(work) / "indexes" / "demo"
        Engine.build(load_articles([demo_articles_path()]), index, cache=False)
        ids = Engine.load(index).ids()
        with serve_process(index, Path(work), "--no-access-log") as base:
            latencies(base, ids, 30)  # warm up
            alone = latencies(base, ids, args.requests)
            # Flooders in their own processes: the measuring client keeps its interpreter.
            # The control floods a route that does nothing (404) at the same rate: on these 2
            # cores the flooding processes themselves take CPU, and the control measures that,
            # so flooded/control is what the events endpoint itself costs the readers.
            control, _ = flooded_latencies(base, ids, args, "/no-such-route")
            flooded, codes = flooded_latencies(base, ids, args, "/events")
            with urllib.request.urlopen(f"{base}/events/stats") as r:
                stats = json.load(r)
    figures: dict[str, Any] = {
        "requests": args.requests,
        "flooders": args.flooders,
        "alone_p50_ms": float(np.percentile(alone, 50)),
        "alone_p99_ms": float(np.percentile(alone, 99)),
        "control_p50_ms": float(np.percentile(control, 50)),
        "control_p99_ms": float(np.percentile(control, 99)),
        "flooded_p50_ms": float(np.percentile(flooded, 50)),
        "flooded_p99_ms": float(np.percentile(flooded, 99)),
        "event_posts": sum(codes.values()),
        "event_status_codes": dict(codes),
        "server_counts": stats,
    }
    figures["p50_ratio"] = figures["flooded_p50_ms"] / figures["alone_p50_ms"]
    figures["p99_ratio"] = figures["flooded_p99_ms"] / figures["alone_p99_ms"]
    figures["p50_vs_control"] = figures["flooded_p50_ms"] / figures["control_p50_ms"]
    figures["p99_vs_control"] = figures["flooded_p99_ms"] / figures["control_p99_ms"]
    line = record("events_flood", info, figures)
    table = md_table(
        ["GET /related (demo, k=5)", "p50 ms", "p99 ms"],
        [
            ["alone", f"{figures['alone_p50_ms']:.2f}", f"{figures['alone_p99_ms']:.2f}"],
            [
                f"while {args.flooders} processes flood a 404 route (control)",
                f"{figures['control_p50_ms']:.2f}",
                f"{figures['control_p99_ms']:.2f}",
            ],
            [
                f"while {args.flooders} processes flood POST /events",
                f"{figures['flooded_p50_ms']:.2f}",
                f"{figures['flooded_p99_ms']:.2f}",
            ],
            ["events flood / alone", f"{figures['p50_ratio']:.2f}", f"{figures['p99_ratio']:.2f}"],
            [
                "events flood / control flood",
                f"{figures['p50_vs_control']:.2f}",
                f"{figures['p99_vs_control']:.2f}",
            ],
        ],
    )
    body = f"""
{args.requests} sequential requests per phase, one client. The flood posted
{figures["event_posts"]:,} requests (status codes {dict(sorted(codes.items()))}); the server
counted {stats}. Valid events past the per-client budget (5/s, burst 30) are refused with 429
before their body is read; malformed ones 400, oversized ones 413. The flooders run on the same
2 cores as the server: the control row (the same flood at a route that does nothing) is the
slowdown any endpoint would cause here, so "events flood / control flood" is the events
endpoint's own cost to readers.

{table}
"""
    write_fragment("events_flood", "Events endpoint under a flood", body, info, line)
    print(json.dumps(figures, indent=2))
    finish()


if __name__ == "__main__":
    main()

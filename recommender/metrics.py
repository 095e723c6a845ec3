"""What the HTTP server exposes about itself: ``GET /metrics`` in the Prometheus text format
(``prometheus-client``) and, when asked for, an access log in JSON lines.

Metrics (all prefixed ``recommender_``):

- ``http_requests_total{route,method,status}`` and ``http_request_seconds{route,method,status}``
  (a histogram), by route template (``/related/{article_id:path}``), never by raw path;
- ``lists_served_total{source}``: read-more lists answered from the precomputed lists
  (``precomputed``) or ranked at request time (``live``);
- ``index_generation``, ``index_articles``, ``index_reloads_total``,
  ``index_reload_failures_total``: the version this process serves and its hot reloads;
- ``lists_pending``: read-more lists of the served version a publish left to the background
  refresh (answered live meanwhile), ``lists_refresh_failures_total``: refreshes that failed.

With several worker processes (``serve --workers N``) the counters and histograms are summed
over the workers (prometheus-client's multiprocess mode, in ``PROMETHEUS_MULTIPROC_DIR``); the
index gauges and reload counts are those of the worker that answers the scrape.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from recommender.listreach import pending_rows

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
UNMATCHED = "<unmatched>"


class _IndexCollector:
    """Gauges read from the engine holder at scrape time."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder

    def collect(self) -> Iterator[Any]:
        engine = self.holder.get().engine
        yield GaugeMetricFamily(
            "recommender_index_generation",
            "Generation of the index version this process serves.",
            value=engine.manifest.generation,
        )
        yield GaugeMetricFamily(
            "recommender_index_articles",
            "Articles in the index version this process serves.",
            value=len(engine),
        )
        yield CounterMetricFamily(
            "recommender_index_reloads",
            "New index versions loaded by this process.",
            value=self.holder.reloads,
        )
        yield CounterMetricFamily(
            "recommender_index_reload_failures",
            "Index versions this process failed to load (it kept serving the previous one).",
            value=self.holder.reload_failures,
        )
        yield CounterMetricFamily(
            "recommender_lists_refresh_failures",
            "Background rankings of pending read-more lists that failed (publish API).",
            value=self.holder.lists_refresh_failures,
        )
        yield GaugeMetricFamily(
            "recommender_lists_pending",
            "Read-more lists of the served version left pending by a publish (answered live).",
            value=len(pending_rows(engine.precomputed)),
        )


class Metrics:
    """The app's metrics registry and the observations the middleware and routes make."""

    def __init__(self, holder: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.requests = Counter(
            "recommender_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "recommender_http_request_seconds",
            "Time to answer an HTTP request, by route template, method and status.",
            ("route", "method", "status"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.lists = Counter(
            "recommender_lists_served",
            "Read-more lists answered from the precomputed lists or ranked live.",
            ("source",),
            registry=self.registry,
        )
        for source in ("precomputed", "live"):
            self.lists.labels(source)  # both series exist from the start
        self.registry.register(_IndexCollector(holder))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)

    def list_served(self, source: str) -> None:
        self.lists.labels(source).inc()

    def render(self) -> tuple[bytes, str]:
        """(the text exposition, its content type)."""
        if not self.multiprocess:
            return _generate(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # counters and histograms of every worker
        for collector in list(self.registry._collector_to_names):  # this worker's gauges
            if isinstance(collector, _IndexCollector):
                merged.register(collector)
        return _generate(merged), CONTENT_TYPE_LATEST


class AccessLog:
    """One JSON object per request, appended to a file (one ``write`` per line, so workers
    sharing the file do not interleave within a line)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)

    def close(self) -> None:
        os.close(self._fd)


class MetricsMiddleware:
    """ASGI middleware: times every HTTP request, labels it by route template and status,
    and writes the access log line when there is one."""

    def __init__(self, app: Any, metrics: Metrics, access_log: AccessLog | None = None) -> None:
        self.app, self.metrics, self.access_log = app, metrics, access_log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, sent = 500, 0

        async def watch(message: Any) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(route, scope["method"], status, seconds)
            if self.access_log is not None:
                self.access_log.write(_record(scope, status, sent, seconds))


def _record(scope: Any, status: int, sent: int, seconds: float) -> dict[str, Any]:
    client = scope.get("client")
    headers = dict(scope.get("headers") or [])
    return {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "method": scope["method"],
        "path": scope["path"],
        "query": scope.get("query_string", b"").decode("latin-1"),
        "route": getattr(scope.get("route"), "path", None),
        "status": status,
        "bytes": sent,
        "ms": round(seconds * 1000, 3),
        "client": client[0] if client else None,
        "user_agent": headers.get(b"user-agent", b"").decode("latin-1") or None,
        "pid": os.getpid(),
    }


def metrics_route(metrics: Metrics) -> Callable[[], Any]:
    """The ``GET /metrics`` endpoint function."""
    from starlette.responses import Response

    def endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return endpoint

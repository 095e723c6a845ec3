"""What ``recommender serve`` does for reader feedback: ``POST /events`` (validated, size-limited,
rate-limited per client, stored append-only) and the read-more lists of an experiment
(team-draft interleaving of two configurations, optional adjacent-pair randomization).

Config (``recommender.toml``)::

    [events]                 # all optional
    enabled = true           # POST /events accepts events
    rate_per_second = 5.0    # per client address (held in memory only, never stored)
    burst = 30
    max_body_bytes = 16384
    swap_share = 0.0         # share of lists with one random adjacent pair swapped (for tune)

    [experiment]
    name = "recency-test"
    [experiment.a]           # ranking overrides of configuration A (empty: the index's own)
    [experiment.b]
    weight_recency = 0.3
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from recommender.errors import ConfigError, InputError
from recommender.feedback.events import LABEL, EventStore, events_path, parse_batch
from recommender.feedback.interleaving import swap_adjacent, team_draft
from recommender.ranking import RankingSettings

if TYPE_CHECKING:
    from recommender.engine import Engine
    from recommender.results import Recommendation


@dataclass(frozen=True)
class EventSettings:
    enabled: bool = True
    rate_per_second: float = 5.0
    burst: int = 30
    max_body_bytes: int = 16 * 1024
    swap_share: float = 0.0

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.burst < 1 or self.max_body_bytes < 256:
            raise ValueError("rate_per_second, burst and max_body_bytes (>= 256) must be positive")
        if not 0.0 <= self.swap_share <= 1.0:
            raise ValueError("swap_share must be between 0 and 1")


@dataclass(frozen=True)
class Experiment:
    name: str
    a: dict[str, Any] = field(default_factory=dict)
    b: dict[str, Any] = field(default_factory=dict)


def _section_error(section: str, exc: Exception, source: str) -> ConfigError:
    return ConfigError(f"{source}: [{section}]: {exc}")


def event_settings(section: Mapping[str, Any], source: str = "<config>") -> EventSettings:
    known = {f.name for f in dataclasses.fields(EventSettings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{source}: [events]: unknown key {unknown[0]!r}; known: {sorted(known)}")
    try:
        return EventSettings(**section)
    except (TypeError, ValueError) as exc:
        raise _section_error("events", exc, source) from None


def experiment_settings(section: Mapping[str, Any], source: str = "<config>") -> Experiment | None:
    """The ``[experiment]`` table: ``name`` and the ranking overrides ``a`` and ``b``."""
    if not section:
        return None
    unknown = sorted(set(section) - {"name", "a", "b"})
    if unknown:
        raise ConfigError(f"{source}: [experiment]: unknown key {unknown[0]!r}; known: name, a, b")
    name = section.get("name")
    if not isinstance(name, str) or not LABEL.match(name):
        raise ConfigError(f"{source}: [experiment]: name must be a short label ([A-Za-z0-9_.:-])")
    arms = {}
    for arm in ("a", "b"):
        overrides = section.get(arm, {})
        if not isinstance(overrides, dict):
            raise ConfigError(f"{source}: [experiment.{arm}] must be a table of ranking settings")
        try:
            RankingSettings.from_dict(overrides, strict=True)
        except (TypeError, ValueError) as exc:
            raise _section_error(f"experiment.{arm}", exc, source) from None
        arms[arm] = dict(overrides)
    if arms["a"] == arms["b"]:
        raise ConfigError(f"{source}: [experiment]: configurations a and b are the same")
    return Experiment(name, arms["a"], arms["b"])


class RateLimiter:
    """Token bucket per client key, in memory; the oldest idle keys are forgotten first."""

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.max_clients = rate, float(burst), max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return allowed


class Feedback:
    """Events endpoint state and the experiment's list arrangement, for one served index."""

    def __init__(
        self,
        index_path: str | Path,
        settings: EventSettings,
        experiment: Experiment | None,
        *,
        seed: int | None = None,
    ) -> None:
        self.settings, self.experiment = settings, experiment
        self.path = events_path(index_path)
        self._store: EventStore | None = None  # opened on the first event
        self.limiter = RateLimiter(settings.rate_per_second, settings.burst)
        self.counts = {"stored": 0, "malformed": 0, "oversized": 0, "rate_limited": 0}
        self._count_lock = threading.Lock()
        self._rng = random.Random(seed)

    # ------------------------------------------------------------------ events
    def count(self, what: str, n: int = 1) -> None:
        with self._count_lock:
            self.counts[what] += n

    def admit(self, client: str) -> tuple[int, str] | None:
        """None when ``client`` may send events now, else (HTTP status, message)."""
        if not self.settings.enabled:
            return 404, "events are turned off ([events] enabled = false)"
        if not self.limiter.allow(client):
            self.count("rate_limited")
            return 429, "too many events from this client; slow down"
        return None

    def accept(self, body: bytes) -> tuple[int, str]:
        """(HTTP status, message) for one admitted POST /events body."""
        if len(body) > self.settings.max_body_bytes:
            self.count("oversized")
            return 413, f"events body larger than {self.settings.max_body_bytes} bytes"
        try:
            events = parse_batch(body)
        except InputError as exc:
            self.count("malformed")
            return 400, str(exc)
        self.count("stored", self.store.append(events))
        return 204, ""

    # ------------------------------------------------------------------ lists
    def active(self, options: Mapping[str, Any]) -> bool:
        """Whether this request's list is arranged here (an experiment or randomization runs,
        and the request asks for no ranking option of its own)."""
        return not options and (self.experiment is not None or self.settings.swap_share > 0)

    def arrange(
        self, engine: Engine, article_id: str, k: int, exclude: list[str]
    ) -> tuple[list[Recommendation], dict[str, Any]]:
        """The list to show and its ``ranking`` description (config, experiment, teams, swap)."""
        info: dict[str, Any] = {"config": "default"}
        exp = self.experiment
        if exp is not None:
            a = engine.related(article_id, k=k, exclude=exclude, **exp.a)
            b = engine.related(article_id, k=k, exclude=exclude, **exp.b)
            by_id = {r.id: r for r in (*b, *a)}
            with self._count_lock:
                merged = team_draft([r.id for r in a], [r.id for r in b], k, self._rng)
            results = [by_id[i] for i in merged.ids]
            teams = list(merged.teams)
            info = {"config": exp.name, "experiment": exp.name, "teams": teams}
        else:
            results = engine.related(article_id, k=k, exclude=exclude)
            teams = []
        with self._count_lock:
            order, swap = swap_adjacent(range(len(results)), self.settings.swap_share, self._rng)
        if swap is not None:
            results = [results[i] for i in order]
            if teams:
                info["teams"] = [teams[i] for i in order]
            info["swap"] = swap
        return results, info

    @property
    def store(self) -> EventStore:
        with self._count_lock:
            if self._store is None:
                self._store = EventStore(self.path)
            return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def install(app: FastAPI, feedback: Feedback) -> None:
    """``POST /events`` and ``GET /events/stats`` on ``app``."""

    @app.post("/events", summary="Reader events from the widget (impressions and clicks)")
    async def post_events(request: Request) -> Response:
        client = request.client.host if request.client else "?"
        # Refuse a flood before reading its body; read at most the limit plus one chunk.
        refused = feedback.admit(client)
        if refused is not None:
            return JSONResponse({"detail": refused[1]}, status_code=refused[0])
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > feedback.settings.max_body_bytes:
                break
        status, message = await run_in_threadpool(feedback.accept, body)
        if status == 204:
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        return JSONResponse({"detail": message}, status_code=status)

    @app.get("/events/stats", summary="Events stored and rejected since start-up")
    def event_stats() -> Response:
        return JSONResponse(dict(feedback.counts), headers={"Cache-Control": "no-store"})

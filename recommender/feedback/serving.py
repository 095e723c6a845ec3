"""What ``recommender serve`` does for reader feedback: ``POST /events`` (validated, size-limited,
rate-limited per client, stored append-only) and the read-more lists of an experiment
(team-draft interleaving of two configurations, optional adjacent-pair randomization).

Settings: ``[events]`` and ``[experiment]`` in ``recommender.toml`` (``feedback/settings.py``).
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from recommender.errors import InputError
from recommender.feedback.events import (
    LABEL,
    MAX_EVENTS_PER_REQUEST,
    MAX_ID_CHARS,
    MAX_SHOWN,
    TOKEN,
    EventStore,
    events_path,
    parse_batch,
)
from recommender.feedback.interleaving import swap_adjacent, team_draft
from recommender.feedback.settings import EventSettings, Experiment

if TYPE_CHECKING:
    from recommender.engine import Engine
    from recommender.results import Recommendation


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


_LABEL = {"type": "string", "pattern": LABEL.pattern}
_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS}
_TOKEN = {"type": "string", "pattern": TOKEN.pattern}
_POSITION = {"type": "integer", "minimum": 1, "maximum": MAX_SHOWN}
_IMPRESSION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "impression", "source", "shown"],
    "properties": {
        "type": {"const": "impression"},
        "impression": _TOKEN,
        "source": _ID,
        "config": _LABEL,
        "experiment": _LABEL,
        "shown": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_SHOWN,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "position"],
                "properties": {"id": _ID, "position": _POSITION},
            },
        },
        "teams": {"type": "array", "items": {"enum": ["a", "b"]}},
        "swap": _POSITION,
    },
}
_CLICK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "impression", "source", "target", "position"],
    "properties": {
        "type": {"const": "click"},
        "impression": _TOKEN,
        "source": _ID,
        "target": _ID,
        "position": _POSITION,
        "config": _LABEL,
    },
}
_EVENT = {"oneOf": [_IMPRESSION, _CLICK]}
_EVENTS_SCHEMA = {
    "oneOf": [
        _EVENT,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["events"],
            "properties": {
                "events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS_PER_REQUEST}
                | {"items": _EVENT}
            },
        },
    ],
    "description": 'One event, or {"events": [...]} (feedback/events.py). The widget sends '
    "it with navigator.sendBeacon, as text/plain.",
}
EVENTS_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": _EVENTS_SCHEMA},
        "text/plain": {"schema": _EVENTS_SCHEMA},
    },
}
_ERROR = {  # the server's ErrorBody (server/httputil.py), which this package cannot import
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "string"}},
        }
    }
}
EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Stored."},
    400: {"content": _ERROR, "description": "Not JSON, or an event is malformed (named)."},
    404: {"content": _ERROR, "description": "Events are turned off ([events] enabled)."},
    413: {"content": _ERROR, "description": "Request body too large."},
    429: {"content": _ERROR, "description": "Too many events from this client."},
}


def install(app: FastAPI, feedback: Feedback) -> None:
    """``POST /events`` and ``GET /events/stats`` on ``app``."""

    @app.post(
        "/events",
        summary="Reader events from the widget (impressions and clicks)",
        status_code=204,
        response_class=Response,
        responses=EVENTS_RESPONSES,
        openapi_extra={"requestBody": EVENTS_BODY},
    )
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

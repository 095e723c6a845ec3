"""The publish API: a CMS pushes an article the moment it is published (extra ``serve``).

    PUT    /articles/{id}      one article (JSON object; ``id`` may be left out)
    POST   /articles           a batch: a JSON array of articles, or {"articles": [...]}
    DELETE /articles/{id}      unpublish

Writes need ``Authorization: Bearer <token>`` matching ``RECOMMENDER_WRITE_TOKEN`` (environment)
or ``[serve] write_token`` (``recommender.toml``), compared in constant time; without a token
configured every write is refused (403) and the read API is unchanged. A missing or wrong token
is a 401 that changes nothing; the body is not even read.

A write embeds with the server's own model (loaded once, shared with draft queries), writes a
new version of the index with ``indexing.upsert`` / ``indexing.remove`` under the index's
writer lock in a worker thread, then serves that version at once (the write hands it over
opened, ``hand_over``: it is not loaded again from disk); requests in flight keep the
version they started with, so reads are never blocked and never fail. The answer carries the
new generation and each written article's new read-more list.

The write is deferred (``defer_lists``): the read-more lists it can change (about 200 for one
article into 10,000) are not ranked inside it but left pending, answered live with the same
answers, so a published article is served as soon as it is embedded and written. A background
thread then ranks them (``indexing/refresh.py``) under the same write lock and serves that
version: one refresh at a time, and one covers every write that came before it starts. A failed
refresh is logged and counted (``recommender_lists_refresh_failures``); the pending lists stay
answered live and the next write's refresh ranks them.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from recommender.articles import Article, article_from_mapping
from recommender.encoder import Encoder
from recommender.errors import (
    IndexLockedError,
    InputError,
    ModelNotFoundError,
    RecommenderError,
    UnknownArticleError,
)
from recommender.indexing import refresh_lists, remove, upsert
from recommender.server.httputil import ERRORS, public_text

if TYPE_CHECKING:
    from recommender.engine import Engine
    from recommender.server.reload import EngineHolder

log = logging.getLogger("recommender.server")
ENV_TOKEN = "RECOMMENDER_WRITE_TOKEN"
LOCK_WAIT = 10.0  # seconds a write waits for another writer (a CLI upsert) before a 409
K_MAX = 50


def write_token(configured: str | None) -> str | None:
    """The token writes must present: the environment's, else the config file's."""
    return os.environ.get(ENV_TOKEN) or configured or None


def limit_torch_threads(threads: int) -> None:
    """Encode one request's few texts on ``threads`` torch threads (0: torch's default).

    On 2 busy cores one article took 0.2-1.3 s to embed with torch's 2 threads, 0.06 s with 1:
    the same hand-off cost ``compute_threads`` avoids for BLAS. Process-wide, like BLAS pools.
    """
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class LockedEncoder:
    """The server's encoder, used by one thread at a time (writes and draft queries share it)."""

    def __init__(self, encoder: Encoder, lock: Any, threads: int = 0) -> None:
        self._encoder, self._lock, self._threads = encoder, lock, threads
        self.name = encoder.name

    @property
    def dimension(self) -> int:
        return self._encoder.dimension

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        with self._lock:
            limit_torch_threads(self._threads)  # once the model (torch) is loaded
            return self._encoder.encode(texts, progress=progress)


class Publisher:
    """Checks tokens and runs writes, one at a time, against the served index."""

    def __init__(self, holder: EngineHolder, token: str | None, threads: int = 0) -> None:
        self.holder, self.threads = holder, threads
        self._token = token.encode() if token else None
        self._write_lock = threading.Lock()
        self._refresh_state = threading.Lock()  # guards the two fields below
        self._refresh_wanted = False
        self._refresher: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def authorize(self, header: str | None) -> None:
        if self._token is None:
            raise HTTPException(
                403,
                "writes are disabled on this server: set [serve] write_token in"
                f" recommender.toml or the environment variable {ENV_TOKEN}",
            )
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self._token
        ):
            raise HTTPException(
                401,
                "missing or wrong bearer token (Authorization: Bearer <write token>)",
                headers={"WWW-Authenticate": 'Bearer realm="recommender"'},
            )

    def encoder(self) -> Encoder:
        return LockedEncoder(self.holder.get().engine.encoder, self.holder.query_lock, self.threads)

    def warm_up(self) -> None:
        """Load the model now, so the first publish does not pay for it."""
        # A model that cannot load is reported by the first write that needs it.
        with contextlib.suppress(Exception):
            self.encoder().encode(["warm up"])
            limit_torch_threads(self.threads)

    def upsert(self, articles: list[Article], k: int) -> dict[str, Any]:
        started = time.perf_counter()
        handed: list[Engine] = []  # the version written, opened by the write (not loaded again)
        with self._write_lock:
            report = upsert(
                articles,
                self.holder.path,
                encoder=self.encoder(),
                lock_wait=LOCK_WAIT,
                loaded=self.holder.get().engine,
                defer_lists=True,
                hand_over=handed.append,
            )
            adopting = time.perf_counter()
            written = report.version_path is not None
            engine = (self.holder.adopt(*handed) if written else self.holder.get()).engine
        if written:
            self.refresh_soon()
        timings = {**report.timings, "serve_s": round(time.perf_counter() - adopting, 4)}
        listing = time.perf_counter()
        lists = [
            {"id": a.id, "related": [r.to_dict() for r in engine.related(a.id, k=k)]}
            for a in articles
        ]
        timings["related_s"] = round(time.perf_counter() - listing, 4)
        answer = {
            "generation": engine.manifest.generation,
            "version_id": engine.manifest.version_id,
            "article_count": len(engine),
            **{key: getattr(report, key) for key in ("read", "new", "changed", "unchanged")},
            "embedded": report.embedded,
            "articles": lists,
            "timings": timings,
        }
        answer["seconds"] = round(time.perf_counter() - started, 4)
        return answer

    def remove(self, article_id: str) -> dict[str, Any]:
        handed: list[Engine] = []
        with self._write_lock:
            remove(
                [article_id],
                self.holder.path,
                lock_wait=LOCK_WAIT,
                loaded=self.holder.get().engine,
                defer_lists=True,
                hand_over=handed.append,
            )
            engine = self.holder.adopt(*handed).engine
        self.refresh_soon()
        return {
            "id": article_id,
            "removed": True,
            "generation": engine.manifest.generation,
            "version_id": engine.manifest.version_id,
            "article_count": len(engine),
        }

    def refresh_soon(self) -> None:
        """Rank the pending lists in the background (one thread; bursts share one refresh)."""
        with self._refresh_state:
            self._refresh_wanted = True
            if self._refresher is not None:
                return  # running: it refreshes again before it stops
            self._refresher = threading.Thread(
                target=self._refresh_loop, name="recommender-lists-refresh", daemon=True
            )
            self._refresher.start()

    def _refresh_loop(self) -> None:
        while True:
            with self._refresh_state:
                if not self._refresh_wanted:
                    self._refresher = None
                    return
                self._refresh_wanted = False
            self.refresh()

    def refresh(self) -> None:
        """Rank the served version's pending lists and serve the result; errors are logged
        and counted, never raised (the pending lists stay answered live)."""
        try:
            handed: list[Engine] = []
            with self._write_lock:
                report = refresh_lists(
                    self.holder.path,
                    lock_wait=LOCK_WAIT,
                    loaded=self.holder.get().engine,
                    hand_over=handed.append,
                )
                if report.version_path is not None:
                    self.holder.adopt(*handed)
        except Exception:
            self.holder.lists_refresh_failures += 1
            log.exception("index %s: ranking the pending read-more lists failed", self.holder.path)

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the background refresh; True when none is running."""
        thread = self._refresher
        if thread is not None:
            thread.join(timeout)
        return self._refresher is None


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"body is not JSON: {exc}") from None


def _article(data: Any, where: str, article_id: str | None = None) -> Article:
    if article_id is not None and isinstance(data, dict):
        given = data.get("id")
        if given is not None and str(given) != article_id:
            raise InputError(f"{given!r} differs from the URL's id", source=where, field="id")
        data = {**data, "id": article_id}
    return article_from_mapping(data, source=where)


async def _run(call: Any, *args: Any) -> Response:
    """A write in a worker thread; user errors become 4xx answers (server paths cut out)."""
    try:
        answer = await run_in_threadpool(call, *args)
    except UnknownArticleError as exc:
        raise HTTPException(404, public_text(str(exc))) from None
    except IndexLockedError as exc:
        raise HTTPException(409, public_text(str(exc)), headers={"Retry-After": "5"}) from None
    except ModelNotFoundError as exc:
        raise HTTPException(503, public_text(f"writes need the index's model: {exc}")) from None
    except RecommenderError as exc:  # a user's mistake, naming the field; else a bug (500)
        raise HTTPException(422, public_text(str(exc))) from None
    body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


_ARTICLE = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string", "pattern": "\\S"},
        "body": {"type": "string"},
        "url": {"type": "string"},
        "published_at": {"type": "string", "format": "date-time"},
        "category": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "language": {"type": "string"},
        "canonical": {"type": "boolean"},
    },
    "description": "An article object (the article contract of the README).",
}
ARTICLE_BODY = {"required": True, "content": {"application/json": {"schema": _ARTICLE}}}
_BATCH = {"type": "array", "minItems": 1, "items": {**_ARTICLE, "required": ["id", "title"]}}
BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _BATCH,
                    {
                        "type": "object",
                        "required": ["articles"],
                        "properties": {"articles": _BATCH},
                    },
                ],
                "description": 'Articles (each with its id), or {"articles": [...]}.',
            }
        }
    },
}


def add_publish_routes(
    app: FastAPI, holder: EngineHolder, token: str | None, threads: int = 0
) -> Publisher:
    """Register the write routes on ``app``; writes are refused unless ``token`` is set.
    ``threads``: torch threads for encoding (``[serve] compute_threads``)."""
    publisher = Publisher(holder, token, threads)
    app.state.publisher = publisher
    if publisher.enabled:
        threading.Thread(target=publisher.warm_up, name="recommender-warm-up", daemon=True).start()

    writes = ERRORS(401, 403, 404, 409, 413, 422, 503)

    @app.put(
        "/articles/{article_id:path}",
        summary="Add or replace one article (bearer token)",
        responses=writes,
        openapi_extra={"requestBody": ARTICLE_BODY},
    )
    async def put_article(
        request: Request, article_id: str, k: int = Query(5, ge=1, le=K_MAX)
    ) -> Response:
        publisher.authorize(request.headers.get("authorization"))
        data = await _json_body(request)
        where = f"PUT /articles/{article_id}"
        try:
            article = _article(data, where, article_id)
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        return await _run(publisher.upsert, [article], k)

    @app.post(
        "/articles",
        summary="Add or replace a batch of articles (bearer token)",
        responses=writes,
        openapi_extra={"requestBody": BATCH_BODY},
    )
    async def post_articles(request: Request, k: int = Query(5, ge=1, le=K_MAX)) -> Response:
        publisher.authorize(request.headers.get("authorization"))
        data = await _json_body(request)
        items = data.get("articles") if isinstance(data, dict) else data
        if not isinstance(items, list) or not items:
            raise HTTPException(422, 'expected a non-empty JSON array, or {"articles": [...]}')
        try:
            articles = [
                _article(item, f"POST /articles[item {n}]") for n, item in enumerate(items, 1)
            ]
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        return await _run(publisher.upsert, articles, k)

    @app.delete(
        "/articles/{article_id:path}", summary="Remove one article (bearer token)", responses=writes
    )
    async def delete_article(request: Request, article_id: str) -> Response:
        publisher.authorize(request.headers.get("authorization"))
        return await _run(publisher.remove, article_id)

    return publisher

"""The HTTP API: thin routes over one loaded engine (extra ``serve``: FastAPI + uvicorn).

    GET  /related/{id}?k=5&exclude=a,b&<ranking option>=...   read-more list of an article
    POST /related?k=5                                          ... of a draft (JSON article body)
    GET  /articles/{id}                                        one article
    GET  /health                                               index version and article count
    GET  /widget.js                                            the embeddable widget
    GET  /docs, /openapi.json                                  API documentation

The per-request ranking options are the fields of :class:`RankingSettings`, read at start-up,
so a new setting is a new query parameter without touching this module. ``GET`` answers carry
``Cache-Control`` and an ``ETag`` derived from the index version and the parsed parameters.

Hot reload: ``indexes/<name>`` is a symbolic link that a build swaps atomically. At most every
``reload_interval`` seconds a request compares the link's target with the loaded version; on a
change a background thread loads the new version and then replaces the engine reference. A
request keeps the engine it started with, and old version folders outlive their readers (open
files stay readable), so no request fails during a swap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import faiss
from fastapi import Body, FastAPI, HTTPException, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from threadpoolctl import threadpool_limits

from recommender import persistence
from recommender._version import __version__
from recommender.articles import InputError
from recommender.config import Config, load_config
from recommender.encoder import Encoder, LazyEncoder, ModelNotFoundError
from recommender.engine import Engine, UnknownArticleError
from recommender.fastpath import PrecomputedFastPath
from recommender.metrics import AccessLog, Metrics, MetricsMiddleware, metrics_route
from recommender.ranking import RankingSettings

log = logging.getLogger("recommender.server")

K_MAX = 50
RESERVED = ("k", "exclude")


# ---------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ServeSettings:
    """``[serve]`` in the config file (other sections belong to other modules)."""

    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser (the widget's pages); none by default."""
    cache_max_age: int = 300
    """Seconds a browser or CDN may reuse an answer (``Cache-Control: max-age``)."""
    max_body_bytes: int = 64 * 1024
    """Largest request body accepted (413 above)."""
    reload_interval: float = 1.0
    """Seconds between checks of the index link for a new version."""
    compute_threads: int = 1
    """BLAS / OpenMP threads per request (0: the libraries' defaults). Requests run in
    parallel, each with one small query, where thread pools only add hand-off costs: on 2 busy
    cores a read-more list over 10k articles took 48 ms with 2 threads, 5 ms with 1."""
    access_log: str = ""
    """File to append one JSON object per request to (none when empty)."""

    def __post_init__(self) -> None:
        if isinstance(self.cors_origins, str):
            object.__setattr__(self, "cors_origins", (self.cors_origins,))
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        if (
            min(
                self.cache_max_age,
                self.max_body_bytes - 1,
                self.reload_interval,
                self.compute_threads,
            )
            < 0
        ):
            raise ValueError(
                "cache_max_age, max_body_bytes, reload_interval and compute_threads"
                " must be positive"
            )


def serve_settings(section: Mapping[str, Any], *, source: str = "<config>") -> ServeSettings:
    """:class:`ServeSettings` from a config file's ``[serve]`` table; an unknown key is an error."""
    known = {f.name for f in dataclasses.fields(ServeSettings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise InputError(
            f"[serve]: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}", source=source
        )
    try:
        return ServeSettings(**section)
    except (TypeError, ValueError) as exc:
        raise InputError(f"[serve]: {exc}", source=source) from None


# ---------------------------------------------------------------------------- ranking options
def _truth(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _coercer(tp: Any) -> tuple[Callable[[list[str]], Any], dict[str, Any]]:
    """(parse raw query values, OpenAPI schema) for one RankingSettings field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner, schema = _coercer(next(a for a in args if a is not type(None)))

        def optional(values: list[str]) -> Any:
            return None if values[-1].strip().lower() in ("", "none", "null") else inner(values)

        return optional, {**schema, "nullable": True}
    if origin in (tuple, list, frozenset, set):

        def many(values: list[str]) -> tuple[str, ...]:
            return tuple(p.strip() for v in values for p in v.split(",") if p.strip())

        return many, {"type": "array", "items": {"type": "string"}}

    def one(convert: Callable[[str], Any]) -> Callable[[list[str]], Any]:
        def parse(values: list[str]) -> Any:
            if len(values) > 1:
                raise ValueError("given more than once")
            return convert(values[0])

        return parse

    if origin is typing.Literal:

        def choice(text: str) -> Any:
            if text not in args:
                raise ValueError(f"expected one of {', '.join(map(str, args))}, got {text!r}")
            return text

        return one(choice), {"type": "string", "enum": list(args)}
    if tp is bool:
        return one(_truth), {"type": "boolean"}
    if tp is int:
        return one(int), {"type": "integer"}
    if tp is float:

        def finite(text: str) -> float:
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("expected a finite number")
            return value

        return one(finite), {"type": "number"}
    return one(str), {"type": "string"}


def ranking_options() -> dict[str, tuple[Callable[[list[str]], Any], dict[str, Any]]]:
    """Query parameters for every RankingSettings field, with their parsers and schemas."""
    hints = typing.get_type_hints(RankingSettings)
    return {f.name: _coercer(hints[f.name]) for f in dataclasses.fields(RankingSettings)}


# ---------------------------------------------------------------------------- hot reload
@dataclass(frozen=True)
class Served:
    """A loaded engine and the fingerprint of everything that shapes its answers."""

    engine: Engine
    fingerprint: str


def _fingerprint(engine: Engine) -> str:
    rules = getattr(engine, "rules", None)
    return _etag(
        __version__,
        engine.manifest.version_id,
        engine.settings.to_dict(),
        rules.to_dict() if rules is not None else None,
    )


class EngineHolder:
    """One loaded engine, replaced by a newer one when the index link moves."""

    RETRY_FAILED_AFTER = 10.0

    def __init__(
        self,
        index_path: str | Path,
        *,
        encoder: Encoder | None = None,
        config: Config | None = None,
        ranking: Mapping[str, Any] | None = None,
        reload_interval: float = 1.0,
        compute_threads: int = 0,
    ) -> None:
        self.path = Path(index_path)
        self._config = config
        self._threads = compute_threads
        self._thread_state = threading.local()
        if compute_threads:
            threadpool_limits(compute_threads)  # BLAS pools are process-wide
        self.reload_interval = reload_interval
        self.reloads = 0
        self.reload_failures = 0
        self.last_error: str | None = None
        self._given_encoder = encoder
        self._encoders: dict[str, Encoder] = {}  # by model name: a reload keeps a loaded model
        self._ranking = dict(ranking or {})
        self._lock = threading.Lock()
        self._loading = False
        self._failed: tuple[str, float] | None = None
        self._served = self._load()
        self._checked = time.monotonic()
        self.query_lock = threading.Lock()  # one draft encoding at a time (model loads once)

    def _encoder_for(self, model_name: str) -> Encoder | None:
        if self._given_encoder is not None:
            return self._given_encoder
        if model_name not in self._encoders:
            try:
                self._encoders[model_name] = LazyEncoder(model_name)
            except ModelNotFoundError:
                return None  # GET routes work; POST /related answers 503
        return self._encoders[model_name]

    def _load(self) -> Served:
        folder = persistence.resolve_version(self.path)
        name = persistence.read_manifest(folder, verify=False).model_name
        engine = self._open(name)
        if engine.manifest.model_name != name:  # the link moved between the two reads
            engine = self._open(engine.manifest.model_name)
        return Served(engine, _fingerprint(engine))

    def _open(self, model_name: str) -> Engine:
        return Engine.load(
            self.path, encoder=self._encoder_for(model_name), config=self._config, **self._ranking
        )

    def get(self) -> Served:
        """The engine to answer one request with (keep it for the whole request)."""
        if self._threads and not getattr(self._thread_state, "limited", False):
            faiss.omp_set_num_threads(self._threads)  # OpenMP's setting is per thread
            self._thread_state.limited = True
        now = time.monotonic()
        if now - self._checked >= self.reload_interval:
            self._maybe_reload(now)
        return self._served

    def _maybe_reload(self, now: float) -> None:
        with self._lock:
            if self._loading or now - self._checked < self.reload_interval:
                return
            self._checked = now
            target = os.path.realpath(self.path)
            if target == str(self._served.engine.folder):
                return
            failed = self._failed
            if failed and failed[0] == target and now - failed[1] < self.RETRY_FAILED_AFTER:
                return
            self._loading = True
        threading.Thread(target=self._reload, name="recommender-reload", daemon=True).start()

    def _reload(self) -> None:
        old = self._served.engine.manifest.version_id
        try:
            served = self._load()
        except Exception as exc:  # keep answering from the loaded version
            self._failed = (os.path.realpath(self.path), time.monotonic())
            self.reload_failures += 1
            self.last_error = f"reload failed: {exc}"
            log.error("index %s: %s; still serving %s", self.path, self.last_error, old)
        else:
            self._served = served  # one reference assignment: atomic for readers
            self.reloads += 1
            self.last_error = None
            log.info(
                "index %s: now serving %s (was %s)",
                self.path,
                served.engine.manifest.version_id,
                old,
            )
            # `old` is not closed: requests that started on it may still be reading. Its
            # SQLite connection closes when the last of them drops the reference.
        finally:
            self._loading = False


# ---------------------------------------------------------------------------- request plumbing
class BodyLimit:
    """ASGI middleware: 413 for request bodies over ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = JSONResponse({"detail": self._message()}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"request body larger than {self.limit} bytes"


def _etag(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(blob.encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _json(payload: Any, headers: Mapping[str, str]) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json", headers=dict(headers))


DRAFT_EXAMPLE = {
    "title": "Leaders meet by video link",
    "body": "Presidents discussed trade and security ...",
    "category": "world",
    "published_at": "2025-06-01",
    "tags": ["diplomacy"],
}


# ---------------------------------------------------------------------------- the app
def create_app(
    index_path: str | Path,
    *,
    config: str | Path | Config | None = None,
    settings: ServeSettings | None = None,
    encoder: Encoder | None = None,
    ranking: Mapping[str, Any] | None = None,
) -> FastAPI:
    """The HTTP app over the index at ``index_path``.

    ``config``: ``recommender.toml`` (or its loaded :class:`Config`): ``[ranking]`` and
    ``[rules]`` go to the engine, ``[serve]`` gives :class:`ServeSettings` (``settings``
    overrides it). ``ranking``: more ranking overrides for every request.
    ``encoder``: for draft queries (default: the index's own model, loaded on first use).
    """
    loaded = load_config(config) if isinstance(config, (str, Path)) else config
    if settings is None:
        settings = (
            serve_settings(loaded.serve, source=str(loaded.path)) if loaded else ServeSettings()
        )
    holder = EngineHolder(
        index_path,
        encoder=encoder,
        config=loaded,
        ranking=ranking,
        reload_interval=settings.reload_interval,
        compute_threads=settings.compute_threads,
    )
    options = ranking_options()
    option_params = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": "Ranking option (see RankingSettings); overrides the index's setting.",
        }
        for name, (_, schema) in options.items()
    ]
    widget = resources.files("recommender").joinpath("static/widget.js").read_bytes()
    widget_etag = _etag("widget", hashlib.sha256(widget).hexdigest())
    cache_control = f"public, max-age={settings.cache_max_age}"

    app = FastAPI(
        title="recommender",
        description="Related articles ('Read more') for news sites.",
        version=__version__,
    )
    app.state.holder = holder
    app.state.settings = settings
    metrics = app.state.metrics = Metrics(holder)
    app.add_middleware(  # innermost: CORS and metrics wrap it as they wrap the routes
        PrecomputedFastPath,
        holder=holder,
        etag=_etag,
        cache_control=cache_control,
        served=metrics.list_served,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "If-None-Match"],
            expose_headers=["ETag"],
            max_age=600,
        )

    access_log = AccessLog(settings.access_log) if settings.access_log else None
    app.add_middleware(MetricsMiddleware, metrics=metrics, access_log=access_log)  # outermost
    app.add_api_route("/metrics", metrics_route(metrics), include_in_schema=False)

    def parse_options(request: Request, engine: Engine) -> dict[str, Any]:
        """Ranking options from the query string; unknown or bad ones are a 422."""
        parsed: dict[str, Any] = {}
        for name in dict.fromkeys(request.query_params.keys()):
            if name in RESERVED:
                continue
            if name not in options:
                raise HTTPException(422, f"unknown parameter {name!r}")
            try:
                parsed[name] = options[name][0](request.query_params.getlist(name))
            except ValueError as exc:
                raise HTTPException(422, f"parameter {name!r}: {exc}") from None
        try:
            engine.settings.replace(**parsed)  # validates combinations (e.g. older and newer)
        except (TypeError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        return parsed

    def clock_part(engine: Engine, parsed: Mapping[str, Any]) -> str | None:
        # Recency against "now" changes with the day: so does the answer's ETag.
        if engine.settings.replace(**parsed).recency_reference == "now":
            return dt.datetime.now(dt.timezone.utc).date().isoformat()
        return None

    def split_ids(values: list[str]) -> list[str]:
        return [p.strip() for v in values for p in v.split(",") if p.strip()]

    @app.get(
        "/related/{article_id:path}",
        summary="Read-more list of an indexed article",
        openapi_extra={"parameters": option_params},
    )
    def related(
        request: Request,
        article_id: str,
        k: int = Query(5, ge=1, le=K_MAX, description="How many related articles."),
        exclude: list[str] = Query([], description="Ids not to return (comma-separated)."),
    ) -> Response:
        served = holder.get()
        engine = served.engine
        parsed = parse_options(request, engine)
        if article_id not in engine:
            raise HTTPException(404, f"no article with id {article_id!r} in this index")
        excluded = split_ids(exclude)
        etag = _etag(
            served.fingerprint,
            "related",
            article_id,
            k,
            sorted(excluded),
            parsed,
            clock_part(engine, parsed),
        )
        headers = {"ETag": etag, "Cache-Control": cache_control}
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        stored = None if parsed or excluded else engine.precomputed_body(article_id, k)
        if stored is not None:  # the list ranked at write time, byte for byte
            metrics.list_served("precomputed")
            return Response(stored, media_type="application/json", headers=headers)
        metrics.list_served("live")
        try:
            results = engine.related(article_id, k=k, exclude=excluded, **parsed)
        except UnknownArticleError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return _json({"id": article_id, "results": [r.to_dict() for r in results]}, headers)

    @app.post(
        "/related",
        summary="Read-more list of a draft article (not in the index)",
        openapi_extra={"parameters": option_params},
    )
    def related_draft(
        request: Request,
        article: dict[str, Any] = Body(
            ..., examples=[DRAFT_EXAMPLE], description="An article object: title required."
        ),
        k: int = Query(5, ge=1, le=K_MAX),
        exclude: list[str] = Query([]),
    ) -> Response:
        engine = holder.get().engine
        parsed = parse_options(request, engine)
        try:
            with holder.query_lock:
                results = engine.query(article, k=k, exclude=split_ids(exclude), **parsed)
        except ModelNotFoundError as exc:
            raise HTTPException(503, f"draft queries need the index's model: {exc}") from None
        except ValueError as exc:  # InputError included: names the field at fault
            raise HTTPException(422, str(exc)) from None
        return _json(
            {"id": None, "results": [r.to_dict() for r in results]}, {"Cache-Control": "no-store"}
        )

    @app.get("/articles/{article_id:path}", summary="One indexed article")
    def article(request: Request, article_id: str) -> Response:
        served = holder.get()
        try:
            found = served.engine.article(article_id)
        except UnknownArticleError as exc:
            raise HTTPException(404, str(exc)) from None
        etag = _etag(served.fingerprint, "article", article_id)
        headers = {"ETag": etag, "Cache-Control": cache_control}
        if _matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return _json(found.to_dict(), headers)

    @app.get("/health", summary="Index version and article count")
    def health() -> Response:
        engine = holder.get().engine
        data = engine.manifest.data
        return _json(
            {
                "status": "ok",
                "version_id": engine.manifest.version_id,
                "article_count": len(engine),
                "model": engine.manifest.model_name,
                "built_at": data.get("built_at"),
                "reloads": holder.reloads,
                "reload_error": holder.last_error,
                "worker_pid": os.getpid(),
            },
            {"Cache-Control": "no-store"},
        )

    @app.get("/widget.js", summary="The embeddable read-more widget", include_in_schema=False)
    def widget_js(request: Request) -> Response:
        headers = {"ETag": widget_etag, "Cache-Control": cache_control}
        if _matches(request.headers.get("if-none-match"), widget_etag):
            return Response(status_code=304, headers=headers)
        return Response(widget, media_type="text/javascript; charset=utf-8", headers=headers)

    return app


# ---------------------------------------------------------------------------- worker processes
ENV_INDEX = "RECOMMENDER_SERVE_INDEX"
ENV_CONFIG = "RECOMMENDER_SERVE_CONFIG"
ENV_ACCESS_LOG = "RECOMMENDER_SERVE_ACCESS_LOG"


def app_from_environment() -> FastAPI:
    """The app factory each ``serve --workers N`` process calls (uvicorn imports it by name):
    index, config file and access log come from ``RECOMMENDER_SERVE_*`` variables set by
    ``serve``. Every worker memory-maps the same version files, so the page cache holds one
    copy of the vectors and lists, and reloads on its own when the index link moves."""
    config_path = os.environ.get(ENV_CONFIG) or None
    loaded = load_config(config_path) if config_path else None
    settings = serve_settings(loaded.serve, source=str(loaded.path)) if loaded else ServeSettings()
    access_log = os.environ.get(ENV_ACCESS_LOG)
    if access_log:
        settings = dataclasses.replace(settings, access_log=access_log)
    return create_app(os.environ[ENV_INDEX], config=loaded, settings=settings)

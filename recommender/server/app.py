"""The app factory: one :class:`EngineHolder`, the HTTP plumbing and the routes, configured once."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from recommender._version import __version__
from recommender.config import Config, ServeSettings, load_config
from recommender.encoder import Encoder
from recommender.fastpath import PrecomputedFastPath
from recommender.feedback.serving import Feedback
from recommender.feedback.serving import install as install_feedback
from recommender.feedback.settings import EventSettings
from recommender.gate import Gate
from recommender.metrics import AccessLog, Metrics, MetricsMiddleware, metrics_route
from recommender.server.httputil import (
    BodyLimit,
    NoSniff,
    allow_origins,
    etag,
    install_error_handlers,
)
from recommender.server.publish import add_publish_routes, write_token
from recommender.server.reload import EngineHolder
from recommender.server.routes import router


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
        settings = loaded.serve if loaded else ServeSettings()
    holder = EngineHolder(
        index_path,
        encoder=encoder,
        config=loaded,
        ranking=ranking,
        reload_interval=settings.reload_interval,
        compute_threads=settings.compute_threads,
    )
    app = FastAPI(
        title="recommender",
        description="Related articles ('Read more') for news sites.",
        version=__version__,
    )
    app.state.holder = holder
    app.state.settings = settings
    app.state.cache_control = f"public, max-age={settings.cache_max_age}"
    widget = resources.files("recommender").joinpath("static/widget.js").read_bytes()
    app.state.widget = widget
    app.state.widget_etag = etag("widget", hashlib.sha256(widget).hexdigest())
    app.state.draft_gate = Gate(
        settings.draft_concurrency, settings.draft_queue, settings.draft_timeout
    )
    metrics = app.state.metrics = Metrics(holder)
    app.add_middleware(  # innermost: CORS and metrics wrap it as they wrap the routes
        PrecomputedFastPath,
        holder=holder,
        etag=etag,
        cache_control=app.state.cache_control,
        served=metrics.list_served,
    )
    app.add_middleware(
        BodyLimit, limit=settings.max_body_bytes, write_limit=settings.max_write_body_bytes
    )
    app.add_middleware(NoSniff)
    install_error_handlers(app)
    allow_origins(app, settings.cors_origins)
    access_log = AccessLog(settings.access_log) if settings.access_log else None
    app.add_middleware(MetricsMiddleware, metrics=metrics, access_log=access_log)  # outermost
    app.add_api_route("/metrics", metrics_route(metrics), include_in_schema=False)
    app.include_router(router)
    add_publish_routes(
        app, holder, write_token(settings.write_token), threads=settings.compute_threads
    )
    app.state.feedback = Feedback(
        index_path,
        loaded.events if loaded else EventSettings(),
        loaded.experiment if loaded else None,
    )
    install_feedback(app, app.state.feedback)  # POST /events, GET /events/stats
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
    settings = loaded.serve if loaded else ServeSettings()
    access_log = os.environ.get(ENV_ACCESS_LOG)
    if access_log:
        settings = dataclasses.replace(settings, access_log=access_log)
    return create_app(os.environ[ENV_INDEX], config=loaded, settings=settings)

"""The HTTP API: thin routes over one loaded engine (extra ``serve``: FastAPI + uvicorn).

    GET  /related/{id}?k=5&exclude=a,b&<ranking option>=...   read-more list of an article
    POST /related?k=5                                          ... of a draft (JSON article body)
    GET  /articles/{id}                                        one article
    GET  /health                                               index version and article count
    GET  /widget.js                                            the embeddable widget
    POST /events, GET /events/stats                            reader events (feedback/)
    GET  /docs, /openapi.json                                  API documentation
    PUT  /articles/{id}, POST /articles, DELETE /articles/{id}  the publish API (bearer token)

Modules: ``app`` (the factory, :func:`create_app`), ``routes`` (the handlers), ``reload`` (the
hot-reload :class:`EngineHolder`), ``httputil`` (ETag/304, JSON answers, body limit, CORS),
``publish`` (the write routes).
``[serve]`` settings are :class:`recommender.config.ServeSettings`, validated by ``load_config``.
"""

from __future__ import annotations

from recommender.config import ServeSettings
from recommender.server.app import create_app
from recommender.server.reload import EngineHolder, Served

__all__ = ["EngineHolder", "ServeSettings", "Served", "create_app"]

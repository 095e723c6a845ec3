"""The routes: thin handlers over the engine the app's :class:`EngineHolder` serves.

Every per-request ranking option is a field of :class:`RankingSettings`, read from the query
string by :mod:`recommender.options`, so a new setting is a new query parameter without touching
this module. ``GET`` answers carry ``Cache-Control`` and an ``ETag`` derived from the index
version and the parsed parameters.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response

from recommender import precomputed
from recommender.engine import Engine
from recommender.errors import ModelNotFoundError, RecommenderError, UnknownArticleError
from recommender.options import parse_query, query_schemas, split_list
from recommender.ranking import RankingSettings
from recommender.server.httputil import etag, json_response, not_modified
from recommender.server.reload import EngineHolder

K_MAX = 50
RESERVED = ("k", "exclude")

DRAFT_EXAMPLE = {
    "title": "Leaders meet by video link",
    "body": "Presidents discussed trade and security ...",
    "category": "world",
    "published_at": "2025-06-01",
    "tags": ["diplomacy"],
}

OPTION_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": "Ranking option (see RankingSettings); overrides the index's setting.",
    }
    for name, schema in query_schemas(RankingSettings).items()
]
"""The ranking options in the OpenAPI document (the routes read them from the raw query)."""

router = APIRouter()


def _holder(request: Request) -> EngineHolder:
    holder: EngineHolder = request.app.state.holder
    return holder


def _cached(request: Request, tag: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": request.app.state.cache_control}


def parse_options(request: Request, engine: Engine) -> dict[str, Any]:
    """Ranking options from the query string; unknown or bad ones are a 422."""
    params = {name: request.query_params.getlist(name) for name in request.query_params}
    try:
        parsed = parse_query(RankingSettings, params, reserved=RESERVED)
        engine.settings.replace(**parsed)  # validates ranges and combinations
    except RecommenderError as exc:  # SettingsError names the parameter
        raise HTTPException(422, str(exc)) from None
    return parsed


def _clock_part(engine: Engine, parsed: Mapping[str, Any]) -> str | None:
    # Recency against "now" changes with the day: so does the answer's ETag.
    if engine.settings.replace(**parsed).recency_reference == "now":
        return dt.datetime.now(dt.timezone.utc).date().isoformat()
    return None


@router.get(
    "/related/{article_id:path}",
    summary="Read-more list of an indexed article",
    openapi_extra={"parameters": OPTION_PARAMETERS},
)
def related(
    request: Request,
    article_id: str,
    k: int = Query(5, ge=1, le=K_MAX, description="How many related articles."),
    exclude: list[str] = Query([], description="Ids not to return (comma-separated)."),
) -> Response:
    served = _holder(request).get()
    engine = served.engine
    parsed = parse_options(request, engine)
    if article_id not in engine:
        raise HTTPException(404, f"no article with id {article_id!r} in this index")
    excluded = list(split_list(exclude))
    feedback = request.app.state.feedback
    if feedback.active(parsed):  # an experiment or randomized lists: never cached
        shown, ranking = feedback.arrange(engine, article_id, k, excluded)
        body = {"id": article_id, "results": [r.to_dict() for r in shown], "ranking": ranking}
        return json_response(body, {"Cache-Control": "no-store"})
    tag = etag(
        served.fingerprint,
        "related",
        article_id,
        k,
        sorted(excluded),
        parsed,
        _clock_part(engine, parsed),
    )
    headers = _cached(request, tag)
    if (unchanged := not_modified(request, headers)) is not None:
        return unchanged
    served_list = request.app.state.metrics.list_served
    stored = None if parsed or excluded else precomputed.stored_body(engine, article_id, k)
    if stored is not None:  # the list ranked at write time, byte for byte
        served_list("precomputed")
        return Response(stored, media_type="application/json", headers=headers)
    served_list("live")
    try:
        results = engine.related(article_id, k=k, exclude=excluded, **parsed)
    except UnknownArticleError as exc:
        raise HTTPException(404, str(exc)) from None
    except RecommenderError as exc:  # a user's mistake; anything else is a bug (500)
        raise HTTPException(422, str(exc)) from None
    return json_response({"id": article_id, "results": [r.to_dict() for r in results]}, headers)


@router.post(
    "/related",
    summary="Read-more list of a draft article (not in the index)",
    openapi_extra={"parameters": OPTION_PARAMETERS},
)
def related_draft(
    request: Request,
    article: dict[str, Any] = Body(
        ..., examples=[DRAFT_EXAMPLE], description="An article object: title required."
    ),
    k: int = Query(5, ge=1, le=K_MAX),
    exclude: list[str] = Query([]),
) -> Response:
    holder = _holder(request)
    engine = holder.get().engine
    parsed = parse_options(request, engine)
    try:
        with holder.query_lock:
            results = engine.query(article, k=k, exclude=list(split_list(exclude)), **parsed)
    except ModelNotFoundError as exc:
        raise HTTPException(503, f"draft queries need the index's model: {exc}") from None
    except RecommenderError as exc:  # InputError included: names the field at fault
        raise HTTPException(422, str(exc)) from None
    return json_response(
        {"id": None, "results": [r.to_dict() for r in results]}, {"Cache-Control": "no-store"}
    )


@router.get("/articles/{article_id:path}", summary="One indexed article")
def article(request: Request, article_id: str) -> Response:
    served = _holder(request).get()
    try:
        found = served.engine.article(article_id)
    except UnknownArticleError as exc:
        raise HTTPException(404, str(exc)) from None
    headers = _cached(request, etag(served.fingerprint, "article", article_id))
    if (unchanged := not_modified(request, headers)) is not None:
        return unchanged
    return json_response(found.to_dict(), headers)


@router.get("/health", summary="Index version and article count")
def health(request: Request) -> Response:
    holder = _holder(request)
    engine = holder.get().engine
    return json_response(
        {
            "status": "ok",
            "version_id": engine.manifest.version_id,
            "article_count": len(engine),
            "model": engine.manifest.model_name,
            "built_at": engine.manifest.built_at,
            "reloads": holder.reloads,
            "reload_error": holder.last_error,
            "worker_pid": os.getpid(),
        },
        {"Cache-Control": "no-store"},
    )


@router.get("/widget.js", summary="The embeddable read-more widget", include_in_schema=False)
def widget_js(request: Request) -> Response:
    widget: bytes = request.app.state.widget
    headers = _cached(request, request.app.state.widget_etag)
    if (unchanged := not_modified(request, headers)) is not None:
        return unchanged
    return Response(widget, media_type="text/javascript; charset=utf-8", headers=headers)

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
from fastapi.concurrency import run_in_threadpool

from recommender import precomputed
from recommender.engine import Engine
from recommender.errors import ModelNotFoundError, RecommenderError, UnknownArticleError
from recommender.gate import Gate, GateBusy
from recommender.options import parse_query, split_list
from recommender.ranking import RankingSettings
from recommender.ranking.settings import query_schemas_with_ranges
from recommender.server.httputil import ERRORS, etag, json_response, not_modified, public_text
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
    for name, schema in query_schemas_with_ranges().items()
]
"""The ranking options in the OpenAPI document (the routes read them from the raw query)."""

DRAFT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {"type": "string", "pattern": "\\S"},
                    "body": {"type": "string"},
                    "category": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "published_at": {"type": "string", "format": "date"},
                    "language": {"type": "string"},
                },
                "description": "An article object (the article contract of the README).",
            },
            "example": DRAFT_EXAMPLE,
        }
    },
}
"""The draft's schema in the OpenAPI document: an article object, title required."""

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
    responses=ERRORS(404, 422),
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
    openapi_extra={"parameters": OPTION_PARAMETERS, "requestBody": DRAFT_BODY},
    responses=ERRORS(413, 422, 503),
)
async def related_draft(
    request: Request,
    article: dict[str, Any] = Body(
        ..., examples=[DRAFT_EXAMPLE], description="An article object: title required."
    ),
    k: int = Query(5, ge=1, le=K_MAX),
    exclude: list[str] = Query([]),
) -> Response:
    """Drafts embed text (tens of ms of CPU each): they pass the app's draft gate, waiting as
    coroutines (no worker thread held), so read-more requests keep their threads and latency.
    No room in the gate: 503 with Retry-After."""
    holder = _holder(request)
    engine = holder.get().engine
    parsed = parse_options(request, engine)
    gate: Gate = request.app.state.draft_gate

    def answer() -> list[Any]:
        with holder.query_lock:
            return engine.query(article, k=k, exclude=list(split_list(exclude)), **parsed)

    try:
        async with gate.slot():
            results = await run_in_threadpool(answer)
    except GateBusy as busy:
        raise HTTPException(
            503,
            f"too many draft queries at once ({busy}); retry after {busy.retry_after} s",
            headers={"Retry-After": str(busy.retry_after)},
        ) from None
    except ModelNotFoundError as exc:
        raise HTTPException(503, f"draft queries need the index's model: {exc}") from None
    except RecommenderError as exc:  # InputError included: names the field at fault
        raise HTTPException(422, str(exc)) from None
    return json_response(
        {"id": None, "results": [r.to_dict() for r in results]}, {"Cache-Control": "no-store"}
    )


@router.get("/articles/{article_id:path}", summary="One indexed article", responses=ERRORS(404))
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


@router.get("/health", summary="Index version, article count, reload state")
@router.head("/health", summary="Health, headers only", operation_id="health_head")
def health(request: Request) -> Response:
    """``status`` is ``ok``, or ``reload_failed`` when the index changed on disk but the new
    version could not be loaded (the previous one is still served; ``reload_error`` says why).
    No file system path is shown: the answer is public."""
    holder = _holder(request)
    engine = holder.get().engine
    return json_response(
        {
            "status": "reload_failed" if holder.last_error else "ok",
            "version_id": engine.manifest.version_id,
            "article_count": len(engine),
            "model": public_text(engine.manifest.model_name),
            "built_at": engine.manifest.built_at,
            "reloads": holder.reloads,
            "reload_error": public_text(holder.last_error) if holder.last_error else None,
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

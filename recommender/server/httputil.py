"""HTTP helpers of the app: ETags and 304s, JSON answers, the body-size limit, CORS."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from recommender import safejson


class ErrorBody(BaseModel):
    """Every error answer: one line saying what is wrong."""

    detail: str


_WHY = {
    401: "Missing or wrong bearer token (writes).",
    403: "Writes are disabled on this server (no write token configured).",
    404: "No such article in this index.",
    409: "Another writer holds the index (retry after Retry-After seconds).",
    413: "Request body too large.",
    422: "A parameter, option or field is wrong (the detail names it).",
    503: "Busy (draft queries: retry after Retry-After seconds) or no model for drafts.",
}


def ERRORS(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route's error answers (all :class:`ErrorBody`)."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s/'\"():,]+/)*([^\s/'\"():,]+)")


def public_text(text: str) -> str:
    """``text`` with every absolute path cut to its last part (``/srv/x/indexes/.news.versions/
    v1`` -> ``v1``): what a public endpoint may say about the server's files."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), text)


def install_error_handlers(app: FastAPI) -> None:
    """Validation errors as one line in :class:`ErrorBody`, like every other error answer
    (FastAPI's default is a list of objects, which the OpenAPI document would then have to
    describe apart from the others)."""

    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body"))
            parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]


class NoSniff:
    """ASGI middleware: ``X-Content-Type-Options: nosniff`` on every answer, so a browser never
    reads a JSON answer (which holds users' text) as HTML or script."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_header)


def etag(*parts: Any) -> str:
    """A strong ETag for everything in ``parts`` (JSON-serialized, order of keys ignored)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(blob.encode()).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``tag`` (weak tags compare equal, ``*`` too)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or tag in tags


def not_modified(request: Request, headers: Mapping[str, str]) -> Response | None:
    """A 304 when the request already holds the answer tagged ``headers["ETag"]``, else None."""
    if matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=dict(headers))
    return None


def json_response(payload: Any, headers: Mapping[str, str]) -> Response:
    """Compact UTF-8 JSON (not ASCII-escaped) with ``headers``."""
    body = safejson.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json", headers=dict(headers))


class BodyLimit:
    """ASGI middleware: 413 for request bodies over ``limit`` bytes (declared or streamed);
    publish requests (PUT/POST under ``/articles``) may carry up to ``write_limit``."""

    def __init__(self, app: Any, limit: int, write_limit: int | None = None) -> None:
        self.app, self.limit = app, limit
        self.write_limit = limit if write_limit is None else write_limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        if scope.get("method") in ("PUT", "POST") and scope.get("path", "").startswith("/articles"):
            limit = self.write_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": self._message(limit)}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, self._message(limit))
            return message

        await self.app(scope, limited, send)

    @staticmethod
    def _message(limit: int) -> str:
        return f"request body larger than {limit} bytes"


def allow_origins(app: FastAPI, origins: tuple[str, ...]) -> None:
    """CORS for the widget's pages: GET and POST from ``origins``, the ETag readable."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "If-None-Match"],
        expose_headers=["ETag"],
        max_age=600,
    )

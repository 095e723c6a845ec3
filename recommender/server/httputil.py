"""HTTP helpers of the app: ETags and 304s, JSON answers, the body-size limit, CORS."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse


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
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
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

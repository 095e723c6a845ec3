"""The article contract: one validated, normalized news article.

Loaders (``recommender.loaders``) turn files into plain mappings; :func:`article_from_mapping`
checks them against the contract in DESIGN.md and raises :class:`InputError` naming the file,
the line (or row) and the field at fault.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.errors import InputError
from recommender.ids import id_problem, shown_id
from recommender.urls import safe_href

KNOWN_FIELDS = ("id", "title", "body", "url", "published_at", "category", "tags", "language")


@dataclass(frozen=True)
class Article:
    """A news article as the engine sees it. ``published_at`` is timezone-aware (UTC if naive)."""

    id: str
    title: str
    body: str = ""
    url: str | None = None
    published_at: dt.datetime | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The article as a JSON-ready mapping, extra metadata included."""
        out: dict[str, Any] = dict(self.metadata)
        out.update(
            id=self.id,
            title=self.title,
            body=self.body,
            url=safe_href(self.url),
            published_at=self.published_at.isoformat() if self.published_at else None,
            category=self.category,
            tags=list(self.tags),
            language=self.language,
        )
        return out


def parse_datetime(value: Any) -> dt.datetime:
    """Parse an ISO-8601 date or datetime (or a ``date``/``datetime``); naive means UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty date")
        # Python 3.10's fromisoformat does not accept a trailing 'Z'.
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    else:
        raise ValueError(f"expected an ISO-8601 date string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


_TAG_SPLIT = re.compile(r"[;,]")


def parse_tags(value: Any) -> tuple[str, ...]:
    """Tags from a list, or from a ``;``- or ``,``-separated string (CSV cells); order kept."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = _TAG_SPLIT.split(value)
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError(f"expected a list of strings, got {type(value).__name__}")
    tags: list[str] = []
    for item in items:
        if not isinstance(item, (str, int, float)):
            raise ValueError(f"tag {item!r} is not a string")
        tag = str(item).strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _optional_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    value = value.strip()
    return value or None


def json_ready(value: Any, depth: int = 0) -> Any:
    """A metadata value as it will be stored and returned: JSON types only.

    Dates and times (YAML and TOML front matter read them as objects) become ISO-8601 text,
    as the store would write them, so an unchanged file compares equal to what is indexed.
    NaN and infinities are refused: JSON has no such numbers, and browsers reject them.
    """
    if depth > 64:
        raise ValueError("nested deeper than 64 levels")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_ready(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, depth + 1) for v in value]
    raise ValueError(f"a {type(value).__name__} value is not text, a number, a list or a table")


def _valid_id(raw_id: Any, fail: Callable[[str, str], InputError]) -> str:
    """The id, stripped, or an error: missing, of the wrong type, or off the id contract."""
    if isinstance(raw_id, bool) or raw_id is None:
        raise fail("id", "missing")
    if isinstance(raw_id, int):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise fail("id", "missing or empty")
    article_id = raw_id.strip()
    problem = id_problem(article_id)
    if problem:
        raise fail("id", f"invalid id {shown_id(article_id)}: {problem}")
    return article_id


def _title_and_body(
    data: Mapping[str, Any], fail: Callable[[str, str], InputError]
) -> tuple[str, str]:
    """The title (required, stripped) and the body ("" when missing)."""
    title = data.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        raise fail("title", "missing or empty")
    if not isinstance(title, str):
        raise fail("title", f"expected a string, got {type(title).__name__}")
    body = data.get("body", "")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise fail("body", f"expected a string, got {type(body).__name__}")
    return title.strip(), body


def article_from_mapping(
    data: Mapping[str, Any], *, source: str | None = None, line: int | None = None
) -> Article:
    """Validate one raw record against the article contract."""

    def fail(field_name: str, message: str) -> InputError:
        return InputError(message, source=source, line=line, field=field_name)

    if not isinstance(data, Mapping):
        raise InputError(
            f"expected a JSON object, got {type(data).__name__}", source=source, line=line
        )
    article_id = _valid_id(data.get("id"), fail)
    title, body = _title_and_body(data, fail)

    published_at, tags, values = _optional_fields(data, fail)
    metadata = _metadata(data, fail)
    url = values["url"]
    if url is not None and safe_href(url) is None:
        metadata["url_unsafe"] = url  # kept for the editor to see, never a link
        url = None
    return Article(
        id=article_id,
        title=title,
        body=body,
        url=url,
        published_at=published_at,
        category=values["category"],
        tags=tags,
        language=values["language"].lower() if values["language"] else None,
        metadata=metadata,
    )


def _metadata(data: Mapping[str, Any], fail: Callable[[str, str], InputError]) -> dict[str, Any]:
    """Every field beyond the contract's, JSON-ready (see :func:`json_ready`)."""
    metadata: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KNOWN_FIELDS:
            try:
                metadata[str(key)] = json_ready(value)
            except ValueError as exc:
                raise fail(str(key), str(exc)) from None
    return metadata


def _optional_fields(
    data: Mapping[str, Any], fail: Callable[[str, str], InputError]
) -> tuple[dt.datetime | None, tuple[str, ...], dict[str, str | None]]:
    """``published_at``, ``tags``, and the optional strings (url, category, language)."""
    published_at = None
    raw_date = data.get("published_at")
    if raw_date not in (None, ""):
        try:
            published_at = parse_datetime(raw_date)
        except ValueError as exc:
            message = f"cannot parse {raw_date!r} as an ISO-8601 date: {exc}"
            raise fail("published_at", message) from None
    try:
        tags = parse_tags(data.get("tags"))
    except ValueError as exc:
        raise fail("tags", str(exc)) from None
    values: dict[str, str | None] = {}
    for name in ("url", "category", "language"):
        try:
            values[name] = _optional_str(data.get(name), name)
        except ValueError as exc:
            raise fail(name, str(exc)) from None
    return published_at, tags, values

"""Front matter as Hugo and Jekyll read it: YAML (``---``), TOML (``+++``) or JSON (``{``) blocks,
keys compared without case, dates in every form the generators accept, terms as a list or as a
space- or comma-separated string.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml
from dateutil import parser as date_parser

from recommender._toml import tomllib
from recommender.errors import InputError


def lower_keys(value: Any) -> Any:
    """Every mapping key lower-cased, recursively (Hugo reads front matter keys without case)."""
    if isinstance(value, Mapping):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def _json_block(text: str) -> tuple[Any, int]:
    """A JSON object at the start of ``text``; (object, index just after it)."""
    decoder = json.JSONDecoder()
    return decoder.raw_decode(text)


def split(text: str, source: str, *, lower: bool = True) -> tuple[dict[str, Any], str, int]:
    """(front matter, keys lower-cased unless ``lower=False``, body, line where the body starts).

    No front matter gives an empty mapping. A malformed block raises :class:`InputError`
    naming the file and the line of the problem.
    """
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith("{"):
        try:
            meta, stop = _json_block(text.lstrip())
        except json.JSONDecodeError as exc:
            raise InputError(
                f"bad JSON front matter: {exc.msg}", source=source, line=exc.lineno
            ) from None
        offset = len(text) - len(text.lstrip())
        body = text[offset + stop :]
        return _mapping(meta, source, lower), body, text[: offset + stop].count("\n") + 1
    lines = text.splitlines(keepends=True)
    fence = lines[0].rstrip() if lines else ""
    if fence not in ("---", "+++"):
        return {}, text, 1
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == fence), None)
    if end is None:
        raise InputError(
            f"front matter opened with '{fence}' is never closed", source=source, line=1
        )
    block = "".join(lines[1:end])
    try:
        meta = yaml.safe_load(block) if fence == "---" else tomllib.loads(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise InputError(
            f"bad YAML front matter: {_first_line(exc)}", source=source, line=line
        ) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) + 1 if match else 1
        raise InputError(
            f"bad TOML front matter: {_first_line(exc)}", source=source, line=line
        ) from None
    return _mapping(meta or {}, source, lower), "".join(lines[end + 1 :]), end + 2


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _mapping(meta: Any, source: str, lower: bool = True) -> dict[str, Any]:
    if not isinstance(meta, Mapping):
        raise InputError("front matter is not a mapping of fields", source=source, line=1)
    return dict(lower_keys(meta)) if lower else {str(k): v for k, v in meta.items()}


def parse_date(value: Any, default_tz: dt.tzinfo | None = dt.timezone.utc) -> dt.datetime | None:
    """A date in any form the generators accept; naive dates take ``default_tz``.

    ``2024-05-01``, ``2024-05-01T12:34:56Z``, ``2024-05-01 12:34:56 +0200`` (Jekyll's own
    form), ``2024-05-01 12:34``, ``01 May 2024``, ``Wed, 01 May 2024 12:34:56 +0200`` and YAML
    or TOML dates all work. ``None`` or an empty string gives ``None``; anything else that is
    not a date raises ``ValueError``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = date_parser.parse(value.strip())
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"cannot read {value!r} as a date ({exc})") from None
    else:
        raise ValueError(f"expected a date, got {type(value).__name__} {value!r}")
    if parsed.tzinfo is None and default_tz is not None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def terms(value: Any) -> list[str]:
    """Categories or tags: a list, or a string split on commas (if any) else on spaces."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        items: list[Any] = text.split(",") if "," in text else text.split()
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"expected a list or a string, got {type(value).__name__}")
    out: list[str] = []
    for item in items:
        if isinstance(item, (dict, list)):
            raise ValueError(f"expected plain words, got {item!r}")
        word = str(item).strip()
        if word and word not in out:
            out.append(word)
    return out


def text_value(value: Any) -> str | None:
    """A scalar as text (``title: 1984`` is the title "1984"); ``None`` for nothing."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    return text.strip() or None


def truthy(value: Any) -> bool:
    """``true``/``"true"``/``yes``/1 as the generators read booleans in front matter."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def titleize(slug: str) -> str:
    """A title from a file name, as Jekyll derives one: ``my-first-post`` -> ``My First Post``."""
    words = re.split(r"[-_\s]+", slug)
    return " ".join(w[:1].upper() + w[1:] for w in words if w)


def field_line(text: str, name: str) -> int:
    """The line of the front matter that sets ``name`` (any case), else 1."""
    pattern = re.compile(rf'^\s*"?{re.escape(name)}"?\s*[:=]', re.IGNORECASE)
    for number, line in enumerate(text.splitlines()[:400], start=1):
        if pattern.match(line):
            return number
    return 1

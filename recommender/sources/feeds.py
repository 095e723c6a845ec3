"""RSS (0.9x, 1.0, 2.0) and Atom feeds, through ``feedparser`` (extra ``ingest``).

Mapping: id = the entry's guid / Atom id, else its link (in a WordPress feed, a guid of the form
``https://site/?p=123`` gives id ``123``, the post ID, which WXR exports and the publish hook
use too, so one post keeps one id whichever way it arrives; the guid is kept as metadata);
title and content (else summary) as plain text; url = the entry's link, resolved against
``xml:base``, the URL the feed was fetched from, or the feed's own link; published_at =
published (else updated) date; category = the first category, tags = the others; language from
the entry or the feed. Kept as metadata: ``author``, ``summary`` (when there is content too),
``updated_at``, ``feed``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from recommender.articles import article_from_mapping
from recommender.errors import InputError
from recommender.sources.common import (
    Input,
    Located,
    Skips,
    html_to_text,
    inline_text,
    language_tag,
    refuse_entities,
    require,
    safe_url,
)

_WORDPRESS_GUID = re.compile(r"^https?://[^?#\s]+/?\?p=(\d+)$")


def _wordpress_id(guid: str, feed: Any) -> str | None:
    """The post ID behind a WordPress guid (``https://site/?p=123``), in a WordPress feed."""
    generator = str(feed.get("generator") or (feed.get("generator_detail") or {}).get("href") or "")
    if "wordpress.org" not in generator.lower():
        return None
    match = _WORDPRESS_GUID.match(guid)
    return match.group(1) if match else None


# What WordPress (and Yoast) append to every feed item: not the article's text.
_BOILERPLATE = re.compile(
    r"^(the post .+ appeared first on .+|read more\W*|continue reading\W*.*|\[(\.\.\.|…)\])$",
    re.IGNORECASE,
)


def _without_boilerplate(text: str) -> str:
    lines = [line for line in text.split("\n") if not _BOILERPLATE.match(line.strip())]
    return "\n".join(lines).replace(" [...]", " ...").replace(" […]", " ...")


def _date(parsed: Any) -> str | None:
    if not parsed:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.timezone.utc).isoformat()


def _text(detail: Any, fallback: str | None) -> str:
    value = detail.get("value") if detail else fallback
    kind = (detail or {}).get("type", "text/html")
    if kind == "text/plain":
        return " ".join((value or "").split())
    return html_to_text(value)


def _body(entry: Any) -> tuple[str, str]:
    """(body, summary) as plain text: the fullest content, and the summary beside it."""
    contents = sorted(
        entry.get("content") or [], key=lambda c: c.get("type") != "text/html"
    )  # html first
    summary = _text(entry.get("summary_detail"), entry.get("summary"))
    body = _text(contents[0], None) if contents else ""
    body, summary = _without_boilerplate(body), _without_boilerplate(summary)
    return (body or summary), (summary if body and summary != body else "")


def _categories(entry: Any) -> list[str]:
    names: list[str] = []
    for tag in entry.get("tags") or []:
        name = inline_text(tag.get("label") or tag.get("term"))
        if name and name not in names:
            names.append(name)
    return names


def _record(entry: Any, base: str | None, language: str | None) -> dict[str, Any]:
    link = entry.get("link") or ""
    if link and base:
        link = urljoin(base, link)
    url = safe_url(link)
    body, summary = _body(entry)
    categories = _categories(entry)
    title = inline_text(_text(entry.get("title_detail"), entry.get("title")))
    updated = dict.get(entry, "updated_parsed")  # the raw key: no published->updated aliasing
    record = {
        "id": (entry.get("id") or "").strip() or url,
        "title": title,
        "body": body,
        "url": url,
        "published_at": _date(dict.get(entry, "published_parsed") or updated),
        "category": categories[0] if categories else None,
        "tags": categories[1:],
        "language": language_tag((entry.get("title_detail") or {}).get("language")) or language,
        "author": inline_text(entry.get("author")) or None,
        "summary": summary or None,
        "updated_at": _date(updated),
    }
    if record["updated_at"] == record["published_at"]:
        record["updated_at"] = None  # RSS has one date: feedparser copies it to both
    return record


def read_feed(source: Input, skips: Skips) -> Iterator[Located]:
    """Every entry of an RSS or Atom feed (``source.name[entry N]`` in errors)."""
    require("feedparser")
    import feedparser

    data = source.read()
    refuse_entities(data[:65536], source.name)
    headers = {"content-location": source.url} if source.url else {}
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True)
    if parsed.get("bozo") and not parsed.entries:
        exc = parsed.get("bozo_exception")
        line = exc.getLineNumber() if hasattr(exc, "getLineNumber") else None
        raise InputError(f"not a readable RSS or Atom feed: {exc}", source=source.name, line=line)
    feed = parsed.get("feed", {})
    base = source.url or feed.get("link")
    language = language_tag(feed.get("language"))
    for number, entry in enumerate(parsed.entries, start=1):
        where = f"{source.name}[entry {number}]"
        record = _record(entry, base, language)
        if not record["title"]:
            skips.add(source.name, "untitled entry")
            continue
        if record["url"] is None and entry.get("link"):
            skips.add(source.name, "unsafe link removed")
        record["feed"] = inline_text(feed.get("title")) or None
        post_id = _wordpress_id(record["id"] or "", feed)
        if post_id is not None:
            record["guid"], record["id"] = record["id"], post_id
        yield article_from_mapping(record, source=where), where, None

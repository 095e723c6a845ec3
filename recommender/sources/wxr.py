"""WordPress export files (WXR, "WordPress eXtended RSS", versions 1.0 to 1.2).

Read as a stream (``lxml.etree.iterparse``, every finished ``<item>`` cleared), so exports of
hundreds of MB never sit in memory whole. Only published posts become articles (pages too with
``include_pages``); drafts, pending, private, scheduled, trashed and password-protected posts,
revisions, attachments, menu items and other post types are skipped and counted.

Mapping: id = ``wp:post_id``; title and ``content:encoded`` as plain text (HTML, block comments
and shortcodes removed, scripts dropped); url = the item's permalink (``<link>``); published_at
= ``wp:post_date_gmt`` (else ``pubDate``); category = the primary category (Yoast's
``_yoast_wpseo_primary_category``, else the first ``domain="category"``); tags = the
``domain="post_tag"`` terms; language from the channel. Kept as metadata: ``excerpt``,
``author`` (display name), ``categories``, ``slug``, ``guid``, ``wp_post_id``, other taxonomies.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterator
from typing import Any

from lxml import etree

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
    safe_url,
)

WP_NS = "wordpress.org/export/"  # http or https, versions 1.0 to 1.2
ARTICLE_TYPES = ("post",)
ZERO_DATE = "0000-00-00 00:00:00"


def _local(tag: Any) -> str:
    """``{ns}name`` -> ``name``, with the WordPress namespace as the ``wp:`` prefix."""
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        ns, name = tag[1:].split("}", 1)
        if WP_NS in ns:
            return ("excerpt:" if ns.rstrip("/").endswith("excerpt") else "wp:") + name
        if ns.endswith("/content/"):
            return "content:" + name
        if ns.startswith("http://purl.org/dc/"):
            return "dc:" + name
        return name
    return tag


def _fields(item: Any) -> tuple[dict[str, str], list[tuple[str, str, str]], dict[str, str]]:
    """(simple child texts, (domain, nicename, name) terms, post meta) of one ``<item>``."""
    simple: dict[str, str] = {}
    terms: list[tuple[str, str, str]] = []
    meta: dict[str, str] = {}
    for child in item:
        name = _local(child.tag)
        if name == "category":
            label = (child.text or "").strip()
            terms.append((child.get("domain", "category"), child.get("nicename", ""), label))
        elif name == "wp:postmeta":
            pair = {_local(c.tag): (c.text or "") for c in child}
            meta[pair.get("wp:meta_key", "")] = pair.get("wp:meta_value", "")
        elif name and name not in simple:
            simple[name] = child.text or ""
    return simple, terms, meta


def _skip_reason(simple: dict[str, str], include_pages: bool) -> str | None:
    post_type = simple.get("wp:post_type", "post").strip() or "post"
    status = simple.get("wp:status", "publish").strip() or "publish"
    wanted = (*ARTICLE_TYPES, "page") if include_pages else ARTICLE_TYPES
    if post_type not in wanted:
        return "page (index them with --include-pages)" if post_type == "page" else post_type
    if status != "publish":
        return {"future": "scheduled"}.get(status, status) + f" {post_type}"
    if simple.get("wp:post_password", "").strip():
        return f"password-protected {post_type}"
    if not inline_text(simple.get("title")):
        return f"untitled {post_type}"
    return None


def _published(simple: dict[str, str]) -> str | None:
    gmt = simple.get("wp:post_date_gmt", "").strip()
    if gmt and gmt != ZERO_DATE:
        return gmt.replace(" ", "T") + "+00:00"
    pub = simple.get("pubDate", "").strip()
    if pub:
        try:
            return email.utils.parsedate_to_datetime(pub).astimezone(dt.timezone.utc).isoformat()
        except (TypeError, ValueError):
            pass
    local = simple.get("wp:post_date", "").strip()
    return local.replace(" ", "T") if local and local != ZERO_DATE else None


def _record(
    simple: dict[str, str],
    terms: list[tuple[str, str, str]],
    meta: dict[str, str],
    channel: dict[str, Any],
) -> dict[str, Any]:
    categories = [label for domain, _, label in terms if domain == "category" and label]
    primary = channel["term_names"].get(meta.get("_yoast_wpseo_primary_category", "").strip())
    other: dict[str, list[str]] = {}
    for domain, _, label in terms:
        if domain not in ("category", "post_tag") and label:
            other.setdefault(domain, []).append(label)
    login = simple.get("dc:creator", "").strip()
    post_type = simple.get("wp:post_type", "post").strip() or "post"
    record: dict[str, Any] = {
        "id": simple.get("wp:post_id", "").strip() or None,
        "title": inline_text(simple.get("title")),
        "body": html_to_text(simple.get("content:encoded")),
        "url": safe_url(simple.get("link")),
        "published_at": _published(simple),
        "category": primary if primary in categories else (categories[0] if categories else None),
        "tags": [label for domain, _, label in terms if domain == "post_tag" and label],
        "language": channel.get("language"),
        "excerpt": inline_text(simple.get("excerpt:encoded")) or None,
        "author": channel["authors"].get(login, login) or None,
        "categories": categories,
        "slug": simple.get("wp:post_name", "").strip() or None,
        "guid": simple.get("guid", "").strip() or None,
        "wp_post_id": simple.get("wp:post_id", "").strip() or None,
    }
    if post_type != "post":
        record["post_type"] = post_type
    if other:
        record["taxonomies"] = other
    return record


def _channel_entry(elem: Any, name: str, channel: dict[str, Any]) -> None:
    """Channel-level facts items refer to: authors' display names, category term ids."""
    if name == "wp:author":
        data = {_local(c.tag): (c.text or "").strip() for c in elem}
        login = data.get("wp:author_login", "")
        if login:
            channel["authors"][login] = data.get("wp:author_display_name") or login
    elif name == "wp:category":
        data = {_local(c.tag): (c.text or "").strip() for c in elem}
        if data.get("wp:term_id"):
            channel["term_names"][data["wp:term_id"]] = data.get("wp:cat_name", "")
    elif name == "language" and _local(getattr(elem.getparent(), "tag", None)) == "channel":
        channel["language"] = language_tag(elem.text)


def read_wxr(source: Input, skips: Skips, *, include_pages: bool = False) -> Iterator[Located]:
    """Published posts of a WordPress export, streamed."""
    refuse_entities(source.head(65536), source.name)
    channel: dict[str, Any] = {"authors": {}, "term_names": {}, "language": None}
    handle = source.open()
    events = etree.iterparse(
        handle,
        events=("end",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        recover=False,
    )
    line = 1
    try:
        for _, elem in events:
            name = _local(elem.tag)
            if name != "item":
                if name in ("wp:author", "wp:category", "language"):
                    _channel_entry(elem, name, channel)
                continue
            line = elem.sourceline or line
            simple, terms, meta = _fields(elem)
            _release(elem)
            reason = _skip_reason(simple, include_pages)
            if reason:
                skips.add(source.name, reason)
                continue
            record = _record(simple, terms, meta, channel)
            if record["url"] is None and simple.get("link", "").strip():
                skips.add(source.name, "unsafe link removed")
            yield article_from_mapping(record, source=source.name, line=line), source.name, line
    except etree.XMLSyntaxError as exc:
        raise InputError(
            f"malformed XML: {exc.msg}", source=source.name, line=exc.lineno or line
        ) from None
    finally:
        handle.close()


def _release(elem: Any) -> None:
    """Free a finished item and the siblings before it (keeps memory flat on big exports)."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]

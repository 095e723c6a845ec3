"""What reading a site gives: its articles (with published URLs and the generator's page ids),
what it skipped and why, and the files it rejected."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from recommender.articles import Article, article_from_mapping
from recommender.errors import InputError
from recommender.sites import frontmatter

MARKDOWN = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
# Characters a path keeps as they are; everything else is percent-encoded, as the generators do.
_PATH_SAFE = "/-._~!$&'()*+,;=:@%"

# Reasons a page is not indexed (keys of SiteRead.skipped_counts()).
DRAFT = "draft"
FUTURE = "future"
EXPIRED = "expired"
NOT_RENDERED = "not rendered"
UNPUBLISHED = "published: false"
NOT_A_POST = "not a post"


@dataclass(frozen=True)
class Skipped:
    """A file the generator does not publish as a post, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Site:
    """A detected site: which generator, its root and its configuration (keys lower-cased)."""

    generator: str  # "hugo" or "jekyll"
    root: Path
    config_file: Path
    config: dict[str, Any]


@dataclass(frozen=True)
class SiteRead:
    """A site read as its generator reads it."""

    site: Site
    base_path: str  # the path part of the base URL, "/" or "/blog/"
    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...] = ()
    rejected: tuple[InputError, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)  # article id -> file

    def skipped_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(s.reason for s in self.skipped).items()))

    def report(self) -> dict[str, Any]:
        """JSON-ready facts for the build report (kept beside the index, shown by ``info``)."""
        return {
            "generator": self.site.generator,
            "root": str(self.site.root),
            "config": self.site.config_file.name,
            "base_path": self.base_path,
            "articles": len(self.articles),
            "skipped": self.skipped_counts(),
            "skipped_files": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "rejected": [str(e) for e in self.rejected],
        }


def base_path(base_url: Any) -> str:
    """The path of a base URL, with slashes at both ends: ``https://x.org/blog`` -> ``/blog/``."""
    path = urlsplit(str(base_url or "")).path.strip("/")
    return f"/{path}/" if path else "/"


def join_url(base: str, path: str) -> str:
    """``base`` (``/blog/``) + a site path (``/2024/05/x/``), percent-encoded where needed."""
    joined = base.rstrip("/") + "/" + path.lstrip("/")
    return quote(joined, safe=_PATH_SAFE)


def make_article(
    *,
    article_id: str,
    meta: dict[str, Any],
    body: str,
    title: str,
    url: str,
    date: dt.datetime | None,
    category: str | None,
    source: str,
) -> Article:
    """An Article from a page: the contract's fields, the rest of the front matter as metadata."""
    record: dict[str, Any] = {
        k: v for k, v in meta.items() if k not in _CONSUMED and _json_ready(v)
    }
    record.update(
        id=article_id,
        title=title,
        body=body,
        url=url,
        published_at=date,
        category=category,
        tags=frontmatter.terms(meta.get("tags")),
        language=frontmatter.text_value(meta.get("lang") or meta.get("language")),
    )
    return article_from_mapping(record, source=source, line=1)


_CONSUMED = {
    "id", "title", "body", "url", "date", "publishdate", "pubdate", "published", "lastmod",
    "modified", "expirydate", "unpublishdate", "tags", "categories", "category", "lang",
    "language", "permalink", "slug", "draft", "build", "_build", "cascade", "layout",
    "published_at", "aliases", "resources", "outputs", "sitemap", "menu", "menus",
}  # fmt: skip


def _json_ready(value: Any) -> bool:
    """Only plain JSON values travel as metadata (YAML dates and the like stay behind)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_json_ready(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_ready(v) for k, v in value.items())
    return False


def field_error(exc: Exception, source: str, name: str) -> InputError:
    """A ValueError about one front matter field, as an InputError naming file and field."""
    if isinstance(exc, InputError):
        return exc
    return InputError(str(exc), source=source, line=1, field=name)

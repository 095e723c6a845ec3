"""Read a Jekyll site as ``jekyll build`` does: ``_posts`` (also under category folders) and
collections with ``output: true``, file-name dates, ``permalink`` (global, per collection and per
post; the built-in styles and placeholders), ``baseurl``, and only what it publishes.

Each article's id is Jekyll's ``page.path`` (``_posts/2024-05-01-my-post.md``), so an include
finds its list with ``site.data.recommender.related[page.path]``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.errors import InputError
from recommender.loaders import files_under, refuse_link_out
from recommender.sites import frontmatter
from recommender.sites.base import (
    FUTURE,
    MARKDOWN,
    NOT_A_POST,
    UNPUBLISHED,
    Site,
    SiteRead,
    Skipped,
    base_path,
    field_error,
    join_url,
    make_article,
)

STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
POST_NAME = re.compile(r"^(\d{2,4}-\d{1,2}-\d{1,2})-(.*)$")
_TOKEN = re.compile(r":(\w+)")


def slugify(text: str, *, pretty: bool = False, cased: bool = False) -> str:
    """Jekyll's ``slugify`` in its default and ``pretty`` modes."""
    pattern = r"[^\w._~!$&'()+,;=@]+" if pretty else r"[^\w]+|_+"
    slug = re.sub(pattern, "-", text).strip("-")
    return slug if cased else slug.lower()


def _style(permalink: Any) -> str:
    text = str(permalink or "date")
    return STYLES.get(text, text)


def _collection_template(site_permalink: Any, collection: dict[str, Any]) -> str:
    """``/:collection/:path`` with the suffix the site's permalink style implies (Jekyll 4's
    ``Utils.add_permalink_suffix``)."""
    if collection.get("permalink"):
        return _style(collection["permalink"])
    style = str(site_permalink or "date")
    template = "/:collection/:path"
    if style == "pretty":
        return template + "/"
    if style in ("date", "ordinal", "none"):
        return template + ":output_ext"
    if style.endswith("/"):
        return template + "/"
    return template + ":output_ext" if style.endswith(":output_ext") else template


def _collections(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = config.get("collections") or {}
    if isinstance(raw, list):
        raw = {name: {} for name in raw}
    out = {str(k): (v if isinstance(v, dict) else {}) for k, v in raw.items()}
    out.setdefault("posts", {})
    out["posts"].setdefault("output", True)
    return out


class _Doc:
    """A post or collection document and the placeholders Jekyll fills for it."""

    def __init__(self, rel: str, collection: str, meta: dict[str, Any], name_date: str | None):
        self.rel = rel
        self.collection = collection
        self.meta = meta
        stem = Path(rel).stem
        match = POST_NAME.match(stem) if collection == "posts" else None
        self.slug = match.group(2) if match else stem
        self.name_date = name_date
        date = meta.get("date") if meta.get("date") is not None else name_date
        try:
            self.date = frontmatter.parse_date(date, None)
        except ValueError as exc:
            raise InputError(str(exc), field="date") from None
        if self.date is not None and self.date.tzinfo is None:
            self.date = self.date.astimezone()  # Jekyll reads naive dates in local time

    def categories(self, folder_categories: list[str]) -> list[str]:
        own: list[str] = []
        for key in ("categories", "category"):
            value = self.meta.get(key)
            words = value.split() if isinstance(value, str) else (value or [])
            own += [str(w) for w in (words if isinstance(words, list) else [words])]
        return list(dict.fromkeys(own + folder_categories))


def _placeholders(doc: _Doc, path_in_collection: str, categories: list[str]) -> dict[str, str]:
    date = doc.date or dt.datetime(1970, 1, 1).astimezone()
    slug = frontmatter.text_value(doc.meta.get("slug")) or doc.slug
    return {
        "year": f"{date:%Y}",
        "short_year": f"{date:%y}",
        "month": f"{date:%m}",
        "i_month": str(date.month),
        "short_month": f"{date:%b}",
        "long_month": f"{date:%B}",
        "day": f"{date:%d}",
        "i_day": str(date.day),
        "y_day": f"{date:%j}",
        "w_year": f"{date:%G}",
        "week": f"{date:%V}",
        "short_day": f"{date:%a}",
        "long_day": f"{date:%A}",
        "hour": f"{date:%H}",
        "minute": f"{date:%M}",
        "second": f"{date:%S}",
        "title": slugify(slug, pretty=True, cased=True),
        "slug": slugify(slug),
        "name": slugify(Path(path_in_collection).stem),
        "categories": "/".join(dict.fromkeys(c.lower() for c in categories)),
        "slugified_categories": "/".join(dict.fromkeys(slugify(c) for c in categories)),
        "collection": doc.collection,
        "path": path_in_collection.rsplit(".", 1)[0],
        "output_ext": ".html",
    }


def page_path(template: str, values: dict[str, str]) -> str:
    """Fill a permalink template; empty placeholders leave no double slashes (as Jekyll)."""
    path = _TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    path = re.sub(r"/{2,}", "/", "/" + path)
    return path


# Jekyll's own default ``exclude`` list; a site's ``exclude`` adds to it.
DEFAULT_EXCLUDE = (
    ".sass-cache", ".jekyll-cache", "gemfiles", "Gemfile", "Gemfile.lock", "node_modules",
    "vendor/bundle", "vendor/cache", "vendor/gems", "vendor/ruby",
)  # fmt: skip


@dataclass(frozen=True)
class _Walk:
    """How document folders are walked: links may not leave ``root`` unless followed."""

    root: Path
    follow_symlinks: bool

    def files(self, folder: Path) -> list[Path]:
        return files_under(folder, MARKDOWN, follow_symlinks=self.follow_symlinks, within=self.root)


def _excluded(rel: str, exclude: tuple[str, ...]) -> bool:
    """Whether Jekyll skips this folder (hidden, underscored, or matched by ``exclude``)."""
    name = rel.rsplit("/", 1)[-1]
    if name.startswith((".", "_")) and name != "_posts":
        return True
    return any(rel == e or rel.startswith(e + "/") for e in exclude)


def _posts_dirs(base: Path, exclude: tuple[str, ...], walk: _Walk) -> list[Path]:
    """Every ``_posts`` folder Jekyll reads: in ``base`` and in its (category) subfolders;
    a folder linked out of the site root is refused unless ``walk.follow_symlinks``, and a
    folder already seen (through a link) is not read twice."""
    found: list[Path] = []
    stack = [base]
    seen = {os.path.realpath(base)}
    while stack:
        folder = stack.pop()
        for child in sorted(folder.iterdir()):
            if not child.is_dir():
                continue
            if child.is_symlink():
                if not walk.follow_symlinks:
                    refuse_link_out(child, walk.root)
                if os.path.realpath(child) in seen:
                    continue  # a link back up the tree, or to a folder already read
            seen.add(os.path.realpath(child))
            rel = child.relative_to(base).as_posix()
            if child.name == "_posts":
                found.append(child)
            elif not _excluded(rel, exclude):
                stack.append(child)
    return sorted(found)


def _documents(
    collections_dir: Path,
    collections: dict[str, dict[str, Any]],
    exclude: tuple[str, ...],
    walk: _Walk,
) -> Iterator[tuple[Path, str, str, list[str]]]:
    """(file, collection, path inside the collection, folder categories) for every document."""
    for posts_dir in _posts_dirs(collections_dir, exclude, walk):
        folder_categories = list(posts_dir.parent.relative_to(collections_dir).parts)
        for path in walk.files(posts_dir):
            if path.is_file():
                yield path, "posts", path.relative_to(posts_dir).as_posix(), folder_categories
    for name, meta in collections.items():
        if name == "posts" or not meta.get("output"):
            continue
        folder = collections_dir / f"_{name}"
        for path in walk.files(folder) if folder.is_dir() else []:
            if path.is_file():
                yield path, name, path.relative_to(folder).as_posix(), []


def read(site: Site, now: dt.datetime | None = None, *, follow_symlinks: bool = False) -> SiteRead:
    """Every post and output-collection document that ``jekyll build`` publishes.

    A symbolic link (file or folder) leading out of the site root is an error naming it,
    unless ``follow_symlinks`` (:func:`recommender.loaders.files_under`)."""
    config = site.config
    now = now or dt.datetime.now(dt.timezone.utc)
    source_dir = site.root / str(config.get("source") or ".")
    collections_dir = source_dir / str(config.get("collections_dir") or "")
    collections = _collections(config)
    base = base_path(config.get("baseurl"))
    articles, skipped, rejected, sources = [], [], [], {}
    exclude = DEFAULT_EXCLUDE + tuple(str(e).strip("/") for e in config.get("exclude") or ())
    walk = _Walk(site.root, follow_symlinks)
    for path, collection, inner, folder_categories in _documents(
        collections_dir, collections, exclude, walk
    ):
        rel = path.relative_to(source_dir).as_posix()
        source = str(path)
        text = ""
        try:
            text = path.read_text(encoding="utf-8")
            if not text.startswith("---"):
                skipped.append(Skipped(rel, NOT_A_POST))  # no front matter: copied as a file
                continue
            # Jekyll's own keys are case-sensitive: URLs and publishing follow them exactly;
            # what a reader sees (title, tags) is read without case, as the issue of imported
            # sites asks.
            own, body, _ = frontmatter.split(text, source, lower=False)
            raw = {**_defaults(config, rel, collection), **own}
            meta = frontmatter.lower_keys(raw)
            match = POST_NAME.match(path.stem)
            if collection == "posts" and not match:
                skipped.append(Skipped(rel, NOT_A_POST))  # Jekyll ignores undated post names
                continue
            doc = _Doc(rel, collection, raw, match.group(1) if match else None)
        except UnicodeDecodeError:
            rejected.append(InputError("not UTF-8 text", source=source, line=1))
            continue
        except OSError as exc:
            rejected.append(InputError(f"cannot read: {exc.strerror}", source=source))
            continue
        except InputError as exc:
            line = frontmatter.field_line(text, exc.field) if exc.field else exc.line
            rejected.append(InputError(exc.message, source=source, line=line, field=exc.field))
            continue
        reason = _skip_reason(doc, config, now)
        if reason:
            skipped.append(Skipped(rel, reason))
            continue
        try:
            template = _template(doc, config, collections[collection])
            categories = doc.categories(folder_categories)
            values = _placeholders(doc, inner, categories)
            title = frontmatter.text_value(meta.get("title")) or frontmatter.titleize(doc.slug)
            url = join_url(base, page_path(template, values))
            articles.append(
                make_article(
                    article_id=rel,
                    meta=meta,
                    body=body,
                    title=title,
                    url=url,
                    date=doc.date,
                    category=_first(categories or frontmatter.terms(meta.get("categories"))),
                    source=source,
                )
            )
            sources[rel] = source
        except (InputError, ValueError) as exc:
            rejected.append(field_error(exc, source, "front matter"))
    return SiteRead(site, base, tuple(articles), tuple(skipped), tuple(rejected), sources)


def _defaults(config: dict[str, Any], rel: str, collection: str) -> dict[str, Any]:
    """Front matter ``defaults`` from the config that apply to a document (Jekyll: the more
    specific path wins, then the later entry); the document's own front matter goes over it."""
    matched: list[tuple[int, int, dict[str, Any]]] = []
    for order, entry in enumerate(config.get("defaults") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), dict):
            continue
        scope = entry.get("scope") or {}
        path = str(scope.get("path") or "").strip("/")
        kind = scope.get("type")
        if kind is not None and str(kind) != collection:
            continue
        if path and "*" not in path and not (rel == path or rel.startswith(path + "/")):
            continue
        if "*" in path and not Path(rel).match(path):
            continue
        matched.append((len(path), order, entry["values"]))
    merged: dict[str, Any] = {}
    for _, _, values in sorted(matched, key=lambda item: (item[0], item[1])):
        merged.update(values)
    return merged


def _first(items: list[str]) -> str | None:
    return items[0] if items else None


def _template(doc: _Doc, config: dict[str, Any], collection: dict[str, Any]) -> str:
    own = frontmatter.text_value(doc.meta.get("permalink"))
    if own:
        return own
    if doc.collection == "posts":
        return _style(collection.get("permalink") or config.get("permalink"))
    return _collection_template(config.get("permalink"), collection)


def _skip_reason(doc: _Doc, config: dict[str, Any], now: dt.datetime) -> str | None:
    published = doc.meta.get("published")
    if published is not None and not frontmatter.truthy(published):
        return UNPUBLISHED
    if doc.date is not None and doc.date > now and not config.get("future"):
        return FUTURE
    return None

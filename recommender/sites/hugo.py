"""Read a Hugo site as ``hugo`` builds it: contentDir, sections, page bundles, permalinks,
baseURL, ``url``/``slug`` front matter, and only the pages it publishes.

Each article's id is Hugo's ``.File.Path`` (the file path under the content folder, e.g.
``posts/my-post.md`` or ``posts/my-bundle/index.md``), so a template finds its list with
``index site.Data.recommender.related (urlquery .File.Path)``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recommender.errors import InputError
from recommender.loaders import files_under
from recommender.sites import frontmatter
from recommender.sites.base import (
    DRAFT,
    EXPIRED,
    FUTURE,
    MARKDOWN,
    NOT_A_POST,
    NOT_RENDERED,
    Site,
    SiteRead,
    Skipped,
    base_path,
    field_error,
    join_url,
    make_article,
)

# Which front matter key sets which date, in Hugo's default order (frontmatter config).
DATE_KEYS = ("date", "publishdate", "pubdate", "published", "lastmod", "modified")
PUBLISH_KEYS = ("publishdate", "pubdate", "published", "date")
EXPIRY_KEYS = ("expirydate", "unpublishdate")
_TOKEN = re.compile(r":(\w+)")


def _tz(config: dict[str, Any]) -> dt.tzinfo:
    name = config.get("timezone")
    if not name:
        return dt.timezone.utc
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def urlize(text: str, lower: bool = True) -> str:
    """Hugo's ``urlize`` for a path segment: spaces to hyphens, only path characters kept,
    lower case (as ``:title`` and ``:slug`` in permalinks)."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text.strip()):
        if ch.isspace():
            if out and out[-1] != "-":
                out.append("-")
        elif ch.isalnum() or ch in "._-~#+%" or unicodedata.category(ch).startswith("M"):
            out.append(ch)
    slug = "".join(out)
    return slug.lower() if lower else slug


_FILENAME_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
DEFAULT_HANDLERS = {"date": DATE_KEYS, "publishdate": PUBLISH_KEYS, "expirydate": EXPIRY_KEYS}


class _Page:
    """One content file and what Hugo derives from it."""

    def __init__(self, rel: str, meta: dict[str, Any], bundle: bool, config: dict[str, Any]):
        self.rel = rel  # .File.Path
        self.meta = meta
        parts = rel.split("/")
        self.dirs = parts[:-2] if bundle else parts[:-1]
        self.section = self.dirs[0] if self.dirs else ""
        self.basename = parts[-2] if bundle else Path(parts[-1]).stem  # .File.ContentBaseName
        self.filename = self.basename
        self.name_slug: str | None = None
        tz = _tz(config)
        self.date = self._date(config, "date", tz)
        self.publish = self._date(config, "publishdate", tz)
        self.expiry = self._date(config, "expirydate", tz)

    def _date(self, config: dict[str, Any], name: str, tz: dt.tzinfo) -> dt.datetime | None:
        """The first date the site's ``[frontmatter]`` handlers for ``name`` find."""
        handlers = (config.get("frontmatter") or {}).get(name) or [":default"]
        keys: list[str] = []
        for handler in handlers if isinstance(handlers, list) else [handlers]:
            handler = str(handler).lower()
            keys += DEFAULT_HANDLERS[name] if handler == ":default" else [handler]
        for key in keys:
            if key == ":filename":
                match = _FILENAME_DATE.match(self.basename)
                if match:
                    self.name_slug = match.group(2)  # Hugo takes the rest as the slug
                    return frontmatter.parse_date(match.group(1), tz)
                continue
            value = self.meta.get(key.lstrip(":"))
            if value is None or isinstance(value, bool):
                continue  # a bool is Jekyll's `published: false`, not a date
            try:
                return frontmatter.parse_date(value, tz)
            except ValueError as exc:
                raise InputError(str(exc), field=key) from None
        return None

    @property
    def slug(self) -> str | None:
        return frontmatter.text_value(self.meta.get("slug")) or self.name_slug


def _permalink_patterns(config: dict[str, Any]) -> dict[str, str]:
    raw = config.get("permalinks") or {}
    if isinstance(raw.get("page"), dict):  # Hugo 0.112+: [permalinks.page]
        raw = raw["page"]
    return {str(k).strip("/"): str(v) for k, v in raw.items() if isinstance(v, str)}


def _expand(pattern: str, page: _Page, title: str) -> str:
    date = page.date
    values = {
        "year": f"{date:%Y}" if date else "0001",
        "month": f"{date:%m}" if date else "01",
        "monthname": f"{date:%B}".lower() if date else "january",
        "day": f"{date:%d}" if date else "01",
        "weekday": str(date.isoweekday() % 7) if date else "1",
        "weekdayname": f"{date:%A}".lower() if date else "monday",
        "yearday": str(date.timetuple().tm_yday) if date else "1",
        "section": page.section,
        "sections": "/".join(page.dirs),
        "title": urlize(title),
        "slug": urlize(page.slug or title),
        "filename": urlize(page.filename),
        "slugorfilename": urlize(page.slug) if page.slug else urlize(page.filename),
        "contentbasename": urlize(page.basename),
        "slugorcontentbasename": urlize(page.slug) if page.slug else urlize(page.basename),
    }

    def token(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        return values.get(name, match.group(0))

    return _TOKEN.sub(token, pattern)


def page_path(page: _Page, title: str, config: dict[str, Any]) -> str:
    """The page's path under the base URL, as Hugo makes it (without the base path)."""
    url = frontmatter.text_value(page.meta.get("url"))
    pattern = _permalink_patterns(config).get(page.section)
    if url:
        path = url
    elif pattern:
        path = _expand(pattern, page, title)
    else:
        leaf = page.slug or page.basename
        path = "/".join(urlize(part, lower=False) for part in [*page.dirs, leaf]) + "/"
    if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
        path += "/"  # Hugo writes .../name/index.html for a pattern without a trailing slash
    if config.get("uglyurls") is True and path.endswith("/") and not url:
        path = path.rstrip("/") + ".html"
    path = re.sub(r"/{2,}", "/", "/" + path.lstrip("/"))
    keep_case = url or config.get("disablepathtolower")  # Hugo keeps `url:` as written
    return path if keep_case else path.lower()


def _skip_reason(page: _Page, config: dict[str, Any], now: dt.datetime) -> str | None:
    meta = page.meta
    if frontmatter.truthy(meta.get("draft")) and not config.get("builddrafts"):
        return DRAFT
    build = meta.get("build") if isinstance(meta.get("build"), dict) else meta.get("_build")
    if isinstance(build, dict) and str(build.get("render", "always")).lower() in (
        "never",
        "false",
    ):
        return NOT_RENDERED
    if frontmatter.truthy(meta.get("headless")):
        return NOT_RENDERED
    if page.publish and page.publish > now and not config.get("buildfuture"):
        return FUTURE
    if page.expiry and page.expiry <= now and not config.get("buildexpired"):
        return EXPIRED
    return None


def _content_files(content: Path, markdown: list[Path]) -> list[tuple[Path, bool]]:
    """(file, is a leaf bundle) for every page file; resources inside leaf bundles left out."""
    bundles = {p.parent for p in markdown if p.stem == "index"}
    files: list[tuple[Path, bool]] = []
    for path in markdown:
        if not path.is_file():
            continue
        if path.stem == "_index":
            continue  # list pages of sections, not articles
        is_bundle = path.stem == "index" and path.parent != content
        if not is_bundle and any(parent in bundles for parent in path.parents):
            continue  # a page resource inside a leaf bundle, not a page
        files.append((path, is_bundle))
    return files


def _cascades(markdown: list[Path]) -> dict[Path, list[dict[str, Any]]]:
    """Folder -> the ``cascade`` entries of its ``_index.md`` (a list page's bad front matter is
    Hugo's to report: it is not an article)."""
    found: dict[Path, list[dict[str, Any]]] = {}
    for index in markdown:
        if index.stem != "_index":
            continue
        try:
            meta, _, _ = frontmatter.split(index.read_text(encoding="utf-8"), str(index))
        except (InputError, OSError, UnicodeDecodeError):
            continue
        cascade = meta.get("cascade")
        entries = cascade if isinstance(cascade, list) else [cascade]
        found[index.parent] = [e for e in entries if isinstance(e, dict)]
    return found


def _glob(pattern: str) -> re.Pattern[str]:
    """Hugo's path glob: ``**`` any path, ``*`` within a segment, ``?`` one character."""
    parts = re.split(r"(\*\*|\*|\?)", pattern.lower())
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(p, re.escape(p)) for p in parts) + "$")


def with_cascade(
    meta: dict[str, Any], path: Path, content: Path, cascades: dict[Path, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The page's front matter with what the sections above it cascade (its own keys win, the
    nearest section next), each entry limited by its ``_target`` kind and path."""
    merged = dict(meta)
    rel = path.relative_to(content)
    names = list(rel.parts[:-1]) if path.stem == "index" else [*rel.parts[:-1], path.stem]
    logical = "/" + "/".join(urlize(name) for name in names)  # Hugo's .Path
    for folder in path.parents:
        for entry in cascades.get(folder, []):
            target = entry.get("_target") or entry.get("target") or {}
            if str(target.get("kind", "page")).lower() != "page":
                continue
            if target.get("path") and not _glob(str(target["path"])).match(logical):
                continue
            for key, value in entry.items():
                if key not in ("_target", "target"):
                    merged.setdefault(key, value)
        if folder == content:
            break
    return merged


def _main_sections(config: dict[str, Any]) -> set[str] | None:
    params = config.get("params") if isinstance(config.get("params"), dict) else {}
    sections = params.get("mainsections") if params else None
    if isinstance(sections, str):
        sections = [sections]
    return {str(s).strip("/") for s in sections} if sections else None


def read(site: Site, now: dt.datetime | None = None, *, follow_symlinks: bool = False) -> SiteRead:
    """Every page Hugo publishes in a section (or in ``params.mainSections`` when set).

    A symbolic link (file or folder) leading out of the site root is an error naming it,
    unless ``follow_symlinks`` (:func:`recommender.loaders.files_under`)."""
    config = site.config
    now = now or dt.datetime.now(dt.timezone.utc)
    content = site.root / str(config.get("contentdir") or "content")
    if not content.is_dir():
        raise InputError(
            f"no content folder {content.name}/ in this Hugo site", source=str(content)
        )
    base = base_path(config.get("baseurl"))
    main = _main_sections(config)
    articles, skipped, rejected, sources = [], [], [], {}
    markdown = files_under(content, MARKDOWN, follow_symlinks=follow_symlinks, within=site.root)
    cascades = _cascades(markdown)
    for path, is_bundle in _content_files(content, markdown):
        rel = path.relative_to(content).as_posix()
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            meta, body, _ = frontmatter.split(text, source)
            page = _Page(rel, with_cascade(meta, path, content, cascades), is_bundle, config)
        except UnicodeDecodeError:
            rejected.append(InputError("not UTF-8 text", source=source, line=1))
            continue
        except OSError as exc:
            rejected.append(InputError(f"cannot read: {exc.strerror}", source=source))
            continue
        except InputError as exc:
            if exc.source is None:
                exc = InputError(exc.message, source=source, line=_line(text, exc), field=exc.field)
            rejected.append(exc)
            continue
        if not page.section or (main is not None and page.section not in main):
            skipped.append(Skipped(rel, NOT_A_POST))
            continue
        reason = _skip_reason(page, config, now)
        if reason:
            skipped.append(Skipped(rel, reason))
            continue
        try:
            articles.append(_article(page, body, config, base, source, text))
            sources[rel] = source
        except (InputError, ValueError) as exc:
            rejected.append(field_error(exc, source, "front matter"))
    return SiteRead(site, base, tuple(articles), tuple(skipped), tuple(rejected), sources)


def _line(text: str, exc: InputError) -> int:
    return frontmatter.field_line(text, exc.field) if exc.field else 1


def _article(
    page: _Page, body: str, config: dict[str, Any], base: str, source: str, text: str
) -> Any:
    meta = page.meta
    title = frontmatter.text_value(meta.get("title")) or frontmatter.titleize(page.basename)
    try:
        categories = frontmatter.terms(meta.get("categories"))
        frontmatter.terms(meta.get("tags"))
    except ValueError as exc:
        name = "categories" if "categories" in str(exc) else "tags"
        raise InputError(str(exc), source=source, line=frontmatter.field_line(text, name)) from None
    return make_article(
        article_id=page.rel,
        meta=meta,
        body=body,
        title=title,
        url=join_url(base, page_path(page, title, config)),
        date=page.date,
        category=categories[0] if categories else page.section,
        source=source,
    )

"""HTML pages: a folder of built or saved pages (Hugo's ``public/``, Jekyll's ``_site/``, any
CMS's static dump), one page, or a ``sitemap.xml`` listing them (extra ``ingest``).

The main text comes from ``trafilatura`` (navigation, headers, footers, comments and "related"
boxes are not article text); the metadata from what publishers already put in their pages, in
this order: schema.org ``NewsArticle``/``Article``/``BlogPosting`` JSON-LD, Open Graph and
``article:*`` meta tags (``og:title``, ``article:published_time``, ``article:section``,
``article:tag``), the canonical link, ``<html lang>``. id = the canonical URL's path
(``world/summit`` for ``https://example.com/world/summit/``), else the file's path.

Pages that are not articles are skipped and counted: tag, category and author lists,
pagination (``/page/2/``), search pages, pages whose ``og:type`` or JSON-LD type says they are
something else, and pages without article metadata whose main text is too short to be one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from recommender.articles import article_from_mapping
from recommender.errors import InputError
from recommender.sources.common import (
    Input,
    Located,
    Skips,
    fetch,
    inline_text,
    is_url,
    language_tag,
    refuse_entities,
    require,
    safe_url,
)

ARTICLE_TYPES = frozenset(
    [
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "LiveBlogPosting",
        "TechArticle",
        "Report",
        "SatiricalArticle",
    ]
)
LIST_TYPES = frozenset(
    ["CollectionPage", "SearchResultsPage", "ProfilePage", "ItemList", "WebSite"]
)
MIN_TEXT_CHARS = 300  # a page without article metadata needs this much main text
_LIST_PATH = re.compile(r"(^|/)(tags?|categor(y|ies)|topics?|authors?|archives?|series)(/|$)")
_PAGE_PATH = re.compile(r"(^|/)page/\d+(/|$)|[?&]page=\d+")
_SEARCH_PATH = re.compile(r"(^|/)search(/|$|\.html)|[?&](s|q)=")


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds if k}


def _json_ld_nodes(tree: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue  # a broken block of someone else's SEO plugin is not the article's fault
        stack = data if isinstance(data, list) else [data]
        while stack:
            node = stack.pop(0)
            if isinstance(node, dict):
                nodes.append(node)
                graph = node.get("@graph")
                stack.extend(graph if isinstance(graph, list) else [])
    return nodes


def _names(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and inline_text(name):
            out.append(inline_text(name))
    return out


def page_metadata(tree: Any) -> dict[str, Any]:
    """The metadata a page declares (meta tags, canonical link, JSON-LD), as found."""
    meta: dict[str, Any] = {"article:tag": []}
    for node in tree.iter("meta"):
        key = (node.get("property") or node.get("name") or "").strip().lower()
        content = node.get("content")
        if not key or content is None:
            continue
        if key == "article:tag":
            meta["article:tag"].append(content)
        else:
            meta.setdefault(key, content)
    for link in tree.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        for rel in ("canonical", "next", "prev"):
            if rel in rels and link.get("href"):
                meta.setdefault(rel, link.get("href"))
    nodes = _json_ld_nodes(tree)
    meta["ld_types"] = set().union(*(_types(n) for n in nodes)) if nodes else set()
    meta["ld"] = next((n for n in nodes if _types(n) & ARTICLE_TYPES), {})
    meta["lang"] = tree.get("lang") or tree.get("xml:lang")
    titles = tree.xpath("//title/text()")
    meta["title"] = titles[0] if titles else None
    h1 = tree.xpath("//h1")
    meta["h1"] = h1[0].text_content() if h1 else None
    return meta


def _skip_reason(meta: dict[str, Any], path: str) -> str | None:
    """Why a page is not an article (None: it is, or its text decides)."""
    declared = bool(meta["ld"]) or meta.get("og:type") == "article"
    declared = declared or bool(meta.get("article:published_time"))
    if _PAGE_PATH.search(path):
        return "pagination page"
    if "SearchResultsPage" in meta["ld_types"] or (not declared and _SEARCH_PATH.search(path)):
        return "search page"
    if declared:
        return None
    if _LIST_PATH.search(path):
        return "tag, category or author list"
    if meta.get("og:type"):
        return f"not an article (og:type {meta['og:type']})"
    if meta["ld_types"] & LIST_TYPES:
        return "list page (JSON-LD " + ", ".join(sorted(meta["ld_types"] & LIST_TYPES)) + ")"
    if "noindex" in (meta.get("robots") or "").lower():
        return "noindex page"
    return None


def _page_id(url: str | None, fallback: str) -> str:
    path = urlsplit(url).path if url else fallback
    path = re.sub(r"(^|/)index\.html?$", "", path.strip("/"))
    path = re.sub(r"\.html?$", "", path).strip("/")
    return path or "index"


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [])), None)


def _record(
    meta: dict[str, Any], text: str, page_url: str | None, rel: str, id_from_file: bool
) -> dict[str, Any]:
    ld = meta["ld"]
    canonical = _first(meta.get("canonical"), meta.get("og:url"), ld.get("url"), page_url)
    if canonical and page_url:
        canonical = urljoin(page_url, canonical)
    url = safe_url(canonical) or ("/" + re.sub(r"index\.html?$", "", rel) if not page_url else None)
    section = ld.get("articleSection")
    keywords = ld.get("keywords")
    if isinstance(keywords, str):
        keywords = [k for k in keywords.split(",") if k.strip()]
    sections = _names(section) or _names(meta.get("article:section"))
    titles = [*_names(ld.get("headline")), *_names([meta.get("og:title"), meta.get("h1")])]
    return {
        "id": _page_id(None if id_from_file or not safe_url(canonical) else canonical, rel),
        "title": (titles or _names(meta.get("title")) or [""])[0],
        "body": text,
        "url": url,
        "published_at": _first(ld.get("datePublished"), meta.get("article:published_time")),
        "category": sections[0] if sections else None,
        "tags": _first([inline_text(t) for t in meta["article:tag"]], _names(keywords)) or [],
        "language": language_tag(
            _first(meta.get("lang"), ld.get("inLanguage"), meta.get("og:locale"))
        ),
        "author": ", ".join(_names(ld.get("author"))) or meta.get("author") or None,
        "description": inline_text(
            _first(ld.get("description"), meta.get("og:description"), meta.get("description"))
        )
        or None,
        "updated_at": _first(ld.get("dateModified"), meta.get("article:modified_time")),
    }


def read_page(
    data: bytes,
    name: str,
    skips: Skips,
    *,
    page_url: str | None,
    rel: str,
    count_as: str,
    id_from_file: bool = False,
) -> Iterator[Located]:
    """One page: an article, or a counted skip. ``id_from_file``: the id is the page's path in
    the site's folder (``posts/summit`` for ``posts/summit/index.html``, as the Markdown
    reader names ``content/posts/summit.md``), not its canonical URL's path (which carries the
    site's base path when it is served from a sub-folder)."""
    require("trafilatura")
    import trafilatura

    try:
        tree = lxml_html.document_fromstring(data)
    except (etree.ParserError, ValueError):
        skips.add(count_as, "empty or unreadable page")
        return
    meta = page_metadata(tree)
    path = urlsplit(_first(meta.get("canonical"), page_url) or "").path or rel
    reason = _skip_reason(meta, path if path.strip("/") else rel)
    if reason:
        skips.add(count_as, reason)
        return
    text = trafilatura.extract(
        tree,
        url=page_url,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        deduplicate=False,
        output_format="txt",
    )
    text = "\n".join(line.strip() for line in (text or "").splitlines() if line.strip())
    declared = bool(meta["ld"]) or meta.get("og:type") == "article"
    if not text or (not declared and len(text) < MIN_TEXT_CHARS):
        skips.add(count_as, "no article text" if not text else "too little text for an article")
        return
    record = _record(meta, text, page_url, rel, id_from_file)
    first, _, rest = text.partition("\n")
    if rest and " ".join(first.split()).lower() == record["title"].lower():
        record["body"] = rest  # the headline is the title, not the body's lead
    yield article_from_mapping(record, source=name, line=None), name, None


def read_html_file(source: Input, skips: Skips) -> Iterator[Located]:
    rel = source.path.name if source.path else urlsplit(source.name).path
    yield from read_page(
        source.read(), source.name, skips, page_url=source.url, rel=rel, count_as=source.name
    )


def read_html_dir(root: Path, skips: Skips, *, follow_symlinks: bool = False) -> Iterator[Located]:
    """Every ``.html`` page under ``root`` (a built site), in path order; links out of
    ``root`` are refused unless ``follow_symlinks`` (:func:`recommender.loaders.files_under`)."""
    from recommender.loaders import files_under

    pages = files_under(root, (".html", ".htm"), follow_symlinks=follow_symlinks)
    for page in pages:
        rel = page.relative_to(root).as_posix()
        yield from read_page(
            page.read_bytes(),
            str(page),
            skips,
            page_url=None,
            rel=rel,
            count_as=str(root),
            id_from_file=True,
        )


def _sitemap_locs(source: Input) -> Iterator[tuple[str, int, bool]]:
    """(loc, line, is a nested sitemap) for every entry of a sitemap or sitemap index."""
    refuse_entities(source.head(65536), source.name)
    handle = source.open()
    try:
        for _, elem in etree.iterparse(
            handle, events=("end",), resolve_entities=False, no_network=True, load_dtd=False
        ):
            if isinstance(elem.tag, str) and elem.tag.endswith("loc") and elem.text:
                parent = elem.getparent()
                nested = parent is not None and str(parent.tag).endswith("sitemap")
                yield elem.text.strip(), elem.sourceline or 0, nested
                if parent is not None:
                    parent.clear()
    except etree.XMLSyntaxError as exc:
        raise InputError(
            f"malformed sitemap XML: {exc.msg}", source=source.name, line=exc.lineno
        ) from None
    finally:
        handle.close()


def _local_page(folder: Path, loc: str) -> Path | None:
    """The file for ``loc`` under ``folder``; a site served from a sub-folder
    (``https://x.example/blog/posts/a/``) has its base path tried away segment by segment."""
    parts = [p for p in urlsplit(loc).path.split("/") if p]
    for start in range(len(parts) + 1):
        path = "/".join(parts[start:])
        candidates = [folder / path / "index.html", folder / path, folder / f"{path}.html"]
        for candidate in candidates if path else [folder / "index.html"]:
            if candidate.is_file():
                return candidate
    return None


def read_sitemap(source: Input, skips: Skips, timeout: float) -> Iterator[Located]:
    """The pages a sitemap lists: files beside a local sitemap (a built site), else fetched."""
    folder = source.path.parent if source.path else None
    for loc, line, nested in _sitemap_locs(source):
        local = _local_page(folder, loc) if folder else None
        if local is not None and nested:
            yield from read_sitemap(Input(str(local), path=local), skips, timeout)
            continue
        if local is not None:
            data, name = local.read_bytes(), str(local)
            rel = local.relative_to(folder).as_posix()  # type: ignore[arg-type]
        elif is_url(loc) and source.url:
            page = fetch(loc, timeout)
            if nested:
                yield from read_sitemap(page, skips, timeout)
                continue
            data, name = page.read(), loc
            rel = urlsplit(loc).path.lstrip("/") or "index.html"
        else:
            raise InputError(
                f"page {loc} is not under {folder} (looked for index.html, the path, path.html)",
                source=source.name,
                line=line,
                field="loc",
            )
        yield from read_page(
            data,
            name,
            skips,
            page_url=loc,
            rel=rel,
            count_as=source.name,
            id_from_file=local is not None,
        )

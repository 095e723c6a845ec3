"""Which reader an input needs, from its content (overridable), and the one loop that reads
every input with the same contract: validated articles, unique ids, no empty input."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recommender import loaders
from recommender.articles import Article
from recommender.errors import InputError
from recommender.sources.common import Input, Located, Skips, fetch, is_url

FORMATS = ("jsonl", "json", "csv", "markdown", "wxr", "feed", "html", "sitemap")
ALIASES = {"rss": "feed", "atom": "feed", "wordpress": "wxr", "md": "markdown", "ndjson": "jsonl"}
HTML_SUFFIXES = (".html", ".htm")

_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z][\w:.-]*)")
_ROOTS = {
    b"rss": "feed",
    b"feed": "feed",
    b"rdf:rdf": "feed",
    b"urlset": "sitemap",
    b"sitemapindex": "sitemap",
    b"html": "html",
    b"head": "html",
    b"body": "html",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read inputs: ``format`` forces one reader for every input (else detected);
    ``include_pages`` also indexes WordPress pages; ``timeout`` for URLs, in seconds."""

    format: str | None = None
    include_pages: bool = False
    timeout: float = 20.0
    follow_symlinks: bool = False
    """Read symbolic links in input folders that lead out of the folder (refused otherwise)."""

    def __post_init__(self) -> None:
        if self.format is not None:
            name = ALIASES.get(self.format.lower(), self.format.lower())
            if name not in FORMATS:
                raise InputError(
                    f"unknown format {self.format!r}: use one of {', '.join(FORMATS)}",
                    field="format",
                )
            object.__setattr__(self, "format", name)


@dataclass(frozen=True)
class Loaded:
    """What :func:`read_inputs` read: the articles, and per input what it skipped and why."""

    articles: list[Article]
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)

    def skipped_summary(self) -> list[str]:
        """One line per input, e.g. ``site.xml: 3 draft post, 2 attachment``."""
        return [
            f"{source}: " + ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
            for source, counts in self.skipped.items()
        ]


def sniff(head: bytes, suffix: str = "") -> str | None:
    """The format of a file from its first bytes (then its suffix); None if unknown."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if text.startswith(b"<"):
        lowered = _COMMENT.sub(b"", text.lower())
        if lowered.startswith(b"<!doctype html"):
            return "html"
        match = _FIRST_ELEMENT.search(lowered)
        root = _ROOTS.get(match.group(1)) if match else None
        if root == "feed" and b"wordpress.org/export/" in lowered:
            return "wxr"
        return root
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "json" if suffix == ".json" else "jsonl"
    if text.startswith((b"---", b"+++")) or suffix in loaders.MARKDOWN_SUFFIXES:
        return "markdown"
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}.get(suffix)


def detect_format(path: Path) -> str:
    """The reader for a local file or folder (``InputError`` when it cannot tell)."""
    if path.is_dir():
        files = [p.suffix.lower() for p in path.rglob("*") if p.is_file()]
        if any(s in loaders.MARKDOWN_SUFFIXES for s in files):
            return "markdown"
        if any(s in HTML_SUFFIXES for s in files):
            return "html"
        raise InputError("folder holds no Markdown (.md) or HTML (.html) files", source=str(path))
    if not path.exists():
        raise InputError("no such file or folder", source=str(path))
    found = sniff(Input(str(path), path=path).head(8192), path.suffix.lower())
    if found is None:
        raise InputError(
            f"unknown input type (suffix {path.suffix or 'none'!r}): its content is not one of "
            f"{', '.join(FORMATS)}; name the format with --format",
            source=str(path),
        )
    return found


def read_one(raw: str | Path, options: ReadOptions, skips: Skips) -> Iterator[Located]:
    """The articles of one input (file, folder or URL)."""
    if isinstance(raw, str) and is_url(raw):
        source = fetch(raw, options.timeout)
        fmt = options.format or sniff(source.head(8192), Path(raw.split("?")[0]).suffix.lower())
        if fmt is None:
            raise InputError("cannot tell the format of this URL's content", source=raw)
        yield from _read_fetched(source, fmt, options, skips)
        return
    path = Path(raw)
    if not path.exists():
        raise InputError("no such file or folder", source=str(path))
    fmt = options.format or detect_format(path)
    yield from _read_local(path, fmt, options, skips)


def _read_local(path: Path, fmt: str, options: ReadOptions, skips: Skips) -> Iterator[Located]:
    if path.is_dir() and fmt not in ("markdown", "html"):
        raise InputError(f"a folder cannot be read as {fmt}", source=str(path))
    if fmt == "markdown":
        yield from (
            loaders.read_markdown_dir(path, follow_symlinks=options.follow_symlinks)
            if path.is_dir()
            else loaders.read_markdown_file(path)
        )
    elif fmt in ("jsonl", "json", "csv"):
        reader = {"jsonl": loaders.read_jsonl, "json": loaders.read_json, "csv": loaders.read_csv}
        yield from reader[fmt](path)
    elif fmt == "html" and path.is_dir():
        from recommender.sources.html import read_html_dir

        yield from read_html_dir(path, skips, follow_symlinks=options.follow_symlinks)
    else:
        yield from _read_fetched(Input(str(path), path=path), fmt, options, skips)


def _read_fetched(source: Input, fmt: str, options: ReadOptions, skips: Skips) -> Iterator[Located]:
    """Formats read from bytes (a file or a fetched URL)."""
    if fmt == "wxr":
        from recommender.sources.wxr import read_wxr

        yield from read_wxr(source, skips, include_pages=options.include_pages)
    elif fmt == "feed":
        from recommender.sources.feeds import read_feed

        yield from read_feed(source, skips)
    elif fmt == "html":
        from recommender.sources.html import read_html_file

        yield from read_html_file(source, skips)
    elif fmt == "sitemap":
        from recommender.sources.html import read_sitemap

        yield from read_sitemap(source, skips, options.timeout)
    else:
        raise InputError(
            f"{fmt} is read from local files only: download it first", source=source.name
        )


def read_inputs(
    inputs: Sequence[str | Path] | str | Path, options: ReadOptions | None = None
) -> Loaded:
    """Read and validate every input; duplicate ids and inputs without articles are errors."""
    options = options or ReadOptions()
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if not inputs:
        raise InputError("no input files given")
    articles: list[Article] = []
    seen: dict[str, str] = {}
    skips = Skips()
    for raw in inputs:
        name = raw if isinstance(raw, str) and is_url(raw) else str(Path(raw))
        count = 0
        for article, source, line in read_one(raw, options, skips):
            if article.id in seen:
                raise InputError(
                    f"duplicate id {article.id!r} (first seen at {seen[article.id]})",
                    source=source,
                    line=line,
                    field="id",
                )
            seen[article.id] = f"{source}:{line}" if line else source
            articles.append(article)
            count += 1
        if count == 0:
            skipped = sum(sum(c.values()) for s, c in skips.counts.items() if s.startswith(name))
            detail = f" ({skipped} items skipped: not published or not articles)" if skipped else ""
            raise InputError(f"no articles found (empty input){detail}", source=name)
    return Loaded(articles, {s: dict(c) for s, c in skips.counts.items()})

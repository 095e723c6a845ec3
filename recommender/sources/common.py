"""What the source readers share: where an input comes from, fetching it, counting what was
skipped, and turning publishers' HTML and links into safe plain values."""

from __future__ import annotations

import io
import re
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from recommender._version import __version__
from recommender.articles import Article
from recommender.errors import InputError, MissingExtraError
from recommender.text import strip_html

Located = tuple[Article, str, int | None]  # article, source, line (as recommender.loaders)

USER_AGENT = f"recommender/{__version__} (+https://github.com/; related-article indexer)"
MAX_FETCH_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Input:
    """One input: a local file (``path``) or a fetched URL (``data``, ``url``)."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    url: str | None = None

    def open(self) -> IO[bytes]:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def head(self, size: int = 4096) -> bytes:
        if self.data is not None:
            return self.data[:size]
        assert self.path is not None
        with self.path.open("rb") as handle:
            return handle.read(size)


@dataclass
class Skips:
    """Items skipped on purpose, counted per input and reason (reported, never silent)."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, source: str, reason: str) -> None:
        self.counts.setdefault(source, Counter())[reason] += 1

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def fetch(url: str, timeout: float) -> Input:
    """The content at ``url`` (``InputError`` naming the URL when it cannot be fetched)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_FETCH_BYTES + 1)
            final = response.geturl()
    except urllib.error.HTTPError as exc:
        raise InputError(f"cannot fetch: HTTP {exc.code} {exc.reason}", source=url) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(
            f"cannot fetch (unreachable or too slow, timeout {timeout:g} s): {reason}", source=url
        ) from None
    if len(data) > MAX_FETCH_BYTES:
        raise InputError(f"larger than {MAX_FETCH_BYTES} bytes: download it first", source=url)
    return Input(name=url, data=data, url=final)


def require(module: str, package: str | None = None) -> None:
    """Fail with the ``ingest`` extra named when an optional parser is missing."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(package or module, "ingest") from None


_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def refuse_entities(head: bytes, name: str) -> None:
    """Refuse XML that declares entities (billion laughs, external entities), as defusedxml."""
    match = _ENTITY_DECL.search(head)
    if match:
        raise InputError(
            "the XML declares entities (<!ENTITY ...>), which publishers' exports and feeds "
            "never need; refused as a possible entity-expansion or external-entity attack",
            source=name,
            line=head[: match.start()].count(b"\n") + 1,
        )


def safe_url(url: str | None) -> str | None:
    """``url`` if it is http(s) or site-relative; None for ``javascript:``, ``data:`` and the
    like: the one rule of :func:`recommender.urls.safe_href`."""
    from recommender.urls import safe_href

    return safe_href(url.strip()) if url else None


_SHORTCODE = re.compile(
    r"\[/?(?:caption|gallery|embed|audio|video|playlist|wp_caption|[a-z_]+(?=\s+[a-z_]+=))"
    r"(?:\s[^\]]*)?\]",
    re.IGNORECASE,
)
_CLOSING_SHORTCODE = re.compile(r"\[/[a-z_-]+\]", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def html_to_text(fragment: str | None) -> str:
    """Plain text of publisher HTML: tags, comments, scripts and styles and WordPress
    shortcodes removed, entities decoded, one paragraph per line."""
    if not fragment:
        return ""
    text = strip_html(fragment)
    text = _SHORTCODE.sub("", text)
    text = _CLOSING_SHORTCODE.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def inline_text(fragment: str | None) -> str:
    """One line of plain text (titles, excerpts, names)."""
    return " ".join(html_to_text(fragment).split())


def language_tag(value: str | None) -> str | None:
    """``en-US`` -> ``en`` (the engine pairs articles of one language by this tag)."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None

"""The text recipe: what of an article gets embedded. Versioned, because changing it
changes every vector; the version is stored in the manifest and in the embedding cache key."""

from __future__ import annotations

import hashlib
import html
import re
from html.parser import HTMLParser

from recommender.articles import Article

TEXT_RECIPE_VERSION = 1
"""Bump when :func:`article_text` changes its output for any article."""

# all-MiniLM-L6-v2 reads 256 word pieces; more text only costs time.
MAX_CHARS = 2000

_TAG_HINT = re.compile(r"<[a-zA-Z/!][^>]*>|&[#a-zA-Z0-9]+;")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKUP = re.compile(r"(^|\s)[#>*_`~]+|[*_`~]+(?=\s|$)", re.MULTILINE)

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "tr",
        "table",
        "figure",
        "figcaption",
        "pre",
        "hr",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg"})


class _TextExtractor(HTMLParser):
    """Collects text nodes; never runs or fetches anything."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Plain text of an HTML fragment (plain text passes through unchanged)."""
    if not _TAG_HINT.search(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts))


def clean_text(text: str) -> str:
    """HTML and Markdown markup removed, whitespace normalized."""
    text = strip_html(text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKUP.sub(r"\1", text)
    text = _SPACE.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def article_text(article: Article) -> str:
    """Title, then the body (its lead first, naturally), cleaned and capped."""
    title = clean_text(article.title)
    body = clean_text(article.body)
    text = f"{title}.\n{body}" if body else title
    return text[:MAX_CHARS]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

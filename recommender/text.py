"""The text recipe: what of an article gets embedded. Versioned, because changing it
changes every vector; the version is stored in the manifest and in the embedding cache key."""

from __future__ import annotations

import hashlib
import html
import re
from html.parser import HTMLParser

from recommender.articles import Article

TEXT_RECIPE_VERSION = 2
"""Bump when :func:`article_text` changes its output for any article.

2: head and tail of long articles (was: the first 2,000 characters, of which the model read
about the first 1,100); the lexical evidence reads the whole text (:func:`lexical_text`)."""

# all-MiniLM-L6-v2 reads 256 word pieces, about 1,100 characters of English news: a long
# article is embedded as its title and lead plus its last paragraphs, joined, so that both
# ends count and an edit at the end changes the vector (benchmarks/long_articles.py measured
# this against the lead alone and against pooling separately embedded passages).
HEAD_CHARS = 800
TAIL_CHARS = 300
ELLIPSIS = "\n[...]\n"

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


def article_text(
    article: Article, head_chars: int = HEAD_CHARS, tail_chars: int = TAIL_CHARS
) -> str:
    """What the model embeds: title and body, cleaned; when longer than the model reads, the
    title and first ``head_chars`` characters plus the last ``tail_chars`` (cut at spaces)."""
    return head_and_tail(lexical_text(article), head_chars, tail_chars)


def head_and_tail(text: str, head_chars: int, tail_chars: int) -> str:
    if len(text) <= head_chars + tail_chars + len(ELLIPSIS):
        return text
    head = text[:head_chars]
    cut = head.rfind(" ")
    head = head[:cut] if cut > head_chars // 2 else head
    tail = text[len(text) - tail_chars :] if tail_chars else ""
    cut = tail.find(" ")
    tail = tail[cut + 1 :] if 0 <= cut < tail_chars // 2 else tail
    return f"{head}{ELLIPSIS}{tail}" if tail else head


def lexical_text(article: Article) -> str:
    """The whole article, cleaned: what the lexical evidence (TF-IDF) reads."""
    title = clean_text(article.title)
    body = clean_text(article.body)
    return f"{title}.\n{body}" if body else title


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

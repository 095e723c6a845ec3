"""Issue 12 item 2: only http(s) and site-relative URLs ever become links.

The Jekyll include rendered ``javascript:``, ``JaVaScRiPt:``, ``java<TAB>script:``,
``vbscript:`` and ``data:`` URLs as links; clicking one ran script in Chromium. One function,
:func:`recommender.urls.safe_href`, decides; ingest, output, the documented templates and the
widget apply the same rule (browser checks: tests/hostile/test_urls_browser.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.engine import Engine
from recommender.export import export
from recommender.loaders import load_articles
from recommender.urls import safe_href

from ..conftest import FakeEncoder, make_article

HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "\x01javascript:alert(1)",
    " javascript:alert(1)",
    "javascript\x00:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "mailto:someone@example.com",
    "blob:https://example.com/uuid",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example\\x",
    "https:evil.example",
    "https://",
    "http:///path",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
    "https://example.com/\u202eexe.pdf",
    "https://exa\u200bmple.com/",
    "",
    "   ",
]

SAFE_URLS = [
    "https://example.com/world/summit",
    "HTTP://EXAMPLE.COM/",
    "http://127.0.0.1:8000/a?b=1&c=2#frag",
    "/world/summit/",
    "/search?q=a&b=c",
    "world/summit.html",
    "?page=2",
    "#top",
    "https://example.com/a b",
    "https://user@example.com/",
    "/2024/05/01/jekyll-post.html",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_urls_are_refused(url: str) -> None:
    assert safe_href(url) is None


@pytest.mark.parametrize("url", SAFE_URLS)
def test_safe_urls_are_kept(url: str) -> None:
    assert safe_href(url) == url.strip()


def test_non_strings_are_refused() -> None:
    assert safe_href(None) is None
    assert safe_href(12) is None
    assert safe_href(["https://example.com"]) is None


def test_ingest_stores_the_url_inert(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    rows = [{"id": f"a{i}", "title": f"T{i}", "url": u} for i, u in enumerate(HOSTILE_URLS)]
    rows.append({"id": "ok", "title": "Fine", "url": "https://example.com/ok"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    articles = {a.id: a for a in load_articles([path])}
    assert articles["ok"].url == "https://example.com/ok"
    for i, url in enumerate(HOSTILE_URLS):
        article = articles[f"a{i}"]
        assert article.url is None, url
        if url.strip():
            assert article.metadata["url_unsafe"] == url.strip()
        assert article.to_dict()["url"] is None


def test_output_neutralizes_urls_stored_before_the_rule(tmp_path: Path) -> None:
    """Articles built through the Python API (or an older version) may hold any URL: the
    CLI/HTTP/export shape never carries an unsafe one."""
    articles = [
        make_article("a", "Election campaign", "election vote ballot", url="javascript:alert(1)"),
        make_article("b", "Election debate", "election vote debate", url="JaVaScRiPt:x"),
        make_article("c", "Election result", "election vote result", url="/politics/c"),
    ]
    index = tmp_path / "idx"
    Engine.build(articles, index, encoder=FakeEncoder(), cache=False)
    engine = Engine.load(index)
    try:
        urls = {r.id: r.to_dict()["url"] for r in engine.related("c", k=2)}
        assert urls == {"a": None, "b": None}
        assert engine.article("a").to_dict()["url"] is None
        for fmt in ("json", "hugo", "jekyll"):
            out = tmp_path / fmt
            export(engine, out, format=fmt, k=2)
            text = "".join(p.read_text() for p in out.rglob("*.json")).lower()
            assert "javascript" not in text, fmt
            assert "/politics/c" in text
    finally:
        engine.close()

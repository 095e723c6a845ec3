"""Issue 12 item 2 in a real browser: hostile URLs in the widget and in generator output.

The data fed to the widget and to the templates here is written by hand, *not* by the
exporter (which already drops unsafe URLs): each consumer must hold on its own, as a site may
feed it data from elsewhere. In headless Chromium every rendered link is clicked; a hostile URL
that became a link would run ``window.__ran = ...`` or open a dialog.

The templates are the ones ``recommender export`` writes into a site
(recommender/sites/templates.py), rendered by the real ``jekyll`` and ``hugo`` binaries.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from recommender.sites.templates import HUGO_PARTIAL, JEKYLL_INCLUDE
from recommender.urls import safe_href

from ..test_widget_browser import DevTools, chromium, static_site
from .test_urls import HOSTILE_URLS, SAFE_URLS

ROOT = Path(__file__).resolve().parents[2]
WIDGET = ROOT / "recommender" / "static" / "widget.js"

RUN = "window.top.__ran=(window.top.__ran||[]).concat"
CLICK_HOSTILE = [
    f"javascript:{RUN}(['plain'])",
    f"JaVaScRiPt:{RUN}(['case'])",
    f"java\tscript:{RUN}(['tab'])",
    f"java\nscript:{RUN}(['newline'])",
    f" javascript:{RUN}(['space'])",
    f"\x01javascript:{RUN}(['control'])",
    f"javascript&colon;{RUN}(['entity'])",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert('data')</script>",
    "//evil.test/protocol-relative",
    "/\\evil.test/backslash",
    "\\\\evil.test\\unc",
]
CLICK_SAFE = ["https://news.test/a", "http://news.test/b", "/local/c"]


def _items() -> list[dict[str, Any]]:
    urls = CLICK_HOSTILE + CLICK_SAFE
    return [{"id": f"r{i}", "title": f"item {i}", "url": u} for i, u in enumerate(urls)]


SAFE_TITLES = {f"item {i}" for i in range(len(CLICK_HOSTILE), len(CLICK_HOSTILE) + 3)}

# Clicks on http(s) links are cancelled (the page must stay); any other link is left to the
# browser, so a javascript: URL would run. Each element is clicked in its own task: a second
# navigation started in the same task would cancel the first.
GUARD = """document.addEventListener('click', e => {
  const a = e.target.closest('a');
  if (a && (a.protocol === 'http:' || a.protocol === 'https:')) e.preventDefault();
}, true); document.querySelectorAll(SELECTOR).length"""

LINKS = """JSON.stringify(Array.from(document.querySelectorAll(SELECTOR)).map(e => {
  const t = e.matches('a') ? e : (e.querySelector('a') || e);
  return {tag: t.tagName, text: e.textContent.trim(), href: t.tagName === 'A' ? t.href : null};
}))"""


def _check_page(tools: DevTools, url: str, selector: str, ready: str) -> list[dict[str, Any]]:
    for domain in ("Page", "Runtime"):
        tools.call(f"{domain}.enable")
    tools.call("Page.navigate", url=url)
    deadline = time.monotonic() + 30
    ready = f"location.href === {json.dumps(url)} && document.readyState === 'complete' && {ready}"
    while not tools.evaluate(ready):
        if time.monotonic() > deadline:
            pytest.fail(f"{url}: the page did not become ready ({ready})")
        time.sleep(0.1)
    links = json.loads(tools.evaluate(LINKS.replace("SELECTOR", json.dumps(selector))))
    count = tools.evaluate(GUARD.replace("SELECTOR", json.dumps(selector)))
    assert count == len(CLICK_HOSTILE) + len(CLICK_SAFE)
    for i in range(count):
        tools.evaluate(
            f"(e => (e.matches('a') ? e : (e.querySelector('a') || e)).click())"
            f"(document.querySelectorAll({json.dumps(selector)})[{i}])"
        )
        time.sleep(0.15)  # let anything the click started run
    assert tools.evaluate("JSON.stringify(window.top.__ran || [])") == "[]"
    assert tools.named("Page.javascriptDialogOpening") == []
    assert tools.evaluate("location.href") == url  # no click navigated away
    return links


def _assert_only_safe_links(links: list[dict[str, Any]]) -> None:
    anchors = [link for link in links if link["tag"] == "A"]
    assert {a["text"] for a in anchors} == SAFE_TITLES, links
    for anchor in anchors:
        assert anchor["href"].startswith(("http://", "https://")), anchor
        assert "evil.test" not in anchor["href"]
    assert {link["text"] for link in links} == {item["title"] for item in _items()}


def test_widget_in_chromium(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "api" / "related").mkdir(parents=True)
    shutil.copyfile(WIDGET, site / "widget.js")
    payload = {"id": "hostile", "results": _items()}
    (site / "api" / "related" / "hostile").write_text(json.dumps(payload))
    with static_site(site) as origin:
        (site / "article.html").write_text(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>'
            '<div id="box" data-recommender data-article-id="hostile" data-k="50"></div>'
            f'<script src="/widget.js" data-endpoint="{origin}/api"></script></body></html>'
        )
        with chromium(tmp_path / "profile") as tools:
            links = _check_page(
                tools,
                f"{origin}/article.html",
                "#box .rec-widget__link",
                "document.getElementById('box')?.getAttribute('data-recommender-state')==='done'",
            )
            _assert_only_safe_links(links)
            # The widget's rule and recommender.urls.safe_href agree on every probe.
            probes = HOSTILE_URLS + SAFE_URLS + CLICK_HOSTILE + CLICK_SAFE
            verdicts = tools.evaluate(
                f"JSON.stringify({json.dumps(probes)}.map(u =>"
                " window.recommenderWidget.safeHref(u) !== null))"
            )
    assert json.loads(verdicts) == [safe_href(u) is not None for u in probes]


def _binary(name: str) -> str:
    found = shutil.which(name) or (shutil.which(name, path=str(Path(sys.executable).parent)))
    if found is None:
        pytest.fail(f"the real {name} binary is needed (apt-get install {name}; see .ci/run)")
    return found


def test_jekyll_include_in_chromium(tmp_path: Path) -> None:
    source, built = tmp_path / "src", tmp_path / "out"
    (source / "_includes").mkdir(parents=True)
    (source / "_data").mkdir()
    (source / "_config.yml").write_text("title: t\n")
    (source / "_includes" / "recommender").mkdir()
    (source / "_includes" / "recommender" / "related.html").write_text(JEKYLL_INCLUDE)
    (source / "_data" / "related.json").write_text(json.dumps({"index.html": _items()}))
    (source / "index.html").write_text(
        "---\ntitle: Page\n---\n<!doctype html><html><body>"
        "{% include recommender/related.html %}</body></html>\n"
    )
    result = subprocess.run(
        [_binary("jekyll"), "build", "--source", str(source), "--destination", str(built)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with static_site(built) as origin, chromium(tmp_path / "profile") as tools:
        links = _check_page(
            tools,
            f"{origin}/index.html",
            "section.related li",
            "true",
        )
    _assert_only_safe_links(links)


def test_hugo_partial_in_chromium(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for folder in ("layouts/partials/recommender", "layouts/_default", "content", "data/related"):
        (site / folder).mkdir(parents=True)
    (site / "hugo.toml").write_text(
        'baseURL = "http://example.test/"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n'
    )
    (site / "layouts" / "partials" / "recommender" / "related.html").write_text(HUGO_PARTIAL)
    (site / "layouts" / "_default" / "single.html").write_text(
        '<!doctype html><html><body>{{ partial "recommender/related.html" . }}</body></html>\n'
    )
    (site / "layouts" / "_default" / "list.html").write_text("<!doctype html><html></html>\n")
    (site / "content" / "post.md").write_text("---\ntitle: Post\n---\nBody\n")
    (site / "data" / "related" / "post.md.json").write_text(
        json.dumps({"id": "hostile", "results": _items()})
    )
    result = subprocess.run(
        [_binary("hugo"), "--source", str(site), "--destination", str(tmp_path / "public")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with static_site(tmp_path / "public") as origin, chromium(tmp_path / "profile") as tools:
        links = _check_page(
            tools,
            f"{origin}/post/index.html",
            "section.related li",
            "true",
        )
    _assert_only_safe_links(links)

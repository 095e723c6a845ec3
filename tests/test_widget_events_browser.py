"""Reader events from the widget in real headless Chromium, stored by the real server process.

A page with three boxes: one rendered by the widget, one with events turned off, one already
rendered by a static site (``data-rendered``). The server must store exactly one impression per
tracked list and one click for the followed link; with Global Privacy Control it stores nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from recommender.engine import Engine
from recommender.feedback.events import Event, load_events

from ._serving import http, serve_process
from .conftest import FakeEncoder
from .test_widget_browser import ARTICLES, chromium, static_site


def page_html(api: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Article</title></head>
<body>
<div id="live" data-recommender data-article-id="vote-1" data-k="2"></div>
<div id="quiet" data-recommender data-article-id="ball-1" data-k="2" data-events="off"></div>
<div id="static" data-recommender data-article-id="ball-1" data-rendered>
  <ul><li><a data-rec-id="ball-3" href="#s1">Striker signs</a></li>
      <li><a data-rec-id="vote-2" href="#s2">Election debate</a></li></ul></div>
<script src="{api}/widget.js" data-endpoint="{api}"></script>
</body></html>"""


GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
STATES = (
    "JSON.stringify(Array.from(document.querySelectorAll('[data-recommender]'))"
    ".map(b => b.getAttribute('data-recommender-state')))"
)


def wait_rendered(tools: Any) -> None:
    deadline = time.monotonic() + 30
    while True:
        states = json.loads(tools.evaluate(STATES) or "[]")
        if len(states) == 3 and all(s == "done" for s in states):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the widget did not finish: {states}")
        time.sleep(0.1)


def wait_events(index: Path, count: int, seconds: float = 15) -> list[Event]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            events = load_events(index)
        except ValueError:  # no store yet
            events = []
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("widget-events")
    index = work / "indexes" / "news"
    Engine.build(ARTICLES, index, encoder=FakeEncoder())
    site = work / "site"
    site.mkdir()
    out: dict[str, Any] = {"index": index}
    with static_site(site) as origin:
        config = work / "recommender.toml"
        config.write_text(f'[serve]\ncors_origins = ["{origin}"]\n')
        with serve_process(index, work, "--config", str(config)) as api:
            (site / "article.html").write_text(page_html(api))
            with chromium(work / "profile") as tools:
                for domain in ("Page", "Runtime"):
                    tools.call(f"{domain}.enable")
                tools.call("Page.navigate", url=f"{origin}/article.html")
                wait_rendered(tools)
                out["impressions"] = wait_events(index, 2)
                out["shown"] = tools.evaluate(
                    "Array.from(document.querySelectorAll('#live a')).map(a => a.dataset.recId)"
                )
                tools.evaluate("document.querySelector('#live a').click()")
                out["after_click"] = wait_events(index, 3)
                time.sleep(1.5)  # anything late (a duplicate, the quiet box) would land now
                out["final"] = load_events(index)
            with chromium(work / "profile-gpc") as tools:
                for domain in ("Page", "Runtime"):
                    tools.call(f"{domain}.enable")
                tools.call("Page.addScriptToEvaluateOnNewDocument", source=GPC)
                tools.call("Page.navigate", url=f"{origin}/article.html")
                wait_rendered(tools)
                out["gpc_flag"] = tools.evaluate("navigator.globalPrivacyControl")
                tools.evaluate(
                    "document.querySelectorAll('a[data-rec-id]')"
                    ".forEach(a => { a.addEventListener('click', e => e.preventDefault());"
                    " a.click(); }); window.recommenderWidget.flush()"
                )
                time.sleep(2.5)  # longer than the widget's 1 s batching delay
                out["after_gpc"] = load_events(index)
            out["stats"] = json.loads(http(api + "/events/stats")[2])
    return out


def test_impression_on_render_and_click_on_click_stored_exactly(runs: dict[str, Any]) -> None:
    events = runs["final"]
    assert [e.type for e in events].count("impression") == 2, [e.to_dict() for e in events]
    assert [e.type for e in events].count("click") == 1
    live = next(e for e in events if e.type == "impression" and e.source == "vote-1")
    assert live.shown == runs["shown"] and len(live.shown) == 2
    assert live.config == "default"
    static = next(e for e in events if e.type == "impression" and e.source == "ball-1")
    assert static.shown == ["ball-3", "vote-2"]  # the pre-rendered list, in page order
    click = next(e for e in events if e.type == "click")
    assert click.impression == live.impression and click.source == "vote-1"
    assert click.data == {"target": runs["shown"][0], "position": 1}
    assert runs["stats"]["stored"] == 3 and runs["stats"]["malformed"] == 0


def test_nothing_about_the_reader_is_stored(runs: dict[str, Any]) -> None:
    for event in runs["final"]:
        record = event.to_dict()
        assert set(record) <= {
            "type",
            "time",
            "impression",
            "source",
            "config",
            "shown",
            "target",
            "position",
        }
        assert record["time"].endswith("Z") and len(record["time"]) == len("2025-01-01T10:00Z")


def test_global_privacy_control_sends_nothing(runs: dict[str, Any]) -> None:
    assert runs["gpc_flag"] is True
    assert len(runs["after_gpc"]) == len(runs["final"])

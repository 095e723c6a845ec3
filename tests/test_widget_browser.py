"""The widget in real headless Chromium (Debian's), against the real server process.

The page is served from another port than the API, so the fetch is cross-origin and needs the
CORS origin from the config. Chromium is driven over the DevTools protocol (websocket-client).
Without Chromium these tests fail: CI installs it (.ci/run).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import itertools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
import websocket  # websocket-client, in the dev extra

from recommender.engine import Engine

from ._serving import free_port, serve_process
from .conftest import FakeEncoder, make_article

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-allow-origins=*",
]

ARTICLES = [
    make_article(
        "vote-1",
        "Election campaign opens",
        "voters candidates election ballot",
        published_at="2025-01-01",
        category="Politics",
        url="https://news.test/vote-1",
    ),
    make_article(
        "vote-2",
        "Election debate",
        "candidates election debate ballot voters",
        published_at="2025-01-10",
        category="Politics",
        url="/politics/vote-2",
    ),
    make_article(
        "vote-3",
        "Election result",
        "election ballot count winner voters",
        published_at="2025-06-01",
        category="Politics",
        url="https://news.test/vote-3",
    ),
    make_article(
        "ball-1",
        "Club wins derby",
        "football goal derby striker club",
        published_at="2025-01-05",
        category="Sport",
        url="https://news.test/ball-1",
    ),
    make_article(
        "ball-2",
        HOSTILE,
        "football striker injury club goal derby",
        published_at="2025-02-01",
        category="Sport",
        url="https://news.test/ball-2",
    ),
    make_article(
        "ball-3",
        "Striker signs",
        "football striker club transfer goal",
        published_at="2025-02-03",
        category="Sport",
        url="javascript:alert(2)",
    ),
]


def page_html(api: str, dead: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Article</title></head>
<body>
<main><h1>Election campaign opens</h1><p id="sentinel">Body text stays.</p></main>
<div id="box-politics" data-recommender data-article-id="vote-1" data-k="2"
     data-show-date data-show-section></div>
<div id="box-sport" data-recommender data-article-id="ball-1" data-k="3"
     data-heading="More sport" data-heading-level="3"></div>
<div id="box-unknown" data-recommender data-article-id="no-such-article"></div>
<div id="box-down" data-recommender data-article-id="vote-1" data-endpoint="{dead}"></div>
<script src="{api}/widget.js" data-endpoint="{api}"></script>
</body></html>"""


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


class DevTools:
    """The few DevTools protocol calls these tests need, over one page's websocket."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
            if message.get("method") == "Page.javascriptDialogOpening":
                # An alert would block the page: record it (the test fails on it) and dismiss.
                dismiss = {
                    "id": next(self.ids),
                    "method": "Page.handleJavaScriptDialog",
                    "params": {"accept": True},
                }
                self.ws.send(json.dumps(dismiss))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def named(self, method: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("method") == method]


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[DevTools]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail(
            "Debian's chromium is not installed (apt-get install chromium; see .ci/run):"
            " the widget must be tested in a real browser"
        )
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        pages: list[dict[str, Any]] = []
        while not pages:
            if process.poll() is not None:
                pytest.fail(f"chromium exited with {process.returncode}")
            if time.monotonic() > deadline:
                pytest.fail("chromium's DevTools endpoint did not come up within 60 s")
            ask = f"http://127.0.0.1:{port}/json/list"
            with contextlib.suppress(OSError, ValueError), urlopen(ask, timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            time.sleep(0.2)
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield tools
        finally:
            tools.ws.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


BOXES = """JSON.stringify(Array.from(document.querySelectorAll('[data-recommender]')).map(b => ({
  id: b.id, state: b.getAttribute('data-recommender-state'), children: b.childElementCount,
  section: b.querySelector('section.rec-widget') ? {
    labelled: b.querySelector('section').getAttribute('aria-labelledby') ===
              b.querySelector('.rec-widget__heading').id,
    heading: b.querySelector('.rec-widget__heading').textContent,
    level: b.querySelector('.rec-widget__heading').tagName,
    items: Array.from(b.querySelectorAll('li.rec-widget__item')).map(li => {
      const link = li.querySelector('.rec-widget__link');
      return {tag: link.tagName, text: link.textContent, href: link.getAttribute('href'),
              date: (li.querySelector('time') || {}).textContent || null,
              datetime: li.querySelector('time') ? li.querySelector('time').dateTime : null,
              section: (li.querySelector('.rec-widget__section') || {}).textContent || null};
    })} : null})))"""


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Open the page once; return what the checks need."""
    work = tmp_path_factory.mktemp("widget")
    index = work / "indexes" / "news"
    Engine.build(ARTICLES, index, encoder=FakeEncoder())
    site = work / "site"
    site.mkdir()
    with static_site(site) as origin:
        config = work / "recommender.toml"
        config.write_text(f'[serve]\ncors_origins = ["{origin}"]\n')
        with serve_process(index, work, "--config", str(config)) as api:
            (site / "article.html").write_text(page_html(api, f"http://127.0.0.1:{free_port()}"))
            with chromium(work / "profile") as tools:
                for domain in ("Page", "Runtime", "Log"):
                    tools.call(f"{domain}.enable")
                tools.call("Page.navigate", url=f"{origin}/article.html")
                deadline = time.monotonic() + 30
                while True:
                    boxes = json.loads(tools.evaluate(BOXES) or "[]")
                    if len(boxes) == 4 and all(b["state"] in ("done", "error") for b in boxes):
                        break
                    if time.monotonic() > deadline:
                        pytest.fail(f"the widget did not finish: {boxes}")
                    time.sleep(0.1)
                time.sleep(0.3)  # let any late script (an injected onerror) run
                return {
                    "boxes": {b["id"]: b for b in boxes},
                    "images": tools.evaluate("document.querySelectorAll('img').length"),
                    "text": tools.evaluate("document.body.innerText"),
                    "sentinel": tools.evaluate("document.getElementById('sentinel').textContent"),
                    "styles": tools.evaluate("document.querySelectorAll('style').length"),
                    "dialogs": tools.named("Page.javascriptDialogOpening"),
                    "exceptions": tools.named("Runtime.exceptionThrown"),
                    "api": api,
                }


def test_list_appears_with_titles_links_date_and_section(browser_run: dict[str, Any]) -> None:
    box = browser_run["boxes"]["box-politics"]
    section = box["section"]
    assert section is not None, box
    assert section["heading"] == "Read more" and section["level"] == "H2" and section["labelled"]
    assert [i["text"] for i in section["items"]] == ["Election debate", "Election result"]
    first, second = section["items"]
    assert first["href"].endswith("/politics/vote-2") and first["href"].startswith("http://127.0")
    assert second["href"] == "https://news.test/vote-3"
    assert first["tag"] == "A" and first["datetime"].startswith("2025-01-10")
    assert first["date"] == "Jan 10, 2025" and first["section"] == "Politics"
    assert browser_run["sentinel"] == "Body text stays."
    assert browser_run["styles"] == 1  # one default style element for all boxes


def test_hostile_title_stays_inert_text(browser_run: dict[str, Any]) -> None:
    section = browser_run["boxes"]["box-sport"]["section"]
    assert section["heading"] == "More sport" and section["level"] == "H3"
    assert browser_run["dialogs"] == []  # no alert fired
    assert browser_run["images"] == 0  # no <img> element was ever parsed from the title
    by_text = {i["text"]: i for i in section["items"]}
    assert HOSTILE in by_text, section["items"]
    assert by_text[HOSTILE]["href"] == "https://news.test/ball-2"
    assert HOSTILE in browser_run["text"]  # visible, literally
    # A javascript: URL never becomes a link: the title is shown as plain text.
    assert by_text["Striker signs"] == {**by_text["Striker signs"], "tag": "SPAN", "href": None}
    assert section["items"][0]["date"] is None  # dates only when asked for


def test_errors_leave_the_page_intact(browser_run: dict[str, Any]) -> None:
    boxes = browser_run["boxes"]
    assert boxes["box-unknown"]["children"] == 0 and boxes["box-unknown"]["state"] == "done"
    assert boxes["box-down"]["children"] == 0 and boxes["box-down"]["state"] == "error"
    assert browser_run["exceptions"] == []  # nothing thrown uncaught

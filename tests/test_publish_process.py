"""The publish API on a real ``recommender serve`` process with the packaged model: a write
is refused without the token, and with it the article is served at once while reads go on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.engine import Engine

from ._serving import http, serve_process
from .test_server_process import ARTICLES

pytestmark = pytest.mark.model

TOKEN = "publish-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUMMIT_FOLLOW_UP = {
    "title": "Kremlin and Beijing sign energy accords after summit",
    "body": "Russia and China signed agreements on gas pipelines and oil supplies a day after "
    "the presidents' video summit, officials in Moscow and Beijing said.",
    "published_at": "2025-06-02T09:00:00Z",
    "category": "world",
    "url": "https://news.example/world/energy-accords",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    work = tmp_path_factory.mktemp("publish")
    index = work / "indexes" / "news"
    Engine.build(list(ARTICLES), index)
    (work / "recommender.toml").write_text(f'[serve]\nwrite_token = "{TOKEN}"\n')
    with serve_process(index, work, "--no-access-log") as base:
        yield index, base


class Reader(threading.Thread):
    """GET /related in a loop; every answer that is not a 200 is a failed read."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ok, self.failed = url, 0, []  # type: ignore[var-annotated]
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status = http(self.url)[0]
            except OSError as exc:
                self.failed.append(repr(exc))
                continue
            if status == 200:
                self.ok += 1
            else:
                self.failed.append(status)


def ids(base: str, article_id: str) -> list[str]:
    status, _, body = http(f"{base}/related/{article_id}?k=5")
    assert status == 200, body
    return [r["id"] for r in json.loads(body)["results"]]


def test_unauthenticated_write_gets_401_and_changes_nothing(server: tuple[Path, str]) -> None:
    index, base = server
    before = json.loads(http(f"{base}/health")[2])
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        status, answer_headers, _ = http(
            f"{base}/articles/world/energy-accords", SUMMIT_FOLLOW_UP, headers, method="PUT"
        )
        lowered = {k.lower(): v for k, v in answer_headers.items()}
        assert status == 401 and lowered["www-authenticate"].startswith("Bearer")
    assert json.loads(http(f"{base}/health")[2])["version_id"] == before["version_id"]
    assert http(f"{base}/articles/world/energy-accords")[0] == 404
    assert Engine.load(index).manifest.generation == 1


def test_put_is_visible_within_a_second_with_no_failed_read(server: tuple[Path, str]) -> None:
    index, base = server
    warm = {**SUMMIT_FOLLOW_UP, "title": "Warm-up story on rover images", "category": "science"}
    assert http(f"{base}/articles/science/warm-up", warm, AUTH, method="PUT")[0] == 200
    reader = Reader(f"{base}/related/world/russia-china-summit?k=5")
    reader.start()
    time.sleep(0.3)
    started = time.perf_counter()
    status, _, body = http(
        f"{base}/articles/world/energy-accords", SUMMIT_FOLLOW_UP, AUTH, method="PUT"
    )
    answered = time.perf_counter() - started
    assert status == 200, body
    answer = json.loads(body)
    visible = None
    while time.perf_counter() - started < 5:
        if "world/energy-accords" in ids(base, "world/russia-china-summit"):
            visible = time.perf_counter() - started
            break
    time.sleep(0.3)
    reader.stop.set()
    reader.join(10)
    assert visible is not None and visible < 1.0, (answered, visible, answer.get("timings"))
    assert reader.failed == [] and reader.ok > 0
    related = [r["id"] for r in answer["articles"][0]["related"]]
    assert {"world/russia-china-summit", "world/china-russia-trade"} <= set(related[:3])
    assert "sport/baseball-injury" not in related
    # the served version, or the background refresh's that followed it
    assert 0 <= Engine.load(index).manifest.generation - answer["generation"] <= 1
    status, _, _ = http(f"{base}/articles/world/energy-accords", None, AUTH, method="DELETE")
    assert status == 200
    assert "world/energy-accords" not in ids(base, "world/russia-china-summit")

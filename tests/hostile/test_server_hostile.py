"""Issue 12 items 8 and 10 over HTTP: drafts bounded (503 + Retry-After), /health honest
about a failed reload without showing server paths, HEAD /health, nosniff everywhere."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from recommender.config import ServeSettings
from recommender.engine import Engine
from recommender.server import create_app
from recommender.storage import versions as persistence

from ..conftest import FakeEncoder, make_article

ARTICLES = [
    make_article("vote-1", "Election campaign", "voters election ballot", category="p"),
    make_article("vote-2", "Election debate", "election debate voters", category="p"),
    make_article("ball-1", "Club wins derby", "football goal derby club", category="s"),
]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "indexes" / "news"
    Engine.build(ARTICLES, path, encoder=FakeEncoder(), cache=False)
    return path


def test_failed_reload_is_reported_without_paths(index: Path) -> None:
    client = TestClient(
        create_app(index, encoder=FakeEncoder(), settings=ServeSettings(reload_interval=0))
    )
    assert client.get("/health").json()["status"] == "ok"
    persistence.write_index_version(index, lambda folder: {})  # a version that cannot load
    deadline = time.monotonic() + 10
    while (health := client.get("/health").json())["reload_error"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert health["status"] == "reload_failed"
    text = client.get("/health").text
    assert str(index.parent) not in text and "/tmp" not in text, text
    assert client.get("/related/vote-1").status_code == 200  # the old version still serves


def test_health_shows_no_absolute_model_path(index: Path, tmp_path: Path) -> None:
    class PathEncoder(FakeEncoder):
        name = str(tmp_path / "models" / "my-model")

    path = tmp_path / "other"
    Engine.build(ARTICLES, path, encoder=PathEncoder(), cache=False)
    health = TestClient(create_app(path, encoder=PathEncoder())).get("/health").json()
    assert health["model"] == "my-model"


def test_head_health_and_nosniff(index: Path) -> None:
    client = TestClient(create_app(index, encoder=FakeEncoder()))
    head = client.head("/health")
    assert head.status_code == 200 and head.content == b""
    for answer in (
        head,
        client.get("/health"),
        client.get("/related/vote-1"),
        client.get("/related/nope"),
        client.get("/related/vote-1?k=abc"),
        client.get("/articles/vote-1"),
        client.get("/widget.js"),
        client.post("/related", json={"title": "Election"}),
        client.get("/no/such/route"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url


def test_errors_are_one_line_details(index: Path) -> None:
    client = TestClient(create_app(index, encoder=FakeEncoder()))
    for answer in (
        client.get("/related/vote-1?k=abc"),
        client.get("/related/vote-1?k=0"),
        client.post("/related", content=b"[1, 2"),
        client.post("/related", json={"body": "no title"}),
        client.get("/related/nope"),
    ):
        assert answer.status_code in (404, 422)
        assert isinstance(answer.json()["detail"], str) and "\n" not in answer.json()["detail"]


class SlowEncoder(FakeEncoder):
    """Embedding takes 0.3 s, like a real model on a busy machine."""

    def encode(self, texts: Any, *, progress: bool = False) -> Any:
        time.sleep(0.3)
        return super().encode(texts, progress=progress)


def test_drafts_beyond_the_gate_get_503_with_retry_after(index: Path) -> None:
    settings = ServeSettings(draft_concurrency=1, draft_queue=2, draft_timeout=5)
    app = create_app(index, encoder=SlowEncoder(), settings=settings)

    async def scenario() -> tuple[list[httpx.Response], list[float]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            drafts = [
                client.post("/related", json={"title": f"Election draft {i}"}) for i in range(8)
            ]
            tasks = [asyncio.ensure_future(d) for d in drafts]
            await asyncio.sleep(0.05)
            reads = []
            for _ in range(5):  # read-more answers while the drafts wait
                started = time.perf_counter()
                answer = await client.get("/related/vote-1")
                assert answer.status_code == 200
                reads.append(time.perf_counter() - started)
            return list(await asyncio.gather(*tasks)), reads

    answers, reads = asyncio.run(scenario())
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 3 and codes.count(503) == 5, codes  # 1 running + 2 queued
    for answer in answers:
        if answer.status_code == 503:
            assert int(answer.headers["retry-after"]) >= 1
            assert "too many draft queries" in answer.json()["detail"]
    assert max(reads) < 0.25  # read-more never waited for an embedding


def test_gate_settings_are_checked(tmp_path: Path) -> None:
    from recommender.errors import SettingsError

    with pytest.raises(SettingsError, match="draft_concurrency"):
        ServeSettings(draft_concurrency=0)
    with pytest.raises(SettingsError, match="draft_timeout"):
        ServeSettings(draft_timeout=float("inf"))

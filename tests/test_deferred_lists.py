"""Deferred lists (the publish API's writes): a write leaves the lists it can change pending,
answered live with the same answers; a refresh writes the same content again with them ranked,
and a write that is not deferred ranks them too, so they never pile up."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recommender import precomputed
from recommender.engine import Engine
from recommender.indexing import pending_count, refresh_lists, remove, upsert
from recommender.server import ServeSettings, create_app

from .conftest import FakeEncoder, make_article
from .test_precomputed import TOPICS, all_live, assert_lists_equal_live, corpus

N = 600


def load(path: Path) -> Engine:
    return Engine.load(path, encoder=FakeEncoder())


def dated(engine: Engine) -> int:
    return int(np.sum(~np.isnan(engine.store.columns.timestamps)))


def assert_answers_equal_live(engine: Engine) -> None:
    """Every dated article's answer (stored, or pending and answered live) equals a full live
    ranking (undated ones are always ranked live, against the clock)."""
    stamps = engine.store.columns.timestamps
    for aid, live in all_live(engine).items():
        if not np.isnan(stamps[engine.store.row_of(aid) or 0]):
            assert engine.related(aid) == live, aid


def new_story(i: int) -> object:
    words = " ".join(TOPICS[i % 6][i : i + 12])
    return make_article(f"new-{i}", f"New story {i}", words, published_at=f"2025-04-0{i}")


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "indexes" / "news"
    Engine.build(corpus(N), path, encoder=FakeEncoder())
    return path


def test_deferred_writes_are_answered_live_until_the_refresh(index: Path) -> None:
    articles = {a.id: a for a in corpus(N)}
    edited = dataclasses.replace(articles["a00011"], body=" ".join(TOPICS[2][:12]))
    upsert([new_story(1), edited], index, encoder=FakeEncoder(), defer_lists=True)
    first = load(index)
    lists = first.manifest.lists
    assert lists["mode"] == "deferred" and lists["computed"] == 0, lists
    assert 2 <= lists["pending"] == pending_count(first) < N // 2, lists
    assert lists["pending"] + lists["reused"] + (N - dated(first)) >= len(first.store) - 2
    assert precomputed.stored_list(first, "new-1") is None  # pending: ranked live
    assert_answers_equal_live(first)

    # a second deferred write keeps the first one's pending lists pending, adds its own
    remove(["a00004"], index, defer_lists=True)
    second = load(index)
    assert second.manifest.lists["mode"] == "deferred"
    assert pending_count(second) >= pending_count(first) - 1  # a00004's own list is gone
    assert_answers_equal_live(second)

    report = refresh_lists(index)
    refreshed = load(index)
    assert report.version_path is not None and report.article_count == len(second.store)
    assert refreshed.manifest.lists["mode"] == "refresh"
    assert refreshed.manifest.lists["computed"] == pending_count(second)
    assert pending_count(refreshed) == 0
    assert assert_lists_equal_live(refreshed) == dated(refreshed)
    # the same content: ids, vectors, statistics; nothing embedded or fitted
    assert list(refreshed.store.columns.ids) == list(second.store.columns.ids)
    rows = np.arange(len(second.store), dtype=np.int64)
    np.testing.assert_array_equal(refreshed.index.vectors(rows), second.index.vectors(rows))
    assert refreshed.manifest.statistics == second.manifest.statistics
    assert second.lexical is not None and refreshed.lexical is not None
    np.testing.assert_array_equal(refreshed.lexical.idf, second.lexical.idf)
    # nothing pending: no new version
    assert refresh_lists(index).version_path is None
    assert load(index).manifest.generation == refreshed.manifest.generation


def test_a_write_that_is_not_deferred_ranks_the_pending_lists(index: Path) -> None:
    upsert([new_story(2)], index, encoder=FakeEncoder(), defer_lists=True)
    assert pending_count(load(index)) > 0
    upsert([new_story(3)], index, encoder=FakeEncoder())
    engine = load(index)
    assert engine.manifest.lists["mode"] == "incremental"
    assert pending_count(engine) == 0
    assert assert_lists_equal_live(engine) == dated(engine)


def put_fresh(index: Path) -> tuple[Any, TestClient, Any]:
    """A real app on ``index`` with a write token, and its answer to PUT /articles/fresh."""
    settings = ServeSettings(write_token="t0ken", reload_interval=3600)
    app = create_app(index, settings=settings, encoder=FakeEncoder())
    http = TestClient(app)
    story = {"title": "Fresh", "body": " ".join(TOPICS[1][:12]), "published_at": "2025-05-05"}
    answer = http.put("/articles/fresh", json=story, headers={"Authorization": "Bearer t0ken"})
    assert answer.status_code == 200, answer.text
    return app, http, answer


def test_put_is_served_at_once_and_refreshed_in_the_background(index: Path) -> None:
    app, http, answer = put_fresh(index)
    neighbour = answer.json()["articles"][0]["related"][0]["id"]
    listed = http.get(f"/related/{neighbour}", params={"k": 20}).json()["results"]
    assert "fresh" in [r["id"] for r in listed]  # served at once (pending lists, live)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and pending_count(app.state.holder.get().engine):
        time.sleep(0.05)
    served = app.state.holder.get().engine
    assert pending_count(served) == 0, "the background refresh did not serve its version"
    assert served.manifest.lists["mode"] == "refresh"
    assert served.manifest.generation == answer.json()["generation"] + 1
    assert precomputed.stored_list(served, "fresh") == served.related_live("fresh", 5)
    metrics = http.get("/metrics").text
    assert "recommender_lists_pending 0.0" in metrics
    assert "recommender_lists_refresh_failures_total 0.0" in metrics
    assert app.state.publisher.wait_idle(10)


def test_a_failed_refresh_is_counted_and_the_lists_stay_live(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("recommender.server.publish.refresh_lists", broken)
    app, http, _ = put_fresh(index)
    assert app.state.publisher.wait_idle(30)
    assert app.state.holder.lists_refresh_failures == 1
    assert "recommender_lists_refresh_failures_total 1.0" in http.get("/metrics").text
    served = app.state.holder.get().engine
    assert pending_count(served) > 0
    assert http.get("/related/fresh").json()["results"] == [
        r.to_dict() for r in served.related_live("fresh", 5)
    ]

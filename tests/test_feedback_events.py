"""Reader events: validation, the append-only store, POST /events, experiment lists."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.config import load_config
from recommender.engine import Engine
from recommender.errors import ConfigError, InputError, MissingExtraError
from recommender.feedback.events import (
    EventStore,
    events_path,
    export_events,
    load_events,
    parse_batch,
    validate_event,
)
from recommender.feedback.serving import RateLimiter
from recommender.ranking import RankingSettings
from recommender.server import create_app

from .conftest import FakeEncoder

IMPRESSION = {
    "type": "impression",
    "impression": "tok1",
    "source": "vote-1",
    "config": "default",
    "shown": [{"id": "vote-2", "position": 1}, {"id": "vote-3", "position": 2}],
}
CLICK = {
    "type": "click",
    "impression": "tok1",
    "source": "vote-1",
    "target": "vote-3",
    "position": 2,
}


@pytest.fixture
def index(tmp_path: Path, small_corpus: list) -> Path:
    path = tmp_path / "indexes" / "news"
    # serving plumbing over a fake encoder: the relatedness floor off, so lists hold k
    Engine.build(
        small_corpus, path, encoder=FakeEncoder(), settings=RankingSettings(min_relatedness=-1)
    )
    return path


def test_valid_events_round_trip() -> None:
    imp, click = parse_batch(json.dumps({"events": [IMPRESSION, CLICK]}).encode())
    assert imp.shown == ["vote-2", "vote-3"] and imp.config == "default"
    assert click.data == {"target": "vote-3", "position": 2}
    assert parse_batch(json.dumps(CLICK).encode())[0].type == "click"  # a single event


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "view"}, "type"),
        ({"user_id": "u1"}, "user_id"),  # nothing identifying gets in
        ({"impression": "has space"}, "impression"),
        ({"source": ""}, "source"),
        ({"shown": []}, "shown"),
        ({"shown": [{"id": "a", "position": 1}, {"id": "b", "position": 1}]}, "shown"),
        ({"shown": [{"id": "a", "position": 0}]}, "shown.position"),
        ({"teams": ["a"]}, "teams"),
        ({"teams": ["a", "c"]}, "teams"),
        ({"swap": 2}, "swap"),
        ({"config": "<script>"}, "config"),
    ],
)
def test_malformed_impressions_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(InputError) as caught:
        validate_event({**IMPRESSION, **change})
    assert caught.value.field == field


def test_malformed_bodies() -> None:
    for body in (b"not json", b"[]", b'{"events": []}', b'{"events": [1]}', b'"x"'):
        with pytest.raises(InputError):
            parse_batch(body)
    with pytest.raises(InputError, match="1 to 50"):
        parse_batch(json.dumps({"events": [CLICK] * 51}).encode())
    with pytest.raises(InputError) as caught:
        validate_event({**CLICK, "position": True})
    assert caught.value.field == "position"


def test_store_is_append_only_wal_and_outlives_rebuilds(index: Path, small_corpus: list) -> None:
    path = events_path(index)
    assert path == index.parent / ".recommender-events" / "news.sqlite"
    store = EventStore(path)
    store.append(parse_batch(json.dumps({"events": [IMPRESSION, CLICK]}).encode()))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET source = 'x'")
    db.close()
    store.close()
    Engine.build(small_corpus[:5], index, encoder=FakeEncoder())  # a new version folder
    assert [e.type for e in load_events(index)] == ["impression", "click"]
    assert not any(
        p.name.endswith(".sqlite") for p in index.resolve().iterdir() if "events" in p.name
    )


def test_export_json_lines_and_parquet_needs_its_extra(index: Path, tmp_path: Path) -> None:
    store = EventStore.for_index(index)
    store.append(parse_batch(json.dumps({"events": [IMPRESSION, CLICK]}).encode()), now=1.7e9)
    store.close()
    out = tmp_path / "events.jsonl"
    assert export_events(index, out) == 2
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["impression", "click"]
    assert lines[0]["shown"] == IMPRESSION["shown"] and lines[0]["time"] == "2023-11-14T22:13Z"
    assert lines[1] == {**{k: v for k, v in CLICK.items()}, "time": "2023-11-14T22:13Z"}
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match=r"recommender\[parquet\]"):
            export_events(index, tmp_path / "events.parquet")


def test_rate_limiter_token_bucket() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.allow("c", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("other", now=0.0)  # per client
    assert limiter.allow("c", now=0.5) and not limiter.allow("c", now=0.5)  # 1 token per 0.5 s


def test_post_events_stores_and_rejects_with_counts(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text("[events]\nrate_per_second = 1000\nburst = 1000\nmax_body_bytes = 2048\n")
    client = TestClient(create_app(index, config=config, encoder=FakeEncoder()))
    ok = client.post(
        "/events",
        content=json.dumps({"events": [IMPRESSION, CLICK]}),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert ok.status_code == 204 and "set-cookie" not in ok.headers
    assert client.post("/events", content=b"{bad").status_code == 400
    bad = client.post("/events", json={**CLICK, "ip": "1.2.3.4"})
    assert bad.status_code == 400 and "ip" in bad.json()["detail"]
    big = {"events": [{**IMPRESSION, "source": "x" * 500}] * 5}
    assert client.post("/events", json=big).status_code == 413
    stats = client.get("/events/stats").json()
    assert stats == {"stored": 2, "malformed": 2, "oversized": 1, "rate_limited": 0}
    assert [e.type for e in load_events(index)] == ["impression", "click"]


def test_flood_is_refused_while_related_keeps_answering(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text("[events]\nrate_per_second = 1\nburst = 5\n")
    client = TestClient(create_app(index, config=config, encoder=FakeEncoder()))
    codes: list[int] = []
    related: list[int] = []

    def flood() -> None:
        for _ in range(60):
            codes.append(client.post("/events", json=CLICK).status_code)

    thread = threading.Thread(target=flood)
    thread.start()
    while thread.is_alive() or len(related) < 10:
        related.append(client.get("/related/vote-1").status_code)
    thread.join()
    assert set(related) == {200}
    assert codes.count(204) <= 7 and codes.count(429) >= 53
    assert client.get("/events/stats").json()["rate_limited"] == codes.count(429)
    assert len(load_events(index)) == codes.count(204)


def test_experiment_lists_are_interleaved_and_never_cached(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text(
        '[experiment]\nname = "recency"\n[experiment.a]\nweight_recency = 0.0\n'
        "[experiment.b]\nweight_recency = 5.0\nhalf_life_days = 10\n"
    )
    engine = Engine.load(index)
    arm_a = [r.id for r in engine.related("vote-1", k=4, weight_recency=0.0)]
    arm_b = [r.id for r in engine.related("vote-1", k=4, weight_recency=5.0, half_life_days=10)]
    client = TestClient(create_app(index, config=config, encoder=FakeEncoder()))
    seen_teams = set()
    for _ in range(20):
        response = client.get("/related/vote-1", params={"k": 4})
        body = response.json()
        assert response.headers["cache-control"] == "no-store" and "etag" not in response.headers
        ranking = body["ranking"]
        ids = [r["id"] for r in body["results"]]
        assert ranking["experiment"] == "recency" and len(ranking["teams"]) == len(ids) == 4
        for aid, team in zip(ids, ranking["teams"], strict=True):
            assert aid in (arm_a if team == "a" else arm_b)
        seen_teams.add(tuple(ranking["teams"]))
    assert len(seen_teams) > 1  # the coin decides who picks first
    # An explicit ranking option is a plain (cacheable) answer outside the experiment.
    assert "ranking" not in client.get("/related/vote-1?weight_tags=0").json()


def test_swap_share_randomizes_one_adjacent_pair(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text("[events]\nswap_share = 1.0\n")
    plain = [r.id for r in Engine.load(index).related("vote-1", k=4)]
    client = TestClient(create_app(index, config=config, encoder=FakeEncoder()))
    body = client.get("/related/vote-1", params={"k": 4}).json()
    swap = body["ranking"]["swap"]
    shown = [r["id"] for r in body["results"]]
    expected = list(plain)
    expected[swap - 1], expected[swap] = expected[swap], expected[swap - 1]
    assert shown == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[experiment]\nname = 'x'\n[experiment.a]\nweight_tags = 1\n"
            "[experiment.b]\nweight_tags = 1.0\n",
            "same",
        ),
        ("[experiment]\n[experiment.a]\nweight_recency = 1\n", "name"),
        ("[experiment]\nname = 'x'\n[experiment.b]\nweight_nope = 1\n", "weight_nope"),
        ("[events]\nswap_share = 2\n", "swap_share"),
        ("[events]\nrate = 2\n", "rate"),
    ],
)
def test_bad_feedback_config_is_one_clear_error(
    index: Path, tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        create_app(index, config=load_config(config), encoder=FakeEncoder())

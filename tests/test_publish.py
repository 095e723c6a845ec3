"""The publish API (PUT/POST/DELETE /articles) through FastAPI's test client, fake encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.engine import Engine
from recommender.server import ServeSettings, create_app

from .conftest import FakeEncoder, make_article

TOKEN = "s3cret-publish-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW = {
    "title": "Election night: the count begins",
    "body": "voters ballot election count candidates winner",
    "published_at": "2025-06-02T20:00:00Z",
    "category": "politics",
    "url": "https://news.test/election-night",
}


def corpus() -> list:
    return [
        make_article("vote-1", "Election campaign opens", "voters candidates election ballot",
                     published_at="2025-01-01", category="politics"),
        make_article("vote-2", "Election debate", "candidates election debate ballot voters",
                     published_at="2025-01-10", category="politics"),
        make_article("ball-1", "Club wins derby", "football goal derby striker club",
                     published_at="2025-01-05", category="sport"),
        make_article("ball-2", "Striker signs", "football striker transfer club goal",
                     published_at="2025-02-05", category="sport"),
    ]  # fmt: skip


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "indexes" / "news"
    Engine.build(corpus(), path, encoder=FakeEncoder(), cache=False)
    return path


def client(index: Path, token: str | None = TOKEN) -> TestClient:
    settings = ServeSettings(write_token=token, reload_interval=3600)
    return TestClient(create_app(index, settings=settings, encoder=FakeEncoder()))


def generation(http: TestClient) -> str:
    return http.get("/health").json()["version_id"]


def test_writes_refused_without_a_configured_token(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECOMMENDER_WRITE_TOKEN", raising=False)
    http = client(index, token=None)
    before = generation(http)
    for response in (
        http.put("/articles/new", json=NEW, headers=AUTH),
        http.post("/articles", json=[{"id": "new", **NEW}], headers=AUTH),
        http.delete("/articles/vote-1", headers=AUTH),
    ):
        assert response.status_code == 403
        assert "write_token" in response.json()["detail"]
        assert "RECOMMENDER_WRITE_TOKEN" in response.json()["detail"]
    assert generation(http) == before
    assert http.get("/related/vote-1").status_code == 200  # reads unchanged


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_unauthenticated_writes_get_401_and_change_nothing(index: Path, headers: dict) -> None:
    http = client(index)
    before = generation(http)
    put = http.put("/articles/new", json=NEW, headers=headers)
    assert put.status_code == 401
    assert put.headers["WWW-Authenticate"].startswith("Bearer")
    bad_body = http.put("/articles/new", content=b"{not json", headers=headers)
    assert bad_body.status_code == 401  # the token is checked before the body is read
    assert http.post("/articles", json=[NEW], headers=headers).status_code == 401
    assert http.delete("/articles/vote-1", headers=headers).status_code == 401
    assert generation(http) == before
    assert http.get("/articles/new").status_code == 404
    assert http.get("/articles/vote-1").status_code == 200
    assert Engine.load(index).manifest.version_id == before


def test_put_adds_an_article_and_answers_its_list(index: Path) -> None:
    http = client(index)
    generation_before = http.get("/health").json()
    response = http.put("/articles/election-night", json=NEW, headers=AUTH, params={"k": 2})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["generation"] == 2 and answer["new"] == 1 and answer["embedded"] == 1
    assert answer["article_count"] == generation_before["article_count"] + 1
    [written] = answer["articles"]
    assert written["id"] == "election-night"
    assert sorted(r["id"] for r in written["related"]) == ["vote-1", "vote-2"]  # not sport
    # served at once, before any reload interval
    assert http.get("/articles/election-night").json()["title"] == NEW["title"]
    listed = http.get("/related/vote-1", params={"k": 3}).json()["results"]
    assert "election-night" in [r["id"] for r in listed]
    # a background refresh may follow (here the write fitted the statistics again: none)
    state = http.app.state  # type: ignore[attr-defined]
    assert state.publisher.wait_idle(30)
    served = state.holder.get().engine.manifest.generation
    # the same PUT again changes nothing; an edit of metadata only is not embedded
    again = http.put("/articles/election-night", json=NEW, headers=AUTH).json()
    assert (again["generation"], again["unchanged"]) == (served, 1)
    edited = {**NEW, "category": "world"}
    meta = http.put("/articles/election-night", json=edited, headers=AUTH).json()
    assert (meta["generation"], meta["changed"], meta["embedded"]) == (served + 1, 1, 0)


def test_put_validates_like_every_loader(index: Path) -> None:
    http = client(index)
    before = generation(http)
    cases = [
        ({**NEW, "id": "other"}, "field 'id'"),
        ({**NEW, "title": ""}, "PUT /articles/x: field 'title': missing or empty"),
        ({**NEW, "published_at": "31/12/2024"}, "field 'published_at': cannot parse"),
    ]
    for body, message in cases:
        response = http.put("/articles/x", json=body, headers=AUTH)
        assert response.status_code == 422
        assert message in response.json()["detail"]
    response = http.put("/articles/x", content=b"{oops", headers=AUTH)
    assert response.status_code == 422 and "not JSON" in response.json()["detail"]
    assert generation(http) == before


def test_post_batch_and_delete(index: Path) -> None:
    http = client(index)
    batch = [{"id": "a-1", **NEW}, {"id": "a-2", **NEW, "title": "Turnout record"}]
    response = http.post("/articles", json={"articles": batch}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert [a["id"] for a in response.json()["articles"]] == ["a-1", "a-2"]
    assert response.json()["new"] == 2
    dupes = http.post("/articles", json=[batch[0], batch[0]], headers=AUTH)
    assert dupes.status_code == 422 and "duplicate id 'a-1'" in dupes.json()["detail"]
    bad = http.post("/articles", json=[batch[0], {"id": "a-3"}], headers=AUTH)
    assert bad.status_code == 422
    assert "POST /articles[item 2]: field 'title'" in bad.json()["detail"]
    gone = http.delete("/articles/a-1", headers=AUTH)
    assert gone.status_code == 200 and gone.json()["removed"] is True
    assert http.get("/articles/a-1").status_code == 404
    assert "a-1" not in [r["id"] for r in http.get("/related/a-2").json()["results"]]
    missing = http.delete("/articles/a-1", headers=AUTH)
    assert missing.status_code == 404 and "a-1" in missing.json()["detail"]


def test_environment_token_overrides_the_config(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOMMENDER_WRITE_TOKEN", "from-env")
    http = client(index, token=TOKEN)
    assert http.put("/articles/n", json=NEW, headers=AUTH).status_code == 401
    env = {"Authorization": "Bearer from-env"}
    assert http.put("/articles/n", json=NEW, headers=env).status_code == 200


def test_token_from_recommender_toml(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text(f'[serve]\nwrite_token = "{TOKEN}"\n')
    http = TestClient(create_app(index, config=config, encoder=FakeEncoder()))
    assert http.put("/articles/n", json=NEW, headers=AUTH).status_code == 200
    assert TOKEN not in json.dumps(http.get("/health").json())
    assert TOKEN not in repr(http.app.state.settings)  # type: ignore[attr-defined]


def test_write_bodies_may_be_larger_than_read_bodies(index: Path) -> None:
    settings = ServeSettings(write_token=TOKEN, max_body_bytes=1024, max_write_body_bytes=1 << 20)
    http = TestClient(create_app(index, settings=settings, encoder=FakeEncoder()))
    long_body = {**NEW, "body": "election ballot " * 500}  # ~8 kB
    assert http.put("/articles/long", json=long_body, headers=AUTH).status_code == 200
    assert http.post("/related", json=long_body).status_code == 413


def test_put_with_an_unsafe_url_stores_it_inert(index: Path) -> None:
    """The URL rule of recommender/urls.py (issue 12 item 2): not a link, kept for editors."""
    http = client(index)
    body = {**NEW, "url": "JaVaScRiPt:alert(1)"}
    assert http.put("/articles/unsafe-url", json=body, headers=AUTH).status_code == 200
    stored = http.get("/articles/unsafe-url").json()
    assert stored["url"] is None and stored["url_unsafe"] == "JaVaScRiPt:alert(1)"

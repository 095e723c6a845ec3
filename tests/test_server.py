"""The HTTP API through FastAPI's test client (fake encoder: plumbing, not relevance)."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recommender.articles import Article, InputError
from recommender.cli import app as cli_app
from recommender.engine import Engine
from recommender.ranking import RankingSettings
from recommender.server import ServeSettings, create_app
from recommender.storage import versions as persistence

from .conftest import FakeEncoder, make_article

HOSTILE = "<img src=x onerror=alert(1)>"


def corpus(extra: tuple[Article, ...] = ()) -> list[Article]:
    return [
        make_article(
            "vote-1",
            "Election campaign opens",
            "voters candidates election ballot",
            published_at="2025-01-01",
            category="politics",
            url="https://news.test/v1",
        ),
        make_article(
            "vote-2",
            "Election debate",
            "candidates election debate ballot voters",
            published_at="2025-01-10",
            category="politics",
            tags=("election",),
        ),
        make_article(
            "vote-3",
            "Election result",
            "election ballot count winner voters",
            published_at="2025-06-01",
            category="politics",
        ),
        make_article(
            "world/summit",
            "Summit on the election",
            "election summit leaders voters",
            published_at="2025-02-01",
            category="world",
        ),
        make_article(
            "ball-1",
            "Club wins derby",
            "football goal derby striker club",
            published_at="2025-01-05",
            category="sport",
        ),
        make_article(
            "ball-2",
            HOSTILE,
            "football striker injury club goal",
            published_at="2025-02-01",
            category="sport",
            url="javascript:alert(1)",
        ),
        make_article(
            "space-1",
            "Rocket launch",
            "rocket orbit launch mars mission",
            published_at="2025-03-01",
            category="science",
        ),
        *extra,
    ]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "indexes" / "news"
    # HTTP plumbing over a fake encoder: the relatedness floor is off here (tested in
    # test_engine/test_ranking*), so list lengths follow k alone
    Engine.build(
        corpus(), path, encoder=FakeEncoder(), settings=RankingSettings(min_relatedness=-1)
    )
    return path


@pytest.fixture
def client(index: Path) -> TestClient:
    return TestClient(create_app(index, encoder=FakeEncoder()))


def expected(index: Path, article_id: str, k: int = 5, **options: object) -> dict:
    engine = Engine.load(index)
    results = engine.related(article_id, k=k, **options)
    return {"id": article_id, "results": [r.to_dict() for r in results]}


# ---------------------------------------------------------------------------- GET /related
def test_related_same_as_cli_json(index: Path, client: TestClient) -> None:
    response = client.get("/related/vote-1", params={"k": 3})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    cli = CliRunner().invoke(
        cli_app, ["related", "vote-1", "--index", str(index), "-k", "3", "--json"]
    )
    assert cli.exit_code == 0, cli.output
    assert response.json() == json.loads(cli.output)
    assert response.json() == expected(index, "vote-1", k=3)


def test_ids_with_slashes_and_hostile_text_round_trip(client: TestClient) -> None:
    data = client.get("/related/world/summit", params={"k": 6}).json()
    assert data["id"] == "world/summit" and len(data["results"]) == 6
    assert client.get("/related/world%2Fsummit").json()["id"] == "world/summit"
    hostile = client.get("/articles/ball-2").json()
    assert hostile["title"] == HOSTILE  # data, returned as is: the widget renders it as text


def test_k_bounds_and_bad_parameters_are_422(client: TestClient) -> None:
    for k in ("0", "51", "1000", "-1", "five"):
        response = client.get("/related/vote-1", params={"k": k})
        assert response.status_code == 422, k
        assert "detail" in response.json()
    assert len(client.get("/related/vote-1", params={"k": 50}).json()["results"]) == 6
    cases = {
        "bogus=1": "unknown parameter 'bogus'",
        "half_life_days=-3": "half_life_days must be positive",
        "half_life_days=abc": "half_life_days",
        "half_life_days=nan": "finite",
        "recency_reference=yesterday": "recency_reference",
        "same_category_only=maybe": "expected true or false",
        "only_older=true&only_newer=true": "exclude each other",
        "candidate_pool=1&candidate_pool=2": "more than once",
    }
    for query, message in cases.items():
        response = client.get(f"/related/vote-1?{query}")
        assert response.status_code == 422, query
        assert message in response.json()["detail"], (query, response.json())


def test_exclude_comma_separated_and_repeated(index: Path, client: TestClient) -> None:
    ids = lambda r: [x["id"] for x in r.json()["results"]]  # noqa: E731
    assert ids(client.get("/related/vote-1?k=6&exclude=vote-2,vote-3")) == ids(
        client.get("/related/vote-1?k=6&exclude=vote-2&exclude=vote-3")
    )
    got = ids(client.get("/related/vote-1?k=6&exclude=vote-2,vote-3"))
    assert "vote-2" not in got and "vote-3" not in got and len(got) == 4
    assert client.get("/related/vote-1?exclude=not-an-id").status_code == 200


def test_every_ranking_setting_is_a_query_parameter(index: Path, client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/related/{article_id}"]["get"]["parameters"]}
    assert {f.name for f in dataclasses.fields(RankingSettings)} | {"k", "exclude"} <= params
    assert "/articles/{article_id}" in spec["paths"] and "/health" in spec["paths"]
    assert client.get("/docs").status_code == 200
    # Options are coerced to their types and reach the engine.
    query = {
        "k": 4,
        "same_category_only": "true",
        "half_life_days": "7",
        "recency_reference": "source",
        "weight_category": "0.5",
    }
    assert client.get("/related/vote-1", params=query).json() == expected(
        index,
        "vote-1",
        k=4,
        same_category_only=True,
        half_life_days=7.0,
        recency_reference="source",
        weight_category=0.5,
    )
    hits = client.get("/related/vote-1?same_category_only=1&fallback=&k=6").json()["results"]
    assert [r["category"] for r in hits] == ["politics", "politics"]  # list-valued: empty


def test_unknown_ids_are_404_json(client: TestClient) -> None:
    for path in ("/related/nope", "/articles/nope", "/related/world/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "detail": f"no article with id {path.split('/', 2)[2]!r} in this index"
        }


# ---------------------------------------------------------------------------- other routes
def test_article_health_widget(index: Path, client: TestClient) -> None:
    article = client.get("/articles/vote-1").json()
    assert article["id"] == "vote-1" and article["url"] == "https://news.test/v1"
    health = client.get("/health")
    assert health.headers["cache-control"] == "no-store"
    engine = Engine.load(index)
    assert health.json()["version_id"] == engine.manifest.version_id
    assert health.json()["article_count"] == 7 and health.json()["status"] == "ok"
    widget = client.get("/widget.js")
    assert widget.status_code == 200
    assert widget.headers["content-type"].startswith("text/javascript")
    assert "data-recommender" in widget.text and "innerHTML" not in widget.text
    again = client.get("/widget.js", headers={"If-None-Match": widget.headers["etag"]})
    assert again.status_code == 304


def test_post_related_draft(client: TestClient) -> None:
    response = client.post(
        "/related?k=2",
        json={"title": "Ballot count", "body": "election voters", "category": "politics"},
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["id"] is None and len(data["results"]) == 2
    assert all(r["id"].startswith("vote-") for r in data["results"])
    excluded = client.post(
        "/related?k=2&exclude=vote-1,vote-2,vote-3",
        json={"title": "Ballot count", "body": "election voters"},
    ).json()
    assert not any(r["id"].startswith("vote-") for r in excluded["results"])
    bad = client.post("/related", json={"body": "no title"})
    assert bad.status_code == 422 and "title" in bad.json()["detail"]
    assert client.post("/related", json=["not", "an", "object"]).status_code == 422
    assert (
        client.post(
            "/related", content=b"{nope", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post("/related?k=0", json={"title": "x"}).status_code == 422
    assert client.post("/related?bogus=1", json={"title": "x"}).status_code == 422


def test_post_without_the_model_is_503(index: Path) -> None:
    client = TestClient(create_app(index))  # the fake model's name is not a model folder
    assert client.get("/related/vote-1").status_code == 200
    response = client.post("/related", json={"title": "x"})
    assert response.status_code == 503 and "model" in response.json()["detail"]


def test_request_body_limit(index: Path) -> None:
    client = TestClient(
        create_app(index, encoder=FakeEncoder(), settings=ServeSettings(max_body_bytes=1024))
    )
    big = json.dumps({"title": "x", "body": "y" * 2000}).encode()
    response = client.post("/related", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "1024 bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        yield big[:1000]
        yield big[1000:]

    response = client.post(
        "/related", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    ok = client.post("/related", json={"title": "Election", "body": "voters"})
    assert ok.status_code == 200


# ---------------------------------------------------------------------------- caching
def test_etag_and_304(index: Path, client: TestClient) -> None:
    first = client.get("/related/vote-1?k=3")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    assert etag.startswith('"') and client.get("/related/vote-1?k=3").headers["etag"] == etag
    assert client.get("/related/vote-1?k=4").headers["etag"] != etag
    assert client.get("/related/vote-1?k=3&half_life_days=5").headers["etag"] != etag
    assert client.get("/related/vote-2?k=3").headers["etag"] != etag
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = client.get("/related/vote-1?k=3", headers={"If-None-Match": header})
        assert cached.status_code == 304 and cached.content == b"", header
        assert cached.headers["etag"] == etag
    assert client.get("/related/vote-1?k=3", headers={"If-None-Match": '"x"'}).status_code == 200
    # Validation still comes first: a bad request is never a 304.
    assert client.get("/related/vote-1?k=0", headers={"If-None-Match": "*"}).status_code == 422
    art = client.get("/articles/vote-1")
    assert (
        client.get("/articles/vote-1", headers={"If-None-Match": art.headers["etag"]}).status_code
        == 304
    )
    # A new index version changes every ETag.
    Engine.build(corpus(), index, encoder=FakeEncoder(), cache=False)
    fresh = TestClient(create_app(index, encoder=FakeEncoder()))
    assert fresh.get("/related/vote-1?k=3", headers={"If-None-Match": etag}).status_code == 200


def test_config_file_cors_and_cache_age(tmp_path: Path, index: Path) -> None:
    plain = TestClient(create_app(index))
    response = plain.get("/related/vote-1", headers={"Origin": "https://site.test"})
    assert "access-control-allow-origin" not in response.headers  # no CORS by default
    config = tmp_path / "recommender.toml"
    config.write_text('[serve]\ncors_origins = ["https://site.test"]\ncache_max_age = 60\n')
    client = TestClient(create_app(index, config=config))
    response = client.get("/related/vote-1", headers={"Origin": "https://site.test"})
    assert response.headers["access-control-allow-origin"] == "https://site.test"
    assert "etag" in response.headers["access-control-expose-headers"].lower()
    assert response.headers["cache-control"] == "public, max-age=60"
    other = client.get("/related/vote-1", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options(
        "/related",
        headers={
            "Origin": "https://site.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://site.test"
    config.write_text("[serve]\ncors_origin = ['typo']\n")
    with pytest.raises(InputError, match="unknown key 'cors_origin'"):
        create_app(index, config=config)


# ---------------------------------------------------------------------------- hot reload
def test_hot_reload_without_a_failed_request(tmp_path: Path, index: Path) -> None:
    app = create_app(index, encoder=FakeEncoder(), settings=ServeSettings(reload_interval=0))
    client = TestClient(app)
    before = client.get("/health").json()["version_id"]
    statuses: list[int] = []
    errors: list[BaseException] = []
    seen_new = threading.Event()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                response = client.get("/related/vote-1?k=10")
                statuses.append(response.status_code)
                if any(r["id"] == "vote-new" for r in response.json()["results"]):
                    seen_new.set()
                statuses.append(client.get("/articles/vote-2").status_code)
            except BaseException as exc:  # any exception is a failed request
                errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        for n in range(4):  # several swaps, old versions garbage-collected as they go
            extra = (make_article("vote-new", f"Election night {n}", "election voters ballot"),)
            Engine.build(corpus(extra if n % 2 == 0 else ()), index, encoder=FakeEncoder())
            time.sleep(0.3)
        Engine.build(
            corpus((make_article("vote-new", "Election night", "election ballot"),)),
            index,
            encoder=FakeEncoder(),
        )
        assert seen_new.wait(10), "the new version never answered"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    health = client.get("/health").json()
    assert health["version_id"] != before and health["reloads"] >= 1
    assert health["version_id"] == persistence.resolve_version(index).name
    assert health["article_count"] == 8


def test_a_damaged_new_version_keeps_the_old_one_serving(index: Path) -> None:
    client = TestClient(
        create_app(index, encoder=FakeEncoder(), settings=ServeSettings(reload_interval=0))
    )
    before = client.get("/health").json()["version_id"]
    persistence.write_index_version(index, lambda folder: {})  # no model, no data files
    deadline = time.monotonic() + 10
    while client.get("/health").json()["reload_error"] is None:
        assert time.monotonic() < deadline, "the failed reload was never reported"
        time.sleep(0.02)
    assert client.get("/related/vote-1").status_code == 200
    assert client.get("/health").json()["version_id"] == before
    Engine.build(corpus(), index, encoder=FakeEncoder())
    while client.get("/health").json()["version_id"] == before:
        assert time.monotonic() < deadline, "the repaired index was never loaded"
        time.sleep(0.02)
    assert client.get("/health").json()["reload_error"] is None


# ---------------------------------------------------------------------------- CLI
def test_serve_without_the_extra_names_it(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    result = CliRunner().invoke(cli_app, ["serve", "--index", str(index)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: the HTTP server needs the 'serve' extra: pip install 'recommender[serve]'"
    )


def test_serve_missing_index_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and result.output.startswith("error: no index at")
    assert "Traceback" not in result.output


def test_a_bug_is_a_500_not_a_users_422(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug in our code, not the user's request")

    monkeypatch.setattr(Engine, "related", broken)
    with TestClient(create_app(index, encoder=FakeEncoder()), raise_server_exceptions=False) as c:
        assert c.get("/related/vote-1?k=3").status_code == 500  # k=3: ranked, not precomputed
        assert c.get("/related/vote-1", params={"half_life_days": "-1"}).status_code == 422

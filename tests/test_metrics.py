"""/metrics (Prometheus text format) and the JSON-lines access log, through the test client;
the HTTP fast path for precomputed lists answers what live ranking answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from recommender.engine import Engine
from recommender.server import ServeSettings, create_app

from .conftest import FakeEncoder
from .test_precomputed import corpus


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metrics") / "indexes" / "news"
    Engine.build(corpus(120), path, encoder=FakeEncoder())
    return path


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_parse_and_move_with_traffic(index: Path, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "access.jsonl"
    app = create_app(index, settings=ServeSettings(access_log=str(log)), encoder=FakeEncoder())
    client = TestClient(app)
    before = samples(client)
    route = "/related/{article_id:path}"
    ok = (("method", "GET"), ("route", route), ("status", "200"))
    assert before[("recommender_index_generation", ())] == 1
    assert before[("recommender_index_articles", ())] == 120
    assert before[("recommender_lists_served_total", (("source", "precomputed"),))] == 0
    assert ("recommender_http_requests_total", ok) not in before
    for _ in range(3):
        assert client.get("/related/a00001").status_code == 200
    assert client.get("/related/a00001?k=3").status_code == 200
    assert client.get("/related/nope").status_code == 404
    after = samples(client)
    assert after[("recommender_http_requests_total", ok)] == 4
    assert after[("recommender_http_request_seconds_count", ok)] == 4
    assert (
        after[("recommender_http_request_seconds_bucket", tuple(sorted((*ok, ("le", "+Inf")))))]
        == 4
    )
    missing = (("method", "GET"), ("route", route), ("status", "404"))
    assert after[("recommender_http_requests_total", missing)] == 1
    assert after[("recommender_lists_served_total", (("source", "precomputed"),))] == 3
    assert after[("recommender_lists_served_total", (("source", "live"),))] == 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    related = [entry for entry in lines if entry["path"].startswith("/related/")]
    assert [entry["status"] for entry in related] == [200, 200, 200, 200, 404]
    assert related[3]["query"] == "k=3" and related[0]["route"] == route
    assert all(entry["bytes"] > 0 and entry["ms"] >= 0 for entry in related)


def test_precomputed_answer_equals_live_answer(index: Path) -> None:
    client = TestClient(create_app(index, encoder=FakeEncoder()))
    engine = client.app.state.holder.get().engine  # type: ignore[attr-defined]
    for aid in ("a00001", "a00002", "a00060"):
        stored = client.get(f"/related/{aid}")
        live = {"id": aid, "results": [r.to_dict() for r in engine.related_live(aid, 5)]}
        assert stored.json() == live
        forced = client.get(f"/related/{aid}?weight_tags=0.05")  # an option: ranked live
        assert forced.json() == live  # the index's own value: same list
        assert stored.headers["etag"] != forced.headers["etag"]


def test_fast_path_answers_as_the_route_does(index: Path) -> None:
    client = TestClient(create_app(index, encoder=FakeEncoder()))
    fast = client.get("/related/a00003")
    assert client.app.state.metrics.lists.labels("precomputed")._value.get() == 1  # type: ignore[attr-defined]
    routed = client.get("/related/a00003?k=5&exclude=")  # not the plain query: the route
    assert fast.content == routed.content
    assert fast.headers["etag"] == routed.headers["etag"]
    assert fast.headers["cache-control"] == routed.headers["cache-control"]
    assert fast.headers["content-type"] == routed.headers["content-type"]
    again = client.get("/related/a00003", headers={"If-None-Match": fast.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == fast.headers["etag"]
    assert client.get("/related/no-such-id").status_code == 404  # on to the route

"""``serve --workers 2``: a real server with two worker processes sharing one memory-mapped
version; both answer precomputed lists, both hot-reload after an upsert, /metrics sums them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from recommender.engine import Engine

from ._serving import http, serve_process
from .conftest import FakeEncoder, make_article
from .test_precomputed import corpus


def health_by_worker(base: str, tries: int = 200) -> dict[int, str]:
    """version_id per worker pid, over many connections (the kernel spreads them)."""
    seen: dict[int, str] = {}
    for attempt in range(tries):
        status, _, body = http(base + "/health")
        assert status == 200
        data = json.loads(body)
        seen[int(data["worker_pid"])] = data["version_id"]
        if len(seen) >= 2 and attempt >= 20:
            break
    return seen


def counter(base: str, name: str, **labels: str) -> float:
    status, _, body = http(base + "/metrics")
    assert status == 200
    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_two_workers_share_answer_and_reload(tmp_path: Path) -> None:
    index = tmp_path / "indexes" / "news"
    articles = corpus(300)
    Engine.build(articles, index, encoder=FakeEncoder())
    engine = Engine.load(index, encoder=FakeEncoder())
    first_version = engine.manifest.version_id
    expected = {"id": "a00001", "results": [r.to_dict() for r in engine.related_live("a00001")]}
    log = tmp_path / "access.jsonl"
    with serve_process(
        index, tmp_path, "--workers", "2", "--no-access-log", "--access-log-file", str(log)
    ) as base:
        workers = health_by_worker(base)
        assert len(workers) == 2 and set(workers.values()) == {first_version}
        for _ in range(10):
            status, _, body = http(base + "/related/a00001")
            assert status == 200 and json.loads(body) == expected
        assert counter(base, "recommender_lists_served_total", source="precomputed") == 10
        ok = counter(base, "recommender_http_requests_total", route="/related/{article_id:path}")
        assert ok == 10  # summed over both workers
        new = make_article("fresh", "Fresh story", "sci1 sci2 sci3", published_at="2025-05-05")
        Engine.upsert([new], index, encoder=FakeEncoder())
        second_version = Engine.load(index, encoder=FakeEncoder()).manifest.version_id
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = health_by_worker(base)
            if len(workers) == 2 and set(workers.values()) == {second_version}:
                break
            time.sleep(0.3)
        assert len(workers) == 2 and set(workers.values()) == {second_version}
        status, _, body = http(base + "/related/fresh")
        assert status == 200 and json.loads(body)["id"] == "fresh"
    pids = {json.loads(line)["pid"] for line in log.read_text().splitlines()}
    assert len(pids) == 2  # both workers wrote to the one access log

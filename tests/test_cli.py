"""The CLI through typer's runner (fake encoder: plumbing, not relevance)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.cli import app
from recommender.indexing import writers as indexing_module

from .conftest import FakeEncoder, write_jsonl

runner = CliRunner()

RECORDS = [
    {
        "id": "vote-1",
        "title": "Election campaign opens",
        "body": "voters election ballot",
        "published_at": "2025-01-01",
        "category": "politics",
        "url": "https://x/vote-1",
    },
    {
        "id": "vote-2",
        "title": "Election debate",
        "body": "election debate voters ballot",
        "published_at": "2025-01-10",
        "category": "politics",
        "tags": ["election"],
    },
    {
        "id": "ball-1",
        "title": "Club wins derby",
        "body": "football goal derby",
        "published_at": "2025-01-05",
        "category": "sport",
    },
    {
        "id": "space-1",
        "title": "Rocket launch",
        "body": "rocket orbit mars",
        "published_at": "2025-03-01",
        "category": "science",
    },
]


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
    monkeypatch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())


@pytest.fixture
def index(tmp_path: Path) -> Path:
    src = write_jsonl(tmp_path / "news.jsonl", RECORDS)
    idx = tmp_path / "indexes" / "news"
    result = runner.invoke(app, ["build", str(src), "--index", str(idx)])
    assert result.exit_code == 0, result.output
    return idx


def test_build_summary_and_cache(tmp_path: Path, index: Path) -> None:
    src = tmp_path / "news.jsonl"
    result = runner.invoke(app, ["build", str(src), "--index", str(index)])
    assert result.exit_code == 0
    out = " ".join(result.output.split())
    assert "4 articles read, 0 embedded, 4 from the cache, 0 rejected" in out
    assert "Nothing to embed" in out
    result = runner.invoke(app, ["build", str(src), "--index", str(index), "--json"])
    data = json.loads(result.output)
    assert data["read"] == 4 and data["embedded"] == 0 and data["cached"] == 4


def test_related_json_shape(index: Path) -> None:
    floor_off = ["--set", "min_relatedness=-1"]  # the fake encoder's scores are not calibrated
    args = ["related", "vote-1", "--index", str(index), "-k", "2", "--json", *floor_off]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["id"] == "vote-1"
    assert len(data["results"]) == 2
    first = data["results"][0]
    assert first["id"] == "vote-2"
    assert set(first) == {"id", "title", "url", "published_at", "category", "tags", "score", "why"}
    assert first["tags"] == ["election"] and first["published_at"].startswith("2025-01-10")
    assert set(first["why"]["contributions"]) == {
        "similarity",
        "lexical",
        "topic",
        "recency",
        "category",
        "tags",
    }


def test_related_table_and_options(index: Path) -> None:
    result = runner.invoke(
        app,
        [
            "related",
            "vote-1",
            "--index",
            str(index),
            "-k",
            "3",
            "-x",
            "vote-2",
            "--half-life",
            "7",
            "--recency-reference",
            "now",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Read more: Election campaign opens" in result.output
    assert "vote-2" not in result.output


def test_query_title_body_and_file(tmp_path: Path, index: Path) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "--index",
            str(index),
            "--title",
            "Ballot count",
            "--body",
            "election voters",
            "-k",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["id"] is None and data["results"][0]["id"].startswith("vote-")
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"title": "Mars rocket", "body": "orbit", "category": "science"}))
    result = runner.invoke(app, ["query", "--index", str(index), "--file", str(draft), "--json"])
    assert json.loads(result.output)["results"][0]["id"] == "space-1"
    result = runner.invoke(app, ["query", "--index", str(index)])
    assert result.exit_code == 1 and "give --title" in result.output


def test_info(index: Path) -> None:
    result = runner.invoke(app, ["info", "--index", str(index), "--json"])
    facts = json.loads(result.output)
    assert facts["article_count"] == 4 and facts["dimension"] == 64
    assert facts["model"] == "fake-bow-64" and facts["size_bytes"] > 0 and facts["built_at"]
    result = runner.invoke(app, ["info", "--index", str(index)])
    assert "article_count" in result.output and "MB" in result.output


def test_errors_are_one_line_without_traceback(tmp_path: Path, index: Path) -> None:
    result = runner.invoke(app, ["related", "nope", "--index", str(index)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: no article with id 'nope' in this index"
    result = runner.invoke(app, ["related", "x", "--index", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no index at" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["--debug", "related", "nope", "--index", str(index)])
    assert result.exit_code != 0 and result.exception is not None


def test_bad_input_fails_and_old_index_still_answers(tmp_path: Path, index: Path) -> None:
    before = runner.invoke(app, ["related", "vote-1", "--index", str(index), "--json"]).output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "A"}\n{"id": "b", "title": "B"\n')
    result = runner.invoke(app, ["build", str(bad), "--index", str(index)])
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"error: {bad}:2: malformed JSON")
    after = runner.invoke(app, ["related", "vote-1", "--index", str(index), "--json"]).output
    assert after == before


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("build", "related", "query", "info", "demo"):
        assert command in result.output

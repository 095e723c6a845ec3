"""Golden outputs: the ``--json``, HTTP and export shapes for the demo corpus, byte for byte.

The files under ``tests/golden/`` were written by the code before the architecture rework
(issue 9); a refactor must not change a byte. A change that means to alter an output (a new
default, a new field) regenerates them deliberately, in a commit that says so:
``RECOMMENDER_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recommender.articles import Article
from recommender.cli import app as cli_app
from recommender.demo import demo_articles_path
from recommender.engine import Engine
from recommender.export import export
from recommender.loaders import load_articles
from recommender.server import create_app

from .conftest import FakeEncoder

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("RECOMMENDER_REGENERATE_GOLDEN") == "1"
# A news story with a wire copy, a follow-up cluster, and an evergreen guide.
IDS = (
    "russia-china-summit-video-call",
    "earthquake-strikes-coastal-region",
    "guide-museum-visiting-tips",
)


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    articles: list[Article] = list(load_articles([demo_articles_path()]))
    path = tmp_path_factory.mktemp("golden") / "index"
    Engine.build(articles, path, encoder=FakeEncoder(), cache=False)
    return path


def check(name: str, data: bytes) -> None:
    target = GOLDEN / name
    if REGENERATE:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    assert target.exists(), f"{target} missing: regenerate the golden files"
    assert data == target.read_bytes(), f"output differs from {target}"


@pytest.mark.parametrize("article_id", IDS)
def test_cli_related_json(demo_index: Path, article_id: str) -> None:
    result = CliRunner().invoke(
        cli_app, ["related", article_id, "--index", str(demo_index), "-k", "6", "--json"]
    )
    assert result.exit_code == 0, result.output
    check(f"cli-related-{article_id}.json", result.stdout.encode())


@pytest.mark.parametrize("article_id", IDS)
def test_http_related(demo_index: Path, article_id: str) -> None:
    with TestClient(create_app(demo_index, encoder=FakeEncoder())) as client:
        response = client.get(f"/related/{article_id}", params={"k": 6})
    assert response.status_code == 200
    check(f"http-related-{article_id}.json", response.content)


def test_http_draft_and_article(demo_index: Path) -> None:
    draft = {  # dated: ages are then measured against the draft, not the clock
        "title": "Leaders of Russia and China hold a summit",
        "body": "Talks on trade.",
        "published_at": "2025-06-01T10:00:00Z",
    }
    with TestClient(create_app(demo_index, encoder=FakeEncoder())) as client:
        posted = client.post("/related", json={**draft, "k": 4})
        article = client.get(f"/articles/{IDS[0]}")
    assert posted.status_code == 200 and article.status_code == 200
    check("http-draft.json", posted.content)
    check("http-article.json", article.content)


@pytest.mark.parametrize("fmt", ["json", "hugo", "jekyll"])
def test_export(demo_index: Path, tmp_path: Path, fmt: str) -> None:
    engine = Engine.load(demo_index)
    try:
        export(engine, tmp_path / fmt, format=fmt, k=4)
    finally:
        engine.close()
    files = sorted(p for p in (tmp_path / fmt).rglob("*") if p.is_file())
    assert files
    listing = {str(p.relative_to(tmp_path / fmt)): p.read_bytes().decode() for p in files}
    check(f"export-{fmt}.json", json.dumps(listing, indent=1, sort_keys=True).encode())

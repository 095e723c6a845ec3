"""build and upsert on publishers' formats through the CLI (fake encoder: plumbing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.cli import app
from recommender.engine import Engine
from recommender.indexing import writers as indexing_module

from .conftest import FakeEncoder

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
runner = CliRunner()


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
    monkeypatch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())


def test_build_from_wxr_and_site_says_what_was_skipped(tmp_path: Path) -> None:
    index = tmp_path / "indexes" / "news"
    wxr = FIXTURES / "harbour.wordpress.xml"
    result = runner.invoke(
        app, ["build", str(wxr), str(FIXTURES / "site"), "--index", str(index), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["read"] == 3 + 4
    assert f"Skipped {wxr}: 1 attachment, 1 draft post," in result.stderr
    assert "1 pagination page, 1 search page" in result.stderr
    with Engine.load(index, encoder=FakeEncoder()) as engine:
        assert sorted(engine.ids())[:3] == ["101", "102", "103"]


def test_upsert_a_feed_and_force_a_format(tmp_path: Path) -> None:
    index = tmp_path / "indexes" / "news"
    build = runner.invoke(app, ["build", str(FIXTURES / "site"), "--index", str(index)])
    assert build.exit_code == 0, build.output
    feed = tmp_path / "latest.data"  # no telling suffix: the content says Atom
    shutil.copy(FIXTURES / "valley.atom.xml", feed)
    result = runner.invoke(app, ["upsert", str(feed), "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"] == 2
    pages = runner.invoke(
        app,
        ["upsert", str(FIXTURES / "harbour.wordpress.xml"), "-i", str(index), "--include-pages"],
    )
    assert pages.exit_code == 0, pages.output
    assert "4 new" in pages.stdout
    wrong = runner.invoke(app, ["upsert", str(feed), "--index", str(index), "--format", "wxr"])
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith(f"error: {feed}: no articles found")


def test_unreachable_url_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/feed/"
    result = runner.invoke(app, ["build", url, "--index", str(tmp_path / "i")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {url}: cannot fetch (unreachable")
    assert len(result.stderr.strip().splitlines()) == 1

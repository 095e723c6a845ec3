"""Issue 12 item 1: a write aimed at a version folder, a staging folder, or inside one.

Passing the ``version_folder`` that ``info --json`` prints as ``--index`` used to crash
``upsert``/``remove``, break ``reindex`` (the index link then pointed at nothing), and let
``build`` replace the index and delete the old version. Every writer must refuse before it
touches anything: same link target, same version folders, no lock or cache file created.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recommender.engine import Engine
from recommender.errors import IndexFormatError
from recommender.storage.versions import check_write_target, versions_dir

from ..conftest import FakeEncoder, make_article


def _snapshot(root: Path) -> dict[str, Any]:
    """Every path under root (links not followed), with link targets and file sizes."""
    state: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                state[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                state[str(path)] = ("file", path.stat().st_size)
            else:
                state[str(path)] = ("dir",)
    return state


@pytest.fixture
def built(tmp_path: Path, small_corpus: list[Any]) -> Path:
    index = tmp_path / "indexes" / "news"
    Engine.build(small_corpus, index, encoder=FakeEncoder(), cache=False)
    return index


def _targets(index: Path) -> dict[str, Path]:
    version = Path(os.path.realpath(index))
    staging = versions_dir(index) / "20990101T000000-deadbeef.tmp"
    staging.mkdir()
    return {
        "version folder": version,
        "inside a version folder": version / "sub",
        "through the index link": index / "nested",
        "the versions folder": versions_dir(index),
        "a staging folder": staging,
        "inside a staging folder": staging / "x",
    }


WRITERS: dict[str, Callable[[Path], Any]] = {
    "build": lambda p: Engine.build(
        [make_article("n-1", "New story", "fresh words")], p, encoder=FakeEncoder(), cache=True
    ),
    "upsert": lambda p: Engine.upsert(
        [make_article("n-1", "New story", "fresh words")], p, encoder=FakeEncoder(), cache=True
    ),
    "remove": lambda p: Engine.remove(["vote-1"], p),
    "reindex": lambda p: Engine.reindex(p, index_type="flat-ip"),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_refuse_version_and_staging_folders(built: Path, writer: str) -> None:
    for label, target in _targets(built).items():
        before = _snapshot(built.parent)
        with pytest.raises(IndexFormatError, match="version folder") as info:
            WRITERS[writer](target)
        assert str(built) in str(info.value), label
        assert _snapshot(built.parent) == before, f"{writer} at {label} changed files"
    engine = Engine.load(built)  # the index is intact and still answers
    assert len(engine) == 7
    assert [r.id for r in engine.related("vote-1", k=1)] == ["vote-2"]
    engine.close()


def test_plain_targets_are_allowed(tmp_path: Path) -> None:
    check_write_target(tmp_path / "indexes" / "news")
    check_write_target(tmp_path / "versions" / "news")  # a folder merely called versions
    check_write_target(tmp_path / "news.versions")  # not hidden: not a versions folder


def test_cli_refuses_in_one_line(built: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    source = tmp_path / "more.jsonl"
    source.write_text('{"id": "n-1", "title": "New story", "body": "words"}\n')
    version = os.path.realpath(built)
    before = _snapshot(built.parent)
    result = CliRunner().invoke(app, ["upsert", str(source), "--index", version])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert _snapshot(built.parent) == before

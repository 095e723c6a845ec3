"""Issue 12 item 10: an unusable ``--index`` was refused only after the model had embedded
everything, and left a lock file and a cache folder behind. The target is checked first."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from recommender.engine import Engine
from recommender.errors import IndexFormatError, PathError, RecommenderError

from ..conftest import FakeEncoder


def _tree(root: Path) -> list[str]:
    return sorted(str(Path(d, n).relative_to(root)) for d, ds, fs in os.walk(root) for n in ds + fs)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        ("parent is a file", PathError),
        ("index is a file", IndexFormatError),
        ("index is a folder of other files", IndexFormatError),
    ],
)
def test_build_refuses_before_embedding(
    tmp_path: Path, small_corpus: list[Any], make: str, error: type[Exception]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("a file")
    (work / "site").mkdir()
    (work / "site" / "index.html").write_text("<html></html>")
    target = {
        "parent is a file": work / "notes.txt" / "news",
        "index is a file": work / "notes.txt",
        "index is a folder of other files": work / "site",
    }[make]
    before = _tree(work)
    encoder = FakeEncoder()
    with pytest.raises(error):
        Engine.build(small_corpus, target, encoder=encoder)
    assert encoder.calls == []  # nothing was embedded
    assert _tree(work) == before  # no lock file, no cache folder, nothing overwritten


@pytest.mark.parametrize("writer", ["upsert", "remove", "reindex"])
def test_writers_of_an_existing_index_refuse_a_missing_one(
    tmp_path: Path, small_corpus: list[Any], writer: str
) -> None:
    target = tmp_path / "typo" / "news"
    encoder = FakeEncoder()
    with pytest.raises(RecommenderError, match="no index at"):
        if writer == "upsert":
            Engine.upsert(small_corpus, target, encoder=encoder)
        elif writer == "remove":
            Engine.remove(["vote-1"], target)
        else:
            Engine.reindex(target)
    assert encoder.calls == []
    assert list(tmp_path.iterdir()) == []  # not even the folder 'typo'


def test_cli_build_into_a_file_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    source = tmp_path / "news.jsonl"
    source.write_text('{"id": "a", "title": "A"}\n')
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    before = _tree(tmp_path)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["build", str(source), "--index", str(blocker / "news")])
    assert time.perf_counter() - started < 5  # refused before the model was loaded
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot write the index"), lines
    assert _tree(tmp_path) == before

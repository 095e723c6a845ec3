"""Issue 12 item 7: tracebacks where one line belongs.

JSON nested 100,000 levels deep, a hand-edited manifest of the wrong shape and a non-UTF-8
config file printed tracebacks or errors that did not name the file. Each is one line naming
what is wrong. (``serve --port 99999``: tests/hostile/test_serve_port.py.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from recommender.cli import app
from recommender.config import load_config
from recommender.engine import Engine
from recommender.errors import IndexFormatError, InputError
from recommender.evaluation.gold import load_gold
from recommender.loaders import load_articles

from ..conftest import FakeEncoder

DEEP = "[" * 100_000 + "]" * 100_000


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output[-2000:]
    assert lines[0].startswith("error: ") and "Traceback" not in output
    return lines[0]


def test_deep_jsonl_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text('{"id": "a", "title": "A"}\n{"id": "b", "title": "B", "x": ' + DEEP + "}\n")
    with pytest.raises(InputError, match=r"news\.jsonl:2: malformed JSON: nested too deeply"):
        load_articles([path])


def test_deep_json_array_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "news.json"
    path.write_text(DEEP)
    with pytest.raises(InputError, match=r"news\.json:1: malformed JSON: nested too deeply"):
        load_articles([path])


def test_deep_gold_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(DEEP + "\n")
    with pytest.raises(InputError, match=r"gold\.jsonl:1: malformed JSON"):
        load_gold(path)


@pytest.fixture
def index(tmp_path: Path, small_corpus: list[Any]) -> Path:
    path = tmp_path / "indexes" / "news"
    Engine.build(small_corpus, path, encoder=FakeEncoder(), cache=False)
    return path


def test_deep_query_file_is_one_line(index: Path, tmp_path: Path) -> None:
    draft = tmp_path / "draft.json"
    draft.write_text(DEEP)
    result = CliRunner().invoke(app, ["query", "--index", str(index), "--file", str(draft)])
    assert result.exit_code == 1
    assert str(draft) in _one_error_line(result.output)


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "files is a list": lambda m: m.update(files=[]),
    "files entry is a string": lambda m: m["files"].update({"store.sqlite": "abc"}),
    "files entry without bytes": lambda m: m["files"]["store.sqlite"].pop("bytes"),
    "file name climbs out": lambda m: m["files"].update(
        {"../../secret": {"sha256": "0", "bytes": 1}}
    ),
    "model is a string": lambda m: m.update(model="fake"),
    "dimension is text": lambda m: m["model"].update(dimension="64"),
    "dimension is zero": lambda m: m["model"].update(dimension=0),
    "article_count is null": lambda m: m.update(article_count=None),
    "index is a list": lambda m: m.update(index=[1]),
    "ranking is a string": lambda m: m.update(ranking="fast"),
    "rules is a number": lambda m: m.update(rules=3),
    "generation is true": lambda m: m.update(generation=True),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_hand_edited_manifest_of_the_wrong_shape(index: Path, edit: str) -> None:
    manifest = Path(os.path.realpath(index)) / "manifest.json"
    data = json.loads(manifest.read_text())
    EDITS[edit](data)
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexFormatError) as info:
        Engine.load(index).close()
    message = str(info.value)
    assert message.startswith(str(manifest.parent)) and " is damaged: " in message, message
    result = CliRunner().invoke(app, ["info", "--index", str(index)])
    assert result.exit_code == 1
    assert str(manifest.parent) in _one_error_line(result.output)


def test_deeply_nested_manifest(index: Path) -> None:
    manifest = Path(os.path.realpath(index)) / "manifest.json"
    manifest.write_text(DEEP)
    with pytest.raises(IndexFormatError, match="is damaged: nested too deeply"):
        Engine.load(index)


def test_non_utf8_config_names_file_and_line(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_bytes(b"[ranking]\nhalf_life_days = 30\n# caf\xe9\n")
    with pytest.raises(InputError, match=r"recommender\.toml:3: bytes that are not UTF-8"):
        load_config(config)
    result = CliRunner().invoke(app, ["info", "--index", str(index), "--config", str(config)])
    assert result.exit_code == 1
    assert str(config) in _one_error_line(result.output)


@pytest.mark.parametrize(
    "text",
    ["ranking = 5\n", 'serve = "yes"\n', "rules = [1, 2]\n", "x = " + "[" * 5000 + "]" * 5000],
)
def test_config_of_the_wrong_shape(index: Path, tmp_path: Path, text: str) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text(text)
    with pytest.raises(InputError, match=r"recommender\.toml"):
        load_config(config)
    result = CliRunner().invoke(app, ["info", "--index", str(index), "--config", str(config)])
    assert result.exit_code == 1
    assert str(config) in _one_error_line(result.output)


def test_config_that_is_a_folder(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "conf.d"
    config.mkdir()
    with pytest.raises(InputError, match=r"conf\.d: cannot read: "):
        load_config(config)

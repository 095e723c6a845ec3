"""The CLI's error contract: a user error is one line and exit status 1; a bug keeps its
traceback; text from articles reaches the terminal without control characters or markup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.cli import app
from recommender.errors import InputError, PathError, RecommenderError

from .conftest import FakeEncoder, write_jsonl

runner = CliRunner()

RECORDS = [
    {"id": "vote-1", "title": "Election campaign opens", "body": "voters election ballot"},
    {"id": "vote-2", "title": "Election debate", "body": "election debate voters ballot"},
    {"id": "ball-1", "title": "Club wins derby", "body": "football goal derby"},
]


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())


@pytest.fixture
def index(tmp_path: Path) -> Path:
    src = write_jsonl(tmp_path / "news.jsonl", RECORDS)
    idx = tmp_path / "indexes" / "news"
    result = runner.invoke(app, ["build", str(src), "--index", str(idx)])
    assert result.exit_code == 0, result.output
    return idx


def one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    """The single ``error: ...`` line of a failed run (and nothing else was printed)."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


# ---------------------------------------------------------------------- user errors
def test_bad_ranking_option_is_one_line(index: Path) -> None:
    result = runner.invoke(app, ["related", "vote-1", "--index", str(index), "--set", "nope=1"])
    assert one_error_line(result) == "error: unknown ranking option(s): nope"
    result = runner.invoke(
        app, ["query", "--title", "x", "--index", str(index), "--half-life", "-1"]
    )
    assert (
        one_error_line(result) == "error: half_life_days must be positive, at most 1e+06, got -1.0"
    )


def test_bad_index_parameter_is_one_line(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "news.jsonl", RECORDS)
    idx = tmp_path / "idx"
    args = ["build", str(src), "--index", str(idx), "--index-type", "hnsw"]
    line = one_error_line(runner.invoke(app, [*args, "--index-param", "M=many"]))
    assert line == "error: hnsw index parameter M must be a whole number, got 'many'"
    line = one_error_line(runner.invoke(app, [*args, "--index-param", "efSearch=8"]))
    assert line.startswith("error: unknown hnsw index parameter(s) efSearch; known: M")
    line = one_error_line(runner.invoke(app, ["build", str(src), "--index-type", "annoy"]))
    assert line.startswith("error: unknown index type 'annoy'")
    assert not idx.exists()


def test_unwritable_index_folder_names_the_path(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "news.jsonl", RECORDS)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    idx = blocker / "news"
    line = one_error_line(runner.invoke(app, ["build", str(src), "--index", str(idx)]))
    # refused before anything is created or embedded (issue 12: tests/hostile/test_unusable_index)
    assert line == f"error: cannot write the index {idx}: {blocker} is not a folder"


def test_unwritable_export_folder_names_the_path(tmp_path: Path, index: Path) -> None:
    blocker = tmp_path / "site"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["export", "--index", str(index), "--out", str(blocker)])
    line = one_error_line(result)
    assert line.startswith(f"error: cannot write {blocker}/related/") and "Not a directory" in line


def test_unreadable_inputs_name_the_path(tmp_path: Path, index: Path) -> None:
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    result = runner.invoke(app, ["info", "--index", str(index), "--config", str(folder)])
    assert one_error_line(result) == f"error: {folder}: cannot read: Is a directory"
    gold = tmp_path / "gold.jsonl"
    gold.mkdir()
    result = runner.invoke(app, ["eval", "gold", "--index", str(index), "--gold", str(gold)])
    assert one_error_line(result) == f"error: {gold}: cannot read: Is a directory"


def test_unreadable_article_file_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_jsonl(tmp_path / "news.jsonl", RECORDS)

    def denied(self: Path) -> bytes:  # root reads any file: simulate a permission problem
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    result = runner.invoke(app, ["build", str(src), "--index", str(tmp_path / "idx")])
    assert one_error_line(result) == f"error: {src}: cannot read: Permission denied"


def test_multi_line_messages_print_on_one_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("---\ntitle: [unclosed\ntags: a\n---\nBody text.\n")
    line = one_error_line(runner.invoke(app, ["build", str(page), "--index", str(tmp_path / "i")]))
    assert line.startswith(f"error: {page}:") and "bad front matter" in line


def test_user_errors_are_recommender_errors_and_keep_builtin_bases() -> None:
    assert issubclass(PathError, RecommenderError) and issubclass(PathError, OSError)
    assert issubclass(InputError, ValueError)
    assert str(PathError("/x/y", "write", FileExistsError(17, "File exists", "/x/y"))) == (
        "cannot write /x/y: File exists"
    )
    assert str(PathError("/x/y/z", "write", FileExistsError(17, "File exists", "/x"))) == (
        "cannot write /x/y/z: /x: File exists"
    )


# ---------------------------------------------------------------------- bugs
@pytest.mark.parametrize("bug", [ValueError("a bug"), ZeroDivisionError("a bug"), KeyError("k")])
def test_a_bug_keeps_its_traceback(
    index: Path, monkeypatch: pytest.MonkeyPatch, bug: Exception
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise bug

    monkeypatch.setattr(engine_module.Engine, "related", broken)
    result = runner.invoke(app, ["related", "vote-1", "--index", str(index)])
    assert result.exception is bug  # not turned into "error: ..." and exit 1
    assert "error:" not in result.output


def test_a_bug_prints_a_traceback_from_the_real_command(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "news.jsonl", RECORDS)
    script = (
        "import sys\n"
        "import recommender.intake as intake\n"
        "def broken(paths, **kwargs):\n"
        "    raise ValueError('an internal bug, not bad input')\n"
        "intake.gather = broken  # what build reads its inputs with\n"
        f"sys.argv = ['recommender', 'build', {str(src)!r}, '--index', {str(tmp_path / 'i')!r}]\n"
        "from recommender.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "ValueError: an internal bug, not bad input" in done.stderr
    assert "error: an internal bug" not in done.stderr


# ---------------------------------------------------------------------- display
def test_tables_show_text_without_control_characters_or_markup(tmp_path: Path) -> None:
    records = [
        *RECORDS,
        {
            "id": "evil-1",
            "title": "Voters \x1b[2J\x1b[31mballot [bold]election[/bold]\u202e",
            "body": "voters election ballot",
            "category": "poli\x07tics",
        },
    ]
    src = write_jsonl(tmp_path / "news.jsonl", records)
    idx = tmp_path / "idx"
    assert runner.invoke(app, ["build", str(src), "--index", str(idx)]).exit_code == 0
    result = runner.invoke(app, ["related", "vote-1", "--index", str(idx), "-k", "3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "evil-1" in text
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\u202e" not in result.output
    assert "[bold]election[/bold]" in text  # markup in a title is shown, not applied
    json_out = runner.invoke(app, ["related", "vote-1", "--index", str(idx), "--json"]).output
    assert "\\u001b[2J" in json_out  # --json keeps the text exactly (escaped by JSON)


@pytest.mark.model
def test_a_folder_that_is_not_a_model_is_a_user_error(tmp_path: Path) -> None:
    from recommender.encoder import SentenceTransformerEncoder
    from recommender.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match=f"cannot load the model in {tmp_path}"):
        SentenceTransformerEncoder(str(tmp_path))

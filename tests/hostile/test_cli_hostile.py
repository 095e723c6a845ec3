"""Issue 12 items 7 and 10 at the command line: terminal escapes stay out of tables (JSON stays
exact), and ``serve --port 99999`` or a port in use is one line, not a traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender.cli import app
from recommender.engine import Engine

from ..conftest import FakeEncoder, make_article

HOSTILE_TITLE = "Election \x1b[2J\x1b[31mdebate\x1b]8;;https://evil.test\x07 link\r\u202eevil"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    articles = [
        make_article("vote-1", "Election campaign", "voters election ballot", category="p"),
        make_article("vote-2", HOSTILE_TITLE, "election debate ballot voters", category="p\x1b[1m"),
        make_article("vote-3", "Election result", "election ballot count voters", category="p"),
    ]
    path = tmp_path / "idx"
    Engine.build(articles, path, encoder=FakeEncoder(), cache=False)
    return path


def test_table_strips_terminal_escapes(index: Path) -> None:
    result = CliRunner().invoke(app, ["related", "vote-1", "--index", str(index), "-k", "2"])
    assert result.exit_code == 0, result.output
    for bad in ("\x1b", "\r", "\u202e", "\x07", "[2J", "[31m", "]8;;"):
        assert bad not in result.output
    assert "Election debate" in result.output


def test_json_stays_exact(index: Path) -> None:
    result = CliRunner().invoke(
        app, ["related", "vote-1", "--index", str(index), "-k", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output  # escaped in JSON, as \u001b
    titles = [r["title"] for r in json.loads(result.output)["results"]]
    assert HOSTILE_TITLE in titles


def test_error_naming_a_hostile_file_stays_one_clean_line(tmp_path: Path) -> None:
    bad = tmp_path / "news\x1b[2J.jsonl"
    bad.write_text("{not json\n")
    result = CliRunner().invoke(app, ["build", str(bad), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "\x1b" not in lines[0] and "malformed JSON" in lines[0]


@pytest.mark.parametrize("port", ["99999", "0", "-1", "65536"])
def test_serve_port_out_of_range_is_one_line(index: Path, port: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--index", str(index), "--port", port])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: --port must be between 1 and 65535, got {port}"]


def test_serve_port_in_use_is_one_line(index: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--index", str(index), "--port", str(port)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}: ")


def test_serve_unknown_host_is_one_line(index: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--index", str(index), "--host", "no-such-host.invalid"]
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot listen on no-such-host.invalid")

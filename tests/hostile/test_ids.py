"""Issue 12 item 6: the id contract.

NUL, newlines, bidi controls (U+202E), ``.``/``..`` and ids of thousands of characters were
accepted; a 5,000-character id made Jekyll reject the whole data file, and ids with a newline
404 over HTTP. The contract (recommender/ids.py, README "Article format") is enforced at ingest
with an error naming file, line and field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.engine import Engine
from recommender.errors import InputError
from recommender.ids import MAX_ID_LENGTH, id_problem
from recommender.loaders import load_articles

from ..conftest import FakeEncoder, make_article

BAD_IDS = {
    "NUL": "a\x00b",
    "newline": "line\nbreak",
    "carriage return": "a\rb",
    "tab": "a\tb",
    "escape sequence": "\x1b[31mred",
    "bidi override": "abc\u202egpj.exe",
    "bidi isolate": "a\u2066b",
    "zero-width space": "a\u200bb",
    "byte order mark inside": "a\ufeffb",
    "line separator": "a\u2028b",
    "no-break space": "a\u00a0b",
    "private use": "a\ue000b",
    "dot": ".",
    "dot dot": "..",
    "dot dot segment": "world/../secret",
    "dot segment": "./world",
    "too long": "x" * (MAX_ID_LENGTH + 1),
    "5,000 characters": "y" * 5000,
}

GOOD_IDS = [
    "world/summit",
    "2024-05-01-title",
    "Zürich",
    "東京-news",
    "my post",
    "a.b",
    ".hidden",
    "...",
    "a/..b/c.",
    "x" * MAX_ID_LENGTH,
    "100%",
    "q?a=1&b=2#frag",
]


@pytest.mark.parametrize("label", sorted(BAD_IDS))
def test_bad_id_in_jsonl_names_file_line_and_field(tmp_path: Path, label: str) -> None:
    path = tmp_path / "news.jsonl"
    lines = [
        {"id": "fine", "title": "Fine"},
        {"id": BAD_IDS[label], "title": "Hostile"},
    ]
    path.write_text("".join(json.dumps(item) + "\n" for item in lines), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_articles([path])
    message = str(info.value)
    assert message.startswith(f"{path}:2: field 'id': invalid id "), message
    assert "\n" not in message and "\x1b" not in message and "\u202e" not in message
    assert len(message) < len(str(path)) + 200


@pytest.mark.parametrize("label", sorted(BAD_IDS))
def test_bad_id_refused_by_the_python_api(tmp_path: Path, label: str) -> None:
    articles = [make_article("fine", "Fine"), make_article(BAD_IDS[label], "Hostile")]
    with pytest.raises(InputError, match="field 'id': invalid id"):
        Engine.build(articles, tmp_path / "idx", encoder=FakeEncoder(), cache=False)
    assert not (tmp_path / "idx").exists()


def test_bad_id_refused_by_upsert(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    Engine.build([make_article("fine", "Fine")], index, encoder=FakeEncoder(), cache=False)
    with pytest.raises(InputError, match="invalid id"):
        Engine.upsert([make_article("a\nb", "Bad")], index, encoder=FakeEncoder(), cache=False)


@pytest.mark.parametrize("good", GOOD_IDS)
def test_good_ids_pass(good: str) -> None:
    assert id_problem(good) is None


def test_good_ids_load_and_build(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text(
        "".join(json.dumps({"id": i, "title": f"T {n}"}) + "\n" for n, i in enumerate(GOOD_IDS)),
        encoding="utf-8",
    )
    articles = load_articles([path])
    assert [a.id for a in articles] == GOOD_IDS
    Engine.build(articles, tmp_path / "idx", encoder=FakeEncoder(), cache=False)


def test_markdown_file_name_with_a_newline_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    bad = folder / "two\nlines.md"
    bad.write_text("---\ntitle: Hostile name\n---\nBody\n")
    with pytest.raises(InputError) as info:
        load_articles([folder])
    assert str(info.value).startswith(f"{bad}:1: field 'id': invalid id")

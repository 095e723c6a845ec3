"""Issue 12 item 4: silent data loss in CSV.

An unclosed quote swallowed every later row and the build succeeded ("1 articles read" from 3
rows); short rows were accepted; a duplicated header column silently won; ``.tsv`` was read as
comma CSV. Each is now an error naming file, row and column, or handled correctly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.errors import InputError
from recommender.loaders import load_articles


def _write(tmp_path: Path, text: str, name: str = "news.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unclosed_quote_is_an_error_naming_the_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "id,title,body\n"
        "a,Alpha,fine\n"
        'b,Beta,"opens a quote and never closes it\n'
        "c,Gamma,swallowed\n"
        "d,Delta,swallowed too\n",
    )
    with pytest.raises(InputError) as info:
        load_articles([path])
    message = str(info.value)
    assert message.startswith(f"{path}:3: field 'body': "), message
    assert "quote" in message


def test_short_row_is_an_error_naming_the_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,title,body,category\na,Alpha,text,world\nb,Beta\n")
    with pytest.raises(InputError) as info:
        load_articles([path])
    message = str(info.value)
    assert message.startswith(f"{path}:3: field 'body': "), message
    assert "2 cells" in message and "4" in message


def test_long_row_still_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,title\na,A,extra\n")
    with pytest.raises(InputError, match=r"news\.csv:2: row has 3 cells, the header has 2"):
        load_articles([path])


def test_duplicate_header_column_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,title,body,title\na,First,text,Second\n")
    with pytest.raises(InputError) as info:
        load_articles([path])
    message = str(info.value)
    assert message.startswith(f"{path}:1: field 'title': "), message
    assert "columns 2 and 4" in message


def test_duplicate_header_after_stripping_and_case(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,title, Title \na,First,Second\n")
    with pytest.raises(InputError, match=r"news\.csv:1: field 'title'"):
        load_articles([path])


def test_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "id\ttitle\tbody\ttags\na\tAlpha, with a comma\tbody, text\tx;y\nb\tBeta\t\t\n",
        name="news.tsv",
    )
    a, b = load_articles([path])
    assert (a.id, a.title, a.body, a.tags) == ("a", "Alpha, with a comma", "body, text", ("x", "y"))
    assert (b.id, b.title, b.body) == ("b", "Beta", "")


def test_tsv_with_commas_only_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,title\na,Alpha\n", name="news.tsv")
    with pytest.raises(InputError, match=r"news\.tsv:1: field 'id': missing column"):
        load_articles([path])


def test_multiline_quoted_cells_still_work(tmp_path: Path) -> None:
    path = _write(
        tmp_path, 'id,title,body\na,Alpha,"two\nlines"\nb,Beta,""\n\nc,Gamma,"say ""hi"""\n'
    )
    a, b, c = load_articles([path])
    assert a.body == "two\nlines" and b.body == "" and c.body == 'say "hi"'


def test_error_after_multiline_cell_names_the_rows_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path, 'id,title,body\na,Alpha,"two\nlines"\nb,,x\n')
    with pytest.raises(InputError, match=r"news\.csv:4: field 'title'"):
        load_articles([path])


def test_long_body_cell_is_read(tmp_path: Path) -> None:
    body = "word " * 60_000  # 300 KB, above the csv module's default cell limit
    path = _write(tmp_path, f'id,title,body\na,Alpha,"{body}"\n')
    (article,) = load_articles([path])
    assert article.body == body


def test_cell_past_the_limit_names_the_row(tmp_path: Path) -> None:
    from recommender.loaders import MAX_CSV_CELL

    path = _write(tmp_path, "id,title,body\na,Alpha,ok\nb,Beta," + "x" * (MAX_CSV_CELL + 10) + "\n")
    with pytest.raises(InputError, match=r"news\.csv:3: malformed CSV: field larger"):
        load_articles([path])

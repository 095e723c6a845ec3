"""The article contract and the loaders: good input parsed, bad input named by file:line:field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from recommender.articles import InputError, article_from_mapping, parse_datetime, parse_tags
from recommender.loaders import load_articles
from recommender.text import article_text, clean_text, strip_html

from .conftest import write_jsonl

UTC = dt.timezone.utc


def test_parse_datetime_variants() -> None:
    assert parse_datetime("2025-01-24") == dt.datetime(2025, 1, 24, tzinfo=UTC)
    assert parse_datetime("2025-01-24T09:30:00Z") == dt.datetime(2025, 1, 24, 9, 30, tzinfo=UTC)
    naive = parse_datetime("2025-01-24T09:30:00")
    assert naive.tzinfo is not None and naive.utcoffset() == dt.timedelta(0)
    offset = parse_datetime("2025-01-24T09:30:00+02:00")
    assert offset.astimezone(UTC).hour == 7
    assert parse_datetime(dt.date(2024, 2, 29)) == dt.datetime(2024, 2, 29, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_datetime("yesterday")


def test_parse_tags() -> None:
    assert parse_tags("a; b,c ;;a") == ("a", "b", "c")
    assert parse_tags(["x", " y ", ""]) == ("x", "y")
    assert parse_tags(None) == ()
    with pytest.raises(ValueError):
        parse_tags({"a": 1})


def test_extra_fields_kept_as_metadata() -> None:
    a = article_from_mapping({"id": 7, "title": " T ", "author": "Ann", "language": "EN"})
    assert a.id == "7" and a.title == "T" and a.language == "en"
    assert a.metadata == {"author": "Ann"}
    assert a.to_dict()["author"] == "Ann"


def test_jsonl_good(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": "a", "title": "A", "body": "x", "published_at": "2024-01-01", "tags": ["t"]},
            {"id": "b", "title": "B", "category": "world"},
        ],
    )
    (tmp_path / "a.jsonl").write_text(path.read_text() + "\n\n")  # blank lines are fine
    articles = load_articles([path])
    assert [a.id for a in articles] == ["a", "b"]
    assert articles[0].published_at == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert articles[1].category == "world"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "b", "title": "B"', "bad.jsonl:2: malformed JSON"),
        ('{"id": "b", "title": ""}', "bad.jsonl:2: field 'title': missing or empty"),
        ('{"id": "b"}', "bad.jsonl:2: field 'title': missing or empty"),
        ('{"title": "B"}', "bad.jsonl:2: field 'id': missing"),
        (
            '{"id": "b", "title": "B", "published_at": "31/12/2024"}',
            "bad.jsonl:2: field 'published_at'",
        ),
        ('{"id": "a", "title": "again"}', "bad.jsonl:2: field 'id': duplicate id 'a'"),
        ('{"id": "b", "title": "B", "tags": 5}', "bad.jsonl:2: field 'tags'"),
        ('["not", "an", "object"]', "bad.jsonl:2: expected a JSON object"),
    ],
)
def test_jsonl_bad_input_names_file_line_field(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "title": "A"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_articles([path])
    assert str(info.value).startswith(str(tmp_path / expected)), str(info.value)


def test_not_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"id": "a", "title": "A"}\n{"id": "b", "title": "Caf\xe9"}\n')
    with pytest.raises(InputError, match=r"latin\.jsonl:2: bytes that are not UTF-8"):
        load_articles([path])


def test_empty_input_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.jsonl: no articles found"):
        load_articles([path])
    with pytest.raises(InputError, match="no input files"):
        load_articles([])


def test_duplicate_across_files_names_both(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "title": "X"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "y", "title": "Y"}, {"id": "x", "title": "X2"}])
    with pytest.raises(InputError) as info:
        load_articles([a, b])
    assert str(info.value).startswith(f"{b}:2: field 'id': duplicate id 'x'")
    assert f"{a}:1" in str(info.value)


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_articles([tmp_path / "nope.jsonl"])
    odd = tmp_path / "a.xml"
    odd.write_text("<a/>")
    with pytest.raises(InputError, match="unknown input type"):
        load_articles([odd])


def test_csv_good_and_tags(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "id,title,body,published_at,category,tags,author\n"
        'a,Alpha,"Body, with comma",2024-05-01,world,"russia; china",Ann\n'
        "b,Beta,,,,,\n",
        encoding="utf-8",
    )
    a, b = load_articles([path])
    assert a.tags == ("russia", "china") and a.metadata == {"author": "Ann"}
    assert a.body == "Body, with comma"
    assert b.published_at is None and b.category is None and b.tags == ()


def test_csv_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,title,published_at\na,A,2024-01-01\nb,,2024-01-02\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.csv:3: field 'title'"):
        load_articles([path])
    path.write_text("id,title,published_at\na,A,2024-13-45\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.csv:2: field 'published_at'"):
        load_articles([path])
    path.write_text("id,body\na,A\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.csv:1: field 'title': missing column"):
        load_articles([path])
    path.write_text("id,title\na,A,extra\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.csv:2: row has 3 cells"):
        load_articles([path])


def test_markdown_folder_yaml_and_toml(tmp_path: Path) -> None:
    (tmp_path / "world").mkdir()
    (tmp_path / "world" / "summit.md").write_text(
        "---\ntitle: Leaders meet\ndate: 2025-01-24\ntags: [russia, china]\n"
        "categories: [World]\nurl: /world/summit/\n---\nThe *leaders* met [online](http://x).\n",
        encoding="utf-8",
    )
    (tmp_path / "sport.md").write_text(
        '+++\ntitle = "Pitcher returns"\ndate = 2025-02-01T10:00:00Z\nsection = "sport"\n'
        'tags = ["baseball"]\n+++\nBody text.\n',
        encoding="utf-8",
    )
    (tmp_path / "draft.md").write_text("---\ntitle: Not yet\ndraft: true\n---\nx\n")
    (tmp_path / "_index.md").write_text("---\ntitle: Section page\n---\n")
    (tmp_path / "2024-03-05-jekyll-post.md").write_text("---\ntitle: Jekyll\n---\nBody\n")
    by_id = {a.id: a for a in load_articles([tmp_path])}
    assert sorted(by_id) == ["2024-03-05-jekyll-post", "sport", "world/summit"]
    summit = by_id["world/summit"]
    assert summit.category == "World" and summit.tags == ("russia", "china")
    assert summit.url == "/world/summit/"
    assert summit.published_at == dt.datetime(2025, 1, 24, tzinfo=UTC)
    assert "The leaders met online." in article_text(summit)
    assert by_id["sport"].category == "sport"
    assert by_id["sport"].published_at == dt.datetime(2025, 2, 1, 10, tzinfo=UTC)
    assert by_id["2024-03-05-jekyll-post"].published_at == dt.datetime(2024, 3, 5, tzinfo=UTC)


def test_markdown_bad_front_matter(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: [unclosed\n---\nx\n")
    with pytest.raises(InputError, match=r"a\.md:\d+: bad front matter"):
        load_articles([tmp_path])
    (tmp_path / "a.md").write_text("---\ndate: 2024-01-01\n---\nno title\n")
    with pytest.raises(InputError, match=r"a\.md:1: field 'title'"):
        load_articles([tmp_path])
    (tmp_path / "a.md").write_text("---\ntitle: x\n")
    with pytest.raises(InputError, match="never closed"):
        load_articles([tmp_path])


def test_html_is_stripped_never_run() -> None:
    html = (
        "<p>Leaders <b>met</b> &amp; talked.</p><script>alert(1)</script>"
        "<style>p{}</style><p>Second <a href='x'>para</a></p>"
    )
    assert strip_html(html) == "\nLeaders met & talked.\n\nSecond para\n"
    assert clean_text(html) == "Leaders met & talked.\nSecond para"
    assert strip_html("5 < 6 and plain") == "5 < 6 and plain"

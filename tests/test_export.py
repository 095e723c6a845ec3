"""Static export: layouts, idempotent re-export, changed and removed articles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from typer.testing import CliRunner

from recommender.articles import Article
from recommender.cli import app as cli_app
from recommender.engine import Engine
from recommender.export import export, safe_name, visible
from recommender.ranking import RankingSettings

from .conftest import FakeEncoder, make_article


def corpus(changed_title: str = "Election debate", drop: str | None = None) -> list[Article]:
    articles = [
        make_article(
            "vote-1",
            "Election campaign opens",
            "voters candidates election ballot",
            published_at="2025-01-01",
            category="politics",
        ),
        make_article(
            "vote-2",
            changed_title,
            "candidates election debate ballot voters",
            published_at="2025-01-10",
            category="politics",
        ),
        make_article(
            "world/summit",
            "Summit talks",
            "leaders summit talks trade",
            published_at="2025-02-01",
            category="world",
        ),
        make_article(
            "world/summit-2",
            "Summit ends",
            "leaders summit trade deal",
            published_at="2025-02-02",
            category="world",
        ),
        make_article(
            "ball-1",
            "Club wins derby",
            "football goal derby striker club",
            published_at="2025-01-05",
            category="sport",
        ),
        make_article(
            "ball-2",
            "Striker injured",
            "football striker injury club goal",
            published_at="2025-02-01",
            category="sport",
        ),
    ]
    return [a for a in articles if a.id != drop]


def build(path: Path, **kw: object) -> Engine:
    Engine.build(  # export plumbing: the floor off, so lists hold k (floor: test_engine)
        corpus(**kw),  # type: ignore[arg-type]
        path,
        encoder=FakeEncoder(),
        settings=RankingSettings(min_relatedness=-1),
    )
    return Engine.load(path)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return build(tmp_path / "indexes" / "news")


def mtimes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    "article_id, name",
    [
        ("plain-id_1.x~", "plain-id_1.x~"),
        ("world/summit", "world%2Fsummit"),
        ("a b&c?", "a+b%26c%3F"),
        ("Zürich", "Z%C3%BCrich"),
        (".hidden", "%2Ehidden"),
        ("..", "%2E."),
        ("100%", "100%25"),
    ],
)
def test_safe_name_is_hugo_urlquery_and_reversible(article_id: str, name: str) -> None:
    assert safe_name(article_id) == name
    assert "/" not in name and name not in (".", "..")
    assert unquote_plus(name) == article_id


def test_long_ids_get_short_distinct_names() -> None:
    a, b = "x" * 300 + "a", "x" * 300 + "b"
    assert len(safe_name(a)) <= 200 and safe_name(a) != safe_name(b)
    assert len(safe_name("é" * 150)) <= 200 and "%" in safe_name("é" * 150)


def test_json_layout(tmp_path: Path, engine: Engine) -> None:
    out = tmp_path / "site"
    report = export(engine, out, format="json", k=2)
    assert (report.articles, report.written, report.unchanged, report.removed) == (6, 7, 0, 0)
    files = sorted(p.name for p in (out / "related").iterdir())
    assert files == sorted(f"{safe_name(a.id)}.json" for a in corpus())
    one = json.loads((out / "related" / "world%2Fsummit.json").read_text())
    assert one == {
        "id": "world/summit",
        "results": [r.to_dict() for r in engine.related("world/summit", k=2)],
    }
    assert one["results"][0]["id"] == "world/summit-2"
    combined = json.loads((out / "related.json").read_text())
    assert list(combined) == sorted(a.id for a in corpus())
    assert combined["world/summit"] == one["results"]


def test_hugo_and_jekyll_layouts(tmp_path: Path, engine: Engine) -> None:
    report = export(engine, tmp_path / "hugo", format="hugo", k=3)
    data = tmp_path / "hugo" / "data" / "related"
    assert report.written == 6 and len(list(data.iterdir())) == 6
    assert sorted(mtimes(tmp_path / "hugo")) == sorted(
        f"data/related/{safe_name(a.id)}.json" for a in corpus()
    )
    summit = json.loads((data / "world%2Fsummit.json").read_text())
    assert summit["id"] == "world/summit" and len(summit["results"]) == 3
    report = export(engine, tmp_path / "jekyll", format="jekyll", k=3)
    assert report.written == 1
    assert sorted(mtimes(tmp_path / "jekyll")) == ["_data/related.json"]
    jekyll = json.loads((tmp_path / "jekyll" / "_data" / "related.json").read_text())
    assert jekyll["world/summit"] == summit["results"]


@pytest.mark.parametrize("fmt", ["json", "hugo", "jekyll"])
def test_second_run_rewrites_nothing(tmp_path: Path, engine: Engine, fmt: str) -> None:
    out = tmp_path / "out"
    first = export(engine, out, format=fmt)
    before = mtimes(out)
    second = export(engine, out, format=fmt)
    assert second.written == 0 and second.removed == 0
    assert second.unchanged == first.written
    assert mtimes(out) == before


def test_changed_article_rewrites_only_affected_files(tmp_path: Path) -> None:
    index, out = tmp_path / "indexes" / "news", tmp_path / "site"
    first = build(index)
    shown_before = {
        aid: visible([r.to_dict() for r in rs]) for aid, rs in first.related_many(None, 2)
    }
    export(first, out, format="hugo", k=2)
    before = mtimes(out)
    # A retitled article: the lists that show it change; a list whose scores alone shift does not.
    engine = build(index, changed_title="Election debate, updated")
    report = export(engine, out, format="hugo", k=2)
    after = mtimes(out)
    changed = {name for name in after if after[name] != before[name]}
    lists = dict(engine.related_many(None, 2))
    shown_after = {aid: visible([r.to_dict() for r in rs]) for aid, rs in lists.items()}
    expected = {
        f"data/related/{safe_name(aid)}.json"
        for aid in lists
        if shown_after[aid] != shown_before[aid]
    }
    showing_vote2 = {
        f"data/related/{safe_name(aid)}.json"
        for aid, results in lists.items()
        if "vote-2" in [r.id for r in results]
    }
    assert showing_vote2 <= expected  # the new title is visible there
    assert changed == expected and 1 <= len(changed) < 6
    assert report.written == len(changed) and report.unchanged == 6 - len(changed)


def test_removed_article_is_deleted_and_strays_cleaned(tmp_path: Path) -> None:
    index, out = tmp_path / "indexes" / "news", tmp_path / "site"
    export(build(index), out, format="json", k=2)
    dead_tmp = out / "related" / ".ball-1.json.abc.tmp"  # left by a killed export
    dead_tmp.write_text("partial")
    keep = out / "related" / "notes.txt"  # not ours: a .json file would be treated as stale
    keep.write_text("mine")
    report = export(build(index, drop="ball-2"), out, format="json", k=2)
    assert report.removed == 1 and not (out / "related" / "ball-2.json").exists()
    assert not dead_tmp.exists() and keep.exists()
    assert "ball-2" not in json.loads((out / "related.json").read_text())


def test_writes_are_atomic_replacements(tmp_path: Path, engine: Engine) -> None:
    out = tmp_path / "site"
    export(engine, out, format="jekyll", k=2)
    target = out / "_data" / "related.json"
    inode = target.stat().st_ino
    with open(target, "rb") as reader:  # a reader mid-way keeps the complete old file
        export(build(tmp_path / "other", changed_title="New title"), out, format="jekyll", k=2)
        assert json.loads(reader.read())  # old content, whole
    assert target.stat().st_ino != inode and oct(target.stat().st_mode & 0o777) == "0o644"
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_bad_arguments(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        export(engine, tmp_path, format="eleventy")
    with pytest.raises(ValueError, match="k must be"):
        export(engine, tmp_path, k=0)


def test_cli_export(tmp_path: Path, engine: Engine) -> None:
    runner = CliRunner()
    args = [
        "export",
        "--index",
        str(engine.path),
        "--out",
        str(tmp_path / "site"),
        "--format",
        "hugo",
        "-k",
        "2",
    ]
    result = runner.invoke(cli_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["written"], summary["unchanged"], summary["removed"]) == (6, 0, 0)
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 0
    assert "0 files written, 6 unchanged, 0 removed" in result.output
    result = runner.invoke(cli_app, [*args[:-4], "--format", "xml"])
    assert result.exit_code == 1 and result.output.startswith("error: unknown --format 'xml'")
    assert os.path.isdir(tmp_path / "site" / "data" / "related")


def test_export_reads_the_precomputed_lists_and_they_equal_live_ranking(tmp_path: Path) -> None:
    from .test_precomputed import corpus as big_corpus

    dated = [a for a in big_corpus(400) if a.published_at is not None]
    Engine.build(dated, tmp_path / "news", encoder=FakeEncoder())
    with Engine.load(tmp_path / "news", encoder=FakeEncoder()) as engine:
        stored = export(engine, tmp_path / "stored", format="json")
        same = {"half_life_days": engine.settings.half_life_days}  # an option: ranked live
        live = export(engine, tmp_path / "live", format="json", **same)
    assert (stored.precomputed, live.precomputed) == (len(dated), 0)
    a, b = tmp_path / "stored", tmp_path / "live"
    names = sorted(p.relative_to(a) for p in a.rglob("*.json"))
    assert len(names) == len(dated) + 1
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)

"""Live updates: upsert and remove (engine and CLI), generations, lexical refit, the writer lock,
leftovers of killed writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.articles import Article, InputError
from recommender.cli import app
from recommender.engine import Engine, UnknownArticleError
from recommender.indexing import writers as indexing_module
from recommender.storage.versions import IndexLockedError, lock_path, versions_dir

from .conftest import FakeEncoder, make_article, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
TOPICS = [[f"{topic}{i}" for i in range(12)] for topic in ("pol", "spo", "sci", "biz", "art")]


def corpus(n: int = 300, seed: int = 0) -> list[Article]:
    """Five topics of pseudo-words; article i is in topic i % 5."""
    rng = np.random.default_rng(seed)
    return [
        make_article(
            f"a{i:03d}",
            f"Story {i}",
            " ".join(rng.choice(TOPICS[i % 5], 8)),
            category=f"c{i % 5}",
            published_at=f"2025-01-{1 + i % 28:02d}",
        )
        for i in range(n)
    ]


NEW = [  # three related new articles, on a topic nobody else covers
    make_article("new-1", "Comet probe", "comet probe nucleus tail orbit dust"),
    make_article("new-2", "Comet probe lands", "comet nucleus landing probe dust tail"),
    make_article("new-3", "Comet tail", "comet tail dust orbit nucleus probe images"),
]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "indexes" / "news"
    Engine.build(corpus(), path, encoder=FakeEncoder())
    return path


def load(index: Path) -> Engine:
    return Engine.load(index, encoder=FakeEncoder())


def changed(article: Article, body: str) -> Article:
    return Article(**{**article.__dict__, "body": body})


def test_upsert_embeds_only_new_and_changed(index: Path) -> None:
    articles = corpus()
    before = load(index)
    old_vectors = {
        a.id: before.index.vectors(np.array([before.store.row_of(a.id)]))[0] for a in articles
    }
    generation = before.manifest.generation
    edits = [changed(articles[i], f"comet {articles[i].body}") for i in (3, 4, 5)]
    encoder = FakeEncoder()
    report = Engine.upsert([*edits, *NEW, *articles[10:20]], index, encoder=encoder)
    assert encoder.embedded == 6
    assert (report.read, report.new, report.changed, report.unchanged) == (16, 3, 3, 10)
    assert (report.embedded, report.removed, report.article_count) == (6, 0, 303)
    assert report.generation == generation + 1

    after = load(index)
    assert len(after) == 303 and after.info().to_dict()["article_count"] == 303
    assert after.info().to_dict()["generation"] == generation + 1
    for a in NEW:  # the new ones lead to each other
        assert {r.id for r in after.related(a.id, k=2)} == {n.id for n in NEW} - {a.id}
    for a in articles:
        vector = after.index.vectors(np.array([after.store.row_of(a.id)]))[0]
        if a.id in {e.id for e in edits}:
            expected = FakeEncoder().encode([f"{a.title}.\ncomet {a.body}"])[0]
            assert np.array_equal(vector, expected)
            assert after.article(a.id).body.startswith("comet ")
        else:  # taken from the previous version, bit for bit
            assert np.array_equal(vector, old_vectors[a.id])


def test_upsert_equals_a_fresh_build_of_the_same_corpus(index: Path, tmp_path: Path) -> None:
    articles = corpus()
    edits = [changed(articles[7], "comet dust orbit")]
    Engine.upsert([*edits, *NEW], index, encoder=FakeEncoder())
    Engine.remove(["a000", "a100"], index)
    Engine.reindex(index)  # upserts and removes keep the statistics; a reindex fits them again
    final = [edits[0] if a.id == "a007" else a for a in articles if a.id not in ("a000", "a100")]
    fresh_path = tmp_path / "fresh"
    Engine.build([*final, *NEW], fresh_path, encoder=FakeEncoder())
    updated, fresh = load(index), load(fresh_path)
    assert updated.lexical is not None and fresh.lexical is not None
    assert updated.lexical.vocabulary == fresh.lexical.vocabulary
    assert np.allclose(updated.lexical.idf, fresh.lexical.idf)
    for aid in ("a001", "a007", "new-2", "a299"):
        ours = [(r.id, round(r.score, 6)) for r in updated.related(aid, k=8)]
        assert ours == [(r.id, round(r.score, 6)) for r in fresh.related(aid, k=8)]


def test_metadata_only_change_is_not_embedded(index: Path) -> None:
    article = corpus()[12]
    moved = Article(**{**article.__dict__, "category": "c4", "tags": ("moved",)})
    encoder = FakeEncoder()
    report = Engine.upsert([moved], index, encoder=encoder)
    assert (report.changed, report.embedded, encoder.embedded) == (1, 0, 0)
    assert load(index).article(article.id).category == "c4"


def test_upsert_of_unchanged_articles_writes_nothing(index: Path) -> None:
    link = os.readlink(index)
    generation = load(index).manifest.generation
    report = Engine.upsert(corpus()[:5], index, encoder=FakeEncoder())
    assert report.version_path is None and report.unchanged == 5
    assert os.readlink(index) == link and report.generation == generation


def test_upsert_errors(index: Path, tmp_path: Path) -> None:
    class Other(FakeEncoder):
        name = "other-model"

    with pytest.raises(ValueError, match="built with model 'fake-bow-64', not 'other-model'"):
        Engine.upsert(NEW, index, encoder=Other())
    with pytest.raises(InputError, match="duplicate id 'new-1'"):
        Engine.upsert([NEW[0], NEW[0]], index, encoder=FakeEncoder())
    with pytest.raises(InputError, match="no articles"):
        Engine.upsert([], index, encoder=FakeEncoder())
    with pytest.raises(Exception, match="no index at"):
        Engine.upsert(NEW, tmp_path / "none", encoder=FakeEncoder())


def test_remove_vanishes_everywhere(index: Path) -> None:
    engine = load(index)
    victim = engine.related("a001", k=1)[0].id
    generation = engine.manifest.generation
    report = Engine.remove([victim, "a002"], index)
    assert (report.removed, report.article_count, report.generation) == (2, 298, generation + 1)
    after = load(index)
    assert after.info().to_dict()["article_count"] == 298 and victim not in after
    with pytest.raises(UnknownArticleError):
        after.related(victim)
    assert all(victim not in [r.id for r in results] for _, results in after.related_many(k=10))


def test_remove_unknown_id_is_an_error_and_removes_nothing(index: Path) -> None:
    link = os.readlink(index)
    with pytest.raises(UnknownArticleError, match=r"cannot remove 'a-typo': not in .*nothing"):
        Engine.remove(["a001", "a-typo"], index)
    assert os.readlink(index) == link and "a001" in load(index)
    report = Engine.remove(["a001", "a-typo"], index, missing_ok=True)
    assert (report.removed, report.not_found) == (1, 1)
    with pytest.raises(InputError, match="leave the index empty"):
        Engine.remove([a.id for a in corpus()], index, missing_ok=True)


def test_lexical_statistics_are_refitted(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    articles = [*corpus(30), make_article("odd", "Odd one", "xylophone quartet")]
    Engine.build(articles, path, encoder=FakeEncoder(), background_texts=["pol1 pol2 market"])
    engine = load(path)
    assert engine.lexical is not None and "xylophone" in engine.lexical.vocabulary
    Engine.remove(["odd"], path)
    engine = load(path)  # a remove keeps the fitted statistics (indexing/statistics.py) ...
    assert engine.lexical is not None and "xylophone" in engine.lexical.vocabulary
    Engine.reindex(path)  # ... a reindex fits them again on the corpus as it is
    engine = load(path)
    assert engine.lexical is not None and "xylophone" not in engine.lexical.vocabulary
    assert "market" in engine.lexical.vocabulary  # the background still counts after a refit
    fresh = tmp_path / "fresh"
    Engine.build(corpus(30), fresh, encoder=FakeEncoder(), background_texts=["pol1 pol2 market"])
    assert np.allclose(engine.lexical.idf, load(fresh).lexical.idf)  # type: ignore[union-attr]


def test_leftovers_of_killed_writers_are_removed_and_never_read(index: Path) -> None:
    vdir = versions_dir(index)
    stale = vdir / "20200101T000000-deadbeef.tmp"
    stale.mkdir()
    (stale / "manifest.json").write_text("{}")
    orphan = vdir / "20200101T000000-0rphan00"  # complete, but its writer died before the switch
    orphan.mkdir()
    link = index.parent / f".{index.name}.link-0badc0de"
    link.symlink_to(stale.name)
    assert load(index).info().to_dict()["article_count"] == 300  # readers follow the link only
    Engine.remove(["a001"], index)
    assert not stale.exists() and not orphan.exists() and not link.is_symlink()
    assert len(list(vdir.iterdir())) == 2  # the new version and the one it replaced


# ---------------------------------------------------------------------- the writer lock
def hold_lock(index: Path, seconds: float) -> subprocess.Popen[str]:
    """Another real process holding the index's writer lock for ``seconds``."""
    code = (
        "import sys, time\n"
        "from recommender.storage.versions import writer_lock\n"
        "with writer_lock(sys.argv[1]):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(float(sys.argv[2]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(index), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_gets_a_clear_error_and_a_killed_holder_frees_the_lock(index: Path) -> None:
    holder = hold_lock(index, 60)
    try:
        with pytest.raises(
            IndexLockedError,
            match=rf"index .*news is locked by PID {holder.pid}"
            r" \(started 20",
        ):
            Engine.remove(["a001"], index)
        result = CliRunner().invoke(app, ["remove", "a001", "--index", str(index)])
        assert result.exit_code == 1
        assert f"is locked by PID {holder.pid}" in result.output
        assert load(index).related("a001", k=3)  # readers take no lock
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock_path(index).exists()  # a stale lock file: the kernel released the lock itself
    assert Engine.remove(["a001"], index).removed == 1


def test_wait_for_the_lock(index: Path) -> None:
    holder = hold_lock(index, 1.0)
    try:
        started = time.monotonic()
        report = Engine.remove(["a001"], index, lock_wait=30)
        assert report.removed == 1 and time.monotonic() - started > 0.3
    finally:
        holder.wait()


# ---------------------------------------------------------------------- CLI
@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
    monkeypatch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())


def test_cli_upsert_remove_info(tmp_path: Path, fake_model: None) -> None:
    runner = CliRunner()
    records = [{"id": a.id, "title": a.title, "body": a.body} for a in corpus(20)]
    src = write_jsonl(tmp_path / "news.jsonl", records)
    index = tmp_path / "indexes" / "news"
    result = runner.invoke(
        app,
        [
            "build",
            str(src),
            "--index",
            str(index),
            "--index-type",
            "hnsw",
            "--index-param",
            "ef_search=64",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hnsw index, generation 1" in " ".join(result.output.split())
    more = write_jsonl(
        tmp_path / "more.jsonl",
        [
            {"id": "new-1", "title": "Comet", "body": "comet tail"},
            {**records[0], "body": "entirely new words"},
            records[1],
        ],
    )
    result = runner.invoke(app, ["upsert", str(more), "--index", str(index)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "3 read, 1 new, 1 changed, 1 unchanged, 0 removed, 2 embedded" in out
    assert "now 21 articles, generation 2" in out
    result = runner.invoke(app, ["remove", "a001", "new-1", "--index", str(index), "--json"])
    data = json.loads(result.output)
    assert (data["removed"], data["article_count"], data["generation"]) == (2, 19, 3)
    result = runner.invoke(app, ["remove", "nope", "--index", str(index)])
    assert result.exit_code == 1
    assert "cannot remove 'nope'" in result.output
    result = runner.invoke(app, ["remove", "nope", "a002", "--missing-ok", "--index", str(index)])
    assert result.exit_code == 0 and "1 of the ids given were not in the index" in result.output
    result = runner.invoke(app, ["info", "--index", str(index), "--json"])
    info = json.loads(result.output)
    assert info["article_count"] == 18 and info["generation"] == 4
    assert info["index"]["type"] == "hnsw" and info["index"]["params"]["ef_search"] == 64
    assert info["index"]["dead"] == 4  # a000 replaced, a001, new-1, a002 removed
    table = runner.invoke(app, ["info", "--index", str(index)]).output
    assert "hnsw (M=32" in " ".join(table.split())
    result = runner.invoke(app, ["build", str(src), "--index", str(index), "--index-param", "x"])
    assert result.exit_code == 1 and "--index-param expects NAME=VALUE" in result.output

"""The hand-over: a write gives the version it wrote, opened, to its caller (the server serves
it without loading it again). It must be exactly what a load of that version gives; and the
lists a write carries over (copied as byte ranges) stay byte-identical to a full ranking."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recommender import precomputed
from recommender.engine import Engine
from recommender.indexing import refresh_lists, remove, upsert
from recommender.server import ServeSettings, create_app
from recommender.storage import store as store_module
from recommender.storage import versions as persistence
from recommender.storage.store import STORE_FILE, Columns, Store, write_store, write_store_update

from .conftest import FakeEncoder, make_article
from .test_deferred_lists import new_story
from .test_precomputed import TOPICS, corpus

N = 120
LARGER = 600  # enough articles that most lists are carried over
LIST_FILES = (precomputed.LISTS_FILE, precomputed.LISTS_INDEX, precomputed.LISTS_FLOOR)


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "indexes" / "news"
    Engine.build(corpus(N), path, encoder=FakeEncoder())
    return path


def assert_same_columns(ours: Columns, theirs: Columns) -> None:
    for field in dataclasses.fields(ours):
        a, b = getattr(ours, field.name), getattr(theirs, field.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, field.name
            np.testing.assert_array_equal(a, b, err_msg=field.name)
        elif isinstance(a, dict) and a and isinstance(next(iter(a.values())), np.ndarray):
            assert list(a) == list(b), field.name
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{field.name}[{key}]")
        else:
            assert a == b, field.name


def assert_same_engine(handed: Engine, loaded: Engine) -> None:
    """Everything a served engine answers from is what a load gives."""
    assert handed.folder == loaded.folder
    assert handed.manifest == loaded.manifest
    assert handed.settings == loaded.settings and handed.rules == loaded.rules
    assert handed.store.path == loaded.store.path
    ours, theirs = handed.store.columns, loaded.store.columns
    assert_same_columns(ours, theirs)
    ids = [str(i) for i in loaded.store.columns.ids]
    np.testing.assert_array_equal(handed.vectors(ids), loaded.vectors(ids))
    assert handed.lexical is not None and loaded.lexical is not None
    assert (handed.lexical.matrix != loaded.lexical.matrix).nnz == 0
    assert handed.lexical.vocabulary == loaded.lexical.vocabulary
    assert handed.lexical.topics is not None and loaded.lexical.topics is not None
    np.testing.assert_array_equal(handed.lexical.topics.vectors, loaded.lexical.topics.vectors)
    assert handed.precomputed is not None and loaded.precomputed is not None
    np.testing.assert_array_equal(handed.precomputed.index, loaded.precomputed.index)
    assert bytes(handed.precomputed.blob) == bytes(loaded.precomputed.blob)
    now = 1.75e9  # undated sources are ranked against the clock: one clock for both
    dated = ~np.isnan(theirs.timestamps)
    for row, aid in enumerate(ids):  # stored (or pending) and live answers alike
        if dated[row]:
            assert handed.related(aid) == loaded.related(aid), aid
        assert handed.related(aid, 3, now=now) == loaded.related(aid, 3, now=now), aid


@pytest.mark.parametrize("defer", [True, False])
def test_the_handed_over_version_is_what_a_load_gives(index: Path, defer: bool) -> None:
    handed: list[Engine] = []
    edited = dataclasses.replace(corpus(N)[11], body=" ".join(TOPICS[2][:12]))
    report = upsert(
        [new_story(1), edited],
        index,
        encoder=FakeEncoder(),
        defer_lists=defer,
        hand_over=handed.append,
    )
    assert len(handed) == 1 and report.version_path == handed[0].folder
    assert handed[0].folder == persistence.resolve_version(index)
    with Engine.load(index) as loaded:
        assert_same_engine(handed[0], loaded)
    handed[0].close()


def test_remove_and_refresh_hand_over_too(index: Path) -> None:
    handed: list[Engine] = []
    upsert([new_story(2)], index, encoder=FakeEncoder(), defer_lists=True)
    remove(["a00005"], index, defer_lists=True, hand_over=handed.append)
    with Engine.load(index) as loaded:
        assert_same_engine(handed.pop(), loaded)
    report = refresh_lists(index, hand_over=handed.append)
    assert report.version_path is not None
    with Engine.load(index) as loaded:
        assert loaded.manifest.lists["pending"] == 0
        assert_same_engine(handed.pop(), loaded)


def test_nothing_written_nothing_handed_over(index: Path) -> None:
    handed: list[Engine] = []
    first = corpus(N)[3]
    report = upsert([first], index, encoder=FakeEncoder(), hand_over=handed.append)
    assert report.version_path is None and handed == []
    assert refresh_lists(index, hand_over=handed.append).version_path is None and handed == []


def test_carried_lists_are_byte_identical_to_a_full_ranking(tmp_path: Path) -> None:
    """Deferred writes, a removal, the refresh: the lists files (carried over as byte ranges)
    equal those of every list ranked again on that version."""
    index = tmp_path / "indexes" / "larger"
    Engine.build(corpus(LARGER), index, encoder=FakeEncoder())
    upsert([new_story(1)], index, encoder=FakeEncoder(), defer_lists=True)
    remove(["a00009", "a00040"], index, defer_lists=True)
    upsert([new_story(3)], index, encoder=FakeEncoder(), defer_lists=True)
    refresh_lists(index)
    again = tmp_path / "again"
    again.mkdir()
    with Engine.load(index, encoder=FakeEncoder()) as engine:
        assert engine.manifest.lists["mode"] == "refresh"
        assert engine.manifest.lists["reused"] > LARGER // 3, engine.manifest.lists
        report = precomputed.write_lists(again, engine)
    assert report.mode == "full"
    ours = persistence.resolve_version(index)
    for name in LIST_FILES:
        assert (ours / name).read_bytes() == (again / name).read_bytes(), name


def test_the_server_serves_the_handed_over_version(index: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECOMMENDER_WRITE_TOKEN", "t0ken")
    app = create_app(index, encoder=FakeEncoder(), settings=ServeSettings(reload_interval=3600))
    holder = app.state.holder
    loads: list[Path] = []
    original = Engine.load

    def counting_load(path: Path, **kw: object) -> Engine:
        loads.append(Path(path))
        return original(path, **kw)

    monkeypatch.setattr(Engine, "load", counting_load)
    with TestClient(app) as client:
        body = {"title": "New story 4", "body": " ".join(TOPICS[1][:12])}
        headers = {"Authorization": "Bearer t0ken"}
        answer = client.put("/articles/new-4", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        app.state.publisher.wait_idle(60)
        served = holder.get().engine
        assert served.folder == persistence.resolve_version(index)
        assert loads == []  # the write and the refresh handed their versions over
        with original(index, encoder=FakeEncoder()) as loaded:
            assert_same_engine(served, loaded)
            assert client.get("/related/new-4").json()["results"] == [
                r.to_dict() for r in loaded.related("new-4")
            ]


def test_store_reads_tags_and_text_hashes_as_stored(tmp_path: Path) -> None:
    """Tag lists are parsed in one go: tags with JSON's special characters come back as they
    were written; text hashes are looked up by id."""
    tags = [("a,b", 'say "hi"'), (), ("[x]", "ünïcode", "back\\slash"), ("tag",)]
    articles = [
        make_article(f"t{i}", f"Title {i}", "words here", tags=t) for i, t in enumerate(tags)
    ]
    path = tmp_path / "indexes" / "tags"
    Engine.build(articles, path, encoder=FakeEncoder())
    store = Store(persistence.resolve_version(path) / STORE_FILE)
    assert store.columns.tags == tuple(tags)
    everything = store.text_hashes()
    assert store.text_hashes(["t2", "missing", "t0"]) == {k: everything[k] for k in ("t2", "t0")}
    db = sqlite3.connect(str(store.path))
    stored = [json.loads(t) for (t,) in db.execute("SELECT tags FROM articles ORDER BY row")]
    db.close()
    assert [tuple(t) for t in stored] == list(tags)
    store.close()


def test_a_writes_columns_are_what_a_load_reads(tmp_path: Path) -> None:
    """The store's columns a write derives from the previous version's (kept rows, then the
    added ones) equal those read from the store it wrote: codes renumbered by first appearance
    once rows go, tags, dates with offsets, flags from the metadata."""
    articles = [
        make_article("x0", "UPDATE 1- Alpha", "w a", category="Sport", language="en", tags=("A",)),
        make_article(
            "x1",
            "Beta",
            "w b",
            category="news",
            language="DE",
            tags=("b", "A"),
            published_at="2024-01-02T03:04:05+02:00",
            metadata={"evergreen": "yes"},
        ),
        make_article("x2", "Gamma!", "w c", category="sport", metadata={"canonical": True}),
        make_article("x3", "Delta", "w d", tags=("a",), published_at="2024-02-01"),
    ]
    path = tmp_path / "indexes" / "small"
    Engine.build(articles, path, encoder=FakeEncoder())
    handed: list[Engine] = []

    def check() -> None:  # right away: older versions are collected
        engine = handed.pop()
        loaded = Store(engine.folder / STORE_FILE)
        assert_same_columns(engine.store.columns, loaded.columns)
        loaded.close()
        engine.close()

    remove(["x0"], path, hand_over=handed.append)
    check()
    added = make_article("x4", "Epsilon", "w e", category="Weather", language="EN", tags=("B",))
    upsert([added], path, encoder=FakeEncoder(), hand_over=handed.append)
    check()
    edited = dataclasses.replace(articles[1], category="sport", tags=())
    upsert([edited], path, encoder=FakeEncoder(), hand_over=handed.append)
    assert handed[0].store.columns.category_names == ("sport", "weather")
    check()


def dump(path: Path) -> tuple[list[tuple], list[tuple], list[str]]:
    db = sqlite3.connect(str(path))
    try:
        rows = list(db.execute("SELECT * FROM articles ORDER BY row"))
        idf = list(db.execute("SELECT tag, idf FROM tag_idf ORDER BY tag"))
        schema = sorted(str(sql) for (sql,) in db.execute("SELECT sql FROM sqlite_master"))
    finally:
        db.close()
    return rows, idf, schema


def test_a_store_appended_to_holds_what_a_rewrite_holds(tmp_path: Path) -> None:
    """Every row kept (a publish of new articles): the store is copied and the new rows
    appended; the same rows, tag idf and schema as the general copy inside SQLite. A store of
    an older schema (no tag_idf table) is rewritten in the current one."""
    articles = [make_article(f"s{i}", f"Story {i}", "w", tags=(f"t{i}",)) for i in range(5)]
    previous = tmp_path / "previous.sqlite"
    write_store(previous, articles, [f"h{i}" for i in range(5)])
    added = [make_article("n1", "New", "body", tags=("t1", "new"), metadata={"evergreen": 1})]
    idf = {"t1": 0.5, "new": 1.25, "t0": 2.0}
    appended, rewritten = tmp_path / "appended.sqlite", tmp_path / "rewritten.sqlite"
    write_store_update(appended, previous, range(5), added, ["hn"], idf)
    general = tmp_path / "general.sqlite"  # the general path: the last row dropped, then
    write_store_update(general, previous, [0, 1, 2, 3], [], [], idf)  # written again
    write_store_update(rewritten, general, range(4), [articles[4], *added], ["h4", "hn"], idf)
    assert dump(appended) == dump(rewritten)
    assert len(dump(appended)[0]) == 6
    assert store_module._appends(previous, range(5))  # the copy path was the one taken
    assert not store_module._appends(previous, [0, 2, 3, 4, 5])
    db = sqlite3.connect(str(previous))
    db.execute("DROP TABLE tag_idf")
    db.commit()
    db.close()
    assert not store_module._appends(previous, range(5))
    upgraded = tmp_path / "upgraded.sqlite"
    write_store_update(upgraded, previous, range(5), added, ["hn"], idf)
    assert dump(upgraded) == dump(appended)

"""Precomputed read-more lists: stored at every write, equal to live ranking (score and why
included) for every article, incremental only where that stays exact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from recommender import precomputed
from recommender.articles import Article
from recommender.config import Config
from recommender.engine import Engine
from recommender.ranking.rules import EditorialRules

from .conftest import FakeEncoder, make_article

TOPICS = [[f"{t}{i}" for i in range(40)] for t in ("pol", "spo", "sci", "biz", "art", "tec")]


def corpus(n: int, seed: int = 0) -> list[Article]:
    """Six topics of pseudo-words, dated over two years, tagged; every 50th is undated and
    every 97th a wire copy of the one before (same title)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        topic = i % len(TOPICS)
        words = " ".join(rng.choice(TOPICS[topic], 12))
        title = f"Story {i - 1 if i % 97 == 0 and i else i}"
        date = None if i % 50 == 7 else f"{2024 + i % 2}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        tags = (f"tag{i % 7}",) if i % 3 else ()
        out.append(
            make_article(
                f"a{i:05d}", title, words, category=f"c{topic}", published_at=date, tags=tags
            )
        )
    return out


def all_live(engine: Engine, k: int = precomputed.DEFAULT_LIST_K) -> dict[str, list]:
    return {aid: engine.related_live(aid, k) for aid in map(str, engine.store.columns.ids)}


def assert_lists_equal_live(engine: Engine) -> int:
    """Every stored list equals live ranking; returns how many lists are stored."""
    stored = 0
    for aid, live in all_live(engine).items():
        got = precomputed.stored_list(engine, aid)
        if got is None:
            assert np.isnan(engine.store.columns.timestamps[engine.store.row_of(aid)])
            continue
        stored += 1
        assert got == live, aid
        body = precomputed.stored_body(engine, aid)
        assert body is not None
        expected = {"id": aid, "results": [r.to_dict() for r in live]}
        assert json.loads(body) == expected
    return stored


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pre") / "indexes" / "news"
    Engine.build(corpus(2000), path, encoder=FakeEncoder())
    return path


def test_every_stored_list_equals_live_ranking(built: Path) -> None:
    engine = Engine.load(built, encoder=FakeEncoder())
    assert engine.manifest.lists["mode"] == "full"
    stored = assert_lists_equal_live(engine)
    assert stored == 2000 - 40  # the undated sources are ranked live
    assert engine.related("a00010") == engine.related_live("a00010")
    assert engine.lists_served["precomputed"] >= 1


def test_per_call_options_fall_back_to_live(built: Path) -> None:
    engine = Engine.load(built, encoder=FakeEncoder())
    engine.related("a00011", k=3)
    engine.related("a00011", exclude=["a00017"])
    engine.related("a00011", half_life_days=10)
    engine.related("a00011", now=0.0)
    assert engine.lists_served == {"precomputed": 0, "live": 4}
    other = Engine.load(built, encoder=FakeEncoder(), weight_tags=0.5)  # like a [ranking] file
    assert precomputed.stored_list(other, "a00011") is None
    rules = EditorialRules.from_dict({"block": ["a00017"]})
    ruled = Engine.load(built, encoder=FakeEncoder(), config=Config(rules=rules))
    assert precomputed.stored_list(ruled, "a00011") is None


def test_upsert_keeps_every_list_equal_to_live(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "news"
    articles = corpus(2000)
    Engine.build(articles, path, encoder=FakeEncoder())
    new = [
        make_article("n1", "Fresh story", " ".join(TOPICS[2][:12]), published_at="2025-06-01"),
        dataclasses.replace(articles[5], body=" ".join(TOPICS[3][:12])),  # changed text
    ]
    report = Engine.upsert(new, path, encoder=FakeEncoder())
    engine = Engine.load(path, encoder=FakeEncoder())
    lists = engine.manifest.lists
    # The statistics stay as fitted, so only the lists the written articles reach are ranked
    assert lists["mode"] == "incremental", lists
    assert report.article_count == 2001 and 0 < lists["computed"] < 2000 / 4
    assert assert_lists_equal_live(engine) == 2001 - 40
    served = dict(engine.lists_served)
    engine.related("a00010")
    assert engine.lists_served == {**served, "precomputed": served["precomputed"] + 1}
    Engine.reindex(path)  # fits the statistics again: every list is ranked again
    engine = Engine.load(path, encoder=FakeEncoder())
    assert engine.manifest.lists["mode"] == "full"
    assert assert_lists_equal_live(engine) == 2001 - 40


def test_metadata_upsert_and_remove_are_incremental_where_exact(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "news"
    articles = corpus(2000)
    Engine.build(articles, path, encoder=FakeEncoder(), index_type="flat-ip")
    moved = [  # new dates and sections, same texts and tags
        dataclasses.replace(articles[i], published_at=articles[i + 1].published_at, category="x")
        for i in (12, 400, 1500)
    ]
    Engine.upsert(moved, path, encoder=FakeEncoder())
    engine = Engine.load(path, encoder=FakeEncoder())
    lists = engine.manifest.lists
    assert lists["mode"] == "incremental", lists
    assert 0 < lists["computed"] < 2000 / 2  # only the reachable lists were ranked again
    assert assert_lists_equal_live(engine) == 2000 - 40
    Engine.remove(["a00012"], path)
    engine = Engine.load(path, encoder=FakeEncoder())
    lists = engine.manifest.lists
    assert lists["mode"] == "incremental" and 0 < lists["computed"] < 2000 / 4, lists
    assert assert_lists_equal_live(engine) == 1999 - 40


def test_an_approximate_index_leaves_writes_to_live_ranking(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "news"
    Engine.build(corpus(300), path, encoder=FakeEncoder(), index_type="hnsw")
    Engine.remove(["a00012"], path)
    engine = Engine.load(path, encoder=FakeEncoder())
    lists = engine.manifest.lists
    assert lists["mode"] == "dropped" and "approximate" in lists["reason"], lists
    assert engine.precomputed is None
    assert engine.related("a00010") == engine.related_live("a00010")


def test_clock_dependent_settings_store_nothing(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "news"
    config = Config(ranking={"recency_reference": "now"})
    Engine.build(corpus(60), path, encoder=FakeEncoder(), config=config)
    engine = Engine.load(path, encoder=FakeEncoder())
    assert engine.manifest.lists["mode"] == "none"
    assert engine.precomputed is None
    engine.related("a00001")
    assert engine.lists_served == {"precomputed": 0, "live": 1}


def test_damaged_lists_fail_the_checksum(built: Path, tmp_path: Path) -> None:
    import shutil

    from recommender.errors import IndexFormatError
    from recommender.storage.versions import resolve_version

    copy = tmp_path / "copy"
    shutil.copytree(resolve_version(built), copy)
    data = bytearray((copy / precomputed.LISTS_FILE).read_bytes())
    data[10] ^= 0xFF
    (copy / precomputed.LISTS_FILE).write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"lists\.bin"):
        Engine.load(copy, encoder=FakeEncoder())

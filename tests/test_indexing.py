"""The write path's pure parts, and the read API that callers use instead of engine internals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from recommender.articles import Article
from recommender.engine import Engine
from recommender.errors import UnknownArticleError
from recommender.indexing import UpsertPlan, plan_upsert
from recommender.storage.manifest import IndexDescription

from .conftest import FakeEncoder


def test_upsert_plan_sorts_new_changed_metadata_and_unchanged() -> None:
    stored = {
        "same": Article(id="same", title="T", body="b"),
        "meta": Article(id="meta", title="T", body="b", category="old"),
        "text": Article(id="text", title="T", body="old body"),
    }
    given = [
        Article(id="text", title="T", body="new body"),  # 0: text changed
        Article(id="fresh", title="N"),  # 1: not indexed
        Article(id="same", title="T", body="b"),  # 2: identical
        Article(id="meta", title="T", body="b", category="new"),  # 3: same text, new section
    ]
    hashes = ["h-new", "h-fresh", "h-same", "h-meta"]
    stored_hashes = {"same": "h-same", "meta": "h-meta", "text": "h-old"}
    asked: list[list[str]] = []

    def lookup(ids: Sequence[str]) -> list[Article]:
        asked.append(list(ids))
        return [stored[i] for i in ids]

    plan = plan_upsert(given, hashes, stored_hashes, lookup)
    assert plan == UpsertPlan(new=(1,), changed_text=(0,), metadata_only=(3,), unchanged=(2,))
    assert plan.to_embed == (0, 1) and plan.written == (0, 1, 3)
    assert asked == [["same", "meta"]]  # only same-text articles are fetched to compare


def test_upsert_plan_of_nothing_known_fetches_nothing() -> None:
    def lookup(ids: Sequence[str]) -> list[Article]:
        raise AssertionError("no stored article should be needed")

    plan = plan_upsert([Article(id="a", title="A")], ["h"], {}, lookup)
    assert plan.new == (0,) and plan.written == (0,) and not plan.unchanged


def test_index_description_round_trips_the_manifest_shape() -> None:
    data = {
        "type": "hnsw",
        "approximate": True,
        "params": {"M": 32},
        "rows": 10,
        "slots": 12,
        "dead": 2,
        "requested": "auto",
        "exact_max": 50000,
    }
    described = IndexDescription.from_dict(data)
    assert described.to_dict() == data and list(described.to_dict()) == list(data)
    assert described.summary() == "hnsw index, 2 tombstoned slots"


def test_engine_read_api(tmp_path: Path, small_corpus: list[Article]) -> None:
    path = tmp_path / "index"
    encoder = FakeEncoder()
    Engine.build(small_corpus, path, encoder=encoder, cache=False)
    with Engine.load(path) as engine:
        assert engine.ids() == [a.id for a in small_corpus]
        vectors = engine.vectors(["vote-2", "ball-1"])
        assert vectors.shape == (2, 64)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        nearest = engine.nearest(vectors[:1], 3)
        assert nearest[0][0][0] == "vote-2" and nearest[0][0][1] == pytest.approx(1.0, abs=1e-5)
        with pytest.raises(UnknownArticleError):
            engine.vectors(["nope"])

"""Vector index types: one contract for every backend, the automatic choice by size, recall of
the approximate ones against exact search, tombstones and compaction through the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recommender.engine import Engine
from recommender.storage.index import (
    INDEX_TYPES,
    TOMBSTONES_FILE,
    FlatIndex,
    SlottedIndex,
    choose_index_type,
    index_class,
)
from recommender.storage.versions import IndexFormatError

from .conftest import FakeEncoder, make_article


def clustered(n: int, dimension: int = 64, per_cluster: int = 20, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres, with a decaying noise spectrum (like embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // per_cluster), dimension))
    spectrum = np.arange(1, dimension + 1) ** -0.7
    x = centres[rng.integers(0, len(centres), n)] / np.sqrt(dimension)
    x = x + rng.standard_normal((n, dimension)) * spectrum * 0.5 / np.linalg.norm(spectrum)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


# ---------------------------------------------------------------------- one contract, all types
@pytest.fixture(params=sorted(INDEX_TYPES))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def same(a: np.ndarray, b: np.ndarray, kind: str) -> bool:
    """Stored vectors are the given ones: exactly, or within a lossy type's stated error."""
    lossy = index_class(kind).lossy
    return np.array_equal(a, b) if not lossy else bool(np.abs(a - b).max() <= lossy)


def test_contract_search_vectors_remove_add_round_trip(kind: str, tmp_path: Path) -> None:
    x = clustered(1000)
    index = index_class(kind).build(x)
    assert (index.count, index.dimension) == (1000, 64)
    scores, rows = index.search(x[:5], 3)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert scores[:, 0] == pytest.approx(1.0, abs=1e-5 if not index.lossy else 0.25)
    assert same(index.vectors(np.array([7, 3])), x[[7, 3]], kind)

    # rows 0..9 removed, the rest move up; appended vectors follow them
    index.remove(np.arange(10))
    index.add(x[:3])
    expected = np.vstack([x[10:], x[:3]])
    assert index.count == len(expected)
    assert same(index.vectors(np.arange(index.count)), expected, kind)
    index.save(tmp_path)

    loaded = index_class(kind).load(tmp_path, 64, index.params)  # memory-mapped, read-only
    assert loaded.count == len(expected)
    assert same(loaded.vectors(np.array([0, loaded.count - 1])), expected[[0, -1]], kind)
    _, rows = loaded.search(expected[[0, 500, len(expected) - 1]], 1)
    assert rows[:, 0].tolist() == [0, 500, len(expected) - 1]
    # asking for every row returns every row once, tombstones or not (the k guarantee)
    _, rows = loaded.search(expected[:2], loaded.count)
    for found in rows:
        assert sorted(found.tolist()) == list(range(loaded.count))
    with pytest.raises(RuntimeError, match="read-only"):
        loaded.add(x[:1])
    writable = index_class(kind).load(tmp_path, 64, index.params, writable=True)
    writable.remove(np.array([0]))
    assert writable.count == loaded.count - 1
    with pytest.raises(ValueError, match="dimension"):
        index_class(kind).load(tmp_path, 32, index.params)


def test_unknown_type_and_parameters() -> None:
    with pytest.raises(ValueError, match="unknown index type 'annoy'; known: auto, flat-ip"):
        index_class("annoy")
    with pytest.raises(ValueError, match=r"unknown hnsw index parameter.*efSearch.*known: M"):
        index_class("hnsw").resolve_params({"efSearch": 10})
    assert index_class("hnsw").resolve_params({"M": "16"})["M"] == 16


def test_auto_choice_by_size() -> None:
    assert choose_index_type("auto", 100, exact_max=100) == "flat-ip"
    assert choose_index_type("auto", 101, exact_max=100) == "hnsw"
    assert choose_index_type("ivf", 5, exact_max=100) == "ivf"
    assert choose_index_type("auto", 2_000_001, exact_max=100) == "hnsw-sq"


@pytest.mark.parametrize(
    ("kind", "params", "floor"),
    [("hnsw", {}, 0.9), ("ivf", {"nprobe": 8}, 0.9), ("hnsw-sq", {}, 0.9), ("ivf-pq", {}, 0.6)],
)
def test_recall_against_exact_at_20k(kind: str, params: dict[str, int], floor: float) -> None:
    x = clustered(20_000, dimension=128, per_cluster=40, seed=1)
    queries = x[np.random.default_rng(2).choice(len(x), 200, replace=False)]
    exact = FlatIndex.build(x).search(queries, 10)[1]
    approx = index_class(kind).build(x, **params).search(queries, 10)[1]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= floor, recall


# ---------------------------------------------------------------------- through the engine
def corpus(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(60)]
    return [
        make_article(f"a{i}", f"t{i}", " ".join(rng.choice(words, 8)), category=f"c{i % 3}")
        for i in range(n)
    ]


def manifest(index: Path) -> dict:
    return json.loads((index / "manifest.json").read_text())


def test_engine_chooses_type_by_size_and_switches_when_it_grows(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    articles = corpus(60)
    report = Engine.build(articles[:40], index, encoder=FakeEncoder(), exact_max=45)
    assert report.index.type == "flat-ip" and report.index.requested == "auto"
    Engine.upsert(articles[40:], index, encoder=FakeEncoder())  # 60 > 45: approximate now
    engine = Engine.load(index, encoder=FakeEncoder())
    assert engine.info().to_dict()["index"]["type"] == "hnsw" and len(engine) == 60
    assert engine.info().to_dict()["index"]["params"]["M"] == 32
    Engine.remove([a.id for a in articles[:20]], index)  # 40 <= 45: exact again
    assert manifest(index)["index_type"] == "flat-ip"
    forced = Engine.build(
        articles,
        tmp_path / "forced",
        encoder=FakeEncoder(),
        index_type="ivf",
        index_params={"nprobe": 4},
    )
    assert forced.index.type == "ivf" and forced.index.params["nprobe"] == 4
    assert forced.index.params["nlist"] == 0 and forced.index.extra["cells"] == 1  # auto: 60 // 39
    with pytest.raises(ValueError, match="unknown index type"):
        Engine.build(articles, tmp_path / "bad", encoder=FakeEncoder(), index_type="annoy")


def test_reindex_changes_type_without_embedding(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    Engine.build(corpus(200), index, encoder=FakeEncoder())
    before = Engine.load(index, encoder=FakeEncoder())
    lists = {aid: [r.id for r in before.related(aid, k=5)] for aid in ("a1", "a99")}
    report = Engine.reindex(index, index_type="hnsw", index_params={"M": 8})
    assert report.index.type == "hnsw" and report.index.params["M"] == 8
    after = Engine.load(index, encoder=FakeEncoder())
    assert after.manifest.generation == before.manifest.generation + 1
    assert {aid: [r.id for r in after.related(aid, k=5)] for aid in lists} == lists
    assert after.lexical is not None and before.lexical is not None
    assert after.lexical.vocabulary == before.lexical.vocabulary


def test_approximate_matches_exact_on_a_small_corpus(tmp_path: Path) -> None:
    articles = corpus(300)
    Engine.build(articles, tmp_path / "flat", encoder=FakeEncoder())
    Engine.build(articles, tmp_path / "hnsw", encoder=FakeEncoder(), index_type="hnsw")
    flat = Engine.load(tmp_path / "flat", encoder=FakeEncoder())
    hnsw = Engine.load(tmp_path / "hnsw", encoder=FakeEncoder())
    for aid in ("a0", "a7", "a123"):
        assert [r.id for r in hnsw.related(aid, k=10)] == [r.id for r in flat.related(aid, k=10)]


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_tombstones_k_guarantee_and_compaction(tmp_path: Path, kind: str) -> None:
    index = tmp_path / "idx"
    articles = corpus(300)
    Engine.build(
        articles,
        index,
        encoder=FakeEncoder(),
        index_type=kind,
        index_params={"max_dead_share": 0.2},
    )
    gone = [a.id for a in articles[:40]]
    Engine.remove(gone, index)
    Engine.upsert(
        [make_article("a50", "t50", "completely rewritten words here")],
        index,
        encoder=FakeEncoder(),
    )
    data = manifest(index)["index"]
    assert (data["rows"], data["slots"], data["dead"]) == (260, 301, 41)
    assert (index / TOMBSTONES_FILE).exists()
    # the floor off: this checks tombstones against the k guarantee (a50 now shares no words)
    engine = Engine.load(index, encoder=FakeEncoder(), candidate_pool=5, min_relatedness=-1.0)
    assert isinstance(engine.index, SlottedIndex) and len(engine) == 260
    assert engine.article("a50").body == "completely rewritten words here"
    for aid in ("a40", "a50", "a299"):
        ids = [r.id for r in engine.related(aid, k=20)]
        assert len(ids) == 20 and not set(ids) & set(gone)
    # the k guarantee with tombstones: every live article but the source, none removed
    everything = engine.related("a41", k=500)
    assert len(everything) == 259 and not {r.id for r in everything} & set(gone)
    near = [r.id for r in engine.related("a41", k=200)]
    rest = engine.related("a41", k=10, exclude=near)
    assert len(rest) == 10 and not {r.id for r in rest} & (set(near) | set(gone))

    # the next removal passes max_dead_share (61 / 301 > 0.2): compaction, no tombstones left
    Engine.remove([a.id for a in articles[60:80]], index)
    data = manifest(index)["index"]
    assert (data["rows"], data["slots"], data["dead"]) == (240, 240, 0)
    assert not (index / TOMBSTONES_FILE).exists()
    engine = Engine.load(index, encoder=FakeEncoder(), min_relatedness=-1.0)
    assert len(engine.related("a41", k=500)) == 239


def test_damaged_tombstones_fail_clearly(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    articles = corpus(100)
    Engine.build(articles, index, encoder=FakeEncoder(), index_type="hnsw")
    Engine.remove(["a1"], index)
    folder = index.resolve()
    np.save(folder / TOMBSTONES_FILE, np.zeros(100, dtype=bool))  # same size, nothing dead
    with pytest.raises(IndexFormatError, match=r"checksum of tombstones\.npy"):
        Engine.load(index)
    with pytest.raises(IndexFormatError, match="damaged: 100 vectors, 99 articles"):
        Engine.load(index, verify=False)
    np.save(folder / TOMBSTONES_FILE, np.zeros(5, dtype=bool))
    with pytest.raises(IndexFormatError, match=r"tombstones\.npy has"):
        Engine.load(index)
    (folder / TOMBSTONES_FILE).unlink()
    with pytest.raises(IndexFormatError, match=r"tombstones\.npy is missing"):
        Engine.load(index)


@pytest.mark.parametrize("kind", ["hnsw-sq", "ivf-pq"])
def test_quantized_types_through_the_engine(tmp_path: Path, kind: str) -> None:
    index = tmp_path / "idx"
    articles = corpus(600)
    Engine.build(articles, index, encoder=FakeEncoder(), precompute=False)
    exact = Engine.load(index, encoder=FakeEncoder())
    expected = {aid: {r.id for r in exact.related(aid, k=10)} for aid in ("a0", "a7", "a123")}
    Engine.reindex(index, index_type=kind)
    assert manifest(index)["index_type"] == kind
    engine = Engine.load(index, encoder=FakeEncoder())
    for aid, want in expected.items():
        got = {r.id for r in engine.related(aid, k=10)}
        assert aid not in got and len(got) == 10
        assert len(got & want) >= 5  # approximate scores: close calls may swap
    Engine.remove(["a1"], index)
    Engine.upsert([make_article("z", "tz", "w1 w2 w3 w4")], index, encoder=FakeEncoder())
    engine = Engine.load(index, encoder=FakeEncoder())
    assert len(engine) == 600 and "a1" not in {r.id for r in engine.related("a0", k=50)}

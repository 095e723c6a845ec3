"""Engine with a fake encoder: build, load, related, query, cache, atomic swap, damage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from recommender.articles import Article, InputError
from recommender.engine import Engine, UnknownArticleError
from recommender.storage.versions import FORMAT_VERSION, IndexFormatError, versions_dir
from recommender.text import TEXT_RECIPE_VERSION

from .conftest import FakeEncoder, make_article


@pytest.fixture
def built(tmp_path: Path, small_corpus: list[Article], fake_encoder: FakeEncoder) -> Path:
    index = tmp_path / "indexes" / "news"
    Engine.build(small_corpus, index, encoder=fake_encoder)
    return index


def load(index: Path, **settings: object) -> Engine:
    return Engine.load(index, encoder=FakeEncoder(), **settings)


def test_round_trip(built: Path, small_corpus: list[Article]) -> None:
    engine = load(built)
    assert len(engine) == len(small_corpus)
    assert engine.article("vote-2") == small_corpus[1]
    info = engine.info().to_dict()
    assert info["article_count"] == 7 and info["model"] == "fake-bow-64"
    assert info["dimension"] == 64 and info["size_bytes"] > 0
    assert info["format_version"] == FORMAT_VERSION
    manifest = json.loads((built / "manifest.json").read_text())
    assert set(manifest["files"]) == {
        "index.faiss",
        "store.sqlite",
        "lexical-vocab.json",
        "lexical-idf.npy",
        "lexical-matrix.npz",
        "topic-basis.npy",  # the topic evidence (recommender.storage.topics)
        "topic-vectors.npy",
        "lists.bin",  # the precomputed read-more lists (recommender.precomputed)
        "lists-index.npy",
        "lists-floor.npy",
        "lists.json",
    }
    assert manifest["text_recipe_version"] == TEXT_RECIPE_VERSION and manifest["article_count"] == 7


def test_related_topics_k_and_never_self(built: Path) -> None:
    engine = load(built)
    results = engine.related("vote-1", k=2)
    assert [r.id for r in results] == ["vote-2", "vote-3"]
    # the relatedness floor (on by default) shortens the list: nothing shown is below it; the
    # fake encoder is not calibrated (hash collisions), so a higher floor shows the topic cut
    floored = engine.related("vote-1", k=6)
    assert 2 <= len(floored) < 6
    assert all(r.why.relatedness >= engine.settings.min_relatedness for r in floored)
    assert [r.id for r in engine.related("vote-1", k=6, min_relatedness=0.3)] == [
        "vote-2",
        "vote-3",
    ]
    engine = load(built, min_relatedness=-1.0)  # floor off: the k guarantee is unconditional
    for aid in ("vote-1", "ball-1", "space-2"):
        for k in (1, 3, 6):
            results = engine.related(aid, k=k)
            assert len(results) == k
            assert aid not in [r.id for r in results]
            assert len({r.id for r in results}) == k
            for r in results:
                assert set(r.why.contributions) == {
                    "similarity",
                    "lexical",
                    "topic",
                    "recency",
                    "category",
                    "tags",
                }
                assert r.score == pytest.approx(sum(r.why.contributions.values()), abs=1e-5)
    # more than exist: all the others, no more
    assert len(engine.related("vote-1", k=50)) == 6
    with pytest.raises(ValueError):
        engine.related("vote-1", k=0)
    with pytest.raises(UnknownArticleError, match="no article with id 'nope'"):
        engine.related("nope")


def test_exclude_and_options(built: Path) -> None:
    engine = load(built)
    results = engine.related("vote-1", k=2, exclude=["vote-2", "unknown-id"])
    assert results[0].id == "vote-3"
    assert "vote-2" not in [r.id for r in results]
    rec = engine.related(
        "vote-1",
        k=6,
        weight_similarity=0.0,
        weight_category=0.0,
        weight_recency=1.0,
        weight_lexical=0.0,
        weight_topic=0.0,
        weight_tags=0.0,
        half_life_days=10,
        min_relatedness=-1.0,
    )
    # pure recency against the source date (2025-01-01): nearest dates first
    assert [r.id for r in rec][:3] == ["ball-1", "vote-2", "ball-2"]
    with pytest.raises(ValueError, match="unknown ranking option"):
        engine.related("vote-1", nonsense=1)


def test_query_draft(built: Path) -> None:
    engine = load(built)
    results = engine.query({"title": "Rover on mars", "body": "mission rocket"}, k=2)
    assert {r.id for r in results} == {"space-1", "space-2"}
    assert engine.query("election ballot voters", k=1)[0].id.startswith("vote-")
    # a draft that is the indexed article itself never returns itself
    assert "vote-1" not in [r.id for r in engine.query(engine.article("vote-1"), k=6)]
    with pytest.raises(InputError, match="title"):
        engine.query({"body": "no title"})


def test_cache_rebuild_embeds_only_changes(tmp_path: Path, small_corpus: list[Article]) -> None:
    index = tmp_path / "idx"
    first = Engine.build(small_corpus, index, encoder=FakeEncoder())
    assert (first.embedded, first.cached) == (7, 0)
    encoder = FakeEncoder()
    again = Engine.build(small_corpus, index, encoder=encoder)
    assert (again.embedded, again.cached) == (0, 7)
    assert encoder.embedded == 0
    changed = [*small_corpus[:-1], make_article("space-2", "Mars landing", "new text entirely")]
    changed.append(make_article("new-1", "Fresh", "brand new article"))
    encoder = FakeEncoder()
    third = Engine.build(changed, index, encoder=encoder)
    assert (third.embedded, third.cached, third.read) == (2, 6, 8)
    assert encoder.embedded == 2
    no_cache = Engine.build(small_corpus, index, encoder=FakeEncoder(), cache=False)
    assert no_cache.embedded == 7


def test_failed_build_leaves_previous_index(built: Path) -> None:
    before = load(built).related("vote-1", k=3)
    version = os.readlink(built)

    class Exploding(FakeEncoder):
        def encode(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Engine.build([make_article("x", "X", "never indexed")], built, encoder=Exploding())
    assert os.readlink(built) == version
    assert [r.id for r in load(built).related("vote-1", k=3)] == [r.id for r in before]
    assert not list(versions_dir(built).glob("*.tmp"))


def test_old_versions_are_collected(tmp_path: Path, small_corpus: list[Article]) -> None:
    index = tmp_path / "idx"
    for _ in range(4):
        Engine.build(small_corpus, index, encoder=FakeEncoder())
    assert len([p for p in versions_dir(index).iterdir()]) == 2


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError, match="no index at"):
        Engine.load(tmp_path / "none")


def test_refuses_to_overwrite_a_foreign_folder(tmp_path: Path, small_corpus: list[Article]) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    with pytest.raises(IndexFormatError, match="not an index"):
        Engine.build(small_corpus, folder, encoder=FakeEncoder())
    assert (folder / "precious.txt").read_text() == "keep me"


def test_plain_copied_index_folder_loads_and_is_adopted(
    built: Path, tmp_path: Path, small_corpus: list[Article]
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)  # follows the link: a plain folder
    assert [r.id for r in load(copy).related("ball-1", k=1)] == ["ball-2"]
    Engine.build(small_corpus[:3], copy, encoder=FakeEncoder())
    assert copy.is_symlink() and len(load(copy)) == 3


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "store.sqlite").write_bytes(b"garbage"), "store.sqlite has 7 bytes"),
        (lambda f: _flip_byte(f / "index.faiss"), "checksum of index.faiss does not match"),
        (lambda f: (f / "index.faiss").unlink(), "index.faiss is missing"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "manifest.json is damaged"),
        (lambda f: (f / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda f: _set_manifest(f, format_version=99), "format version 99"),
        (lambda f: _set_manifest(f, format="other"), "not a recommender index manifest"),
    ],
)
def test_damaged_folder_fails_clearly(built: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = built.resolve()
    damage(folder)
    with pytest.raises(IndexFormatError, match=message):
        Engine.load(built)


def test_damage_without_checksums_still_caught(built: Path) -> None:
    folder = built.resolve()
    _flip_byte(folder / "store.sqlite", at=120)
    # with verification off, a damaged store still fails as IndexFormatError, not a crash
    try:
        engine = Engine.load(built, verify=False, encoder=FakeEncoder())
    except IndexFormatError:
        return
    engine.related("vote-1")


def _flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    pos = len(data) // 2 if at is None else at
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))


def _set_manifest(folder: Path, **fields: object) -> None:
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def test_k_guarantee_with_many_excludes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    articles = [
        make_article(f"a{i}", f"t{i}", " ".join(rng.choice(words, 8)), category=f"c{i % 3}")
        for i in range(300)
    ]
    index = tmp_path / "big"
    Engine.build(articles, index, encoder=FakeEncoder())
    engine = Engine.load(index, encoder=FakeEncoder(), candidate_pool=5, min_relatedness=-1.0)
    # exclude the 250 nearest neighbours: the pool must grow to still return k
    near = [r.id for r in engine.related("a0", k=250)]
    results = engine.related("a0", k=10, exclude=near)
    assert len(results) == 10
    assert not set(near) & {r.id for r in results}


def test_related_many_equals_related(built: Path) -> None:
    engine = load(built)
    batch = dict(engine.related_many(k=3, batch_size=2))
    assert set(batch) == {"vote-1", "vote-2", "vote-3", "ball-1", "ball-2", "space-1", "space-2"}
    for aid, results in batch.items():
        single = engine.related(aid, k=3)
        assert [(r.id, round(r.score, 9)) for r in results] == [
            (r.id, round(r.score, 9)) for r in single
        ]
    with pytest.raises(UnknownArticleError):
        list(engine.related_many(["nope"]))

"""Frozen corpus statistics: text upserts and removes keep the fitted idf, so the stored lists
are updated incrementally and stay equal to live ranking for every article; past the drift
threshold (and at a reindex) the statistics are fitted again and every list is ranked again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from recommender.config import Config
from recommender.engine import Engine
from recommender.indexing.statistics import Statistics
from recommender.storage.lexical import LexicalModel
from recommender.storage.store import unseen_tag_idf

from .conftest import FakeEncoder, make_article
from .test_precomputed import TOPICS, assert_lists_equal_live, corpus

N = 2000
UNDATED = 40  # corpus(): every 50th article is undated, ranked live


def load(path: Path) -> Engine:
    return Engine.load(path, encoder=FakeEncoder())


def dated(engine: Engine) -> int:
    return int(np.sum(~np.isnan(engine.store.columns.timestamps)))


def assert_incremental(engine: Engine, most: int) -> None:
    lists = engine.manifest.lists
    assert lists["mode"] == "incremental", lists
    assert 0 < lists["computed"] <= most, lists
    assert lists["computed"] + lists["reused"] == len(engine.store)


def assert_kept_rows_unchanged(before: Engine, after: Engine) -> None:
    """Every kept article's lexical row and every known term's idf, bit for bit."""
    old, new = before.lexical, after.lexical
    assert old is not None and new is not None
    np.testing.assert_array_equal(new.idf[: len(old.idf)], old.idf)
    assert all(new.vocabulary[t] == c for t, c in old.vocabulary.items())
    for aid in ("a00001", "a00500", "a01999"):
        a, b = old.row(before.store.row_of(aid) or 0), new.row(after.store.row_of(aid) or 0)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)
    for tag, idf in before.store.columns.tag_idf.items():
        assert after.store.columns.tag_idf[tag] == idf


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("frozen") / "indexes" / "news"
    Engine.build(corpus(N), path, encoder=FakeEncoder())
    return path


def test_text_writes_keep_every_list_equal_to_live(written: Path) -> None:
    articles = {a.id: a for a in corpus(N)}
    before = load(written)
    fitted = before.manifest.statistics
    # 1. changed texts (one with words no fitted text has, and a new tag), a wire copy of an
    # indexed story, a story of unseen words, a tagged story, a metadata-only change
    upsert = [
        dataclasses.replace(
            articles["a00005"], body=" ".join(TOPICS[3][:10]) + " zebra77 okapi", tags=("fresh",)
        ),
        dataclasses.replace(articles["a00611"], body=" ".join(TOPICS[1][5:17])),
        dataclasses.replace(articles["a00100"], id="copy-100"),  # same title, text and date
        make_article("quasar", "Quasar news", "quasar1 quasar2 quasar3", published_at="2025-03-02"),
        make_article(
            "tagged", "Tagged", " ".join(TOPICS[4][:12]), published_at="2024-05-05", tags=("tag3",)
        ),
        dataclasses.replace(articles["a00200"], category="moved"),
    ]
    report = Engine.upsert(upsert, written, encoder=FakeEncoder())
    after = load(written)
    assert report.article_count == N + 3
    assert_incremental(after, N // 2)  # 8 vectors (5 new, 3 old), each in ~100 pools
    assert_kept_rows_unchanged(before, after)
    stats = after.manifest.statistics
    assert stats["written"] == 6 and stats["fitted_at"] == fitted["fitted_at"]
    lexical = after.lexical
    assert lexical is not None and "zebra77" in lexical.vocabulary
    unseen = Statistics.from_manifest(stats).unseen_term_idf()  # type: ignore[union-attr]
    assert lexical.idf[lexical.vocabulary["zebra77"]] == np.float32(unseen)
    assert after.store.columns.tag_idf["fresh"] == unseen_tag_idf(N)
    assert assert_lists_equal_live(after) == N + 3 - UNDATED

    # 2. removes: an article shown in other lists, a new one, and an undated one
    shown = after.related("a00010")[0].id
    Engine.remove([shown, "quasar", "a00007"], written)
    removed = load(written)
    assert_incremental(removed, N // 4)
    assert_kept_rows_unchanged(after, removed)
    assert removed.manifest.statistics["written"] == 9
    assert assert_lists_equal_live(removed) == dated(removed)

    # 3. the copy's text changes again and the source of the copy is edited
    again = [
        dataclasses.replace(upsert[2], body=" ".join(TOPICS[5][:12])),
        dataclasses.replace(articles["a00100"], body=articles["a00100"].body + " okapi"),
    ]
    Engine.upsert(again, written, encoder=FakeEncoder())
    final = load(written)
    assert_incremental(final, N // 4)
    assert assert_lists_equal_live(final) == dated(final)


def test_drift_past_the_threshold_fits_the_statistics_again(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "news"
    base = corpus(300)
    Engine.build(base, path, encoder=FakeEncoder(), refit_drift=0.05)  # 15 articles
    first = [
        make_article(
            f"n{i}",
            f"New {i}",
            f"novel{i} " + " ".join(TOPICS[i % 6][:8]),
            published_at="2025-02-02",
        )
        for i in range(10)
    ]
    Engine.upsert(first, path, encoder=FakeEncoder())
    engine = load(path)
    assert engine.manifest.lists["mode"] == "incremental"
    assert engine.manifest.statistics["written"] == 10
    second = [dataclasses.replace(a, body=a.body + " revised") for a in base[:6]]
    Engine.upsert(second, path, encoder=FakeEncoder())  # 16 written > 0.05 x 300
    engine = load(path)
    lists, stats = engine.manifest.lists, engine.manifest.statistics
    assert lists["mode"] == "full" and "refitted" in lists["reason"], lists
    assert (stats["written"], stats["articles"], stats["refit_drift"]) == (0, 310, 0.05)
    fresh = tmp_path / "indexes" / "fresh"
    final = [*second, *base[6:], *first]
    Engine.build(final, fresh, encoder=FakeEncoder())
    rebuilt = load(fresh)
    assert engine.lexical is not None and rebuilt.lexical is not None
    assert engine.lexical.vocabulary == rebuilt.lexical.vocabulary
    np.testing.assert_allclose(engine.lexical.idf, rebuilt.lexical.idf, rtol=1e-6)
    assert engine.store.columns.tag_idf == rebuilt.store.columns.tag_idf
    assert assert_lists_equal_live(engine) == 310 - 6


def test_refit_drift_zero_fits_at_every_write(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "news"
    Engine.build(corpus(120), path, encoder=FakeEncoder(), refit_drift=0)
    Engine.remove(["a00003"], path)
    engine = load(path)
    assert engine.manifest.lists["mode"] == "full"
    assert engine.manifest.statistics["articles"] == 119
    with pytest.raises(ValueError, match="refit_drift"):
        Engine.build(corpus(5), tmp_path / "bad", encoder=FakeEncoder(), refit_drift=-1)


def test_extend_keeps_rows_and_refit_after_it_equals_a_fit() -> None:
    texts = ["Alpha beta gamma.", "Beta delta epsilon beta.", "Gamma zeta eta theta."]
    model = LexicalModel.fit(texts)
    grown = model.extend(np.array([0, 2]), ["Omega beta iota.", "Kappa alpha."], 0.5)
    assert list(grown.vocabulary)[: len(model.vocabulary)] == list(model.vocabulary)
    assert [grown.idf[grown.vocabulary[t]] for t in ("omega", "iota", "kappa")] == [0.5] * 3
    for new, old in ((0, 0), (1, 2)):
        a, b = grown.row(new), model.row(old)
        assert a.indices.tolist() == b.indices.tolist() and a.data.tolist() == b.data.tolist()
    assert grown.matrix.shape == (4, len(grown.vocabulary))
    kept = [texts[0], texts[2], "Omega beta iota.", "Kappa alpha."]
    refitted = grown.refit(np.arange(4), [])
    assert refitted is not None
    full = LexicalModel.fit(kept)
    assert refitted.vocabulary == full.vocabulary
    np.testing.assert_array_equal(refitted.idf, full.idf)
    np.testing.assert_allclose(refitted.matrix.toarray(), full.matrix.toarray(), atol=1e-7)


@pytest.mark.model
def test_real_model_text_writes_keep_lists_equal_to_live(tmp_path: Path) -> None:
    from recommender.demo import demo_articles_path
    from recommender.loaders import load_articles

    path = tmp_path / "indexes" / "demo"
    articles = load_articles([demo_articles_path()])
    Engine.build(articles, path)
    edited = dataclasses.replace(articles[3], body=articles[3].body + " A new paragraph.")
    fresh = dataclasses.replace(articles[10], id="follow-up", title=articles[10].title + " (2)")
    Engine.upsert([edited, fresh], path)
    Engine.remove([articles[20].id], path)
    engine = Engine.load(path)
    assert engine.manifest.lists["mode"] == "incremental"
    for aid in map(str, engine.store.columns.ids):
        assert engine.related(aid) == engine.related_live(aid), aid


def test_lists_that_depend_on_more_than_candidates_follow_writes(tmp_path: Path) -> None:
    """Fallback fills and filtered lists read rows outside their candidates: a new recent
    article of unseen words reaches no list's floor, yet joins their fallbacks."""
    path = tmp_path / "indexes" / "news"
    ranking = {"fallback": ["same_category", "recent"], "min_relatedness": 0.7}
    Engine.build(corpus(600), path, encoder=FakeEncoder(), config=Config(ranking=ranking))
    before = load(path)
    fallbacks = sum(
        any(r.why.fallback for r in before.related(aid))
        for aid in map(str, before.store.columns.ids[:200])
    )
    assert fallbacks > 20  # the setting bites
    latest = make_article(
        "latest", "Unrelated", "brandnew1 brandnew2", published_at="2026-01-01", category="c1"
    )
    Engine.upsert([latest], path, encoder=FakeEncoder())
    engine = load(path)
    assert engine.manifest.lists["mode"] == "incremental"
    assert assert_lists_equal_live(engine) == dated(engine)

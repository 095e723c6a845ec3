"""Topic evidence (storage/topics.py): the profile cosine it stands for, its frozen lifecycle,
and what it does in ranking (words that keep company across the site relate two articles that
share none of them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.engine import Engine
from recommender.ranking import RankingSettings, floor
from recommender.storage import topics as topics_module
from recommender.storage.lexical import LexicalModel
from recommender.storage.topics import TopicModel

from .conftest import FakeEncoder, make_article

FLOODS = [
    "Floods swept the river valley after thunderstorms; dykes broke and villages were evacuated.",
    "Thunderstorms brought more rain and the river rose; soldiers reinforced the dykes.",
    "The river burst its dykes after a week of thunderstorms and floods reached the old town.",
    "Evacuated villages wait as floods recede; the river is still above the dykes.",
]
BASEBALL = [
    "The pitcher tore a ligament and will miss the season, the manager said.",
    "A ligament injury ends the pitcher's season before the playoffs.",
    "The manager moved the pitcher to the bullpen after the injury.",
]
ELECTIONS = [
    "Voters queued for hours as the election commission counted ballots in the capital.",
    "The commission said turnout in the election beat the last ballot.",
]


def profile_cosine(rows: sp.csr_matrix, reference: sp.csr_matrix) -> np.ndarray:
    """What the topic cosine stands for: cosine of the rows' profiles x R^T."""
    profiles = (rows @ reference.T).toarray()
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True)
    return profiles @ profiles.T


def test_topic_cosine_is_the_profile_cosine() -> None:
    model = LexicalModel.fit(FLOODS + BASEBALL + ELECTIONS)
    assert model.topics is not None
    got = model.topics.vectors @ model.topics.vectors.T
    want = profile_cosine(model.matrix, model.matrix)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_the_randomized_fit_of_a_larger_corpus_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = FLOODS + BASEBALL + ELECTIONS
    monkeypatch.setattr(topics_module, "EXACT_ROWS", 3)  # take the large-corpus path
    model = LexicalModel.fit(texts)
    assert model.topics is not None
    got = model.topics.vectors @ model.topics.vectors.T
    np.testing.assert_allclose(got, profile_cosine(model.matrix, model.matrix), atol=1e-4)
    again = LexicalModel.fit(texts).topics
    assert again is not None and again.same_basis(model.topics)  # seeded: the same basis


def test_background_texts_feed_the_basis_only() -> None:
    background = ["The river flooded after thunderstorms.", "Thunderstorms and floods again."]
    model = LexicalModel.fit(BASEBALL + FLOODS[:1], background)
    assert model.topics is not None and model.topics.vectors.shape[0] == len(BASEBALL) + 1
    reference = sp.vstack([model.matrix, model.transform(background)]).tocsr()
    np.testing.assert_allclose(
        model.topics.vectors @ model.topics.vectors.T,
        profile_cosine(model.matrix, reference),
        atol=1e-5,
    )


def test_words_that_keep_company_relate_articles_sharing_none() -> None:
    texts = FLOODS + BASEBALL + ELECTIONS
    model = LexicalModel.fit(texts)
    assert model.topics is not None
    query = model.transform(["Soldiers evacuated the valley."])  # no word of FLOODS[1]
    target = model.transform(["Thunderstorms and dykes."])
    assert (query @ target.T).toarray()[0, 0] == 0  # TF-IDF sees nothing shared
    q, t = model.topics.project(query)[0], model.topics.project(target)[0]
    baseball = model.topics.project(model.transform(["The manager and the bullpen."]))[0]
    assert q @ t > 0.5 > q @ baseball


def test_extend_keeps_rows_and_basis_and_refit_fits_again() -> None:
    model = LexicalModel.fit(FLOODS + BASEBALL)
    assert model.topics is not None
    keep = np.array([0, 2, 3, 4, 6])
    added = ["A zeppelin flew over the floods and the river.", "Dykes held."]
    grown = model.extend(keep, added, unseen_idf=3.0)
    assert grown.topics is not None and grown.topics.same_basis(model.topics)
    np.testing.assert_array_equal(grown.topics.vectors[: len(keep)], model.topics.vectors[keep])
    # the new rows: projected on the frozen basis ("zeppelin" came after the fit: no say)
    without_new_word = model.topics.project(model.transform(["The floods and the river."]))
    np.testing.assert_allclose(grown.topics.vectors[len(keep)], without_new_word[0], atol=1e-6)
    refitted = model.refit(keep, added)
    assert refitted is not None and refitted.topics is not None
    assert not refitted.topics.same_basis(model.topics)
    full = LexicalModel.fit([[*FLOODS, *BASEBALL][i] for i in keep] + added)
    assert full.topics is not None
    np.testing.assert_allclose(
        refitted.topics.vectors @ refitted.topics.vectors.T,
        full.topics.vectors @ full.topics.vectors.T,
        atol=1e-5,
    )


def test_empty_text_and_empty_corpus_have_no_topic() -> None:
    model = LexicalModel.fit(["", "the and of"])  # stop words only: no term at all
    assert model.topics is not None and model.topics.vectors.shape == (2, 0)
    model = LexicalModel.fit([*FLOODS, ""])
    assert model.topics is not None
    assert not model.topics.vectors[-1].any()  # no evidence: the zero vector, cosine 0


def test_save_and_load(tmp_path: Path) -> None:
    model = LexicalModel.fit(FLOODS + BASEBALL)
    model.save(tmp_path)
    loaded = LexicalModel.load(tmp_path)
    assert loaded.topics is not None and model.topics is not None
    assert loaded.topics.same_basis(model.topics)
    np.testing.assert_array_equal(loaded.topics.vectors, model.topics.vectors)
    (tmp_path / topics_module.BASIS_FILE).unlink()  # statistics saved before lexical version 2
    assert LexicalModel.load(tmp_path).topics is None
    np.save(tmp_path / topics_module.BASIS_FILE, model.topics.basis)
    np.save(tmp_path / topics_module.VECTORS_FILE, model.topics.vectors[:2])
    with pytest.raises(ValueError, match="topic vectors"):
        LexicalModel.load(tmp_path)


def test_project_ignores_terms_past_the_fit_and_pads_short_rows() -> None:
    model = TopicModel.fit(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    wide = sp.csr_matrix(np.array([[1.0, 0, 0, 5.0]], dtype=np.float32))
    np.testing.assert_allclose(model.project(wide), model.project(sp.csr_matrix([[1.0, 0, 0]])))
    narrow = sp.csr_matrix(np.array([[0, 1.0]], dtype=np.float32))
    assert model.project(narrow).shape == (1, model.basis.shape[1])


def corpus() -> list:  # type: ignore[type-arg]
    texts = FLOODS + BASEBALL + ELECTIONS
    return [
        make_article(f"a{i}", text.split(";")[0], text, published_at="2024-05-01T00:00:00Z")
        for i, text in enumerate(texts)
    ]


def built(tmp_path: Path) -> Engine:
    Engine.build(corpus(), tmp_path / "idx", encoder=FakeEncoder(), cache=False)
    return Engine.load(tmp_path / "idx", encoder=FakeEncoder())


def test_ranking_reads_topic_evidence(tmp_path: Path) -> None:
    engine = built(tmp_path)
    draft = make_article("", "Soldiers evacuated the valley", "Soldiers evacuated the valley.")
    only_topic = dict(weight_similarity=0.0, weight_lexical=0.0, weight_recency=0.0)
    only_topic.update(weight_category=0.0, weight_tags=0.0, min_relatedness=-1.0)
    results = engine.query(draft, k=4, **only_topic)
    assert {r.article.id for r in results} == {"a0", "a1", "a2", "a3"}  # the floods, all four
    why = results[0].why
    assert why.topic > 0.5 and why.contributions["topic"] == pytest.approx(why.topic)
    off = engine.query(draft, k=4, **{**only_topic, "weight_topic": 0.0})
    assert all(r.why.contributions["topic"] == 0 for r in off)


def test_relatedness_includes_topic_evidence(tmp_path: Path) -> None:
    engine = built(tmp_path)
    s = RankingSettings()
    for r in engine.related("a0", k=3, min_relatedness=-1.0):
        w = r.why
        total = s.weight_similarity + s.weight_lexical + s.weight_topic
        mean = (s.weight_similarity * w.cosine + s.weight_lexical * w.lexical) / total
        assert w.relatedness == pytest.approx(mean + s.weight_topic * w.topic / total, abs=2e-6)


def test_floor_bound_counts_topic_evidence() -> None:
    model = LexicalModel.fit(FLOODS + BASEBALL)
    assert model.topics is not None
    query = model.transform(["Soldiers evacuated the valley."])
    topic = model.topics.project(query)[0]
    found, scores = np.array([4, 5]), np.array([0.1, 0.05])  # the pool: two baseball stories
    count = len(FLOODS) + len(BASEBALL)
    rest = np.array([0, 1, 2, 3, 6])
    best_lexical = float(model.similarity(query, rest).max())
    best_topic = float(model.topics.similarity(topic, rest).max())
    without = (0.05 + best_lexical) / 2  # the bound on dense and lexical evidence alone
    with_topic = (0.05 + best_lexical + best_topic) / 3
    assert with_topic > without + 0.05  # a flood story's topic is closer than its words
    s = RankingSettings(weight_similarity=1.0, weight_lexical=1.0, weight_topic=1.0)
    s = s.replace(min_relatedness=(without + with_topic) / 2)
    assert floor.unreachable(s, found, scores, count, (model, query), None)
    assert not floor.unreachable(s, found, scores, count, (model, query), topic)
    no_topic = s.replace(weight_topic=0.0)
    assert floor.unreachable(no_topic, found, scores, count, (model, query), topic)


def test_an_index_without_topic_evidence_takes_upserts_until_a_reindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index written before lexical version 2 (no topic files): upserts keep it as it is,
    its lists stay equal to live ranking without topic evidence, and a reindex adds it."""
    path = tmp_path / "idx"
    with monkeypatch.context() as m:  # the writer as it was: no topic basis
        m.setattr(TopicModel, "fit", classmethod(lambda cls, *a, **k: None))
        Engine.build(corpus(), path, encoder=FakeEncoder(), cache=False)
    old = Engine.load(path, encoder=FakeEncoder())
    assert old.lexical is not None and old.lexical.topics is None
    assert old.manifest.lexical_version == 1
    assert not (old.folder / topics_module.VECTORS_FILE).exists()
    old.close()
    added = make_article(
        "a9", "Dykes hold", "The river fell and the dykes held.", published_at="2024-05-02"
    )
    Engine.upsert([added], path, encoder=FakeEncoder())
    engine = Engine.load(path, encoder=FakeEncoder())
    assert engine.lexical is not None and engine.lexical.topics is None
    assert engine.manifest.lexical_version == 1
    assert engine.manifest.lists["mode"] == "incremental"
    s = engine.settings
    for aid in map(str, engine.store.columns.ids):
        stored = engine.related(aid)
        assert stored == engine.related_live(aid), aid
        for r in stored:  # no topic evidence: the floor reads cosine and lexical alone
            assert r.why.topic == 0 and r.why.contributions["topic"] == 0
            mean = s.weight_similarity * r.why.cosine + s.weight_lexical * r.why.lexical
            total = s.weight_similarity + s.weight_lexical
            assert r.why.relatedness == pytest.approx(mean / total, abs=2e-6)
    engine.close()
    Engine.reindex(path)
    upgraded = Engine.load(path, encoder=FakeEncoder())
    assert upgraded.lexical is not None and upgraded.lexical.topics is not None
    assert upgraded.manifest.lexical_version == 2
    assert upgraded.lexical.topics.vectors.shape[0] == len(upgraded.store)
    assert any(r.why.topic > 0 for r in upgraded.related("a0", min_relatedness=-1.0))
    upgraded.close()

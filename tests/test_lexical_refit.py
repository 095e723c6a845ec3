"""LexicalModel.refit (a write's incremental statistics) against a full fit of the same texts."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.storage.lexical import LexicalModel, TermCounts

TEXTS = [
    "Putin and Xi met by video link to discuss trade and energy.",
    "China and Russia trade hit a record as Moscow sells more gas to Beijing.",
    "The pitcher tore a ligament and will miss the season, the Yankees said.",
    "A late goal sent the team to the World Cup in front of a sold-out stadium.",
    "Rover images show layered rocks that formed in an ancient lake on Mars.",
    "Energy ministers in Beijing signed a pipeline deal worth billions.",
    "The Security Council split over sanctions as Russia and China vetoed.",
]
ADDED = [
    "Kremlin and Beijing sign energy accords after the video summit.",
    "Astronomers in Chile spot a comet never catalogued before.",
]


@pytest.mark.parametrize("background", [(), ["Background text about markets and weather."]])
@pytest.mark.parametrize("keep", [[0, 1, 2, 3, 4, 5, 6], [0, 2, 3, 6], [4], []])
def test_refit_equals_a_full_fit(keep: list[int], background: list[str]) -> None:
    counts = TermCounts.of(background)
    base = LexicalModel.fit(TEXTS, counts)
    refitted = base.refit(np.array(keep, dtype=np.int64), ADDED)
    assert refitted is not None
    full = LexicalModel.fit([*(TEXTS[i] for i in keep), *ADDED], counts)
    assert refitted.vocabulary == full.vocabulary  # terms only in removed texts are gone
    np.testing.assert_array_equal(refitted.idf, full.idf)
    assert refitted.matrix.shape == full.matrix.shape
    np.testing.assert_array_equal(refitted.matrix.indptr, full.matrix.indptr)
    np.testing.assert_array_equal(refitted.matrix.indices, full.matrix.indices)
    np.testing.assert_allclose(refitted.matrix.data, full.matrix.data, rtol=0, atol=1e-7)
    assert refitted.background.documents == full.background.documents


def test_refit_twice_stays_equal() -> None:
    model = LexicalModel.fit(TEXTS)
    once = model.refit(np.arange(len(TEXTS)), ADDED[:1])
    assert once is not None
    twice = once.refit(np.array([0, 1, 3, 5, 6, 7]), ADDED[1:])
    assert twice is not None
    kept = [TEXTS[i] for i in (0, 1, 3, 5, 6)] + ADDED
    full = LexicalModel.fit(kept)
    assert twice.vocabulary == full.vocabulary
    np.testing.assert_allclose(twice.matrix.toarray(), full.matrix.toarray(), atol=1e-6)


def test_rows_whose_rarest_term_is_repeated_are_recovered() -> None:
    texts = [*TEXTS, "Comet comet comet Mars Mars", "Goal goal goal goal"]
    model = LexicalModel.fit(texts)
    refitted = model.refit(np.arange(len(texts)), [])
    assert refitted is not None
    full = LexicalModel.fit(texts)
    np.testing.assert_allclose(refitted.matrix.toarray(), full.matrix.toarray(), atol=1e-7)

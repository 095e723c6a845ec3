"""Ranking functions against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.ranking import RankingSettings
from recommender.ranking.signals import (
    category_scores,
    combine,
    mmr_order,
    recency_scores,
    tag_scores,
)

DAY = 86_400.0


def test_recency_half_life_known_values() -> None:
    ref = 1000 * DAY
    stamps = np.array([ref, ref - 30 * DAY, ref - 60 * DAY, ref + 30 * DAY, np.nan])
    rec, age = recency_scores(stamps, ref, 30.0, symmetric=True)
    np.testing.assert_allclose(rec, [1.0, 0.5, 0.25, 0.5, 0.0])
    np.testing.assert_allclose(age[:4], [0, 30, 60, 30])
    assert math.isnan(age[4])
    # against "now", an article dated in the future is as fresh as possible, not decayed
    rec_now, age_now = recency_scores(stamps, ref, 30.0, symmetric=False)
    np.testing.assert_allclose(rec_now, [1.0, 0.5, 0.25, 1.0, 0.0])
    np.testing.assert_allclose(age_now[:4], [0, 30, 60, 0])


def test_category_scores() -> None:
    cats = np.array([0, 1, 0, -1])
    np.testing.assert_array_equal(category_scores(cats, 0), [1, 0, 1, 0])
    np.testing.assert_array_equal(category_scores(cats, -1), [0, 0, 0, 0])


def test_combine_is_weighted_sum() -> None:
    total, parts = combine(
        {"a": np.array([1.0, 0.5]), "b": np.array([0.0, 1.0])}, {"a": 2.0, "b": 0.25}
    )
    np.testing.assert_allclose(total, [2.0, 1.25])
    np.testing.assert_allclose(parts["b"], [0.0, 0.25])


def test_settings_validation_and_replace() -> None:
    s = RankingSettings()
    assert s.weight_similarity > s.weight_recency + s.weight_category  # similarity leads
    assert s.replace(half_life_days=7).half_life_days == 7
    with pytest.raises(ValueError, match="unknown ranking option"):
        s.replace(halflife=3)
    with pytest.raises(ValueError):
        RankingSettings(half_life_days=0)
    with pytest.raises(ValueError):
        RankingSettings(recency_reference="yesterday")  # type: ignore[arg-type]
    assert RankingSettings.from_dict({**s.to_dict(), "unknown": 1}) == s


def test_recency_evergreen_exempt() -> None:
    rec, _ = recency_scores(
        np.array([0.0, 0.0]), 100 * DAY, 10.0, symmetric=False, evergreen=np.array([True, False])
    )
    np.testing.assert_allclose(rec, [1.0, 0.5**10])


def test_tag_scores_rare_tags_weigh_more() -> None:
    idf = {"russia": math.log1p(100 / 2), "world": math.log1p(100 / 50)}
    scores, shared = tag_scores(["Russia", "world"], [["russia"], ["world"], ["x"], []], idf)
    total = idf["russia"] + idf["world"]
    np.testing.assert_allclose(scores, [idf["russia"] / total, idf["world"] / total, 0, 0])
    assert scores[0] > 3 * scores[1]
    assert shared == [["russia"], ["world"], [], []]


def test_mmr_hand_computed() -> None:
    # Items 0 and 1 are near-copies; 2 is different but a little less relevant.
    scores = np.array([0.9, 0.85, 0.7])
    sim = np.array([[1.0, 0.95, 0.1], [0.95, 1.0, 0.1], [0.1, 0.1, 1.0]])
    picked, penalties = mmr_order(scores, sim, 3, lam=0.5)
    # step 2: item1 0.5*0.85-0.5*0.95=-0.05 ; item2 0.5*0.7-0.5*0.1=0.30 -> item 2
    assert picked == [0, 2, 1]
    assert penalties == pytest.approx([0.0, 0.05, 0.475])
    assert mmr_order(scores, sim, 3, lam=1.0)[0] == [0, 1, 2]

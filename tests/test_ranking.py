"""Ranking functions against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.ranking import (
    RankingSettings,
    Source,
    category_scores,
    combine,
    recency_scores,
    score_candidates,
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


def test_score_candidates_hand_computed() -> None:
    # Source: dated day 100, category 0. Half-life 10 days, weights 1 / 0.2 / 0.1.
    settings = RankingSettings(
        weight_similarity=1.0, weight_recency=0.2, weight_category=0.1, half_life_days=10.0
    )
    stamps = np.array([100 * DAY, 90 * DAY, 120 * DAY, np.nan])
    cats = np.array([0, 0, 1, 0])
    rows = np.array([1, 2, 3])
    cosine = np.array([0.60, 0.62, 0.70])
    ranked = score_candidates(
        rows, cosine, timestamps=stamps, categories=cats,
        source=Source(row=0, timestamp=100 * DAY, category=0), settings=settings,
    )
    # row 1: 0.60 + 0.2*0.5 + 0.1 = 0.80 ; row 2: 0.62 + 0.2*0.25 + 0 = 0.67 ;
    # row 3 (undated): 0.70 + 0 + 0.1 = 0.80 -> tie with row 1, broken by row number
    assert [r.row for r in ranked] == [1, 3, 2]
    assert [round(r.score, 6) for r in ranked] == [0.80, 0.80, 0.67]
    why = ranked[0].why
    assert why["contributions"] == {"similarity": 0.6, "recency": 0.1, "category": 0.1}
    assert why["age_days"] == 10.0 and why["same_category"] is True
    assert ranked[1].why["age_days"] is None
    for r in ranked:
        assert math.isclose(sum(r.why["contributions"].values()), r.score, abs_tol=1e-5)


def test_reference_now_for_undated_source() -> None:
    settings = RankingSettings(weight_recency=1.0, half_life_days=1.0)
    stamps = np.array([0.0, 9 * DAY, 10 * DAY])
    ranked = score_candidates(
        np.array([0, 1, 2]), np.zeros(3), timestamps=stamps, categories=np.array([-1, -1, -1]),
        source=Source(row=None, timestamp=float("nan"), category=-1), settings=settings,
        now=10 * DAY,
    )
    assert [r.row for r in ranked] == [2, 1, 0]
    assert ranked[0].why["age_reference"] == "now"
    assert ranked[1].score == pytest.approx(0.5)


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

"""Metric plumbing on tiny known-answer cases (the numbers come from ranx and scipy; these tests
check that our dictionaries reach them in the right shape)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.evaluation.lists import list_properties
from recommender.evaluation.metrics import (
    binary_qrels,
    correlations,
    graded_qrels,
    ranking_metrics,
    run_from_lists,
)
from recommender.evaluation.pairs import PairScores
from recommender.evaluation.runs import gold_metrics

from .conftest import make_article

GAINS = {"q": {"a": 3, "b": 2, "c": 1}}


def test_perfect_ranking_scores_one() -> None:
    run = run_from_lists({"q": ["a", "b", "c"]})
    figures = ranking_metrics(GAINS, run, ["ndcg@3", "ndcg@5", "recall@3", "mrr"])
    assert figures == pytest.approx({"ndcg@3": 1.0, "ndcg@5": 1.0, "recall@3": 1.0, "mrr": 1.0})


def test_reversed_ranking_hand_computed() -> None:
    # Linear gains, discount log2(rank + 1):
    #   DCG  (c, b, a) = 1/log2(2) + 2/log2(3) + 3/log2(4) = 1 + 1.261860 + 1.5 = 3.761860
    #   IDCG (a, b, c) = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.261860 + 0.5 = 4.761860
    #   nDCG@3 = 3.761860 / 4.761860 = 0.789999
    run = run_from_lists({"q": ["c", "b", "a"]})
    expected = (1 + 2 / math.log2(3) + 3 / 2) / (3 + 2 / math.log2(3) + 1 / 2)
    assert ranking_metrics(GAINS, run, ["ndcg@3"])["ndcg@3"] == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.789999, abs=1e-6)


def test_list_order_not_score_order_is_evaluated() -> None:
    # The run is scored by position: a list shown as (c, b, a) is evaluated as shown.
    run = run_from_lists({"q": ["c", "b", "a"]})
    assert run == {"q": {"c": 3.0, "b": 2.0, "a": 1.0}}


def test_recall_and_mrr_by_hand() -> None:
    gold = {"s1": ["b", "c", "d"], "s2": ["z"], "s3": ["y"]}
    lists = {"s1": ["x", "b", "y", "c"], "s2": ["z", "q"], "s3": []}
    # s1: recall@2 = 1/3 (b), recall@4 = 2/3 (b, c), first hit at rank 2 -> RR 1/2
    # s2: recall 1, RR 1;  s3: empty list -> 0 and 0
    qrels = binary_qrels(gold)
    run = run_from_lists(lists)
    figures = ranking_metrics(qrels, run, ["recall@2", "recall@4", "mrr"])
    assert figures["recall@2"] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert figures["recall@4"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert figures["mrr"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert gold_metrics(lists, gold, 4)["recall@4"] == pytest.approx((2 / 3 + 1) / 3)


def test_no_relevant_documents_is_an_error() -> None:
    with pytest.raises(ValueError, match="nothing to evaluate"):
        ranking_metrics({"q": {}}, {"q": {"a": 1.0}}, ["mrr"])


def test_graded_gains_scaling_does_not_change_ndcg() -> None:
    # ranx wants integer relevance; nDCG with linear gains is scale-invariant, so scaling the
    # ratings by 10 or by 1000 gives the same figure (these ratings are exact at both scales).
    ratings = {"q": {"a": 0.2, "b": 0.9, "c": 0.5, "d": 0.0}}
    run = run_from_lists({"q": ["a", "b", "c", "d"]})
    by_10 = ranking_metrics(graded_qrels(ratings, scale=10), run, ["ndcg@3"])
    by_1000 = ranking_metrics(graded_qrels(ratings, scale=1000), run, ["ndcg@3"])
    assert by_10 == pytest.approx(by_1000)
    assert graded_qrels(ratings, scale=10) == {"q": {"a": 2, "b": 9, "c": 5}}  # 0 dropped


def test_graded_ndcg_matches_an_independent_implementation() -> None:
    # scikit-learn's ndcg_score also uses linear gains: same figure on Lee-like float ratings.
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(7)
    ratings = rng.uniform(0.2, 1.0, size=(5, 12)).round(3)
    scores = rng.normal(size=(5, 12))
    gains = {f"q{i}": {f"d{j}": ratings[i, j] for j in range(12)} for i in range(5)}
    lists = {f"q{i}": [f"d{j}" for j in np.argsort(-scores[i])] for i in range(5)}
    ours = ranking_metrics(graded_qrels(gains), run_from_lists(lists), ["ndcg@5"])["ndcg@5"]
    assert ours == pytest.approx(ndcg_score(ratings, scores, k=5), abs=1e-9)


def test_correlations_of_linear_and_monotone_pairs() -> None:
    x = [0.1, 0.4, 0.2, 0.9]
    assert correlations(x, [2 * v + 1 for v in x]) == pytest.approx({"pearson": 1, "spearman": 1})
    assert correlations(x, [v**3 for v in x])["spearman"] == pytest.approx(1.0)
    assert correlations(x, [-v for v in x])["pearson"] == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        correlations([1.0], [1.0])


def test_pair_scores_symmetrize_and_fill_missing() -> None:
    nan = np.nan
    scores = np.array([[nan, 0.8, nan], [0.6, nan, 0.3], [nan, nan, nan]])
    pairs = PairScores(("a", "b", "c"), scores, ((1,), (0, 2), ()))
    sym = pairs.symmetric()
    assert sym[0, 1] == pytest.approx(0.7)  # mean of both directions
    assert sym[1, 2] == pytest.approx(0.3)  # one direction only
    assert sym[0, 2] < 0.3  # neither: below everything seen
    assert pairs.missing == 3
    assert pairs.ranked() == {"a": ["b"], "b": ["a", "c"], "c": []}


def test_pair_scores_from_matrix_ranks_by_score() -> None:
    m = np.array([[1.0, 0.2, 0.5], [0.2, 1.0, 0.2], [0.5, 0.1, 1.0]])
    pairs = PairScores.from_matrix(["a", "b", "c"], m)
    assert pairs.ranked() == {"a": ["c", "b"], "b": ["a", "c"], "c": ["a", "b"]}
    assert pairs.missing == 0


def test_list_properties_by_hand() -> None:
    articles = {
        "s": make_article("s", "S", published_at="2025-01-11", category="politics"),
        "a": make_article("a", "A", published_at="2025-01-01", category="politics"),
        "b": make_article("b", "B", published_at="2025-01-31", category="sport"),
        "c": make_article("c", "C", category="Politics"),
        "d": make_article("d", "D", published_at="2025-01-01"),
    }
    e = np.eye(4, dtype=np.float32)
    copy = (e[0] + 0.1 * e[1]) / np.linalg.norm(e[0] + 0.1 * e[1])  # cos 0.995 with s
    vectors = {"s": e[0], "a": e[1], "b": e[2], "c": copy, "d": e[3]}
    props = list_properties(
        {"s": ["a", "b"], "a": ["c", "s"], "d": []},
        article_of=articles.__getitem__,
        vectors_of=lambda ids: np.stack([vectors[i] for i in ids]),
        catalog_size=5,
    )
    assert props.lists == 3
    assert props.coverage == pytest.approx(4 / 5)  # a, b, c, s shown; d never
    # ages: s-a 10 days, s-b 20 days, a-s 10 days (c undated) -> median 10
    assert props.median_age_days == pytest.approx(10.0)
    # list s: cos(a, b) = 0;  list a: cos(c, s) = 0.995 -> mean 0.4975
    assert props.intra_list_similarity == pytest.approx((0 + float(copy @ e[0])) / 2, abs=1e-6)
    assert props.near_duplicate_share == pytest.approx(1 / 3)  # list a holds c and s together
    # politics sources s, a: results a (politics), b (sport), c (Politics), s (politics) -> 3/4
    assert props.same_category_share == pytest.approx(3 / 4)

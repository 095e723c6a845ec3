"""Metrics from well-kept libraries: correlations from scipy, ranking metrics from ranx.

Nothing here computes nDCG, recall or MRR by hand; these are thin adapters that put our
dictionaries into the shapes the libraries want.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from recommender.evaluation import require

GAIN_SCALE = 1000
"""ranx's qrels hold integer relevance, so graded gains in [0, 1] are multiplied by this and
rounded. ranx's ``ndcg`` uses linear gains (Järvelin & Kekäläinen), and nDCG with linear gains
is scale-invariant (DCG and ideal DCG scale alike), so only the rounding (at most 0.0005 on a
gain of 1) can move the figure. ``ndcg_burges`` (2**gain - 1) is *not* scale-invariant and
would be wrong here."""


def correlations(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """Pearson and Spearman correlation of two paired samples."""
    stats = require("scipy.stats", "scipy")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError("correlations need two 1-d samples of the same length (at least 2)")
    return {
        "pearson": float(stats.pearsonr(x, y)[0]),  # type: ignore[attr-defined]
        "spearman": float(stats.spearmanr(x, y)[0]),  # type: ignore[attr-defined]
    }


def graded_qrels(
    gains: Mapping[str, Mapping[str, float]], scale: int = GAIN_SCALE
) -> dict[str, dict[str, int]]:
    """Float gains (e.g. mean human ratings in [0, 1]) as ranx's integer relevance.

    Gains that round to 0 are dropped: they add nothing to DCG and ranx ignores them anyway.
    """
    out: dict[str, dict[str, int]] = {}
    for query, docs in gains.items():
        row = {doc: round(float(g) * scale) for doc, g in docs.items()}
        out[query] = {doc: g for doc, g in row.items() if g > 0}
    return out


def binary_qrels(relevant: Mapping[str, Sequence[str]]) -> dict[str, dict[str, int]]:
    """Lists of relevant ids (a gold set) as relevance 1."""
    return {query: dict.fromkeys(docs, 1) for query, docs in relevant.items()}


def run_from_lists(lists: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """Ranked lists as a ranx run whose scores reproduce the list order exactly.

    The engine's displayed order is what a reader sees (diversity, pins and fallbacks can put a
    lower score above a higher one), so runs are scored by position, not by the engine's score.
    """
    return {
        query: {doc: float(len(docs) - pos) for pos, doc in enumerate(docs)}
        for query, docs in lists.items()
    }


def ranking_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str],
) -> dict[str, float]:
    """Mean of ranx ``metrics`` (e.g. ``["ndcg@5", "recall@5", "mrr"]``) over the qrels' queries.

    A query with an empty or missing run scores 0 (ranx's ``make_comparable``); queries without
    any relevant document are left out (no metric is defined for them).
    """
    ranx = require("ranx")
    qrels = {q: dict(d) for q, d in qrels.items() if d}
    if not qrels:
        raise ValueError("no query has a relevant document: nothing to evaluate")
    run = {q: dict(d) for q, d in run.items() if d and q in qrels}
    if not run:
        return dict.fromkeys(metrics, 0.0)
    with warnings.catch_warnings():
        # ranx's numba kernels warn about an int cast on every call; it is harmless.
        warnings.simplefilter("ignore")
        scores = ranx.evaluate(  # type: ignore[attr-defined]
            ranx.Qrels.from_dict(qrels),  # type: ignore[attr-defined]
            ranx.Run.from_dict(run),  # type: ignore[attr-defined]
            list(metrics),
            make_comparable=True,
        )
    if isinstance(scores, Mapping):
        return {name: float(scores[name]) for name in metrics}
    return {metrics[0]: float(scores)}

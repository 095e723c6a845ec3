"""Pair scores on a small collection: every document's ranked list of all the others.

Works for the engine (whatever its configured scoring is, read through ``related``) and for any
baseline that yields a score matrix, so both are evaluated by exactly the same code.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from recommender.engine import Engine


@dataclass(frozen=True)
class PairScores:
    """``scores[a, b]``: score of document b in a's list (NaN if b was not listed);
    ``lists[a]``: a's ranked list, as indices, in the order a reader sees it."""

    ids: tuple[str, ...]
    scores: np.ndarray
    lists: tuple[tuple[int, ...], ...]

    @classmethod
    def from_matrix(cls, ids: Sequence[str], scores: np.ndarray) -> PairScores:
        """A baseline's (possibly asymmetric) score matrix; lists sorted by score, ties by index."""
        scores = np.array(scores, dtype=np.float64)
        n = len(ids)
        if scores.shape != (n, n):
            raise ValueError(f"score matrix must be {n}x{n}, got {scores.shape}")
        np.fill_diagonal(scores, np.nan)
        lists = []
        for a in range(n):
            others = [b for b in range(n) if b != a]
            others.sort(key=lambda b: (-scores[a, b], b))
            lists.append(tuple(others))
        return cls(tuple(ids), scores, tuple(lists))

    @property
    def missing(self) -> int:
        """Ordered pairs (a, b), a != b, without a score: b never appeared in a's list."""
        off = ~np.eye(len(self.ids), dtype=bool)
        return int(np.isnan(self.scores[off]).sum())

    def symmetric(self) -> np.ndarray:
        """Pair score = mean of score(a->b) and score(b->a).

        If only one direction was scored, that one; if neither, just below the lowest score
        seen (never listed means least related). Diagonal NaN.
        """
        s = self.scores
        both = np.stack([s, s.T])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pairs: handled below
            pair = np.nanmean(both, axis=0)
        off = ~np.eye(len(self.ids), dtype=bool)
        seen = pair[off & ~np.isnan(pair)]
        floor = (seen.min() - 1e-6) if len(seen) else 0.0
        pair = np.where(off & np.isnan(pair), floor, pair)
        np.fill_diagonal(pair, np.nan)
        return pair

    def ranked(self) -> dict[str, list[str]]:
        return {self.ids[a]: [self.ids[b] for b in lst] for a, lst in enumerate(self.lists)}


def engine_pair_scores(engine: Engine, ids: Sequence[str], **options: Any) -> PairScores:
    """Each id's ``related`` list over all the others (k = n - 1), with ``options`` passed to
    ``related`` unchanged: any ranking setting the engine knows, now or later, can be evaluated.
    The relatedness floor is off unless ``options`` set it: every pair needs a score.
    """
    options = {"min_relatedness": -1.0, **options}
    position = {aid: i for i, aid in enumerate(ids)}
    n = len(ids)
    scores = np.full((n, n), np.nan)
    lists = []
    for a, aid in enumerate(ids):
        order = []
        for rec in engine.related(aid, k=n - 1, **options):
            b = position.get(rec.id)
            if b is None:  # the index holds more than ``ids``: not part of this evaluation
                continue
            scores[a, b] = rec.score
            order.append(b)
        lists.append(tuple(order))
    return PairScores(tuple(ids), scores, tuple(lists))

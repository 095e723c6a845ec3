"""The relatedness floor's reach: when can the candidate pool stop growing?

A candidate outside the searched pool has a dense cosine at most the pool's lowest (the index
returns neighbours best first), and lexical and topic scores at most the best among the
unsearched rows (one sparse and one small dense product over them). If even that bound is
below the floor, nothing outside the pool can be shown, and the pool need not grow: the k
guarantee ("k results if at least k eligible articles clear the floor") holds without scoring
the whole index.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.ranking.settings import RankingSettings
from recommender.ranking.signals import relatedness
from recommender.storage.lexical import LexicalModel


def unreachable(
    s: RankingSettings,
    found: np.ndarray,
    scores: np.ndarray,
    count: int,
    lexical: tuple[LexicalModel, sp.csr_matrix] | None,
    topic: np.ndarray | None = None,
) -> bool:
    """True when no row outside ``found`` (searched, best first, -1 for none) can clear the
    floor; ``lexical``: the model and the source's row, when there is lexical evidence;
    ``topic``: the source's topic vector, when there is topic evidence."""
    if s.min_relatedness <= -1.0:
        return False
    valid = found >= 0
    if not valid.any():
        return False
    lowest = float(scores[valid].min())
    unseen = np.ones(count, dtype=bool)
    unseen[found[valid]] = False
    rest = np.flatnonzero(unseen)
    best_lexical = best_topic = None
    model, query = lexical if lexical is not None else (None, None)
    if model is not None and query is not None and s.weight_lexical > 0:
        best_lexical = np.array([float(model.similarity(query, rest).max(initial=0.0))])
    topics = model.topics if model is not None else None
    if topics is not None and topic is not None and s.weight_topic > 0:
        best_topic = np.array([float(topics.similarity(topic, rest).max(initial=-1.0))])
    bound = relatedness(
        np.array([lowest]),
        best_lexical,
        s.weight_similarity,
        s.weight_lexical,
        best_topic,
        s.weight_topic,
    )
    return bool(bound[0] < s.min_relatedness)

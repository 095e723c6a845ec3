"""The one rule for "copies of one story" (wire copies, updates, reposts), in the two shapes the
ranker needs: one article against many, and all candidates pairwise.

Two articles are copies when their normalized titles are equal, when their cosine reaches
``dedupe_threshold``, or when it reaches the lower ``dedupe_window_threshold`` and they were
published within ``dedupe_window_days`` of each other.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from recommender.ranking.settings import SECONDS_PER_DAY, RankingSettings


def copy_rule(
    sims: np.ndarray, same_title: np.ndarray, time_gap: np.ndarray, s: RankingSettings
) -> np.ndarray:
    """The one definition of "copies of one story", for any shape of comparisons."""
    with np.errstate(invalid="ignore"):
        close = np.abs(time_gap) <= s.dedupe_window_days * SECONDS_PER_DAY
    near = sims >= s.dedupe_window_threshold
    return (sims >= s.dedupe_threshold) | same_title | (close & near)


def is_copy(
    a: tuple[np.ndarray, str, float],
    b_vecs: np.ndarray,
    b_titles: list[str],
    b_stamps: np.ndarray,
    s: RankingSettings,
) -> np.ndarray:
    """Which of b are copies of a = (vector, normalized title, timestamp)."""
    vec, title, stamp = a
    sims = b_vecs @ vec if len(b_vecs) else np.zeros(0)
    same_title = np.array([bool(title) and title == t for t in b_titles], dtype=bool)
    return copy_rule(sims, same_title, np.asarray(b_stamps) - stamp, s)


def copy_matrix(
    vecs: np.ndarray, titles: list[str], stamps: np.ndarray, s: RankingSettings
) -> np.ndarray:
    """Pairwise version of :func:`is_copy` (same rule), for the candidates at once."""
    sims = vecs @ vecs.T
    codes = {t: i for i, t in enumerate(dict.fromkeys(titles))}
    title_code = np.array([codes[t] if t else -1 - i for i, t in enumerate(titles)])
    same_title = title_code[:, None] == title_code[None, :]
    return copy_rule(sims, same_title, stamps[:, None] - stamps[None, :], s)


def copy_groups(copies: np.ndarray, skip: np.ndarray) -> list[list[int]]:
    """Stories among ranked candidates: the connected components of the copy graph (a copy of a
    copy is the same story), candidates in ``skip`` (copies of the source) left out; groups in
    the order of their best-ranked member, members in rank order.

    Components, not "join the first earlier group": with a, b, c where b copies a and c, c
    copies b but not a, joining the first group puts c alone and shows it beside b's group.
    """
    keep = np.flatnonzero(~np.asarray(skip, dtype=bool))
    if len(keep) == 0:
        return []
    sub = np.asarray(copies, dtype=bool)[np.ix_(keep, keep)]
    _, labels = connected_components(sp.csr_matrix(sub), directed=False)
    groups: dict[int, list[int]] = {}
    for position, label in zip(keep.tolist(), labels.tolist(), strict=True):
        groups.setdefault(label, []).append(position)
    return list(groups.values())

"""The one rule for "copies of one story" (wire copies, updates, reposts), in the two shapes the
ranker needs: one article against many, and all candidates pairwise.

Two articles are copies when their normalized titles are equal, when their dense cosine reaches
``dedupe_certain_threshold``, or when they share their wording (lexical cosine at least
``dedupe_min_lexical``; always, without lexical evidence) and their dense cosine reaches
``dedupe_threshold``, or reaches the lower ``dedupe_window_threshold`` and they were published
within ``dedupe_window_days`` of each other. The wording condition keeps
apart independent reports of one event (other outlets, same facts in other words: dense cosine
up to 0.9+, lexical cosine 0.3-0.5), which a reader may want side by side; copies, updates and
reposts reuse the text (benchmarks/copies.py).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from recommender.ranking.settings import SECONDS_PER_DAY, RankingSettings
from recommender.storage.lexical import LexicalModel


def copy_rule(
    sims: np.ndarray,
    same_title: np.ndarray,
    time_gap: np.ndarray,
    s: RankingSettings,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    """The one definition of "copies of one story", for any shape of comparisons;
    ``lexical``: the pairs' lexical cosine (None: no lexical evidence, the wording condition
    holds)."""
    with np.errstate(invalid="ignore"):
        close = np.abs(time_gap) <= s.dedupe_window_days * SECONDS_PER_DAY
    near = sims >= s.dedupe_window_threshold
    similar = (sims >= s.dedupe_threshold) | (close & near)
    if lexical is not None and s.dedupe_min_lexical > 0:
        worded = np.asarray(lexical) >= s.dedupe_min_lexical
        similar &= worded | (sims >= s.dedupe_certain_threshold)
    return similar | same_title


def is_copy(
    a: tuple[np.ndarray, str, float],
    b_vecs: np.ndarray,
    b_titles: list[str],
    b_stamps: np.ndarray,
    s: RankingSettings,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    """Which of b are copies of a = (vector, normalized title, timestamp); ``lexical``: a's
    lexical cosine with each b, when there is lexical evidence."""
    vec, title, stamp = a
    sims = b_vecs @ vec if len(b_vecs) else np.zeros(0)
    same_title = np.array([bool(title) and title == t for t in b_titles], dtype=bool)
    return copy_rule(sims, same_title, np.asarray(b_stamps) - stamp, s, lexical)


def copy_matrix(
    vecs: np.ndarray,
    titles: list[str],
    stamps: np.ndarray,
    s: RankingSettings,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    """Pairwise version of :func:`is_copy` (same rule), for the candidates at once;
    ``lexical``: their pairwise lexical cosines, when there is lexical evidence."""
    sims = vecs @ vecs.T
    codes = {t: i for i, t in enumerate(dict.fromkeys(titles))}
    title_code = np.array([codes[t] if t else -1 - i for i, t in enumerate(titles)])
    same_title = title_code[:, None] == title_code[None, :]
    return copy_rule(sims, same_title, stamps[:, None] - stamps[None, :], s, lexical)


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


def copy_lexical(
    model: LexicalModel | None, rows: np.ndarray, source: sp.csr_matrix | None, s: RankingSettings
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The wording evidence of the rule for candidate ``rows``: lexical cosine with the source
    and pairwise; (None, None) without lexical evidence or with the condition off."""
    if model is None or source is None or s.dedupe_min_lexical <= 0:
        return None, None
    sub = model.matrix[np.asarray(rows, dtype=np.int64)]
    with_source = np.asarray((sub @ source.T).todense()).ravel()
    return with_source, np.asarray((sub @ sub.T).todense())


def copy_lexical_one(
    model: LexicalModel | None,
    row: int,
    source: sp.csr_matrix | None,
    others: np.ndarray,
    s: RankingSettings,
) -> np.ndarray | None:
    """Lexical cosine of ``row`` with the source, then with each of ``others`` (the order of
    :func:`is_copy`'s b), or None as in :func:`copy_lexical`."""
    with_source, _ = copy_lexical(model, np.array([row]), source, s)
    if with_source is None or model is None:
        return None
    return np.concatenate([with_source, model.similarity(model.row(row), others)])

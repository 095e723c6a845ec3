"""The one rule for "copies of one story" (wire copies, updates, reposts), in the two shapes the
ranker needs: one article against many, and all candidates pairwise.

Two articles are copies when their normalized titles are equal (in the same news cycle,
undated, or with a repost's agreement in words: a recurring headline a year later is another
story); when their cosine reaches ``dedupe_threshold`` and their words agree too (TF-IDF
cosine at least ``dedupe_min_lexical``, whatever the time between them: a repost); when their
cosine reaches the lower ``dedupe_window_threshold``, they were published within
``dedupe_window_days`` of each other and their words agree at least
``dedupe_window_min_lexical`` (a wire copy or an update of the same news cycle); or, whatever
their words, when their cosine reaches ``dedupe_certain_threshold`` and they were published
within the window or one of them has no date (nothing tells a late follow-up from a copy then;
the labelled late follow-ups, months apart, reach 0.944).

Within the window the words matter too: other outlets' own reports of one event, the same day,
reach a dense cosine of 0.80-0.90 in other words (TF-IDF cosine 0.3-0.4 on ECB+), where a wire
copy or an update reuses the text (0.39 and up on the labelled pairs); collapsing them cost
same-thread recall on real story-labelled news (benchmarks/real_corpora.py).

The lexical condition keeps follow-ups apart: a story months later about the same companies
and people ("merger approved" after "merger agreed") can reach a dense cosine of 0.91 with the
default model, but it reports new facts in new words (TF-IDF cosine about 0.5), where a repost
or a wire copy repeats the words (0.7 to 0.97 on the labelled pairs of benchmarks/copies.py).
Without lexical evidence (an index without it, or a text without one indexed word), the dense
thresholds decide alone.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from recommender.ranking.settings import SECONDS_PER_DAY, RankingSettings


def copy_rule(
    sims: np.ndarray,
    same_title: np.ndarray,
    time_gap: np.ndarray,
    s: RankingSettings,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    """The one definition of "copies of one story", for any shape of comparisons;
    ``lexical``: TF-IDF cosines of the same pairs (None: no lexical evidence)."""
    gap = np.asarray(time_gap, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        close = np.abs(gap) <= s.dedupe_window_days * SECONDS_PER_DAY
    window = close & (sims >= s.dedupe_window_threshold)
    anytime = sims >= s.dedupe_threshold
    certain = (sims >= s.dedupe_certain_threshold) & (close | np.isnan(gap))
    titled = np.asarray(same_title, dtype=bool)
    if lexical is not None:
        anytime &= lexical >= s.dedupe_min_lexical
        window &= lexical >= s.dedupe_window_min_lexical
        # a recurring headline ("Excited to wear this spring", "Letters", "Weekly briefing")
        # months apart is another story: equal titles are one story in the same news cycle,
        # undated, or when the words agree as a repost's do
        titled = titled & ((close | np.isnan(gap)) | (lexical >= s.dedupe_min_lexical))
    return anytime | window | certain | titled


def is_copy(
    a: tuple[np.ndarray, str, float],
    b_vecs: np.ndarray,
    b_titles: list[str],
    b_stamps: np.ndarray,
    s: RankingSettings,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    """Which of b are copies of a = (vector, normalized title, timestamp); ``lexical``: the
    TF-IDF cosine of a with each b."""
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
    """Pairwise version of :func:`is_copy` (same rule), for the candidates at once."""
    sims = vecs @ vecs.T
    codes = {t: i for i, t in enumerate(dict.fromkeys(titles))}
    title_code = np.array([codes[t] if t else -1 - i for i, t in enumerate(titles)])
    same_title = title_code[:, None] == title_code[None, :]
    return copy_rule(sims, same_title, stamps[:, None] - stamps[None, :], s, lexical)


def lexical_pairs(
    matrix: sp.csr_matrix | None,
    rows: np.ndarray,
    source: sp.csr_matrix | None,
    to_source: np.ndarray,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """TF-IDF cosines of the source with each candidate row (``to_source``: what scoring
    already computed for ``rows``; None when the source has no lexical row) and of the
    candidates pairwise (None where the index has no lexical evidence). A text without a single
    indexed word (a title-only stub, a photo caption) has no lexical evidence either: its pairs
    read 1, so that the dense thresholds decide them alone."""
    if matrix is None:
        return None, None
    sub = matrix[np.asarray(rows, dtype=np.int64)]
    mute = np.diff(sub.indptr) == 0
    pairwise = np.asarray((sub @ sub.T).todense(), dtype=np.float64)
    pairwise[mute, :] = 1.0
    pairwise[:, mute] = 1.0
    if source is None:
        return None, pairwise
    with_source = np.array(to_source, dtype=np.float64)
    if source.nnz == 0:
        with_source[:] = 1.0
    with_source[mute] = 1.0
    return with_source, pairwise


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

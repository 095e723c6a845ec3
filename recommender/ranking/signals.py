"""The ranking layer: small pure functions, each signal normalized on its own, combined by
named weights. Every result carries each component's contribution.

score = w_similarity * cosine + w_lexical * lexical + w_topic * topic + w_recency * recency
        + w_category * same_category + w_tags * tags

- cosine: inner product of normalized embeddings, in [-1, 1];
- lexical: TF-IDF cosine, in [0, 1]; topic: cosine of the articles' topic vectors (their words'
  company across the site, ``storage/topics.py``), in [-1, 1];
- recency: 0.5 ** (age_days / half_life_days) in [0, 1]; age is measured against ``now`` or
  against the source article's date (``source``: the distance in either direction); an undated
  article has recency 0 (no evidence of freshness);
- same_category: 1 when the candidate's category equals the source's (case-insensitive), else 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from recommender.ranking.settings import SECONDS_PER_DAY


def recency_scores(
    timestamps: np.ndarray,
    reference: float,
    half_life_days: float,
    *,
    symmetric: bool,
    evergreen: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(recency in [0, 1], age in days) for POSIX ``timestamps`` against ``reference``.

    ``symmetric``: distance in either direction (reference = the source's date); otherwise
    articles from the future count as age 0. Undated (NaN) articles get recency 0, age NaN.
    Evergreen articles get recency 1 whatever their age.
    """
    delta_days = (reference - timestamps) / SECONDS_PER_DAY
    age = np.abs(delta_days) if symmetric else np.maximum(delta_days, 0.0)
    with np.errstate(invalid="ignore"):
        scores = np.power(0.5, age / half_life_days)
    scores = np.nan_to_num(scores, nan=0.0)
    if evergreen is not None:
        scores = np.where(evergreen, 1.0, scores)
    return scores, age


def category_scores(categories: np.ndarray, source_category: int) -> np.ndarray:
    """1.0 where a candidate's category code equals the source's (a source without one: 0)."""
    if source_category < 0:
        return np.zeros(len(categories), dtype=np.float64)
    return (categories == source_category).astype(np.float64)


def tag_scores(
    source_tags: Sequence[str],
    candidate_tags: Sequence[Sequence[str]],
    tag_idf: Mapping[str, float],
) -> tuple[np.ndarray, list[list[str]]]:
    """Share of the source's tag weight each candidate shares, and the shared tags.

    A tag's weight is its idf, log(1 + N / df): a tag on three articles says more than one on
    half the site. Score = sum of shared tags' weights / sum of the source's tags' weights.
    """
    weights = {t.casefold(): tag_idf.get(t.casefold(), 0.0) for t in source_tags}
    total = sum(weights.values())
    scores = np.zeros(len(candidate_tags), dtype=np.float64)
    shared_lists: list[list[str]] = []
    for i, tags in enumerate(candidate_tags):
        shared = [t for t in tags if t.casefold() in weights]
        shared_lists.append(shared)
        if total > 0 and shared:
            scores[i] = sum(weights[t.casefold()] for t in set(shared)) / total
    return scores, shared_lists


def relatedness(
    cosine: np.ndarray,
    lexical: np.ndarray | None,
    w_similarity: float,
    w_lexical: float,
    topic: np.ndarray | None = None,
    w_topic: float = 0.0,
) -> np.ndarray:
    """The content evidence the relatedness floor reads: the weighted mean of the dense cosine
    and the lexical and topic cosines that are present (None: no such evidence), in [-1, 1];
    the dense cosine alone when no other evidence carries weight."""
    parts = [(np.asarray(cosine, dtype=np.float64), max(w_similarity, 0.0))]
    for values, weight in ((lexical, w_lexical), (topic, w_topic)):
        if values is not None and weight > 0:
            parts.append((np.asarray(values, dtype=np.float64), weight))
    total = sum(weight for _, weight in parts)
    if len(parts) == 1 or total <= 0:
        return parts[0][0]
    return np.sum([weight * values for values, weight in parts], axis=0) / total


def combine(
    components: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weighted sum of normalized components: (total, each component's contribution)."""
    contributions = {
        name: weights[name] * np.asarray(values) for name, values in components.items()
    }
    total = np.sum(list(contributions.values()), axis=0)
    return total, contributions


def mmr_order(
    scores: np.ndarray, similarity: np.ndarray, k: int, lam: float
) -> tuple[list[int], list[float]]:
    """Maximal marginal relevance: greedily pick ``argmax lam*score - (1-lam)*max sim to picked``.

    ``similarity`` is the candidates' pairwise similarity matrix. Returns picked positions and
    each pick's redundancy penalty (``(1-lam) * max sim``, 0 for the first).
    """
    picked: list[int] = []
    penalties: list[float] = []
    remaining = list(range(len(scores)))
    max_sim = np.full(len(scores), -np.inf)
    while remaining and len(picked) < k:
        redundancy = np.where(np.isfinite(max_sim[remaining]), max_sim[remaining], 0.0)
        value = lam * scores[remaining] - (1.0 - lam) * redundancy
        best = remaining[int(np.argmax(value))]
        picked.append(best)
        penalties.append(float((1.0 - lam) * (max_sim[best] if np.isfinite(max_sim[best]) else 0)))
        remaining.remove(best)
        max_sim = np.maximum(max_sim, similarity[best])
    return picked, penalties

"""The ranking layer: small pure functions, each signal normalized on its own, combined by
named weights. Every result carries each component's contribution.

score = w_similarity * cosine + w_recency * recency + w_category * same_category

- cosine: inner product of normalized embeddings, in [-1, 1];
- recency: 0.5 ** (age_days / half_life_days) in [0, 1]; age is measured against ``now`` or
  against the source article's date (``source``: the distance in either direction); an undated
  article has recency 0 (no evidence of freshness);
- same_category: 1 when the candidate's category equals the source's (case-insensitive), else 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from recommender.errors import SettingsError
from recommender.options import check_names, coerce_fields, field_options

SECONDS_PER_DAY = 86_400.0
RecencyReference = Literal["source", "now"]


@dataclass(frozen=True)
class RankingSettings:
    """Named, documented knobs (``[ranking]`` in ``recommender.toml``; per call as keywords).

    Defaults: similarity leads; lexical evidence, recency, category and tags adjust. A related
    story typically has dense cosine 0.45-0.75 with all-MiniLM-L6-v2, an unrelated one
    0.0-0.25; the adjustments reorder close calls without lifting an unrelated story over a
    related one. See README ("How ranking works") for how the defaults were chosen.
    """

    # -- weights of the normalized components
    weight_similarity: float = 1.0
    """Dense cosine of the embeddings, in [-1, 1]."""
    weight_lexical: float = 1.0
    """TF-IDF cosine (names counted double), in [0, 1]."""
    weight_recency: float = 0.10
    """0.5 ** (age / half_life), in [0, 1]."""
    weight_category: float = 0.05
    """1 when the candidate shares the source's category."""
    weight_tags: float = 0.05
    """Share of the source's tag weight (rare tags weigh more) the candidate shares, in [0, 1]."""

    # -- recency
    half_life_days: float = 90.0
    recency_reference: RecencyReference = "source"
    """Age measured against the source article's date ("source") or the current time ("now")."""
    max_age_days: float | None = None
    """Hard window: nothing older than this (against the reference point)."""
    only_older: bool = False
    """Only articles published before the source ("see also from the archive")."""
    only_newer: bool = False
    """Only articles published after the source (follow-ups)."""
    evergreen_tag: str | None = "evergreen"
    """Articles with this tag (or a true ``evergreen`` field) are exempt from decay and max age."""

    # -- category, tags, language
    same_category_only: bool = False
    categories_allow: tuple[str, ...] = ()
    """If not empty, only these categories may be recommended."""
    categories_deny: tuple[str, ...] = ()
    min_shared_tags: int = 0
    same_language: bool = True
    """When both articles carry a language, they must match."""

    # -- duplicates and diversity
    dedupe: bool = True
    dedupe_threshold: float = 0.92
    """Dense cosine at or above which two articles are one story (reposts, copies)."""
    dedupe_window_threshold: float = 0.80
    """A lower cosine that also makes two articles one story when published close together
    (wire copies and updates of the same news cycle; follow-ups weeks later stay apart)."""
    dedupe_window_days: float = 2.0
    mmr_lambda: float = 1.0
    """Maximal marginal relevance: 1 = pure relevance, lower = more diverse lists."""

    # -- fallback and candidates
    fallback: tuple[str, ...] = ("same_category", "recent")
    """Fill order when filters leave fewer than k: recent in the source's category, then recent."""
    candidate_pool: int = 100
    """Nearest neighbours fetched before re-ranking (grown automatically when filters bite)."""

    def __post_init__(self) -> None:
        coerce_fields(self)  # config files, query strings and JSON are untyped
        if self.half_life_days <= 0:
            raise SettingsError("half_life_days must be positive")
        if self.recency_reference not in ("source", "now"):
            raise SettingsError("recency_reference must be 'source' or 'now'")
        if self.candidate_pool < 1:
            raise SettingsError("candidate_pool must be at least 1")
        for f in dataclasses.fields(self):
            if f.name.startswith("weight_") and getattr(self, f.name) < 0:
                raise SettingsError(f"{f.name} must not be negative")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise SettingsError("mmr_lambda must be between 0 and 1")
        if self.max_age_days is not None and self.max_age_days < 0:
            raise SettingsError("max_age_days must not be negative")
        if self.only_older and self.only_newer:
            raise SettingsError("only_older and only_newer exclude each other")
        if self.min_shared_tags < 0:
            raise SettingsError("min_shared_tags must not be negative")
        unknown = set(self.fallback) - {"same_category", "recent"}
        if unknown:
            raise SettingsError(f"unknown fallback(s) {sorted(unknown)}: use same_category, recent")

    def replace(self, **options: Any) -> RankingSettings:
        """A copy with some settings changed; unknown names are an error."""
        check_names(RankingSettings, options)
        return dataclasses.replace(self, **options)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, strict: bool = False) -> RankingSettings:
        known = field_options(cls)
        if strict:
            check_names(cls, data)
        return cls(**{k: v for k, v in data.items() if k in known})


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

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
    dedupe_threshold: float = 0.90
    """Dense cosine at or above which two articles are one story (reposts, copies)."""
    dedupe_window_threshold: float = 0.80
    """A lower cosine that also makes two articles one story when published close together
    (wire copies and updates of the same news cycle; follow-ups and replies that quote the
    story, days later, stay apart). Thresholds and window chosen on labelled pairs
    (benchmarks/copies.py)."""
    dedupe_window_days: float = 1.0
    mmr_lambda: float = 1.0
    """Maximal marginal relevance: 1 = pure relevance, lower = more diverse lists."""

    # -- relatedness floor, fallback and candidates
    min_relatedness: float = 0.175
    """The floor: a candidate whose relatedness (the content evidence: weighted mean of dense
    cosine and lexical cosine, ``why.relatedness``) is below it is not shown, so a list may
    be shorter than k, or empty. Calibrated on Lee50's human ratings and the demo gold set
    (README, "The relatedness floor"); -1 turns it off."""
    fallback: tuple[str, ...] = ()
    """Fill order when filters or the floor leave fewer than k, only if the site asks for it
    (e.g. ``["same_category", "recent"]``: recent in the source's category, then recent); the
    filled results are marked ``why.fallback`` and need not clear the floor."""
    candidate_pool: int = 100
    """Nearest neighbours fetched before re-ranking (grown automatically when filters bite)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, f.type, getattr(self, f.name)))
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if self.recency_reference not in ("source", "now"):
            raise ValueError("recency_reference must be 'source' or 'now'")
        if self.candidate_pool < 1:
            raise ValueError("candidate_pool must be at least 1")
        for f in dataclasses.fields(self):
            if f.name.startswith("weight_") and getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must not be negative")
        if self.max_age_days is not None and self.max_age_days < 0:
            raise ValueError("max_age_days must not be negative")
        if self.only_older and self.only_newer:
            raise ValueError("only_older and only_newer exclude each other")
        self._check_ranges()

    def _check_ranges(self) -> None:
        if self.min_shared_tags < 0:
            raise ValueError("min_shared_tags must not be negative")
        for name in ("min_relatedness", "mmr_lambda"):
            low = -1.0 if name == "min_relatedness" else 0.0
            if not low <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between {low:g} and 1")
        unknown = set(self.fallback) - {"same_category", "recent"}
        if unknown:
            raise ValueError(f"unknown fallback(s) {sorted(unknown)}: use same_category, recent")

    def replace(self, **options: Any) -> RankingSettings:
        """A copy with some settings changed; unknown names are an error."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown ranking option(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **options)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, strict: bool = False) -> RankingSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        if strict and set(data) - known:
            raise ValueError(f"unknown ranking option(s): {', '.join(sorted(set(data) - known))}")
        return cls(**{k: v for k, v in data.items() if k in known})


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    """Check a setting's type (config files and query strings are untyped) and normalize it."""
    kind = str(annotation)
    if value is None and "None" in kind:
        return None
    if kind.startswith("tuple"):
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} must be a list of strings")
        return tuple(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        return value
    if kind.startswith("str") or kind == "RecencyReference":
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return value
    return value


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
    cosine: np.ndarray, lexical: np.ndarray | None, w_similarity: float, w_lexical: float
) -> np.ndarray:
    """The content evidence the floor reads: (w_s * cosine + w_l * lexical) / (w_s + w_l),
    in [-1, 1]; the dense cosine alone when there is no lexical evidence or no weight."""
    if lexical is None or w_lexical <= 0 or w_similarity + w_lexical <= 0:
        return np.asarray(cosine, dtype=np.float64)
    total = w_similarity + w_lexical
    return (w_similarity * np.asarray(cosine) + w_lexical * np.asarray(lexical)) / total


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

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
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

SECONDS_PER_DAY = 86_400.0
RecencyReference = Literal["source", "now"]


@dataclass(frozen=True)
class RankingSettings:
    """Named, documented knobs. Defaults: similarity leads; recency and category adjust.

    A related story typically has cosine 0.45-0.75 with all-MiniLM-L6-v2, an unrelated one
    0.0-0.25; recency (at most 0.10) and category (0.05) reorder close calls without lifting an
    unrelated story over a related one.
    """

    weight_similarity: float = 1.0
    weight_recency: float = 0.10
    weight_category: float = 0.05
    half_life_days: float = 90.0
    recency_reference: RecencyReference = "source"
    candidate_pool: int = 100
    """Nearest neighbours fetched before re-ranking (grown automatically when filters bite)."""

    def __post_init__(self) -> None:
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if self.recency_reference not in ("source", "now"):
            raise ValueError("recency_reference must be 'source' or 'now'")
        if self.candidate_pool < 1:
            raise ValueError("candidate_pool must be at least 1")
        for name in ("weight_similarity", "weight_recency", "weight_category"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def replace(self, **options: Any) -> RankingSettings:
        """A copy with some settings changed; unknown names are an error."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown ranking option(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **options)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RankingSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def recency_scores(
    timestamps: np.ndarray,
    reference: float,
    half_life_days: float,
    *,
    symmetric: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(recency in [0, 1], age in days) for POSIX ``timestamps`` against ``reference``.

    ``symmetric``: distance in either direction (reference = the source's date); otherwise
    articles from the future count as age 0. Undated (NaN) articles get recency 0, age NaN.
    """
    delta_days = (reference - timestamps) / SECONDS_PER_DAY
    age = np.abs(delta_days) if symmetric else np.maximum(delta_days, 0.0)
    with np.errstate(invalid="ignore"):
        scores = np.power(0.5, age / half_life_days)
    return np.nan_to_num(scores, nan=0.0), age


def category_scores(categories: np.ndarray, source_category: int) -> np.ndarray:
    """1.0 where a candidate's category code equals the source's (a source without one: 0)."""
    if source_category < 0:
        return np.zeros(len(categories), dtype=np.float64)
    return (categories == source_category).astype(np.float64)


def combine(
    components: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Weighted sum of normalized components: (total, each component's contribution)."""
    contributions = {name: weights[name] * np.asarray(values) for name, values in components.items()}
    total = np.sum(list(contributions.values()), axis=0)
    return total, contributions


@dataclass(frozen=True)
class Source:
    """What the ranking needs to know about the article we recommend for."""

    row: int | None  # None for a draft that is not in the index
    timestamp: float  # POSIX seconds; NaN when undated
    category: int  # category code, -1 none


@dataclass(frozen=True)
class Ranked:
    """One scored candidate, before the engine attaches article fields."""

    row: int
    score: float
    why: dict[str, Any]


def score_candidates(
    rows: np.ndarray,
    cosine: np.ndarray,
    *,
    timestamps: np.ndarray,
    categories: np.ndarray,
    source: Source,
    settings: RankingSettings,
    now: float | None = None,
) -> list[Ranked]:
    """Score candidate rows and return them best first (ties broken by row for stability)."""
    if settings.recency_reference == "source" and not np.isnan(source.timestamp):
        reference, symmetric = source.timestamp, True
    else:
        reference = now if now is not None else dt.datetime.now(dt.timezone.utc).timestamp()
        symmetric = False
    recency, age = recency_scores(
        timestamps[rows], reference, settings.half_life_days, symmetric=symmetric
    )
    same_category = category_scores(categories[rows], source.category)
    total, parts = combine(
        {"similarity": cosine, "recency": recency, "category": same_category},
        {
            "similarity": settings.weight_similarity,
            "recency": settings.weight_recency,
            "category": settings.weight_category,
        },
    )
    order = np.lexsort((rows, -total))
    ranked = []
    for i in order:
        why = {
            "contributions": {name: round(float(v[i]), 6) for name, v in parts.items()},
            "cosine": round(float(cosine[i]), 6),
            "age_days": None if np.isnan(age[i]) else round(float(age[i]), 2),
            "age_reference": "source" if symmetric else "now",
            "same_category": bool(same_category[i]),
        }
        ranked.append(Ranked(row=int(rows[i]), score=float(total[i]), why=why))
    return ranked

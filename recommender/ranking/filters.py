"""Eligibility filters as boolean masks over all rows (vectorized, pure).

Two kinds, because the fallback treats them differently:
- *hard* filters are never relaxed: category allow/deny lists, blocked categories, language;
- *soft* filters express relevance wishes and are relaxed by the fallback when they leave
  fewer than k articles: time windows, same category only, minimum shared tags.
A filter that is not active returns ``None`` so the common case costs nothing at a million rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from recommender.ranking import SECONDS_PER_DAY, RankingSettings
from recommender.storage.store import Columns


@dataclass(frozen=True)
class FilterSource:
    timestamp: float  # NaN when undated
    category: int  # -1 none, -2 unknown to the index
    language: int  # -1 none, -2 unknown to the index
    tags: tuple[str, ...]


def _and(mask: np.ndarray | None, other: np.ndarray) -> np.ndarray:
    return other if mask is None else mask & other


def category_codes(columns: Columns, names: Iterable[str]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(columns.category_names)}
    return np.array([lookup[n.casefold()] for n in names if n.casefold() in lookup], dtype=np.int32)


def hard_mask(
    columns: Columns,
    source: FilterSource,
    settings: RankingSettings,
    blocked_categories: Iterable[str] = (),
) -> tuple[np.ndarray | None, list[str]]:
    """(mask or None, descriptions of the active filters)."""
    mask: np.ndarray | None = None
    active: list[str] = []
    if settings.categories_allow:
        allowed = category_codes(columns, settings.categories_allow)
        mask = _and(mask, np.isin(columns.categories, allowed))
        active.append(f"categories_allow={','.join(settings.categories_allow)}")
    denied_names = [*settings.categories_deny, *blocked_categories]
    if denied_names:
        denied = category_codes(columns, denied_names)
        if len(denied):
            mask = _and(mask, ~np.isin(columns.categories, denied))
            active.append(f"categories_deny={','.join(sorted(set(denied_names)))}")
    if settings.same_language and source.language != -1 and len(columns.language_names) > 1:
        mask = _and(mask, (columns.languages == source.language) | (columns.languages == -1))
        active.append("same_language")
    elif settings.same_language and source.language == -2:
        mask = _and(mask, columns.languages == -1)
        active.append("same_language")
    return mask, active


def soft_mask(
    columns: Columns,
    source: FilterSource,
    settings: RankingSettings,
    *,
    now: float,
    evergreen: np.ndarray,
) -> tuple[np.ndarray | None, list[str]]:
    """(mask or None, descriptions). Undated articles fail every time window they can't prove."""
    mask: np.ndarray | None = None
    active: list[str] = []
    stamps = columns.timestamps
    dated_source = not np.isnan(source.timestamp)
    if settings.same_category_only and source.category != -1:
        mask = _and(mask, columns.categories == source.category)
        active.append("same_category_only")
    if settings.max_age_days is not None:
        use_source = settings.recency_reference == "source" and dated_source
        reference = source.timestamp if use_source else now
        with np.errstate(invalid="ignore"):
            age = np.abs(reference - stamps) if use_source else reference - stamps
            fresh = age <= settings.max_age_days * SECONDS_PER_DAY
        mask = _and(mask, fresh | evergreen)
        active.append(f"max_age_days={settings.max_age_days:g}")
    if settings.only_older or settings.only_newer:
        pivot = source.timestamp if dated_source else now
        with np.errstate(invalid="ignore"):
            window = stamps < pivot if settings.only_older else stamps > pivot
        mask = _and(mask, window)
        active.append("only_older" if settings.only_older else "only_newer")
    if settings.min_shared_tags > 0:
        counts = np.zeros(len(stamps), dtype=np.int32)
        for tag in {t.casefold() for t in source.tags}:
            rows = columns.tag_rows.get(tag)
            if rows is not None:
                counts[rows] += 1
        mask = _and(mask, counts >= settings.min_shared_tags)
        active.append(f"min_shared_tags={settings.min_shared_tags}")
    return mask, active

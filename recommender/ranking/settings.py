"""Ranking settings: every knob of the ranking layer, typed, range-checked and documented."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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

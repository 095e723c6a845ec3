"""Typed results: what a related-articles query returns, and why each result is there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recommender.articles import Article
from recommender.urls import safe_href

COMPONENTS = ("similarity", "lexical", "topic", "recency", "category", "tags")
"""The named score components, in the order explanations list them."""


@dataclass(frozen=True)
class Why:
    """The explanation of one result: each component's contribution and what acted on it.

    ``contributions`` sum to the result's score (before pins move it). The optional fields are
    set only when they acted: ``filters`` (hard/soft filters that narrowed the candidates),
    ``collapsed`` (ids of copies of this story that were folded into it), ``mmr_penalty``
    (diversity), ``fallback`` (which fallback filled this slot), ``rules`` (editorial rules).
    """

    contributions: Mapping[str, float]
    cosine: float
    lexical: float
    relatedness: float = 0.0
    """What the relatedness floor read: weighted mean of the cosine, lexical and topic
    evidence (see settings)."""
    topic: float = 0.0
    """Topic cosine: the two articles' words keep company across the site (storage/topics.py)."""
    shared_terms: tuple[str, ...] = ()
    shared_tags: tuple[str, ...] = ()
    same_category: bool = False
    age_days: float | None = None
    age_reference: str = "source"
    filters: tuple[str, ...] = ()
    collapsed: tuple[str, ...] = ()
    mmr_penalty: float | None = None
    fallback: str | None = None
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``why`` in the CLI's ``--json``, the HTTP API and the export."""
        out: dict[str, Any] = {
            "contributions": dict(self.contributions),
            "cosine": self.cosine,
            "lexical": self.lexical,
            "topic": self.topic,
            "relatedness": self.relatedness,
            "shared_terms": list(self.shared_terms),
            "shared_tags": list(self.shared_tags),
            "same_category": self.same_category,
            "age_days": self.age_days,
            "age_reference": self.age_reference,
        }
        if self.filters:
            out["filters"] = list(self.filters)
        if self.collapsed:
            out["collapsed"] = list(self.collapsed)
        if self.mmr_penalty:
            out["mmr_penalty"] = self.mmr_penalty
        if self.fallback is not None:
            out["fallback"] = self.fallback
        if self.rules:
            out["rules"] = list(self.rules)
        return out

    def summary(self) -> str:
        """One short line a person can read: the components that counted, and what acted."""
        parts = [
            f"{name[:3]} {value:+.2f}"
            for name, value in self.contributions.items()
            if abs(value) >= 0.005
        ]
        if self.shared_terms:
            parts.append("terms: " + ", ".join(self.shared_terms[:3]))
        if self.shared_tags:
            parts.append("tags: " + ", ".join(self.shared_tags[:3]))
        if self.fallback:
            parts.append(f"fallback: {self.fallback}")
        for name, values in (("rules", self.rules), ("collapsed", self.collapsed)):
            if values:
                parts.append(f"{name}: {', '.join(values)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Recommendation:
    """One recommended article, its score, and why it is here."""

    article: Article
    score: float
    why: Why

    @property
    def id(self) -> str:
        return self.article.id

    @property
    def title(self) -> str:
        return self.article.title

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the CLI, HTTP API and exporter share."""
        a = self.article
        return {
            "id": a.id,
            "title": a.title,
            "url": safe_href(a.url),  # indexes built before the URL rule too
            "published_at": a.published_at.isoformat() if a.published_at else None,
            "category": a.category,
            "tags": list(a.tags),
            "score": round(self.score, 6),
            "why": self.why.to_dict(),
        }

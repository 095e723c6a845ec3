"""Typed results: what a related-articles query returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recommender.articles import Article
from recommender.urls import safe_href


@dataclass(frozen=True)
class Recommendation:
    """One recommended article, its score, and why it is here."""

    article: Article
    score: float
    why: dict[str, Any] = field(default_factory=dict)

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
            "why": self.why,
        }

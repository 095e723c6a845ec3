"""recommender: related-article engine for news sites ("Read more", done properly)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recommender._version import __version__

if TYPE_CHECKING:
    from recommender.articles import Article
    from recommender.engine import Engine
    from recommender.results import Recommendation

__all__ = ["Article", "Engine", "Recommendation", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that `recommender --help` does not pay for faiss and numpy.
    if name == "Article":
        from recommender.articles import Article

        return Article
    if name == "Engine":
        from recommender.engine import Engine

        return Engine
    if name == "Recommendation":
        from recommender.results import Recommendation

        return Recommendation
    raise AttributeError(f"module 'recommender' has no attribute {name!r}")

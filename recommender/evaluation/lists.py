"""Properties of recommendation lists that relevance metrics do not see.

- coverage: share of the catalog that appears in at least one list (a box that always shows
  the same ten articles has low coverage);
- median age: median distance in days between a recommended article's date and its source's
  (pairs where both are dated);
- intra-list similarity: mean pairwise cosine among each list's results, averaged over lists
  with two or more results (high = a list of near-identical stories);
- near-duplicate exposure: share of lists holding an article whose cosine with the source, or
  with another result of the same list, is at least the threshold (wire copies, updates);
- same category: share of results in their source's category (sources with a category).

Vectors are the engine's embeddings, so lists from any method are measured in one space.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.articles import Article

if TYPE_CHECKING:
    from recommender.engine import Engine

NEAR_DUPLICATE = 0.92
"""Cosine at or above which two articles count as copies of one story (the ranking layer's
default ``dedupe_threshold``)."""

VectorsOf = Callable[[Sequence[str]], np.ndarray]
ArticleOf = Callable[[str], Article]


@dataclass(frozen=True)
class ListProperties:
    lists: int
    catalog_size: int
    coverage: float
    median_age_days: float | None
    intra_list_similarity: float | None
    near_duplicate_share: float
    near_duplicate_threshold: float
    same_category_share: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_properties(
    lists: Mapping[str, Sequence[str]],
    *,
    article_of: ArticleOf,
    vectors_of: VectorsOf,
    catalog_size: int,
    near_duplicate: float = NEAR_DUPLICATE,
) -> ListProperties:
    """Measure ``lists`` (source id -> recommended ids, in order)."""
    if catalog_size < 1:
        raise ValueError("catalog_size must be at least 1")
    shown: set[str] = set()
    ages: list[float] = []
    intra: list[float] = []
    with_duplicates = 0
    same_category = in_scope = 0
    for source_id, recommended in lists.items():
        recommended = list(recommended)
        shown.update(recommended)
        source = article_of(source_id)
        results = [article_of(r) for r in recommended]
        for r in results:
            if source.published_at and r.published_at:
                ages.append(abs((source.published_at - r.published_at).total_seconds()) / 86_400)
        if source.category:
            in_scope += len(results)
            wanted = source.category.casefold()
            same_category += sum(1 for r in results if (r.category or "").casefold() == wanted)
        if not recommended:
            continue
        vecs = vectors_of([source_id, *recommended])
        sims = vecs @ vecs.T
        upper = np.triu_indices(len(vecs), k=1)  # source-result and result-result pairs
        if (sims[upper] >= near_duplicate).any():
            with_duplicates += 1
        if len(recommended) >= 2:
            among = sims[1:, 1:]
            intra.append(float(among[np.triu_indices(len(recommended), k=1)].mean()))
    n_lists = len(lists)
    return ListProperties(
        lists=n_lists,
        catalog_size=catalog_size,
        coverage=len(shown) / catalog_size,
        median_age_days=float(statistics.median(ages)) if ages else None,
        intra_list_similarity=float(np.mean(intra)) if intra else None,
        near_duplicate_share=with_duplicates / n_lists if n_lists else 0.0,
        near_duplicate_threshold=near_duplicate,
        same_category_share=same_category / in_scope if in_scope else None,
    )


def engine_lookups(engine: Engine) -> tuple[ArticleOf, VectorsOf]:
    """Article and vector look-ups by id over an engine's index (articles cached)."""
    cache: dict[str, Article] = {}

    def article_of(article_id: str) -> Article:
        if article_id not in cache:
            cache[article_id] = engine.article(article_id)
        return cache[article_id]

    def vectors_of(ids: Sequence[str]) -> np.ndarray:
        return engine.vectors(ids)

    return article_of, vectors_of

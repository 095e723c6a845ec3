"""What a list is ranked for: an indexed article (its stored vector and columns) or a draft
(embedded by the caller), and what the ranker hands back before article fields are attached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.articles import Article
from recommender.errors import UnknownArticleError
from recommender.results import Why
from recommender.storage.index import VectorIndex
from recommender.storage.lexical import LexicalModel
from recommender.storage.store import Store, normalize_title


@dataclass(frozen=True)
class Source:
    """The article we recommend for: indexed (row set) or a draft (row None)."""

    vector: np.ndarray
    row: int | None = None
    id: str | None = None
    timestamp: float = float("nan")
    category: int = -1
    language: int = -1
    tags: tuple[str, ...] = ()
    norm_title: str = ""
    lexical: sp.csr_matrix | None = None
    topic: np.ndarray | None = None


@dataclass(frozen=True)
class Ranked:
    """One result before the engine attaches article fields."""

    row: int
    score: float
    why: Why


def indexed_source(
    store: Store, index: VectorIndex, lexical: LexicalModel | None, article_id: str
) -> Source:
    """The source for an indexed article, from its stored vector and columns."""
    row = store.row_of(article_id)
    if row is None:
        raise UnknownArticleError(article_id)
    cols = store.columns
    return Source(
        vector=index.vectors(np.array([row]))[0],
        row=row,
        id=article_id,
        timestamp=float(cols.timestamps[row]),
        category=int(cols.categories[row]),
        language=int(cols.languages[row]),
        tags=cols.tags[row],
        norm_title=cols.norm_titles[row],
        lexical=lexical.row(row) if lexical is not None else None,
        topic=None if lexical is None or lexical.topics is None else lexical.topics.vectors[row],
    )


def draft_source(
    store: Store, lexical: LexicalModel | None, article: Article, vector: np.ndarray, text: str
) -> Source:
    """The source for a draft (or an article given in full), embedded by the caller."""
    stamp = article.published_at.timestamp() if article.published_at else float("nan")
    row = lexical.transform([text]) if lexical is not None else None
    topics = lexical.topics if lexical is not None else None
    return Source(
        vector=vector,
        row=store.row_of(article.id) if article.id else None,
        id=article.id or None,
        timestamp=stamp,
        category=store.category_code(article.category),
        language=store.language_code(article.language),
        tags=article.tags,
        norm_title=normalize_title(article.title),
        lexical=row,
        topic=topics.project(row)[0] if topics is not None and row is not None else None,
    )

"""Shared pieces of the relevance research scripts (floor.py, ...): cached embeddings and the
engine's two content signals on Lee50 and the demo corpus, as plain matrices.

Embeddings go through the engine's embedding cache (``--cache``, default
``/tmp/recommender-bench-cache.sqlite``), so re-running a study costs no model time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.articles import Article
from recommender.demo import demo_articles_path, demo_gold_path
from recommender.encoder import EmbeddingCache, Encoder, embed_texts
from recommender.evaluation.gold import load_gold
from recommender.evaluation.lee import LeeData, lee_articles, load_lee
from recommender.loaders import load_articles
from recommender.storage.lexical import LexicalModel
from recommender.text import article_text, lexical_text

DEFAULT_CACHE = Path("/tmp/recommender-bench-cache.sqlite")


@dataclass(frozen=True)
class Signals:
    """Pairwise dense cosine, lexical (TF-IDF) cosine and topic cosine of one collection."""

    ids: list[str]
    dense: np.ndarray
    lexical: np.ndarray
    vectors: np.ndarray
    topic: np.ndarray

    def content(
        self, w_dense: float = 1.0, w_lexical: float = 1.0, w_topic: float = 0.0
    ) -> np.ndarray:
        """The relatedness the floor reads: the weighted mean of the three."""
        total = w_dense * self.dense + w_lexical * self.lexical + w_topic * self.topic
        return total / (w_dense + w_lexical + w_topic)


def embed(encoder: Encoder, texts: Sequence[str], cache: Path | None = DEFAULT_CACHE) -> np.ndarray:
    store = EmbeddingCache(cache) if cache else None
    try:
        vectors, _ = embed_texts(encoder, list(texts), store)
    finally:
        if store:
            store.close()
    return vectors


def signals(
    encoder: Encoder,
    articles: Sequence[Article],
    background: Sequence[str] = (),
    cache: Path | None = DEFAULT_CACHE,
) -> Signals:
    vectors = embed(encoder, [article_text(a) for a in articles], cache)
    lexical = LexicalModel.fit([lexical_text(a) for a in articles], background)
    lex = (lexical.matrix @ lexical.matrix.T).toarray().astype(np.float64)
    dense = (vectors @ vectors.T).astype(np.float64)
    assert lexical.topics is not None
    topic = (lexical.topics.vectors @ lexical.topics.vectors.T).astype(np.float64)
    return Signals([a.id for a in articles], dense, lex, vectors, topic)


def lee(encoder: Encoder, cache: Path | None = DEFAULT_CACHE) -> tuple[LeeData, Signals]:
    data = load_lee()
    return data, signals(encoder, lee_articles(data), data.background, cache)


def demo(
    encoder: Encoder, cache: Path | None = DEFAULT_CACHE
) -> tuple[list[Article], dict[str, list[str]], Signals]:
    articles = load_articles([demo_articles_path()])
    gold = load_gold(demo_gold_path()).as_dict()
    return articles, gold, signals(encoder, articles, (), cache)

"""The Lee50 data set, as shipped in gensim's test data.

Lee, Pincombe & Welsh (2005): 50 short news documents (Australian Broadcasting Corporation),
every pair rated for similarity by about ten students each; ``similarities0-1.txt`` holds the
mean rating of each pair scaled to [0, 1] in its upper triangle (i < j; 1,225 pairs).
``lee_background.cor`` holds 300 more documents from the same source: extra corpus for
statistics (idf, LSI topics), never queries or pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.articles import Article
from recommender.evaluation import require
from recommender.evaluation.metrics import (
    correlations,
    graded_qrels,
    ranking_metrics,
    run_from_lists,
)
from recommender.evaluation.pairs import PairScores

REFERENCE_PEARSON = {"LSA": 0.60, "ESA": 0.72}
"""LSA: Lee et al. 2005; ESA (Wikipedia concepts): Gabrilovich & Markovitch 2007."""

DOCUMENT_COUNT = 50
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


@dataclass(frozen=True)
class LeeData:
    """The 50 documents, their mean ratings (symmetric, diagonal 1) and the background corpus."""

    documents: tuple[str, ...]
    ratings: np.ndarray
    background: tuple[str, ...]

    @property
    def ids(self) -> list[str]:
        return [lee_id(i) for i in range(len(self.documents))]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of the rated pairs (upper triangle, i < j)."""
        return np.triu_indices(len(self.documents), k=1)

    def pair_ratings(self) -> np.ndarray:
        return self.ratings[self.pairs()]


def lee_id(i: int) -> str:
    return f"lee-{i:02d}"


def data_folder() -> Path:
    require("gensim")
    from gensim.test.utils import datapath

    return Path(datapath("lee.cor")).parent


def _read_lines(path: Path) -> list[str]:
    # lee.cor is Latin-1 (one byte 0xA3, a pound sign); lee_background.cor is plain ASCII.
    text = path.read_text(encoding="latin-1")
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_lee(folder: Path | None = None) -> LeeData:
    """Read Lee50 from gensim's installed test data (or ``folder`` holding the same files)."""
    folder = folder or data_folder()
    documents = _read_lines(folder / "lee.cor")
    background = _read_lines(folder / "lee_background.cor")
    upper = np.loadtxt(folder / "similarities0-1.txt", dtype=np.float64)
    if len(documents) != DOCUMENT_COUNT or upper.shape != (DOCUMENT_COUNT, DOCUMENT_COUNT):
        raise ValueError(
            f"{folder}: expected {DOCUMENT_COUNT} documents and a {DOCUMENT_COUNT}x"
            f"{DOCUMENT_COUNT} matrix, found {len(documents)} and {upper.shape}"
        )
    # Only the upper triangle holds ratings (the lower one is zeros): mirror it.
    ratings = np.triu(upper, k=1)
    ratings = ratings + ratings.T + np.eye(DOCUMENT_COUNT)
    return LeeData(tuple(documents), ratings, tuple(background))


def lee_article(i: int, document: str) -> Article:
    """A Lee document as an article: its first sentence stands in for the missing headline.

    The text recipe joins title and body as "title.\\nbody", so the embedded text is the
    document itself, with one line break after the first sentence.
    """
    parts = _SENTENCE.split(document, maxsplit=1)
    title = parts[0].rstrip(".")
    body = parts[1] if len(parts) > 1 else ""
    return Article(id=lee_id(i), title=title, body=body)


def lee_articles(data: LeeData) -> list[Article]:
    return [lee_article(i, doc) for i, doc in enumerate(data.documents)]


def lee_metrics(pairs: PairScores, data: LeeData) -> dict[str, float]:
    """Pearson and Spearman of the pair scores against the mean ratings (1,225 pairs), and
    nDCG@5/@10 of each document's ranked list with the ratings as graded gains, averaged over
    the 50 documents."""
    if list(pairs.ids) != data.ids:
        raise ValueError("pair scores must cover the Lee documents in order (lee-00 .. lee-49)")
    rows, cols = data.pairs()
    figures = correlations(pairs.symmetric()[rows, cols], data.ratings[rows, cols])
    ids = data.ids
    gains = {
        ids[a]: {ids[b]: data.ratings[a, b] for b in range(len(ids)) if b != a}
        for a in range(len(ids))
    }
    figures.update(
        ranking_metrics(graded_qrels(gains), run_from_lists(pairs.ranked()), ["ndcg@5", "ndcg@10"])
    )
    figures["pairs"] = len(rows)
    figures["missing_pairs"] = pairs.missing
    return figures

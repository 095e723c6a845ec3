"""The ranking components of (source, candidate) pairs, unweighted, as the ranker computes them.

Tuning and the simulator both need each component on its own: similarity (dense cosine),
lexical, topic, category, tags, and the age from which recency follows for any half-life. They come
from the engine's own scoring code (``pipeline.Ranker._score``) with every weight at 1, so a
learned weight means exactly what the setting of the same name means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.engine import Engine

WEIGHTED = ("similarity", "lexical", "topic", "recency", "category", "tags")
"""Components in the order of the learned weight vector (``weight_<name>``)."""


@dataclass(frozen=True)
class PairFeatures:
    """Components of one source against ``ids`` (rows of the arrays)."""

    source: str
    ids: tuple[str, ...]
    similarity: np.ndarray
    lexical: np.ndarray
    topic: np.ndarray
    category: np.ndarray
    tags: np.ndarray
    age_days: np.ndarray  # NaN: undated
    evergreen: np.ndarray  # bool

    def recency(self, half_life_days: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            scores = np.power(0.5, self.age_days / half_life_days)
        return np.where(self.evergreen, 1.0, np.nan_to_num(scores, nan=0.0))

    def matrix(self, half_life_days: float) -> np.ndarray:
        """Rows = ids, columns = :data:`WEIGHTED`."""
        columns = [self.similarity, self.lexical, self.topic, self.recency(half_life_days)]
        return np.column_stack([*columns, self.category, self.tags])

    def index(self) -> dict[str, int]:
        return {aid: i for i, aid in enumerate(self.ids)}


def pair_features(
    engine: Engine, source_id: str, candidate_ids: Sequence[str] | None = None
) -> PairFeatures:
    """Components of ``source_id`` against ``candidate_ids`` (default: every other article)."""
    ranker = engine.ranker
    if candidate_ids is None:
        candidate_ids = [i for i in engine.ids() if i != source_id]
    rows = np.array([ranker.row_of(i) for i in candidate_ids], dtype=np.int64)
    source = ranker.indexed_source(source_id)
    settings = engine.settings.replace(
        weight_similarity=1.0,
        weight_lexical=1.0,
        weight_topic=1.0,
        weight_recency=1.0,
        weight_category=1.0,
        weight_tags=1.0,
    )
    cosine = engine.vectors(candidate_ids) @ source.vector if len(rows) else np.zeros(0)
    # The ranker's own scoring code, so each component means what its weight setting means.
    scored = ranker._score(rows, cosine.astype(np.float64), source, settings, now=_now())
    evergreen = engine.ranker.evergreen(settings.evergreen_tag)[rows]
    return PairFeatures(
        source=source_id,
        ids=tuple(candidate_ids),
        similarity=np.asarray(scored.parts["similarity"], dtype=np.float64),
        lexical=np.asarray(scored.parts["lexical"], dtype=np.float64),
        topic=np.asarray(scored.parts["topic"], dtype=np.float64),
        category=np.asarray(scored.parts["category"], dtype=np.float64),
        tags=np.asarray(scored.parts["tags"], dtype=np.float64),
        age_days=np.asarray(scored.age, dtype=np.float64),
        evergreen=np.asarray(evergreen, dtype=bool),
    )


def _now() -> float:
    import time

    return time.time()


def weights_of(settings: Mapping[str, float]) -> np.ndarray:
    """The weight vector (order of :data:`WEIGHTED`) of a settings mapping."""
    return np.array([float(settings[f"weight_{name}"]) for name in WEIGHTED])

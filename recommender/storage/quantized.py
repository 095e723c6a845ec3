"""Quantized index types for archives that must fit a serving box's memory: ``hnsw-sq`` (HNSW
over 8-bit scalar-quantized vectors) and ``ivf-pq`` (IVF over product-quantized residuals).
Same slots, tombstones and compaction as their full-precision families (``slotted``); stored
vectors and scores are approximations (``lossy`` says how far off a component may be).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import faiss
import numpy as np

from recommender.storage.slotted import HNSWIndex, IVFIndex


class HNSWSQIndex(HNSWIndex):
    """HNSW over 8-bit scalar-quantized vectors (``faiss.IndexHNSWSQ``, ``QT_8bit``): a quarter
    of the vector memory of ``hnsw``. Each component is stored as one byte between the
    per-dimension minimum and maximum seen at build time, so scores and stored vectors are
    within about 0.01 of the exact ones (cosines of related stories differ by far more)."""

    kind = "hnsw-sq"
    lossy = 0.02

    @classmethod
    def empty(cls, dimension: int, **params: Any) -> HNSWSQIndex:
        p = cls.resolve_params(params)
        qtype: Any = faiss.ScalarQuantizer.QT_8bit  # an enum int; the stubs want the class
        index = faiss.IndexHNSWSQ(dimension, qtype, int(p["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(p["ef_construction"])
        index.hnsw.efSearch = int(p["ef_search"])
        return cls(index, np.zeros(0, dtype=bool), p)

    @classmethod
    def build(cls, vectors: np.ndarray, **params: Any) -> HNSWSQIndex:
        index = cls.empty(vectors.shape[1], **params)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index._index.train(_training_sample(vectors, 200_000))  # per-dimension ranges
        index.add(vectors)
        return index


class IVFPQIndex(IVFIndex):
    """IVF over product-quantized residuals (``faiss.IndexIVFPQ``): ``m`` bytes per vector (48
    for dimension 384, against 1,536 for ``ivf``), for archives that must fit a small box.
    Scores and stored vectors are approximations (about 0.1 off for dimension 384 at ``m =
    48``): lists may differ from exact search more than with ``hnsw-sq``; recall is measured in
    benchmarks/results/quantized.md. ``m`` is lowered to a divisor of the dimension; ``nbits``
    to what the number of training vectors allows."""

    kind = "ivf-pq"
    lossy = 1.0
    DEFAULTS: ClassVar[Mapping[str, float]] = {
        "nlist": 0,
        "nprobe": 32,
        "m": 48,
        "nbits": 8,
        "max_dead_share": 0.2,
    }

    @classmethod
    def empty(cls, dimension: int, **params: Any) -> IVFPQIndex:
        p = cls.resolve_params(params)
        nlist = max(1, int(p["nlist"]) or 1)
        m = max(d for d in range(1, max(1, int(p["m"])) + 1) if dimension % d == 0)
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFPQ(
            quantizer, dimension, nlist, m, int(p["nbits"]), faiss.METRIC_INNER_PRODUCT
        )
        index.make_direct_map()
        return cls(index, np.zeros(0, dtype=bool), p)

    @classmethod
    def build(cls, vectors: np.ndarray, **params: Any) -> IVFPQIndex:
        p = cls.resolve_params(params)
        n = len(vectors)
        cells = int(p["nlist"]) or max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))
        nbits = max(1, min(int(p["nbits"]), int(math.log2(max(2, n // 39)))))
        index = cls.empty(vectors.shape[1], **{**p, "nlist": cells, "nbits": nbits})
        index.params["nlist"], index.params["nbits"] = p["nlist"], p["nbits"]  # "auto" stays
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index._index.train(_training_sample(vectors, max(cls.TRAIN_PER_CELL * cells, 65_536)))
        index.add(vectors)
        return index

    def describe(self) -> dict[str, Any]:
        pq = self._index.pq
        return {**super().describe(), "m": int(pq.M), "nbits": int(pq.nbits)}


def _training_sample(vectors: np.ndarray, size: int) -> np.ndarray:
    if len(vectors) <= size:
        return vectors
    picks = np.random.default_rng(0).choice(len(vectors), size, replace=False)
    return vectors[np.sort(picks)]

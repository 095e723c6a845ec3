"""Approximate FAISS indexes with tombstones: ``hnsw`` and ``ivf`` (slots, of which the live
ones are the rows; compaction past ``max_dead_share``)."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

from recommender.storage.vector_base import (
    INDEX_FILE,
    TOMBSTONES_FILE,
    VectorIndex,
    _check_dimension,
    _read,
)


class SlottedIndex(VectorIndex):
    """An approximate FAISS index with tombstones: slots, of which the live ones are the rows."""

    approximate = True

    def __init__(
        self, index: Any, dead: np.ndarray, params: Mapping[str, Any], *, writable: bool = True
    ) -> None:
        super().__init__(params)
        self._index: Any = index  # a faiss.IndexHNSWFlat or faiss.IndexIVFFlat
        self._writable = writable
        self._set_dead(dead)

    def _set_dead(self, dead: np.ndarray) -> None:
        self._dead = np.asarray(dead, dtype=bool)
        if len(self._dead) != self._index.ntotal:
            raise ValueError(f"{len(self._dead)} tombstones for {self._index.ntotal} slots")
        live = ~self._dead
        self._slots = np.flatnonzero(live)  # row -> slot
        self._row_of_slot = np.where(live, np.cumsum(live) - 1, -1)
        self._selector = None
        if self._dead.any():
            # Kept on self: FAISS holds raw pointers to the bitmap and the selector.
            self._bitmap = np.packbits(live, bitorder="little")
            self._selector = faiss.IDSelectorBitmap(len(live), faiss.swig_ptr(self._bitmap))
        self._params = self._search_parameters(self._selector)

    @abstractmethod
    def _search_parameters(self, selector: Any) -> faiss.SearchParameters: ...

    @abstractmethod
    def _exhaustive(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact (scores, slots) over the live slots, for answers the approximate search cut."""

    # ------------------------------------------------------------------ writes
    def add(self, vectors: np.ndarray) -> None:
        self._check_writable()
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            self._set_dead(np.concatenate([self._dead, np.zeros(len(vectors), dtype=bool)]))

    def remove(self, rows: np.ndarray) -> None:
        self._check_writable()
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if not len(rows):
            return
        dead = self._dead.copy()
        dead[self._slots[rows]] = True
        self._set_dead(dead)
        if self.dead_share > self.params["max_dead_share"]:
            self.compact()

    def compact(self) -> None:
        """Rebuild from the live vectors: no tombstones, rows unchanged."""
        fresh = type(self).build(self.vectors(np.arange(self.count)), **self.params)
        assert isinstance(fresh, SlottedIndex)
        self._index = fresh._index
        self._set_dead(fresh._dead)

    @property
    def dead_share(self) -> float:
        return float(self._dead.mean()) if len(self._dead) else 0.0

    # ------------------------------------------------------------------ reads
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = self._as_queries(queries)
        k = max(1, min(k, self.count))
        scores, slots = self._index.search(queries, k, params=self._params)
        if (slots < 0).any():  # the graph walk or the probed lists held fewer than k live rows
            scores, slots = self._exhaustive(queries, k)
        rows = np.where(slots >= 0, self._row_of_slot[np.maximum(slots, 0)], -1)
        return scores, rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(self._slots[rows])

    @property
    def count(self) -> int:
        return len(self._slots)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "slots": int(self._index.ntotal),
            "dead": int(self._dead.sum()),
        }

    # ------------------------------------------------------------------ files
    def save(self, folder: Path) -> None:
        folder = Path(folder)
        faiss.write_index(self._index, str(folder / INDEX_FILE))
        if self._dead.any():
            np.save(folder / TOMBSTONES_FILE, self._dead, allow_pickle=False)

    MMAP_FLAGS: ClassVar[int] = 0

    @classmethod
    def load(
        cls,
        folder: Path,
        dimension: int,
        params: Mapping[str, Any] | None = None,
        *,
        writable: bool = False,
    ) -> SlottedIndex:
        folder = Path(folder)
        index = _read(folder / INDEX_FILE, 0 if writable else cls.MMAP_FLAGS)
        _check_dimension(index, dimension)
        tombstones = folder / TOMBSTONES_FILE
        if tombstones.exists():
            dead = np.load(tombstones, allow_pickle=False)
        else:
            dead = np.zeros(index.ntotal, dtype=bool)
        return cls._wrap(index, dead, cls.resolve_params(params), writable=writable)

    @classmethod
    def _wrap(
        cls, index: faiss.Index, dead: np.ndarray, params: Mapping[str, Any], *, writable: bool
    ) -> SlottedIndex:
        return cls(index, dead, params, writable=writable)


class HNSWIndex(SlottedIndex):
    """``faiss.IndexHNSWFlat`` with inner product: a graph over the vectors, log-time search.

    ``M`` links per node (memory and recall), ``ef_construction`` (build time and graph
    quality), ``ef_search`` (the search beam: recall against time; FAISS widens it to ``k`` when
    asked for more, so the ranker's candidate pool of 100 searches at least that wide).
    """

    kind = "hnsw"
    DEFAULTS: ClassVar[Mapping[str, float]] = {
        "M": 32,
        "ef_construction": 64,
        "ef_search": 128,
        "max_dead_share": 0.2,
    }
    # The graph is read into memory; the vectors (its flat storage) are mapped.
    MMAP_FLAGS = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY

    @classmethod
    def empty(cls, dimension: int, **params: Any) -> HNSWIndex:
        p = cls.resolve_params(params)
        index = faiss.IndexHNSWFlat(dimension, int(p["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(p["ef_construction"])
        index.hnsw.efSearch = int(p["ef_search"])
        return cls(index, np.zeros(0, dtype=bool), p)

    def _search_parameters(self, selector: Any) -> faiss.SearchParameters:
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = int(self.params["ef_search"])
        if selector is not None:
            params.sel = selector
        return params

    def _exhaustive(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        storage = faiss.downcast_index(self._index.storage)
        params = faiss.SearchParameters()
        if self._selector is not None:
            params.sel = self._selector
        return storage.search(queries, k, params=params)


class IVFIndex(SlottedIndex):
    """``faiss.IndexIVFFlat`` with inner product: k-means cells, ``nprobe`` of them searched.

    ``nlist`` cells (0: ``4 * sqrt(n)`` at each build, so a compaction after growth gets more
    cells; ``describe()`` shows the number in use), ``nprobe`` cells searched per query. Vectors
    appended later go to the existing cells; compaction retrains.
    """

    kind = "ivf"
    DEFAULTS: ClassVar[Mapping[str, float]] = {"nlist": 0, "nprobe": 32, "max_dead_share": 0.2}
    MMAP_FLAGS = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY  # maps the inverted lists
    TRAIN_PER_CELL = 64

    @classmethod
    def empty(cls, dimension: int, **params: Any) -> IVFIndex:
        p = cls.resolve_params(params)
        nlist = max(1, int(p["nlist"]) or 1)
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        index.make_direct_map()  # reconstruct(row) for the ranker
        return cls(index, np.zeros(0, dtype=bool), p)

    @classmethod
    def build(cls, vectors: np.ndarray, **params: Any) -> IVFIndex:
        p = cls.resolve_params(params)
        n = len(vectors)
        cells = int(p["nlist"]) or max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))
        index = cls.empty(vectors.shape[1], **{**p, "nlist": cells})
        index.params["nlist"] = p["nlist"]  # keep "auto" (0) for the next compaction
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        sample = vectors
        if n > cls.TRAIN_PER_CELL * cells:
            picks = np.random.default_rng(0).choice(n, cls.TRAIN_PER_CELL * cells, replace=False)
            sample = vectors[np.sort(picks)]
        index._index.train(sample)
        index.add(vectors)
        return index

    def _search_parameters(self, selector: Any) -> faiss.SearchParameters:
        params = faiss.SearchParametersIVF()
        params.nprobe = int(self.params["nprobe"])
        if selector is not None:
            params.sel = selector
        return params

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "cells": int(self._index.nlist)}

    def _exhaustive(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        params = faiss.SearchParametersIVF()
        params.nprobe = int(self._index.nlist)
        if self._selector is not None:
            params.sel = self._selector
        return self._index.search(queries, k, params=params)

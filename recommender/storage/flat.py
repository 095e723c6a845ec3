"""Exact inner-product search: ``flat-ip``, a complete copy per version (copy on write)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from recommender.storage.vector_base import INDEX_FILE, VectorIndex, _check_dimension, _read


class FlatIndex(VectorIndex):
    """Exact inner-product search (``faiss.IndexFlatIP``); memory-mapped on load."""

    kind = "flat-ip"

    def __init__(
        self, index: Any, params: Mapping[str, Any] | None = None, *, writable: bool = True
    ) -> None:
        super().__init__(params or {})
        self._index = index
        self._writable = writable

    @classmethod
    def empty(cls, dimension: int, **params: Any) -> FlatIndex:
        return cls(faiss.IndexFlatIP(dimension), cls.resolve_params(params))

    def add(self, vectors: np.ndarray) -> None:
        self._check_writable()
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def remove(self, rows: np.ndarray) -> None:
        self._check_writable()
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if len(rows):
            self._index.remove_ids(faiss.IDSelectorBatch(rows))  # compacts: later rows move up

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.count))
        scores, rows = self._index.search(self._as_queries(queries), k)
        return scores, rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(rows)

    def save(self, folder: Path) -> None:
        faiss.write_index(self._index, str(Path(folder) / INDEX_FILE))

    @classmethod
    def load(
        cls,
        folder: Path,
        dimension: int,
        params: Mapping[str, Any] | None = None,
        *,
        writable: bool = False,
    ) -> FlatIndex:
        # IO_FLAG_MMAP_IFC maps the vectors of an IndexFlatCodes; plain IO_FLAG_MMAP does not
        # (faiss 1.15 reads a flat index fully into memory with it).
        flags = 0 if writable else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        index = _read(Path(folder) / INDEX_FILE, flags)
        _check_dimension(index, dimension)
        return cls(index, cls.resolve_params(params), writable=writable)

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

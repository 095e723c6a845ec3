"""Vector indexes behind one small interface, chosen by name.

Rows are the integer positions of articles in the metadata store. Vectors are L2-normalized, so
inner product is cosine similarity.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import faiss
import numpy as np


class VectorIndex(ABC):
    """build / add / search / save / load / count, plus vectors back by row."""

    kind: ClassVar[str]

    @abstractmethod
    def add(self, vectors: np.ndarray) -> None:
        """Append rows ``count .. count+len(vectors)-1``."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each of shape (len(queries), k); missing slots have row -1."""

    @abstractmethod
    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``."""

    @abstractmethod
    def save(self, path: Path) -> None: ...

    @classmethod
    @abstractmethod
    def load(cls, path: Path, dimension: int) -> VectorIndex: ...

    @property
    @abstractmethod
    def count(self) -> int: ...

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @classmethod
    def build(cls, vectors: np.ndarray, **params: object) -> VectorIndex:
        index = cls.empty(vectors.shape[1], **params)
        index.add(vectors)
        return index

    @classmethod
    @abstractmethod
    def empty(cls, dimension: int, **params: object) -> VectorIndex: ...


class FlatIndex(VectorIndex):
    """Exact inner-product search (``faiss.IndexFlatIP``); memory-mapped on load."""

    kind = "flat-ip"

    def __init__(self, index: faiss.IndexFlatIP) -> None:
        self._index = index

    @classmethod
    def empty(cls, dimension: int, **params: object) -> FlatIndex:
        return cls(faiss.IndexFlatIP(dimension))

    def add(self, vectors: np.ndarray) -> None:
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.count))
        scores, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(rows)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, dimension: int) -> FlatIndex:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        if index.d != dimension:
            raise ValueError(f"index dimension {index.d} != manifest dimension {dimension}")
        return cls(index)

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)


INDEX_TYPES: dict[str, type[VectorIndex]] = {FlatIndex.kind: FlatIndex}


def index_class(kind: str) -> type[VectorIndex]:
    try:
        return INDEX_TYPES[kind]
    except KeyError:
        raise ValueError(
            f"unknown index type {kind!r}; known: {', '.join(sorted(INDEX_TYPES))}"
        ) from None

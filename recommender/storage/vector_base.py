"""The interface every vector index type implements, and the helpers they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

from recommender.errors import SettingsError

INDEX_FILE = "index.faiss"
TOMBSTONES_FILE = "tombstones.npy"


class VectorIndex(ABC):
    """build / add / remove / search / vectors / save / load / count."""

    kind: ClassVar[str]
    approximate: ClassVar[bool] = False
    lossy: ClassVar[float] = 0.0
    """Largest difference between a stored vector's component and the one given (0: exact)."""
    DEFAULTS: ClassVar[Mapping[str, float]] = {}
    """Parameters and their defaults; saved in the manifest, replayed at load."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)

    # ------------------------------------------------------------------ construction
    @classmethod
    def resolve_params(cls, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by ``params``; unknown names are an error."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(cls.DEFAULTS))
        if unknown:
            known = ", ".join(sorted(cls.DEFAULTS)) or "none"
            raise SettingsError(
                f"unknown {cls.kind} index parameter(s) {', '.join(unknown)}; known: {known}"
            )
        out: dict[str, Any] = {}
        for name, default in cls.DEFAULTS.items():
            value = params.get(name, default)
            try:
                out[name] = type(default)(value)
            except (TypeError, ValueError):
                kind = "a whole number" if isinstance(default, int) else "a number"
                raise SettingsError(
                    f"{cls.kind} index parameter {name} must be {kind}, got {value!r}"
                ) from None
            if out[name] < 0:
                raise SettingsError(f"{cls.kind} index parameter {name} must be >= 0, got {value}")
        return out

    @classmethod
    def build(cls, vectors: np.ndarray, **params: Any) -> VectorIndex:
        index = cls.empty(vectors.shape[1], **params)
        index.add(vectors)
        return index

    @classmethod
    @abstractmethod
    def empty(cls, dimension: int, **params: Any) -> VectorIndex: ...

    # ------------------------------------------------------------------ the interface
    @abstractmethod
    def add(self, vectors: np.ndarray) -> None:
        """Append rows ``count .. count+len(vectors)-1``."""

    @abstractmethod
    def remove(self, rows: np.ndarray) -> None:
        """Drop ``rows``; the rows after them move up (row numbers stay those of the store)."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows), each of shape (len(queries), k); missing slots have row -1."""

    @abstractmethod
    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the index's files into a version folder."""

    @classmethod
    @abstractmethod
    def load(
        cls,
        folder: Path,
        dimension: int,
        params: Mapping[str, Any] | None = None,
        *,
        writable: bool = False,
    ) -> VectorIndex:
        """Open from a version folder: memory-mapped read-only, or a private copy to change."""

    @property
    @abstractmethod
    def count(self) -> int:
        """Live rows."""

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    def describe(self) -> dict[str, Any]:
        """Type, parameters and shape, for the manifest and ``info``."""
        return {
            "type": self.kind,
            "approximate": self.approximate,
            "params": dict(self.params),
            "rows": self.count,
        }

    @staticmethod
    def _as_queries(queries: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(queries, dtype=np.float32)

    _writable: bool = True

    def _check_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("this index is memory-mapped read-only; load it with writable=True")


def _read(path: Path, flags: int) -> faiss.Index:
    if not path.exists():
        raise FileNotFoundError(f"{path.name} is missing")
    return faiss.read_index(str(path), flags)


def _check_dimension(index: faiss.Index, dimension: int) -> None:
    if index.d != dimension:
        raise ValueError(f"index dimension {index.d} != manifest dimension {dimension}")

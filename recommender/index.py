"""Vector indexes behind one small interface, chosen by name.

Rows are the positions of the live articles in the metadata store (``0 .. count-1``, in store
order). Vectors are L2-normalized, so inner product is cosine similarity.

A new version of an index is the current one minus some rows (articles changed or deleted) plus
new vectors appended at the end, in the same order as the store. How that is done is the index
type's business, behind the same two calls, :meth:`VectorIndex.remove` and
:meth:`VectorIndex.add`:

- ``flat-ip`` (exact) compacts: removed rows are dropped and the rest renumbered, a complete
  copy per version (copy on write, no tombstones). Cheap: a flat index is its vectors.
- ``hnsw`` and ``ivf`` (approximate) cannot rebuild at every write (an HNSW graph of a million
  vectors takes minutes) and HNSW has no delete, so they keep *slots*: removal marks slots dead in
  a tombstone array (``tombstones.npy``) and new vectors take new slots at the end. Live slots in
  slot order are the rows. FAISS skips dead slots inside the search (an ID selector), so a search
  still returns ``k`` live rows, and a short answer falls back to exhaustive search so the ``k``
  guarantee holds. When dead slots exceed ``max_dead_share``, ``remove`` rebuilds the index from
  the live vectors (compaction).

Loading memory-maps what FAISS allows: the flat vectors (``IO_FLAG_MMAP_IFC``), HNSW's flat
storage (the graph itself is read into memory), and IVF's inverted lists (``IO_FLAG_MMAP``).
A writer loads with ``writable=True`` (plain read) to change a copy.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

INDEX_FILE = "index.faiss"
TOMBSTONES_FILE = "tombstones.npy"

AUTO = "auto"
DEFAULT_EXACT_MAX = 50_000
"""``auto`` picks exact search up to this many articles. A flat search reads every vector: about
0.1 ms per 1,000 articles of dimension 384 on one core (10 ms at 100k, 104 ms at 1M in
benchmarks/results/scale.md), so beyond ~50k it alone eats the 10 ms budget of a read-more
list, while HNSW answers in under 1 ms with recall@10 of 1.000 at 100k (0.970 at 1M)."""
DEFAULT_APPROXIMATE = "hnsw"
DEFAULT_QUANTIZED = "hnsw-sq"
DEFAULT_QUANTIZED_MIN = 2_000_000
"""``auto`` keeps vectors in 8 bits (``hnsw-sq``) above this many articles: full-precision
HNSW holds about 1.8 GB per million 384-dimension vectors, so 10M would need 18 GB of memory
on a serving box; 8-bit codes need under half of that (benchmarks/results/quantized.md)."""


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
            raise ValueError(
                f"unknown {cls.kind} index parameter(s) {', '.join(unknown)}; known: {known}"
            )
        out: dict[str, Any] = {}
        for name, default in cls.DEFAULTS.items():
            value = params.get(name, default)
            out[name] = type(default)(value)
            if out[name] < 0:
                raise ValueError(f"{cls.kind} index parameter {name} must be >= 0, got {value}")
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


INDEX_TYPES: dict[str, type[VectorIndex]] = {
    cls.kind: cls for cls in (FlatIndex, HNSWIndex, IVFIndex, HNSWSQIndex, IVFPQIndex)
}


def index_class(kind: str) -> type[VectorIndex]:
    try:
        return INDEX_TYPES[kind]
    except KeyError:
        raise ValueError(
            f"unknown index type {kind!r}; known: {', '.join([AUTO, *sorted(INDEX_TYPES)])}"
        ) from None


def choose_index_type(requested: str, count: int, exact_max: int = DEFAULT_EXACT_MAX) -> str:
    """``auto``: exact search up to ``exact_max`` articles, HNSW above, HNSW over 8-bit vectors
    above :data:`DEFAULT_QUANTIZED_MIN`; else as named."""
    if requested == AUTO:
        if count <= exact_max:
            return FlatIndex.kind
        return DEFAULT_APPROXIMATE if count <= DEFAULT_QUANTIZED_MIN else DEFAULT_QUANTIZED
    return index_class(requested).kind

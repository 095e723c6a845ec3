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

from recommender.errors import SettingsError
from recommender.storage.flat import FlatIndex
from recommender.storage.quantized import HNSWSQIndex, IVFPQIndex
from recommender.storage.slotted import HNSWIndex, IVFIndex, SlottedIndex
from recommender.storage.vector_base import INDEX_FILE, TOMBSTONES_FILE, VectorIndex

__all__ = [
    "AUTO",
    "DEFAULT_EXACT_MAX",
    "INDEX_FILE",
    "INDEX_TYPES",
    "TOMBSTONES_FILE",
    "FlatIndex",
    "HNSWIndex",
    "HNSWSQIndex",
    "IVFIndex",
    "IVFPQIndex",
    "SlottedIndex",
    "VectorIndex",
    "choose_index_type",
    "index_class",
]

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


INDEX_TYPES: dict[str, type[VectorIndex]] = {
    cls.kind: cls for cls in (FlatIndex, HNSWIndex, IVFIndex, HNSWSQIndex, IVFPQIndex)
}


def index_class(kind: str) -> type[VectorIndex]:
    try:
        return INDEX_TYPES[kind]
    except KeyError:
        raise SettingsError(
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

"""Precomputed read-more lists: every article's list under the index's stored settings,
computed at write time and stored with the version, so the common request reads instead of
ranking.

Files in the version folder (memory-mapped by every reader, so worker processes share one copy
in the page cache):

- ``lists.bin``: per article, the ranked list as JSON (``[[id, score, why], ...]``, floats in
  Python's round-trip form, so scores come back bit for bit), then the HTTP ``results`` array
  exactly as the API writes it. Ids, not rows: a list carried over to the next version is
  copied as it is, whatever rows moved;
- ``lists-index.npy``: int64 ``[n, 4]``: offset, length of the list JSON (-1: not
  precomputed, answered live), length of the HTTP JSON, and flags (``listreach.DEPENDS_ON_MORE``:
  the list depends on more than its candidates, so any write ranks it again;
  ``listreach.PENDING`` on a list of length -1: left by a deferred write, answered live until
  the next refresh or write ranks it);
- ``lists-floor.npy``: float32 ``[n]``: the lowest cosine among the candidates the ranker
  retrieved for the list (``-inf`` when it scored every eligible row); incremental updates use it;
- ``lists.json``: format, ``k``, the key of the settings and rules the lists were ranked with.

What is precomputed, and when it is used:

- lists for ``k`` = :data:`DEFAULT_LIST_K` (the API's default). Another ``k`` is ranked live:
  the first 3 of a list of 5 are not always the list of 3 (duplicate collapse and pool growth
  look deeper for larger ``k``), and answers must be the same either way;
- only when the age reference is the source article's date (``recency_reference = "source"``,
  the default) and the source is dated: then a list does not depend on the clock. Undated
  sources and ``recency_reference = "now"`` are ranked live (their ages move with time);
- only when the engine's settings and rules are those the lists were ranked with: a config
  file's ``[ranking]`` or ``[rules]`` that differ, or any per-call option or ``exclude``, is
  ranked live.

Incremental writes (upsert, remove) carry the previous version's lists over where that is
exact, and rank only the lists the write can change (``listreach``): the corpus statistics are
kept as fitted between fits (``indexing/statistics.py``) and the index is exact (``flat-ip``).
A write that fits the statistics again (``reindex``, or past the index's ``refit_drift``) ranks
every list; one on an approximate index stores none (the version is ranked live until the next
build). A deferred incremental write (``defer=True``, the publish API) ranks none of the lists it
can change: they are stored as pending and answered live (the same answers), and a refresh
(``indexing/refresh.py``) writes the same content again with them ranked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import mmap
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.listreach import (
    DEPENDS_ON_MORE,
    PENDING,
    Change,
    affected_rows,
    incremental_blocker,
)
from recommender.ranking import RankingSettings
from recommender.ranking.rules import EditorialRules
from recommender.results import Recommendation, Why

if TYPE_CHECKING:
    from recommender.engine import Engine

LISTS_FILE = "lists.bin"
LISTS_INDEX = "lists-index.npy"
LISTS_FLOOR = "lists-floor.npy"
LISTS_META = "lists.json"
LISTS_FORMAT = 2
DEFAULT_LIST_K = 5


def lists_key(settings: RankingSettings, rules: EditorialRules, k: int) -> str:
    """What a stored list depends on besides the corpus."""
    blob = json.dumps(
        [LISTS_FORMAT, k, settings.to_dict(), rules.to_dict()], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def clock_free(settings: RankingSettings) -> bool:
    """Lists under these settings do not depend on the time of the request (dated sources)."""
    return settings.recency_reference == "source"


def http_results(results: Sequence[Any]) -> bytes:
    """The ``results`` array of ``GET /related/{id}``, as the API writes it."""
    payload = [r.to_dict() for r in results]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def http_body(article_id: str, results_json: bytes) -> bytes:
    """The whole ``GET /related/{id}`` body around a stored ``results`` array."""
    head = json.dumps(article_id, ensure_ascii=False)
    return b'{"id":' + head.encode() + b',"results":' + results_json + b"}"


# ---------------------------------------------------------------------------- reading
class PrecomputedLists:
    """The stored lists of one version, memory-mapped."""

    def __init__(self, meta: Mapping[str, Any], index: np.ndarray, floor: np.ndarray, blob: Any):
        self.meta = dict(meta)
        self.k = int(meta["k"])
        self.key = str(meta["key"])
        self.index = index
        self.floor = floor
        self.blob = blob  # lists.bin, memory-mapped (b"" when empty)

    @classmethod
    def load(cls, folder: Path) -> PrecomputedLists | None:
        """The folder's lists, or None when it has none (older versions, or not precomputable)."""
        if not (folder / LISTS_META).exists():
            return None
        meta = json.loads((folder / LISTS_META).read_text(encoding="utf-8"))
        if meta.get("format") != LISTS_FORMAT:
            return None  # written by another version of this package: answer live
        index = np.load(folder / LISTS_INDEX, mmap_mode="r", allow_pickle=False)
        floor = np.load(folder / LISTS_FLOOR, mmap_mode="r", allow_pickle=False)
        blob: Any = b""
        if (folder / LISTS_FILE).stat().st_size:
            with open(folder / LISTS_FILE, "rb") as handle:
                blob = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(meta, index, floor, blob)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def serves(self, settings: RankingSettings, rules: EditorialRules, k: int) -> bool:
        return k == self.k and lists_key(settings, rules, k) == self.key

    def has(self, row: int) -> bool:
        return int(self.index[row, 1]) >= 0

    def flags(self, row: int) -> int:
        return int(self.index[row, 3])

    def ranked(self, row: int) -> list[tuple[str, float, Why]] | None:
        """(id, score, why) of the stored list, or None when the list is answered live."""
        offset, length, _ = (int(v) for v in self.index[row, :3])
        if length < 0:
            return None
        items = json.loads(self.blob[offset : offset + length])
        return [(str(i), float(s), why_from_dict(w)) for i, s, w in items]

    def entry(self, row: int) -> tuple[bytes, bytes]:
        """The stored list JSON and HTTP JSON as they are (empty when answered live)."""
        offset, length, http = (int(v) for v in self.index[row, :3])
        if length < 0:
            return b"", b""
        end = offset + length
        return bytes(self.blob[offset:end]), bytes(self.blob[end : end + http])

    def results_json(self, row: int) -> bytes | None:
        """The stored HTTP ``results`` array, or None when the list is answered live."""
        offset, length, http = (int(v) for v in self.index[row, :3])
        if length < 0:
            return None
        return bytes(self.blob[offset + length : offset + length + http])


def why_from_dict(data: Mapping[str, Any]) -> Why:
    """The :class:`Why` whose ``to_dict()`` is ``data`` (as stored): every field ``to_dict``
    writes, JSON lists back to tuples; fields it leaves out keep their defaults."""
    values: dict[str, Any] = {
        f.name: tuple(data[f.name]) if isinstance(data[f.name], list) else data[f.name]
        for f in dataclasses.fields(Why)
        if f.name in data
    }
    values["contributions"] = dict(data["contributions"])
    return Why(**values)


def _lists_for(engine: Engine, article_id: str, k: int) -> tuple[PrecomputedLists, int] | None:
    lists, row = engine.precomputed, engine.store.row_of(article_id)
    if lists is None or row is None or not lists.serves(engine.settings, engine.rules, k):
        return None
    return lists, row


def stored_list(
    engine: Engine, article_id: str, k: int = DEFAULT_LIST_K
) -> list[Recommendation] | None:
    """The stored list of an article under the engine's settings, or None (rank live)."""
    found = _lists_for(engine, article_id, k)
    ranked = found[0].ranked(found[1]) if found else None
    if ranked is None:
        return None
    rows = [engine.store.row_of(i) for i, _, _ in ranked]
    if any(r is None for r in rows):
        return None  # not this version's list (cannot happen past the checksums): rank live
    articles = engine.store.articles([int(r) for r in rows if r is not None])
    return [
        Recommendation(article=a, score=score, why=why)
        for a, (_, score, why) in zip(articles, ranked, strict=True)
    ]


def stored_body(engine: Engine, article_id: str, k: int = DEFAULT_LIST_K) -> bytes | None:
    """The stored ``GET /related/{id}`` body, or None (rank live)."""
    found = _lists_for(engine, article_id, k)
    results = found[0].results_json(found[1]) if found else None
    if results is None:
        return None
    engine.lists_served["precomputed"] += 1
    return http_body(article_id, results)


# ---------------------------------------------------------------------------- computing
@dataclass(frozen=True)
class ListsReport:
    """What a write did to the stored lists."""

    mode: str  # "full", "incremental", "deferred", "refresh", "dropped" (not exact) or "none"
    computed: int  # lists ranked now
    reused: int  # lists carried over from the previous version
    live: int  # articles answered live (undated sources, and pending lists)
    seconds: float
    reason: str = ""  # why an update recomputed everything
    pending: int = 0  # lists left to a refresh (answered live until then)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "computed": self.computed,
            "reused": self.reused,
            "live": self.live,
            "seconds": round(self.seconds, 4),
            "reason": self.reason,
            "pending": self.pending,
        }


class _RecordingIndex:
    """The engine's index, noting the lowest cosine a ranking retrieved (its floor)."""

    def __init__(self, index: Any) -> None:
        self._index = index
        self.floor = math.inf

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, rows = self._index.search(queries, k)
        valid = scores[0][rows[0] >= 0]
        if len(valid) < k or k >= self._index.count:  # every row was a candidate
            self.floor = -math.inf
        elif len(valid):
            self.floor = min(self.floor, float(valid.min()))
        return scores, rows


@dataclass
class _Entry:
    ranked: bytes  # the list JSON ("" for live)
    http: bytes
    floor: float
    flags: int = 0


def _rank_one(engine: Engine, recorder: _RecordingIndex, row: int, k: int) -> _Entry:
    cols = engine.store.columns
    if np.isnan(cols.timestamps[row]):
        return _Entry(b"", b"", -math.inf)
    recorder.floor = math.inf  # searches of this list only
    results = engine.related_live(str(cols.ids[row]), k)
    floor = recorder.floor if recorder.floor != math.inf else -math.inf  # no search: all rows
    ranked = [[r.id, r.score, r.why.to_dict()] for r in results]
    more = len(results) < k or any(r.why.fallback is not None or r.why.filters for r in results)
    return _Entry(
        json.dumps(ranked, ensure_ascii=False, separators=(",", ":")).encode(),
        http_results(results),
        floor,
        DEPENDS_ON_MORE if more else 0,
    )


def _compute(engine: Engine, rows: Iterable[int], k: int) -> dict[int, _Entry]:
    """Rank ``rows``' lists one by one, with one BLAS/OpenMP thread: each list is a few small
    products, where thread pools only add hand-offs (500 lists of 10k: 3.1 s with one thread,
    18 s with the default two, on 2 busy cores)."""
    import faiss
    from threadpoolctl import threadpool_limits

    recorder = _RecordingIndex(engine.index)
    original = engine.ranker.index
    engine.ranker.index = recorder  # type: ignore[assignment]
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        with threadpool_limits(1):
            return {row: _rank_one(engine, recorder, row, k) for row in rows}
    finally:
        engine.ranker.index = original
        faiss.omp_set_num_threads(threads)


@dataclass(frozen=True)
class _Carried:
    """Lists of the previous version copied as they are: new row ``new[i]`` gets the list of
    previous row ``old[i]`` (they name articles by id, so moved rows do not matter)."""

    new: np.ndarray
    old: np.ndarray
    previous: PrecomputedLists


def _layout(
    n: int, entries: Mapping[int, _Entry], carried: _Carried | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lists index, floors, bytes per row, previous offset of carried rows' bytes or -1)."""
    index = np.full((n, 4), -1, dtype=np.int64)
    floors = np.full(n, -np.inf, dtype=np.float32)
    size = np.zeros(n, dtype=np.int64)
    source = np.full(n, -1, dtype=np.int64)
    if carried is not None:  # read from the memory map once, not row by row
        old = np.asarray(carried.previous.index)[carried.old]
        floors[carried.new] = np.asarray(carried.previous.floor)[carried.old]
        ranked = old[:, 1] >= 0
        index[carried.new[ranked]] = old[ranked]
        size[carried.new[ranked]] = old[ranked, 1] + old[ranked, 2]
        source[carried.new[ranked]] = old[ranked, 0]
        index[carried.new[~ranked], 3] = np.where(old[~ranked, 3] == PENDING, PENDING, -1)
    for row, entry in entries.items():
        floors[row] = entry.floor
        if entry.ranked:
            index[row] = (0, len(entry.ranked), len(entry.http), entry.flags)
            size[row] = len(entry.ranked) + len(entry.http)
        else:
            index[row] = (-1, -1, -1, PENDING if entry.flags == PENDING else -1)
    offsets = np.cumsum(size) - size
    ranked_rows = index[:, 1] >= 0
    index[ranked_rows, 0] = offsets[ranked_rows]
    return index, floors, size, source


def _parts(
    entries: Mapping[int, _Entry], carried: _Carried | None, size: np.ndarray, source: np.ndarray
) -> list[Any]:
    """The bytes of lists.bin in row order: each run of carried lists that lie back to back in
    the previous lists.bin is one slice of it, not one copy per list."""
    rows = np.flatnonzero(size > 0)
    if not len(rows):
        return []
    src, length = source[rows], size[rows]
    joined = (src[1:] >= 0) & (src[:-1] >= 0) & (src[1:] == src[:-1] + length[:-1])
    starts = np.flatnonzero(np.concatenate(([True], ~joined)))
    ends = np.append(starts[1:], len(rows))
    parts: list[Any] = []
    for first, last in zip(starts.tolist(), ends.tolist(), strict=True):
        if src[first] >= 0 and carried is not None:
            begin = int(src[first])
            parts.append(carried.previous.blob[begin : begin + int(length[first:last].sum())])
        else:
            entry = entries[int(rows[first])]
            parts += (entry.ranked, entry.http)
    return parts


def _save(
    folder: Path, n: int, entries: Mapping[int, _Entry], key: str, carried: _Carried | None = None
) -> np.ndarray:
    """Write the lists of ``n`` rows: ``entries`` ranked now (or live), the rest ``carried``;
    the lists index written."""
    covered = len(entries) + (0 if carried is None else len(carried.new))
    assert covered == n, f"{covered} lists for {n} rows"
    index, floors, size, source = _layout(n, entries, carried)
    with open(folder / LISTS_FILE, "wb") as out:  # a few large writes, not 10k small ones
        out.writelines(_parts(entries, carried, size, source))
    np.save(folder / LISTS_INDEX, index, allow_pickle=False)
    np.save(folder / LISTS_FLOOR, floors, allow_pickle=False)
    meta = {"format": LISTS_FORMAT, "k": DEFAULT_LIST_K, "key": key, "articles": n}
    (folder / LISTS_META).write_text(json.dumps(meta) + "\n", encoding="utf-8")
    return index


def _pending(engine: Engine, rows: Iterable[int]) -> dict[int, _Entry]:
    """Entries left to a refresh (undated sources are answered live for good, as ranked)."""
    dated = ~np.isnan(engine.store.columns.timestamps)
    return {r: _Entry(b"", b"", -math.inf, PENDING if dated[r] else 0) for r in rows}


def write_lists(
    folder: Path, engine: Engine, change: Change | None = None, *, defer: bool = False
) -> ListsReport:
    """Compute and save the lists of ``engine`` (a version being written) into ``folder``.
    ``defer``: an incremental write stores the lists it can change as pending instead of
    ranking them (a write that ranks every list, or none, does as without it)."""
    started = time.perf_counter()
    n = len(engine.store)
    k = DEFAULT_LIST_K
    if not clock_free(engine.settings):
        return ListsReport("none", 0, 0, n, time.perf_counter() - started)
    key = lists_key(engine.settings, engine.rules, k)
    reason = incremental_blocker(engine, change, key)
    if change is not None and reason and reason == change.refit:
        change = None  # the statistics were fitted again: every list is ranked again
    elif change is not None and reason:
        # No previous lists, or an approximate index: carrying lists over would not be exact,
        # and re-ranking every article (87 s at 10k here) must not hold up a publish. This
        # version is served by live ranking; the next build or reindex ranks the lists again.
        return ListsReport("dropped", 0, 0, n, time.perf_counter() - started, reason)
    mode, reused, carried = "full", 0, None
    if change is None:
        entries = _compute(engine, range(n), k)
    else:
        previous = change.previous.precomputed
        assert previous is not None  # checked by incremental_blocker
        again = affected_rows(engine, change)
        entries = _pending(engine, again) if defer else _compute(engine, sorted(again), k)
        ranked_now = np.fromiter(entries, dtype=np.int64, count=len(entries))
        new_rows = np.setdiff1d(np.arange(len(change.keep), dtype=np.int64), ranked_now)
        carried = _Carried(new_rows, np.asarray(change.keep, dtype=np.int64)[new_rows], previous)
        mode = "deferred" if defer else "refresh" if change.same_content else "incremental"
        reused = n - len(again)
    index = _save(folder, n, entries, key, carried)
    live = int(np.count_nonzero(index[:, 1] < 0))
    pending = int(np.count_nonzero((index[:, 1] < 0) & (index[:, 3] == PENDING)))
    computed = 0 if mode == "deferred" else n - reused
    seconds = time.perf_counter() - started
    return ListsReport(mode, computed, reused, live, seconds, reason, pending)

"""The lists refresh: rank the read-more lists a deferred write left pending.

A deferred write (``upsert``/``remove`` with ``defer_lists=True``, what the publish API does)
serves the new articles at once and leaves the lists it could change pending: answered live,
with the same answers a stored list gives, just slower. :func:`refresh_lists` then writes the
next version with the same content (articles, vectors, statistics: nothing embedded, nothing
fitted) and the previous lists carried over, the pending ones ranked. Nothing is pending: no
version is written. A write that is not deferred ranks the pending lists as well, so they never
pile up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender.indexing.reports import Counts, UpdateReport
from recommender.indexing.version import HandOver
from recommender.indexing.writers import _Added, _commit, _current, _unchanged_report
from recommender.listreach import pending_rows
from recommender.storage import versions as persistence

if TYPE_CHECKING:
    from recommender.engine import Engine


def pending_count(engine: Engine) -> int:
    """Lists of ``engine``'s version left pending by a deferred write."""
    return len(pending_rows(engine.precomputed))


def refresh_lists(
    index_path: Path,
    *,
    lock_wait: float = 0.0,
    loaded: Engine | None = None,
    hand_over: HandOver | None = None,
) -> UpdateReport:
    """Write the current content again with its pending lists ranked (see the module notes);
    ``version_path`` is None when nothing was pending. ``loaded``, ``hand_over``: as for
    upsert."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with (
        persistence.writer_lock(index_path, lock_wait, existing=True),
        _current(index_path, timings, loaded) as current,
    ):
        count = len(current.store)
        counts = Counts(read=0, unchanged=count)
        if not pending_count(current):
            return _unchanged_report(current, index_path, counts, started, timings)
        empty = np.zeros((0, current.manifest.dimension), dtype=np.float32)
        return _commit(
            current,
            index_path,
            drop_rows=[],
            added=_Added(articles=[], texts=[], hashes=[], vectors=empty),
            counts=counts,
            clock=(started, timings),
            defer=(False, hand_over),
        )

"""Which stored read-more lists a write can change: the rest are carried over as they are.

A list is a function of its source's row, its candidates (the dense neighbours the ranker
retrieved: every row whose cosine to the source reaches the list's retrieval floor, or every
eligible row when it scored them all), and corpus-wide statistics (lexical idf, tag idf). With
the statistics kept fixed between fits (``indexing/statistics.py``) and an exact index
(``flat-ip``: one write changes no other query's neighbours), only these lists can change, and
are ranked again:

- the written articles' own (new, replaced);
- lists whose retrieval floor a written vector reaches: the removed or replaced article's old
  vector (it was a candidate) or a new one (it now is). Every candidate source is dense: the
  ranker pulls no lexical- or tag-only candidates, and copy groups (``ranking/dedupe.py``) are
  components among candidates, so a list none of whose candidates was written keeps its groups;
- lists that depend on more than their candidates: under an active filter, with a fallback,
  shorter than ``k`` (the pool may have grown, or stopped, on lexical evidence outside it:
  ``ranking/floor.py``), or with pins. A list that showed or collapsed a written article needs
  no rule of its own: what it shows or collapses was a candidate, reached by the old vector.

A deferred write (``precomputed.write_lists(defer=True)``: the publish API) ranks none of these
lists: it stores them as *pending* (answered live, exact, just not precomputed). A pending list is
ranked by the next write that is not deferred, or by a refresh (``indexing/refresh.py``): a
version with the same content whose only change is that its pending lists are ranked.

Anything else (statistics refitted, an approximate index, no previous lists) ranks every list,
or leaves the version to live ranking (``precomputed.write_lists`` says which, and why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from recommender.engine import Engine
    from recommender.precomputed import PrecomputedLists
    from recommender.storage.lexical import LexicalModel

DEPENDS_ON_MORE = 1
"""The flag ``precomputed`` stores on a list that depends on more than its candidates."""
PENDING = 2
"""The flag of a list not ranked yet (length -1: answered live) by a deferred write."""
FLOOR_MARGIN = 1e-5
"""Slack on the retrieval floor: FAISS and numpy may round one cosine differently."""


@dataclass(frozen=True)
class Change:
    """How a new version follows from the previous one: its row ``i`` is the previous row
    ``keep[i]`` for ``i < len(keep)``; later rows are new. ``dropped``: previous rows removed or
    replaced. ``refit``: why the write fitted the corpus statistics again ("" when it kept
    them): then every list is ranked again."""

    previous: Engine
    keep: np.ndarray
    dropped: Sequence[int]
    refit: str = ""
    same_content: bool = False  # a refresh: only the pending lists are ranked


def pending_rows(lists: PrecomputedLists | None) -> list[int]:
    """Rows whose lists a deferred write left to a refresh."""
    if lists is None or not len(lists):
        return []
    index = np.asarray(lists.index)
    return np.flatnonzero((index[:, 1] < 0) & (index[:, 3] == PENDING)).tolist()


def incremental_blocker(engine: Engine, change: Change | None, key: str) -> str:
    """Why the previous lists cannot be carried over ("" when they can)."""
    if change is None:
        return "new index"
    previous = change.previous
    lists = previous.precomputed
    if lists is None or lists.key != key or len(lists) != len(previous.store):
        return "the previous version has no lists for these settings"
    if engine.index.kind != "flat-ip" or previous.index.kind != "flat-ip":
        return "approximate index: a write changes other queries' candidates"
    if change.refit:
        return change.refit  # the caller ranks every list again
    old_lex, new_lex = previous.lexical, engine.lexical
    if (old_lex is None) != (new_lex is None):
        return "lexical statistics changed"
    if old_lex is not None and new_lex is not None and not _extends(old_lex, new_lex):
        return "lexical statistics changed (not an extension of the previous ones)"
    old_tags, new_tags = previous.store.columns.tag_idf, engine.store.columns.tag_idf
    if any(new_tags.get(tag) != idf for tag, idf in old_tags.items()):
        return "tag statistics changed"
    return ""


def _extends(old: LexicalModel, new: LexicalModel) -> bool:
    """The new lexical statistics keep every old term's column and idf (terms appended only)
    and the same topic basis."""
    old_vocab, new_vocab = old.vocabulary, new.vocabulary
    old_idf, new_idf = old.idf, new.idf
    if len(new_vocab) < len(old_vocab) or not np.array_equal(new_idf[: len(old_idf)], old_idf):
        return False
    if (old.topics is None) != (new.topics is None):
        return False
    if old.topics is not None and new.topics is not None and not old.topics.same_basis(new.topics):
        return False
    return all(new_vocab.get(term) == col for term, col in old_vocab.items())


def affected_rows(engine: Engine, change: Change) -> set[int]:
    """New rows whose lists may differ from the previous version's (see the module notes)."""
    previous = change.previous
    lists = previous.precomputed
    assert lists is not None
    n_new, kept = len(engine.store), len(change.keep)
    if change.same_content:  # nothing was written: only the pending lists
        return set(pending_rows(lists))
    dropped = np.asarray(sorted(int(r) for r in change.dropped), dtype=np.int64)
    affected = set(range(kept, n_new))  # new articles' own lists
    affected.update(np.flatnonzero(_needs_rank(lists, change.keep, previous, engine)).tolist())
    vectors = [previous.index.vectors(dropped)] if len(dropped) else []
    if n_new > kept:
        vectors.append(engine.index.vectors(np.arange(kept, n_new, dtype=np.int64)))
    if vectors and kept:
        written = np.vstack(vectors)  # every vector that was or now is a candidate somewhere
        own = engine.index.vectors(np.arange(kept, dtype=np.int64))
        reach = (own @ written.T).max(axis=1)
        floor = np.asarray(lists.floor)[change.keep]
        affected.update(np.flatnonzero(reach >= floor - FLOOR_MARGIN).tolist())
    return affected


def _needs_rank(
    lists: PrecomputedLists, keep: np.ndarray, previous: Engine, engine: Engine
) -> np.ndarray:
    """Per kept row: a stored list that depends on more than its candidates (flagged when it
    was ranked: shorter than ``k``, a fallback, a filter), left pending by a deferred write, or
    with pins. Lists that show or collapse a written article need no check here: whatever a
    list shows or collapses was one of its candidates, so the written article's old vector
    reaches its floor. A list answered live in both versions (undated source) is not ranked."""
    index = np.asarray(lists.index)[keep]
    stored, flags = index[:, 1] >= 0, index[:, 3]
    needs = (stored & ((flags & DEPENDS_ON_MORE) != 0)) | (~stored & (flags == PENDING))
    pinned = set(engine.rules.pins)
    if pinned:
        old_ids = previous.store.columns.ids[keep]
        needs |= stored & np.array([str(i) in pinned for i in old_ids], dtype=bool)
    return needs

"""The write path: build, upsert, remove and reindex an index folder.

Every writer holds the index's writer lock, produces a complete new version folder through one
:func:`write_version`, and switches to it atomically (``persistence``); how the vector index
itself changes between versions (compact copy or tombstones) is the index type's business
(``index``). Readers (:class:`~recommender.engine.Engine`) never see a half-written version.

    build:    articles -> embed (cache) -> lexical fit -> vector index -> write_version
    upsert:   plan (new / changed text / metadata only / unchanged) -> embed what changed
              -> current version minus replaced rows, plus the new rows -> write_version
    remove:   current version minus the rows -> write_version
    refresh:  the current version again, with the lists a deferred write left pending ranked
    reindex:  the current vectors into another index type -> write_version
"""

from __future__ import annotations

from recommender.indexing.plan import UpsertPlan, plan_upsert
from recommender.indexing.refresh import pending_count, refresh_lists
from recommender.indexing.reports import BuildReport, UpdateReport
from recommender.indexing.version import VersionContent, default_cache_path, write_version
from recommender.indexing.writers import build, reindex, remove, upsert

__all__ = [
    "BuildReport",
    "UpdateReport",
    "UpsertPlan",
    "VersionContent",
    "build",
    "default_cache_path",
    "pending_count",
    "plan_upsert",
    "refresh_lists",
    "reindex",
    "remove",
    "upsert",
    "write_version",
]

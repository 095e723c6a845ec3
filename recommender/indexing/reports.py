"""What a write did: the reports the CLI prints and ``--json`` gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.storage.manifest import IndexDescription


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI's summary (``to_dict`` is its ``--json``)."""

    index_path: Path
    version_path: Path
    read: int
    embedded: int
    cached: int
    seconds: float
    model: str
    dimension: int
    index: IndexDescription
    rejected: int = 0  # a rejected article fails the whole build: this is always 0 on success
    generation: int = 0
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds by stage

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": str(self.index_path),
            "read": self.read,
            "embedded": self.embedded,
            "cached": self.cached,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "model": self.model,
            "dimension": self.dimension,
            "generation": self.generation,
            "index_type": self.index.type,
        }


@dataclass(frozen=True)
class UpdateReport:
    """What an upsert, remove or reindex did. ``version_path`` is None when nothing changed
    (no new version was written)."""

    index_path: Path
    version_path: Path | None
    generation: int
    article_count: int
    index: IndexDescription
    seconds: float
    read: int = 0  # articles given (upsert) or ids given (remove)
    new: int = 0
    changed: int = 0  # text or metadata differs from the indexed article
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    cached: int = 0
    not_found: int = 0  # ids given to remove that were not in the index (only with missing_ok)
    timings: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        counts = ("read", "new", "changed", "unchanged", "removed", "not_found", "embedded")
        return {
            "index": str(self.index_path),
            "generation": self.generation,
            "written": self.version_path is not None,
            **{name: getattr(self, name) for name in counts},
            "cached": self.cached,
            "article_count": self.article_count,
            "seconds": round(self.seconds, 3),
            "index_type": self.index.type,
            "timings": dict(self.timings),
        }


@dataclass(frozen=True)
class Counts:
    """The counting fields of an :class:`UpdateReport`."""

    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    cached: int = 0
    not_found: int = 0

    def fields(self) -> dict[str, int]:
        return dict(self.__dict__)

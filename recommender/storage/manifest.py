"""Typed manifest of an index version, and the facts ``info`` reports about a loaded index.

The manifest is JSON on disk (``manifest.json``, written by ``persistence``); everywhere else it
is these frozen dataclasses. ``from_dict`` checks the shape, so a hand-edited manifest of the
wrong shape is an :class:`~recommender.errors.IndexFormatError` naming the field, not a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.errors import IndexFormatError

_FILE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_INDEX_KEYS = ("type", "approximate", "params", "rows", "requested", "exact_max")


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise IndexFormatError(f"{where} is damaged: field '{key}' is missing")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise IndexFormatError(f"{where} is damaged: field '{key}' has the wrong type")
    return value


def _optional(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    return _get(data, key, kind, where) if data.get(key) is not None else None


@dataclass(frozen=True)
class ModelInfo:
    """The sentence-transformers model an index was embedded with."""

    name: str
    dimension: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dimension": self.dimension}


@dataclass(frozen=True)
class IndexDescription:
    """The vector index of a version: its type, parameters and shape, and how it was chosen.

    ``extra``: type-specific shape facts (``slots`` and ``dead`` for tombstoned types,
    ``cells`` for IVF). ``requested``/``exact_max``: what the writer asked for (``auto`` picks
    the type by size).
    """

    type: str
    approximate: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    rows: int = 0
    extra: Mapping[str, int] = field(default_factory=dict)
    requested: str | None = None
    exact_max: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "index") -> IndexDescription:
        if not isinstance(data, Mapping):
            raise IndexFormatError(f"{where} is damaged: field 'index' is not an object")
        params = data.get("params", {})
        if not isinstance(params, Mapping):
            raise IndexFormatError(f"{where} is damaged: field 'index.params' is not an object")
        extra = {k: v for k, v in data.items() if k not in _INDEX_KEYS}
        if any(not isinstance(v, int) or isinstance(v, bool) for v in extra.values()):
            raise IndexFormatError(f"{where} is damaged: field 'index' has a malformed count")
        return cls(
            type=str(data.get("type", "")),
            approximate=bool(data.get("approximate", False)),
            params=dict(params),
            rows=int(data.get("rows", 0)),
            extra=extra,
            requested=None if data.get("requested") is None else str(data["requested"]),
            exact_max=None if data.get("exact_max") is None else int(data["exact_max"]),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "approximate": self.approximate,
            "params": dict(self.params),
            "rows": self.rows,
            **self.extra,
        }
        if self.requested is not None:
            out["requested"] = self.requested
        if self.exact_max is not None:
            out["exact_max"] = self.exact_max
        return out

    @property
    def dead(self) -> int:
        """Tombstoned slots waiting for compaction (0 for copy-on-write types)."""
        return int(self.extra.get("dead", 0))

    def summary(self) -> str:
        """``hnsw index, 12 tombstoned slots``: for one-line reports."""
        text = f"{self.type or '?'} index"
        return text + (f", {self.dead} tombstoned slots" if self.dead else "")


def _statistics(data: Any, where: str) -> dict[str, Any]:
    """The ``statistics`` field (empty for indexes written before it existed), shape-checked."""
    if not data:
        return {}
    if not isinstance(data, Mapping):
        raise IndexFormatError(f"{where} is damaged: field 'statistics' is not an object")
    for key in ("articles", "documents", "written"):
        _get(data, key, int, f"{where} (statistics)")
    _get(data, "fitted_at", str, f"{where} (statistics)")
    _get(data, "refit_drift", (int, float), f"{where} (statistics)")
    return dict(data)


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` of a version folder says (checked by ``persistence``)."""

    version_id: str
    model: ModelInfo
    index_type: str
    article_count: int
    index: IndexDescription
    files: Mapping[str, Mapping[str, Any]]
    format_version: int
    generation: int = 0
    built_at: str | None = None
    package_version: str | None = None
    text_recipe_version: int | None = None
    lexical_version: int | None = None
    ranking: Mapping[str, Any] = field(default_factory=dict)
    rules: Mapping[str, Any] = field(default_factory=dict)
    precompute: bool = True  # store read-more lists with each version (recommender.precomputed)
    lists: Mapping[str, Any] = field(default_factory=dict)  # what the write did to them
    statistics: Mapping[str, Any] = field(default_factory=dict)  # see indexing/statistics.py

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "manifest") -> Manifest:
        model = _get(data, "model", Mapping, where)
        files = _get(data, "files", Mapping, where)
        for name, meta in files.items():
            if not _FILE_NAME.match(name):  # a listed "../x" would be read outside the folder
                raise IndexFormatError(
                    f"{where} is damaged: {name!r} in 'files' is not a plain file name"
                )
            if not isinstance(meta, Mapping) or not isinstance(meta.get("bytes"), int):
                raise IndexFormatError(
                    f"{where} is damaged: entry '{name}' of 'files' is malformed"
                )
            if not isinstance(meta.get("sha256"), str):
                raise IndexFormatError(
                    f"{where} is damaged: entry '{name}' of 'files' is malformed"
                )
        ranking = data.get("ranking", {})
        rules = data.get("rules", {})
        if not isinstance(ranking, Mapping) or not isinstance(rules, Mapping):
            raise IndexFormatError(f"{where} is damaged: 'ranking' and 'rules' must be objects")
        return cls(
            version_id=_get(data, "version_id", str, where),
            model=ModelInfo(
                name=_get(model, "name", str, f"{where} (model)"),
                dimension=_get(model, "dimension", int, f"{where} (model)"),
            ),
            index_type=_get(data, "index_type", str, where),
            article_count=_get(data, "article_count", int, where),
            index=IndexDescription.from_dict(data.get("index", {}), where),
            files=dict(files),
            format_version=_get(data, "format_version", int, where),
            generation=_optional(data, "generation", int, where) or 0,
            built_at=_optional(data, "built_at", str, where),
            package_version=_optional(data, "package_version", str, where),
            text_recipe_version=_optional(data, "text_recipe_version", int, where),
            lexical_version=_optional(data, "lexical_version", int, where),
            ranking=dict(ranking),
            rules=dict(rules),
            precompute=bool(data.get("precompute", True)),
            lists=dict(data.get("lists") or {}),
            statistics=_statistics(data.get("statistics"), where),
        )

    # Short names kept for callers written against the dict-backed manifest.
    @property
    def dimension(self) -> int:
        return self.model.dimension

    @property
    def model_name(self) -> str:
        return self.model.name


@dataclass(frozen=True)
class IndexInfo:
    """What ``recommender info`` shows about a loaded index (``to_dict`` is its ``--json``)."""

    path: str
    version_folder: str
    article_count: int
    model: str
    dimension: int
    index_type: str
    index: IndexDescription
    generation: int
    version_id: str
    built_at: str | None
    format_version: int
    package_version: str | None
    text_recipe_version: int | None
    size_bytes: int
    ranking: Mapping[str, Any]
    rules: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version_folder": self.version_folder,
            "article_count": self.article_count,
            "model": self.model,
            "dimension": self.dimension,
            "index_type": self.index_type,
            "index": self.index.to_dict(),
            "generation": self.generation,
            "version_id": self.version_id,
            "built_at": self.built_at,
            "format_version": self.format_version,
            "package_version": self.package_version,
            "text_recipe_version": self.text_recipe_version,
            "size_bytes": self.size_bytes,
            "ranking": dict(self.ranking),
            "rules": dict(self.rules),
        }

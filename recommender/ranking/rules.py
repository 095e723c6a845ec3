"""Editorial rules: pins and blocks an editor keeps in ``recommender.toml``.

    [rules]
    block = ["old-sponsored-post"]            # never recommended anywhere
    block_categories = ["sponsored"]          # no article of these sections anywhere
    [[rules.pin]]                             # this id at this position under that article
    article = "russia-china-summit-video-call"
    id = "russia-china-trade-record"
    position = 1
    [[rules.block_for]]                       # not under that article
    article = "russia-china-summit-video-call"
    ids = ["chess-summit-world-championship-bid"]
    [[rules.never_pair]]                      # neither under the other
    ids = ["a", "b"]

Rules are applied by the engine, so the CLI, the HTTP API and the export all obey them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.errors import SettingsError


@dataclass(frozen=True)
class Pin:
    id: str
    position: int  # 1-based


@dataclass(frozen=True)
class EditorialRules:
    block: frozenset[str] = frozenset()
    block_categories: frozenset[str] = frozenset()  # casefolded
    block_for: Mapping[str, frozenset[str]] = field(default_factory=dict)
    pins: Mapping[str, tuple[Pin, ...]] = field(default_factory=dict)

    def banned_for(self, source_id: str | None) -> set[str]:
        """Ids that must not appear under ``source_id``."""
        banned = set(self.block)
        if source_id is not None:
            banned |= self.block_for.get(source_id, frozenset())
        return banned

    def pins_for(self, source_id: str | None) -> tuple[Pin, ...]:
        return self.pins.get(source_id, ()) if source_id is not None else ()

    def __len__(self) -> int:
        return (
            len(self.block)
            + len(self.block_categories)
            + sum(len(v) for v in self.block_for.values())
            + sum(len(v) for v in self.pins.values())
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON shape (never_pair is stored expanded into block_for)."""
        return {
            "block": sorted(self.block),
            "block_categories": sorted(self.block_categories),
            "block_for": [
                {"article": a, "ids": sorted(ids)} for a, ids in sorted(self.block_for.items())
            ],
            "pin": [
                {"article": a, "id": p.id, "position": p.position}
                for a, pins in sorted(self.pins.items())
                for p in pins
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "[rules]") -> EditorialRules:
        """Validate the ``[rules]`` table; errors name the file and key."""

        def fail(key: str, message: str) -> SettingsError:
            return SettingsError(f"{where}: '{key}': {message}")

        known = {"block", "block_categories", "block_for", "pin", "never_pair"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise fail(unknown[0], f"unknown rule; known: {', '.join(sorted(known))}")

        def str_list(value: Any, key: str) -> list[str]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(key, "expected a list of strings")
            return value

        block = frozenset(str_list(data.get("block", []), "block"))
        block_categories = frozenset(
            c.casefold() for c in str_list(data.get("block_categories", []), "block_categories")
        )
        block_for: dict[str, set[str]] = {}
        for n, item in enumerate(_tables(data.get("block_for", []), "block_for", fail), 1):
            article = item.get("article")
            if not isinstance(article, str):
                raise fail(f"block_for[{n}].article", "expected an article id")
            block_for.setdefault(article, set()).update(
                str_list(item.get("ids"), f"block_for[{n}].ids")
            )
        for n, item in enumerate(_tables(data.get("never_pair", []), "never_pair", fail), 1):
            ids = str_list(item.get("ids"), f"never_pair[{n}].ids")
            if len(ids) != 2:
                raise fail(f"never_pair[{n}].ids", "expected exactly two ids")
            a, b = ids
            block_for.setdefault(a, set()).add(b)
            block_for.setdefault(b, set()).add(a)
        return cls(
            block=block,
            block_categories=block_categories,
            block_for={a: frozenset(ids) for a, ids in block_for.items()},
            pins=_pins(data.get("pin", []), fail),
        )


def _pins(value: Any, fail: Any) -> dict[str, tuple[Pin, ...]]:
    """The ``[[rules.pin]]`` tables: pins by article, in position order."""
    pins: dict[str, list[Pin]] = {}
    for n, item in enumerate(_tables(value, "pin", fail), 1):
        article, pid, position = item.get("article"), item.get("id"), item.get("position", 1)
        if not isinstance(article, str):
            raise fail(f"pin[{n}].article", "expected an article id")
        if not isinstance(pid, str):
            raise fail(f"pin[{n}].id", "expected the id to pin")
        if not isinstance(position, int) or isinstance(position, bool) or position < 1:
            raise fail(f"pin[{n}].position", "expected a position of 1 or more")
        pins.setdefault(article, []).append(Pin(pid, position))
    return {a: tuple(sorted(p, key=lambda pin: pin.position)) for a, p in pins.items()}


def _tables(value: Any, key: str, fail: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise fail(key, f"expected an array of tables ([[rules.{key}]])")
    return value

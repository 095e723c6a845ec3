"""``[events]`` and ``[experiment]`` in ``recommender.toml``, read by ``recommender serve``.

Config (``recommender.toml``)::

    [events]                 # all optional
    enabled = true           # POST /events accepts events
    rate_per_second = 5.0    # per client address (held in memory only, never stored)
    burst = 30
    max_body_bytes = 16384
    swap_share = 0.0         # share of lists with one random adjacent pair swapped (for tune)

    [experiment]
    name = "recency-test"
    [experiment.a]           # ranking overrides of configuration A (empty: the index's own)
    [experiment.b]
    weight_recency = 0.3
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.errors import SettingsError
from recommender.feedback.events import LABEL
from recommender.options import coerce_fields
from recommender.ranking import RankingSettings


@dataclass(frozen=True)
class EventSettings:
    """``[events]``: what ``POST /events`` accepts, and list randomization for ``tune``."""

    enabled: bool = True
    rate_per_second: float = 5.0
    """Requests per second per client address (kept in memory only, never stored)."""
    burst: int = 30
    max_body_bytes: int = 16 * 1024
    swap_share: float = 0.0
    """Share of lists with one random adjacent pair swapped (position-bias estimates)."""

    def __post_init__(self) -> None:
        coerce_fields(self)
        if self.rate_per_second <= 0 or self.burst < 1:
            raise SettingsError("rate_per_second and burst must be positive")
        if self.max_body_bytes < 256:
            raise SettingsError(f"max_body_bytes must be at least 256, got {self.max_body_bytes}")
        if not 0.0 <= self.swap_share <= 1.0:
            raise SettingsError(f"swap_share must be between 0 and 1, got {self.swap_share}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**data)


@dataclass(frozen=True)
class Experiment:
    """``[experiment]``: a name and the ranking overrides of configurations A and B."""

    name: str
    a: dict[str, Any] = field(default_factory=dict)
    b: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Experiment | None:
        """None for an empty table; a :class:`SettingsError` naming the key otherwise."""
        if not data:
            return None
        unknown = sorted(set(data) - {"name", "a", "b"})
        if unknown:
            raise SettingsError(f"unknown key {unknown[0]!r}; known: name, a, b")
        name = data.get("name")
        if not isinstance(name, str) or not LABEL.match(name):
            raise SettingsError("name must be a short label of A-Z a-z 0-9 _ . : -")
        arms = {}
        for arm in ("a", "b"):
            overrides = data.get(arm, {})
            if not isinstance(overrides, dict):
                raise SettingsError(f"{arm} must be a table of ranking settings")
            try:
                RankingSettings.from_dict(overrides, strict=True)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{arm}: {exc}") from None
            arms[arm] = dict(overrides)
        if arms["a"] == arms["b"]:
            raise SettingsError("configurations a and b are the same")
        return cls(name, arms["a"], arms["b"])

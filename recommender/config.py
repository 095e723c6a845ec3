"""``recommender.toml``: ranking settings, editorial rules and server options in one file.

    [ranking]            # any RankingSettings field (see recommender/ranking.py)
    half_life_days = 60
    weight_lexical = 0.5
    [rules]              # see recommender/rules.py
    block = ["old-ad"]
    [serve]              # any ServeSettings field (below), read by `recommender serve`
    cors_origins = ["https://example.com"]
    [events]             # reader events: see recommender/feedback/settings.py
    [experiment]         # an interleaving experiment: name, [experiment.a], [experiment.b]

Sections other than these, unknown keys, values of the wrong type and values out of range are
an error naming the file and the key (a typo must not be silently ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender._toml import tomllib
from recommender.errors import ConfigError, SettingsError
from recommender.feedback.settings import EventSettings, Experiment
from recommender.options import coerce_fields, field_options
from recommender.ranking import RankingSettings
from recommender.ranking.rules import EditorialRules

SECTIONS = ("ranking", "rules", "serve", "events", "experiment")


@dataclass(frozen=True)
class ServeSettings:
    """``[serve]``: how ``recommender serve`` answers (the HTTP app reads nothing else)."""

    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser (the widget's pages); none by default."""
    cache_max_age: int = 300
    """Seconds a browser or CDN may reuse an answer (``Cache-Control: max-age``), 0 or more."""
    max_body_bytes: int = 64 * 1024
    """Largest request body accepted (413 above), at least 1."""
    reload_interval: float = 1.0
    """Seconds between checks of the index link for a new version (0: every request)."""
    compute_threads: int = 1
    """BLAS / OpenMP threads per request (0: the libraries' defaults). Requests run in
    parallel, each with one small query, where thread pools only add hand-off costs: on 2 busy
    cores a read-more list over 10k articles took 48 ms with 2 threads, 5 ms with 1."""
    write_token: str | None = field(default=None, repr=False)
    """Bearer token of the publish API (PUT/POST/DELETE /articles); the environment variable
    RECOMMENDER_WRITE_TOKEN overrides it. None: every write is refused (403)."""
    max_write_body_bytes: int = 8 * 1024 * 1024
    """Largest body of a publish request (a batch of articles), at least 1."""
    access_log: str = ""
    """File to append one JSON object per request to (none when empty; see metrics)."""

    draft_concurrency: int = 2
    """Draft queries (``POST /related``, which embed text) running at once, at least 1."""
    draft_queue: int = 16
    """Draft queries waiting for a turn beyond those; more are answered 503 at once."""
    draft_timeout: float = 10.0
    """Seconds a draft may wait for its turn before it is answered 503 (with Retry-After)."""

    def __post_init__(self) -> None:
        coerce_fields(self)  # a TOML string for cors_origins becomes a one-origin tuple
        for name in ("cache_max_age", "reload_interval", "compute_threads"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.draft_concurrency < 1 or self.draft_queue < 0 or not self.draft_timeout > 0:
            raise SettingsError(
                "draft_concurrency must be at least 1, draft_queue at least 0, and"
                " draft_timeout more than 0"
            )
        for name in ("max_body_bytes", "max_write_body_bytes"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServeSettings:
        """From a ``[serve]`` table; an unknown key is a :class:`SettingsError`."""
        known = field_options(cls)
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise SettingsError(f"unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**data)


@dataclass(frozen=True)
class Config:
    ranking: dict[str, Any] = field(default_factory=dict)  # overrides, validated
    rules: EditorialRules | None = None  # None: keep the rules stored with the index
    serve: ServeSettings = field(default_factory=ServeSettings)
    events: EventSettings = field(default_factory=EventSettings)
    experiment: Experiment | None = None
    path: Path | None = None


def _section(data: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table", source=str(path))
    return section


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML; every way it cannot be read is one line naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"bytes that are not UTF-8 at offset {exc.start} ({exc.reason}); save it as UTF-8",
            source=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML: {exc}", source=str(path)) from None
    except RecursionError:
        raise ConfigError("malformed TOML: nested too deeply", source=str(path)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; errors (:class:`ConfigError`) name the file and the key."""
    path = Path(path)
    data = _read_toml(path)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}", source=str(path)
        )
    ranking = _section(data, "ranking", path)
    try:
        RankingSettings.from_dict(ranking, strict=True)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[ranking]: {exc}", source=str(path)) from None
    try:
        serve = ServeSettings.from_dict(_section(data, "serve", path))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[serve]: {exc}", source=str(path)) from None
    try:
        events = EventSettings.from_dict(_section(data, "events", path))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[events]: {exc}", source=str(path)) from None
    try:
        experiment = Experiment.from_dict(_section(data, "experiment", path))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[experiment]: {exc}", source=str(path)) from None
    rules = None
    if "rules" in data:
        try:
            rules = EditorialRules.from_dict(data["rules"], where="[rules]")
        except ValueError as exc:
            raise ConfigError(str(exc), source=str(path)) from None
    return Config(
        ranking=dict(ranking),
        rules=rules,
        serve=serve,
        events=events,
        experiment=experiment,
        path=path,
    )

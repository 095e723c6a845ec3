"""``recommender.toml``: ranking settings, editorial rules and server options in one file.

    [ranking]            # any RankingSettings field (see recommender/ranking.py)
    half_life_days = 60
    weight_lexical = 0.5
    [rules]              # see recommender/rules.py
    block = ["old-ad"]
    [serve]              # read by `recommender serve`
    cors_origins = ["https://example.com"]

Sections other than these are an error (a typo must not be silently ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from recommender.articles import InputError
from recommender.ranking import RankingSettings
from recommender.rules import EditorialRules

SECTIONS = ("ranking", "rules", "serve")


@dataclass(frozen=True)
class Config:
    ranking: dict[str, Any] = field(default_factory=dict)  # overrides, validated
    rules: EditorialRules | None = None  # None: keep the rules stored with the index
    serve: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML; every way it cannot be read is one line naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("config file not found", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the config file: {exc.strerror}", source=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"bytes that are not UTF-8 at offset {exc.start} ({exc.reason}); save it as UTF-8",
            source=str(path),
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {exc}", source=str(path)) from None
    except RecursionError:
        raise InputError("malformed TOML: nested too deeply", source=str(path)) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; errors name the file and the key."""
    path = Path(path)
    data = _read_toml(path)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise InputError(
            f"unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}", source=str(path)
        )
    for section in SECTIONS:
        if section in data and not isinstance(data[section], dict):
            raise InputError(
                f"[{section}] must be a table of settings, not a {type(data[section]).__name__}",
                source=str(path),
            )
    ranking = data.get("ranking", {})
    try:
        RankingSettings.from_dict(ranking, strict=True)
    except (ValueError, TypeError) as exc:
        raise InputError(f"[ranking]: {exc}", source=str(path)) from None
    rules = None
    if "rules" in data:
        try:
            rules = EditorialRules.from_dict(data["rules"], where="[rules]")
        except ValueError as exc:
            raise InputError(str(exc), source=str(path)) from None
    return Config(ranking=dict(ranking), rules=rules, serve=dict(data.get("serve", {})), path=path)

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

from recommender._toml import tomllib
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


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; errors name the file and the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("config file not found", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {exc}", source=str(path)) from None
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise InputError(
            f"unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}", source=str(path)
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

"""Which generator a folder is built with, its configuration, and where its index lives."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from recommender._toml import tomllib
from recommender.errors import ConfigError, PathError
from recommender.sites.base import Site, SiteRead
from recommender.sites.frontmatter import lower_keys

HUGO_NAMES = ("hugo", "config")
EXTENSIONS = (".toml", ".yaml", ".yml", ".json")
JEKYLL_NAMES = ("_config.yml", "_config.yaml", "_config.toml")
# The index of a site build: a dot folder, which neither Hugo nor Jekyll publishes.
SITE_INDEX = Path(".recommender") / "index"
DEFAULT_INDEX = Path("indexes/default")


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the site configuration is not UTF-8 text") from None
    except OSError as exc:
        raise PathError(path, "read", exc) from None
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the site configuration: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the site configuration is not a mapping")
    return dict(lower_keys(data))


def _hugo_config_dir(root: Path) -> tuple[Path, dict[str, Any]] | None:
    """Hugo's ``config/_default/`` folder: hugo.* or config.*, plus params.* and permalinks.*."""
    folder = root / "config" / "_default"
    if not folder.is_dir():
        return None
    main = next((folder / f"{n}{e}" for n in HUGO_NAMES for e in EXTENSIONS
                 if (folder / f"{n}{e}").is_file()), None)  # fmt: skip
    config = _load(main) if main else {}
    for key in ("params", "permalinks"):
        extra = next((folder / f"{key}{e}" for e in EXTENSIONS if (folder / f"{key}{e}").is_file()),
                     None)  # fmt: skip
        if extra:
            config[key] = {**config.get(key, {}), **_load(extra)}
    return (main or folder), config


def detect(root: str | Path) -> Site | None:
    """The site at ``root``, or None when ``root`` is not a Hugo or Jekyll site root."""
    root = Path(root)
    if not root.is_dir():
        return None
    for name in JEKYLL_NAMES:
        if (root / name).is_file():
            return Site("jekyll", root, root / name, _load(root / name))
    for name in HUGO_NAMES:
        for ext in EXTENSIONS:
            path = root / f"{name}{ext}"
            if path.is_file():
                return Site("hugo", root, path, _load(path))
    found = _hugo_config_dir(root)
    if found is not None:
        return Site("hugo", root, found[0], found[1])
    return None


def read_site(
    site: Site, now: dt.datetime | None = None, *, follow_symlinks: bool = False
) -> SiteRead:
    """The articles the site publishes (see :mod:`recommender.sites.hugo` / ``jekyll``).
    Symbolic links out of the site root are refused unless ``follow_symlinks``."""
    if site.generator == "hugo":
        from recommender.sites import hugo

        return hugo.read(site, now, follow_symlinks=follow_symlinks)
    from recommender.sites import jekyll

    return jekyll.read(site, now, follow_symlinks=follow_symlinks)


def site_index(root: str | Path) -> Path:
    """Where a site's index lives by default: ``ROOT/.recommender/index``."""
    return Path(root) / SITE_INDEX


def default_index(cwd: str | Path = ".") -> Path:
    """The index a command uses without ``--index``: the site's own when run from a site root
    that has one, else ``indexes/default``."""
    cwd = Path(cwd)
    if (cwd / SITE_INDEX).exists() and detect(cwd) is not None:
        return SITE_INDEX if cwd == Path(".") else cwd / SITE_INDEX
    return DEFAULT_INDEX

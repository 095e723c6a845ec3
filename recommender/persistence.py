"""The index folder on disk: manifest, checksums, atomic swap, checked loading.

``indexes/<name>`` is a symbolic link to one immutable version folder in
``indexes/.<name>.versions/``. A write fills a new version folder under a temporary name,
renames it into place, then atomically replaces the link: a reader sees the old version or the
new one, never a mix, and a failed or killed build leaves the previous index as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender._version import __version__

FORMAT_NAME = "recommender-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEEP_VERSIONS = 2  # the current one and the one before, for readers still holding it


class IndexFormatError(RuntimeError):
    """A folder that is not a loadable index: missing, damaged, or of another format version."""


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]

    @property
    def dimension(self) -> int:
        return int(self.data["model"]["dimension"])

    @property
    def model_name(self) -> str:
        return str(self.data["model"]["name"])

    @property
    def index_type(self) -> str:
        return str(self.data["index_type"])

    @property
    def version_id(self) -> str:
        return str(self.data["version_id"])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions_dir(index_path: Path) -> Path:
    index_path = Path(index_path)
    return index_path.parent / f".{index_path.name}.versions"


def _fsync_dir(path: Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for item in folder.iterdir():
        if item.is_file():
            with open(item, "rb+") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def write_index_version(
    index_path: Path, fill: Callable[[Path], dict[str, Any]]
) -> Path:
    """Create a new version of ``index_path`` and switch to it atomically.

    ``fill(folder)`` writes the data files into ``folder`` and returns the manifest fields;
    checksums, format and version fields are added here and the manifest is written last.
    If ``fill`` raises, nothing changes and the partial folder is removed.
    """
    index_path = Path(index_path)
    if index_path.exists() and not index_path.is_symlink():
        _adopt_plain_folder(index_path)
    vdir = versions_dir(index_path)
    vdir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    version_id = f"{stamp}-{uuid.uuid4().hex[:8]}"
    staging = vdir / f"{version_id}.tmp"
    staging.mkdir()
    try:
        fields = fill(staging)
        files = {
            item.name: {"sha256": sha256_file(item), "bytes": item.stat().st_size}
            for item in sorted(staging.iterdir())
            if item.is_file()
        }
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "version_id": version_id,
            "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **fields,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
        _fsync_tree(staging)
        final = vdir / version_id
        os.rename(staging, final)
        _fsync_dir(vdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link_tmp = index_path.parent / f".{index_path.name}.link-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.join(vdir.name, version_id), link_tmp)
    os.replace(link_tmp, index_path)
    _fsync_dir(index_path.parent)
    _collect_garbage(vdir, keep=version_id)
    return final


def _adopt_plain_folder(index_path: Path) -> None:
    """Turn a plain folder at the index path into a version, or refuse to touch it."""
    if not index_path.is_dir():
        raise IndexFormatError(f"{index_path} exists and is not an index folder; not overwriting")
    if not any(index_path.iterdir()):
        index_path.rmdir()
        return
    if not (index_path / MANIFEST).exists():
        raise IndexFormatError(
            f"{index_path} is a folder with other files in it, not an index; not overwriting"
        )
    vdir = versions_dir(index_path)
    vdir.mkdir(parents=True, exist_ok=True)
    os.rename(index_path, vdir / f"adopted-{uuid.uuid4().hex[:8]}")


def _collect_garbage(vdir: Path, keep: str) -> None:
    """Remove old versions beyond the last few, and staging folders of dead writers."""
    versions = sorted(
        (p for p in vdir.iterdir() if p.is_dir() and not p.name.endswith(".tmp")),
        key=lambda p: p.stat().st_mtime,
    )
    old = [p for p in versions if p.name != keep][: max(0, len(versions) - KEEP_VERSIONS)]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    for path in vdir.glob("*.tmp"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def resolve_version(index_path: Path) -> Path:
    """The version folder an index path points at now (followed once, so it stays consistent)."""
    index_path = Path(index_path)
    if not index_path.exists():
        if index_path.is_symlink():
            raise IndexFormatError(f"{index_path} points at a version folder that is missing")
        raise IndexFormatError(
            f"no index at {index_path}: build one with `recommender build INPUT --index {index_path}`"
        )
    return Path(os.path.realpath(index_path))


def read_manifest(folder: Path, *, verify: bool = True) -> Manifest:
    """Read and check a version folder's manifest (format, version, files, checksums)."""
    path = folder / MANIFEST
    if not path.exists():
        raise IndexFormatError(f"{folder} is not an index folder: {MANIFEST} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path} is damaged: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise IndexFormatError(f"{path} is not a recommender index manifest")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexFormatError(
            f"{folder} has index format version {version}; this recommender "
            f"({__version__}) reads version {FORMAT_VERSION}: rebuild it with `recommender build`"
        )
    for key in ("model", "index_type", "article_count", "files", "version_id"):
        if key not in data:
            raise IndexFormatError(f"{path} is damaged: field '{key}' is missing")
    for name, meta in data["files"].items():
        file = folder / name
        if not file.exists():
            raise IndexFormatError(f"{folder} is damaged: {name} is missing")
        if file.stat().st_size != meta["bytes"]:
            raise IndexFormatError(
                f"{folder} is damaged: {name} has {file.stat().st_size} bytes,"
                f" the manifest says {meta['bytes']}"
            )
        if verify and sha256_file(file) != meta["sha256"]:
            raise IndexFormatError(f"{folder} is damaged: checksum of {name} does not match")
    return Manifest(data)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())

"""The index folder on disk: manifest, checksums, atomic swap, checked loading.

``indexes/<name>`` is a symbolic link to one immutable version folder in
``indexes/.<name>.versions/``. A write fills a new version folder under a temporary name,
renames it into place, then atomically replaces the link: a reader sees the old version or the
new one, never a mix, and a failed or killed build leaves the previous index as it was.

One writer at a time: writers hold an exclusive ``fcntl.flock`` on ``<parent>/.<name>.lock``
(which records the holder's PID and start time). The kernel releases it when the holder dies,
so a killed writer never leaves a stale lock. Readers take no lock: they resolve the link once
and read an immutable folder. Under the lock, staging folders and link files left by killed
writers are removed before anything is written, and never read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from recommender import safejson
from recommender._version import __version__
from recommender.errors import IndexFormatError, IndexLockedError, PathError
from recommender.storage.manifest import Manifest

FORMAT_NAME = "recommender-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


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


def lock_path(index_path: Path) -> Path:
    index_path = Path(index_path)
    return index_path.parent / f".{index_path.name}.lock"


_VERSIONS_NAME = re.compile(r"^\..+\.versions$")


def check_write_target(index_path: Path, *, existing: bool = False) -> None:
    """Refuse, before anything is created or embedded, a write that could not finish.

    - A version folder, a staging folder, or anything inside one: ``indexes/news`` is a link
      into ``indexes/.news.versions/``; writing *at* a folder in there (the ``version_folder``
      that ``info --json`` prints, say) would nest a second index inside an immutable version,
      or replace it and leave the real link pointing at nothing. Only the parent is resolved:
      the index link itself legitimately points into its versions folder.
    - A path that holds something else than an index (a file, a folder of other files).
    - A folder the index would go in that is not a writable folder.
    - ``existing`` (upsert, remove, reindex): no index there yet.

    So a refused write leaves no lock file, cache folder or parent folder behind, and costs
    no embedding.
    """
    index_path = Path(index_path)
    target = Path(os.path.realpath(index_path.parent)) / index_path.name
    for folder in (target, *target.parents):
        if _VERSIONS_NAME.match(folder.name):
            index = folder.parent / folder.name[1 : -len(".versions")]
            raise IndexFormatError(
                f"{index_path} is a version folder of the index {index} or inside one:"
                f" versions are never written in place; write to {index} instead"
            )
    if existing:
        resolve_version(index_path)  # "no index at ...: build one with ..."
    elif index_path.exists() and not index_path.is_symlink():
        _check_adoptable(index_path)
    _check_parent_writable(index_path)


def _check_adoptable(index_path: Path) -> None:
    """A plain folder at the index path is adopted only if empty or an index itself."""
    if not index_path.is_dir():
        raise IndexFormatError(f"{index_path} exists and is not an index folder; not overwriting")
    if any(index_path.iterdir()) and not (index_path / MANIFEST).exists():
        raise IndexFormatError(
            f"{index_path} is a folder with other files in it, not an index; not overwriting"
        )


def _check_parent_writable(index_path: Path) -> None:
    """The nearest existing folder above the index must be a folder this process may write."""
    parent = Path(os.path.abspath(index_path)).parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise PathError(index_path, "write the index", f"{parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PathError(index_path, "write the index", f"{parent} is not writable")


@contextlib.contextmanager
def writer_lock(index_path: Path, wait: float = 0.0, *, existing: bool = False) -> Iterator[None]:
    """Hold the index's writer lock; :class:`IndexLockedError` if another process holds it
    for longer than ``wait`` seconds. The target is checked first (:func:`check_write_target`;
    ``existing``: the writer needs an index there already): every writer takes this lock
    before it reads, embeds or writes anything."""
    check_write_target(index_path, existing=existing)
    path = lock_path(index_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # the folder the index goes in is not writable
        raise PathError(index_path, "write the index", exc) from None
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(index_path, *_lock_holder(path)) from None
                time.sleep(0.05)
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started": started}).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race with waiters)


def _lock_holder(path: Path) -> tuple[int | None, str | None]:
    for _ in range(5):  # the holder writes its PID just after taking the lock
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return int(data["pid"]), str(data.get("started") or "") or None
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.02)
    return None, None


def _current_generation(index_path: Path) -> int:
    try:
        return read_manifest(resolve_version(index_path), verify=False).generation
    except (IndexFormatError, OSError):
        return 0


def _remove_leftovers(index_path: Path, vdir: Path) -> None:
    """Staging folders and temporary links of writers that were killed (call under the lock)."""
    if vdir.is_dir():
        for path in vdir.glob("*.tmp"):
            shutil.rmtree(path, ignore_errors=True)
    for path in index_path.parent.glob(f".{index_path.name}.link-*"):
        with contextlib.suppress(OSError):
            path.unlink()


def write_index_version(index_path: Path, fill: Callable[[Path], dict[str, Any]]) -> Path:
    """Create a new version of ``index_path`` and switch to it atomically.

    ``fill(folder)`` writes the data files into ``folder`` and returns the manifest fields;
    checksums, format, version and generation fields are added here and the manifest is written
    last. If ``fill`` raises, nothing changes and the partial folder is removed. The caller
    holds :func:`writer_lock`.
    """
    index_path = Path(index_path)
    if index_path.exists() and not index_path.is_symlink():
        _adopt_plain_folder(index_path)
    vdir = versions_dir(index_path)
    _remove_leftovers(index_path, vdir)
    generation = _current_generation(index_path) + 1
    previous = os.path.realpath(index_path) if index_path.exists() else None
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
            "generation": generation,
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
    keep = {version_id} | ({Path(previous).name} if previous else set())
    _collect_garbage(vdir, keep=keep)
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


def _collect_garbage(vdir: Path, keep: set[str]) -> None:
    """Remove every version but the new one and the one it replaced (readers may still hold
    that one), including complete versions of writers killed before their switch."""
    for path in vdir.iterdir():
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def resolve_version(index_path: Path) -> Path:
    """The version folder an index path points at now (followed once, so it stays consistent)."""
    index_path = Path(index_path)
    if not index_path.exists():
        if index_path.is_symlink():
            raise IndexFormatError(f"{index_path} points at a version folder that is missing")
        raise IndexFormatError(
            f"no index at {index_path}: build one with"
            f" `recommender build INPUT --index {index_path}`"
        )
    return Path(os.path.realpath(index_path))


def read_manifest(folder: Path, *, verify: bool = True) -> Manifest:
    """Read and check a version folder's manifest (format, version, files, checksums)."""
    path = folder / MANIFEST
    if not path.exists():
        raise IndexFormatError(f"{folder} is not an index folder: {MANIFEST} is missing")
    try:
        data = safejson.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path} is damaged: {exc}") from None
    except OSError as exc:
        raise PathError(path, "read", exc) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise IndexFormatError(f"{path} is not a recommender index manifest")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexFormatError(
            f"{folder} has index format version {version}; this recommender "
            f"({__version__}) reads version {FORMAT_VERSION}: rebuild it with `recommender build`"
        )
    manifest = Manifest.from_dict(data, str(path))
    for name, meta in manifest.files.items():
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
    return manifest


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())

"""Static export: every article's read-more list as JSON files for static site generators.

Layouts under ``out`` (see docs/static-export.md for templates):

- ``json``:   ``related.json`` (``{id: [result, ...]}`` for all articles) and
              ``related/<name>.json`` (``{"id": id, "results": [...]}``) per article;
- ``hugo``:   ``data/related/<name>.json`` per article, read in a template with
              ``index site.Data.related (urlquery .File.Path)``;
- ``jekyll``: ``_data/related.json`` (``{id: [result, ...]}``), read as
              ``site.data.related[page.path]`` (ids of a site build are the generator's
              own page identities: see ``recommender.sites``).

A result is :meth:`Recommendation.to_dict`, the shape the CLI's ``--json`` and the HTTP API
return. ``<name>`` is :func:`safe_name` of the id. Lists come from the index's precomputed lists
where they answer (``k`` and ranking options as stored, clock-free lists of dated articles: the
same bytes live ranking gives, read in microseconds); the rest are ranked in one pass with
:meth:`Engine.related_many`, or on Ray workers with a
:class:`~recommender.distributed.RayRanker` (``ray=``). A file is rewritten only when its
bytes change (atomically: temp file + ``os.replace``), and only when a reader would see a
change: ids, order, titles, URLs, dates (a shift in scores alone leaves the file as it is);
per-article files of articles no longer in the index are deleted. The per-article folders
(``related/``, ``data/related/``) belong to the exporter: any other ``.json`` file in them is
deleted as stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from recommender import safejson
from recommender.errors import ExportTargetError, InputError, PathError, SettingsError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from recommender.distributed import RayRanker
    from recommender.engine import Engine
    from recommender.results import Recommendation

FORMATS = ("json", "hugo", "jekyll")

MAX_NAME = 200  # bytes; file systems allow 255, and the ".json" suffix and temp names need room


@dataclass(frozen=True)
class ExportReport:
    """What an export did, for the CLI's summary."""

    out: Path
    format: str
    articles: int
    written: int
    unchanged: int
    removed: int
    seconds: float
    precomputed: int = 0  # lists read from the index's precomputed lists, not ranked now


def safe_name(article_id: str) -> str:
    """A file name (without ``.json``) for an id: one id, one name, and back again.

    ``urllib.parse.quote_plus(id, safe="")``: letters, digits and ``_.-~`` stay, a space becomes
    ``+``, every other byte of the UTF-8 id becomes ``%XX`` (so ``world/summit`` is
    ``world%2Fsummit``). That is exactly Go's ``url.QueryEscape``, Hugo's ``urlquery``, so a
    template can compute the name from the id. Two refinements keep names usable: a leading
    ``.`` becomes ``%2E`` (no hidden files), and a name over 200 bytes is cut and suffixed with
    ``~`` and a hash of the id. On case-insensitive file systems (macOS, Windows) ids that differ
    only in case share a file: keep ids lowercase there, or use the combined file.
    """
    name = quote_plus(article_id, safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(article_id.encode()).hexdigest()[:16]
        cut = name[: MAX_NAME - 17]
        escape = cut.find("%", len(cut) - 2)  # never cut through a %XX
        name = (cut[:escape] if escape != -1 else cut) + "~" + digest
    return name


def check_inside(out: Path, paths: Iterable[Path]) -> None:
    """Refuse to export when a path the export writes, or a folder on the way to it, is a
    symbolic link that leads out of ``out``: the export would write, and prune stale files,
    in a folder it was never given. Links that stay inside ``out`` are fine."""
    real_out = os.path.realpath(out)
    for path in paths:
        relative = path.relative_to(out)
        for depth in range(1, len(relative.parts) + 1):
            step = out.joinpath(*relative.parts[:depth])
            if not step.is_symlink():
                continue
            target = os.path.realpath(step)
            if target != real_out and not target.startswith(real_out + os.sep):
                raise ExportTargetError(
                    f"{step} is a symbolic link to {target}, outside {out}: the export"
                    " writes and deletes files only inside --out; remove the link"
                )


def _dump(payload: Any) -> bytes:
    return (safejson.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless it already holds exactly these bytes."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


# What a reader cannot see: a file whose lists differ only in these is left as it is.
INVISIBLE = ("score", "why")


def visible(payload: Any) -> Any:
    """``payload`` without scores and explanations: ids, order, titles, URLs, dates and the rest."""
    if isinstance(payload, dict):
        return {k: visible(v) for k, v in payload.items() if k not in INVISIBLE}
    if isinstance(payload, list):
        return [visible(v) for v in payload]
    return payload


def _shows_same(path: Path, payload: Any) -> bool:
    try:
        current = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return bool(visible(current) == visible(payload))


class _Writer:
    """Counts what an export writes, leaves unchanged and removes."""

    def __init__(self) -> None:
        self.written = self.unchanged = self.removed = 0

    def put(self, path: Path, payload: Any) -> None:
        """Write ``payload`` unless the file already shows a reader the same lists."""
        try:
            changed = not _shows_same(path, payload) and _write_if_changed(path, _dump(payload))
        except OSError as exc:  # a read-only site folder, a file where a folder should be...
            raise PathError(path, "write", exc) from None
        if changed:
            self.written += 1
        else:
            self.unchanged += 1

    def prune(self, folder: Path, keep: Iterable[str]) -> None:
        """Delete ``*.json`` files in ``folder`` not named in ``keep``, and dead temp files."""
        if not folder.is_dir():
            return
        keep = set(keep)
        for item in folder.iterdir():
            stale_json = item.suffix == ".json" and item.name not in keep
            dead_tmp = item.name.startswith(".") and item.name.endswith(".tmp")
            if item.is_file() and (stale_json or dead_tmp):
                item.unlink()
                self.removed += int(stale_json)


def names_of(ids: Iterable[str], folder: Path) -> dict[str, str]:
    """Per-article file name -> id; two ids that map to one file are an input error."""
    names: dict[str, str] = {}
    for article_id in ids:
        name = safe_name(article_id) + ".json"
        if name in names:
            raise InputError(
                f"ids {names[name]!r} and {article_id!r} map to one file {name}",
                source=str(folder),
                field="id",
            )
        names[name] = article_id
    return names


def stored_lists(
    engine: Engine, k: int, options: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """({id: results} answered by the precomputed lists, ids left to rank live)."""
    from recommender.precomputed import stored_list

    ids = engine.ids()
    lists = engine.precomputed
    if options or lists is None or not lists.serves(engine.settings, engine.rules, k):
        return {}, ids
    stored: dict[str, Any] = {}
    live: list[str] = []
    for article_id in ids:
        results = stored_list(engine, article_id, k)
        if results is None:  # undated source: its list depends on the clock
            live.append(article_id)
        else:
            stored[article_id] = results
    return stored, live


def all_lists(
    engine: Engine,
    k: int,
    batch_size: int,
    ray: RayRanker | None,
    options: dict[str, Any],
) -> tuple[int, Iterator[tuple[str, list[Recommendation]]]]:
    """(how many come from the precomputed lists, every article's list)."""
    stored, live = stored_lists(engine, k, options)

    def generate() -> Iterator[tuple[str, list[Recommendation]]]:
        yield from stored.items()
        if not live:
            return  # nothing to rank: Ray is not even started
        if ray is None:
            yield from engine.related_many(live, k, batch_size=batch_size, **options)
        else:
            yield from ray.related_many(engine, live, k, batch_size=batch_size, **options)

    return len(stored), generate()


def export(
    engine: Engine,
    out: str | Path,
    *,
    format: str = "json",
    k: int = 5,
    batch_size: int = 256,
    ray: RayRanker | None = None,
    **options: Any,
) -> ExportReport:
    """Write every article's ``k`` related articles under ``out`` in ``format``'s layout.

    ``options`` are ranking options for this export (as for :meth:`Engine.related`). ``ray``:
    rank the lists the precomputed lists do not answer on Ray workers (same results).
    """
    if format not in FORMATS:
        raise SettingsError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    if k < 1:
        raise SettingsError("k must be at least 1")
    started = time.perf_counter()
    out = Path(out)
    writer = _Writer()
    per_article = {"json": out / "related", "hugo": out / "data" / "related"}.get(format)
    combined_file = {"json": out / "related.json", "jekyll": out / "_data" / "related.json"}
    check_inside(out, [p for p in (per_article, combined_file.get(format)) if p is not None])
    names = names_of(engine.ids(), per_article) if per_article is not None else {}
    combined: dict[str, list[dict[str, Any]]] = {}
    precomputed, lists = all_lists(engine, k, batch_size, ray, options)
    for article_id, results in lists:
        items = [r.to_dict() for r in results]
        if per_article is not None:
            name = safe_name(article_id) + ".json"
            writer.put(per_article / name, {"id": article_id, "results": items})
        if format != "hugo":
            combined[article_id] = items
    if per_article is not None:
        writer.prune(per_article, names)
    if format == "json":
        writer.put(out / "related.json", dict(sorted(combined.items())))
    elif format == "jekyll":
        writer.put(out / "_data" / "related.json", dict(sorted(combined.items())))
    return ExportReport(
        out=out,
        format=format,
        articles=len(engine),
        written=writer.written,
        unchanged=writer.unchanged,
        removed=writer.removed,
        seconds=time.perf_counter() - started,
        precomputed=precomputed,
    )

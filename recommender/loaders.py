"""Read articles from JSONL, CSV, and folders of Markdown files with front matter.

Every reader yields validated :class:`~recommender.articles.Article` objects (with where they
came from) and raises
:class:`~recommender.articles.InputError` naming file, line and field on the first problem.
:func:`load_articles` reads several inputs of any format (these and those of
:mod:`recommender.sources`, which detects each input's format and runs the one read loop),
rejects duplicate ids and empty input.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from recommender import safejson
from recommender._toml import tomllib
from recommender.articles import Article, article_from_mapping
from recommender.errors import InputError
from recommender.safeyaml import load_yaml

MARKDOWN_SUFFIXES = (".md", ".markdown")
# A Markdown article is text a person wrote: far below these. Past them it is a mistake or an
# attack, refused before it is parsed (see recommender/safeyaml.py for the YAML budget).
MAX_MARKDOWN_BYTES = 8 << 20
MAX_FRONT_MATTER_BYTES = 256 << 10
MAX_CSV_CELL = 16 << 20
_JEKYLL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})-")


def _decode(path: Path) -> str:
    """The file as text; bytes that are not UTF-8 are an error naming the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"bytes that are not UTF-8 at offset {exc.start} ({exc.reason}); "
            "save the file as UTF-8",
            source=str(path),
            line=line,
        ) from None
    return text.removeprefix("\ufeff")


Located = tuple[Article, str, int | None]  # article, source, line


def read_jsonl(path: Path) -> Iterator[Located]:
    """One JSON object per line; blank lines are allowed."""
    for number, line in enumerate(_decode(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = safejson.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON: {exc.msg} (column {exc.colno})", source=str(path), line=number
            ) from None
        yield article_from_mapping(data, source=str(path), line=number), str(path), number


def read_json(path: Path) -> Iterator[Located]:
    """A JSON array of article objects (line numbers are not known: items are numbered)."""
    try:
        data = safejson.loads(_decode(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg}", source=str(path), line=exc.lineno) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError("expected a JSON array of article objects", source=str(path))
    for number, item in enumerate(data, start=1):
        where = f"{path}[item {number}]"
        yield article_from_mapping(item, source=where), where, None


def _csv_header(cells: list[str], source: str) -> list[str]:
    """The header row, stripped; a column named twice (ignoring case) is an error."""
    header = [name.strip() for name in cells]
    first: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        key = name.lower()
        if name and key in first:
            raise InputError(
                f"column named twice in the header (columns {first[key]} and {number});"
                " rename or drop one",
                source=source,
                line=1,
                field=header[first[key] - 1],
            )
        first.setdefault(key, number)
    for name in ("id", "title"):
        if name not in header:
            raise InputError("missing column in the header row", source=source, line=1, field=name)
    return header


def _csv_row(header: list[str], cells: list[str], source: str, line: int) -> dict[str, Any]:
    """One data row as a record; a row with more or fewer cells than the header is an error."""
    if len(cells) != len(header):
        missing = f" (no cell for '{header[len(cells)]}')" if len(cells) < len(header) else ""
        raise InputError(
            f"row has {len(cells)} cells, the header has {len(header)}{missing}",
            source=source,
            line=line,
            field=header[len(cells)] if len(cells) < len(header) else None,
        )
    record: dict[str, Any] = {}
    for name, value in zip(header, cells, strict=True):
        if not name:
            if value.strip():
                raise InputError("a cell under a column with no name", source=source, line=line)
            continue
        record[name] = value if value != "" else None
    return record


def _csv_error(exc: csv.Error, text: str, header: list[str], source: str, line: int) -> InputError:
    """A csv.Error as an error naming the row where the broken record starts and its column."""
    lines = text.splitlines()
    first_line = lines[line - 1] if line <= len(lines) else ""
    delimiter = "\t" if source.lower().endswith(".tsv") else ","
    try:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
    except csv.Error:
        cells = []
    column = header[len(cells) - 1] if header and 0 < len(cells) <= len(header) else None
    reason = str(exc)
    if "unexpected end of data" in reason:
        reason = "a quoted cell is never closed (an unmatched '\"'); every later row would be lost"
    return InputError(f"malformed CSV: {reason}", source=source, line=line, field=column)


def read_csv(path: Path) -> Iterator[Located]:
    """A CSV file (``.tsv``: tab-separated) with a header row; ``tags`` is a ``;``- or
    ``,``-separated cell. Every row must have as many cells as the header; a quote left open,
    a column named twice or a short row is an error naming file, row and column."""
    for item, line in csv_items(path):
        if isinstance(item, InputError):
            raise item
        yield item, str(path), line


def csv_items(path: Path) -> Iterator[tuple[Article | InputError, int]]:
    """Each data row as an article or as the error that rejects it (reading goes on past a bad
    row; a bad header or malformed CSV ends the file)."""
    text = _decode(path)
    source = str(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # The csv module's default cell limit (128 KiB) is below a long article's body.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_CELL))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not header:
                if not cells:
                    continue
                try:
                    header = _csv_header(cells, source)
                except InputError as exc:
                    yield exc, line
                    return
                continue
            if not cells or not any(cell.strip() for cell in cells):
                continue
            try:
                record = _csv_row(header, cells, source, line)
                yield article_from_mapping(record, source=source, line=line), line
            except InputError as exc:
                yield exc, line
    except csv.Error as exc:
        yield _csv_error(exc, text, header, source, start), start


def split_front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """Split Hugo/Jekyll front matter (YAML ``---`` or TOML ``+++``) from the body.

    Returns (front matter, body, line number where the body starts).
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() not in ("---", "+++"):
        return {}, text, 1
    fence = lines[0].strip()
    for end in range(1, len(lines)):
        if lines[end].strip() == fence:
            break
    else:
        raise ValueError(f"front matter opened with '{fence}' on line 1 is never closed")
    block = "".join(lines[1:end])
    if len(block.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise ValueError(f"front matter is larger than {MAX_FRONT_MATTER_BYTES >> 10} KiB")
    try:
        meta = load_yaml(block) or {} if fence == "---" else tomllib.loads(block)
    except RecursionError:  # tomllib parses nested arrays recursively
        raise ValueError("front matter is nested too deeply") from None
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping of fields")
    return meta, "".join(lines[end + 1 :]), end + 2


def _markdown_record(meta: dict[str, Any], body: str, rel_id: str) -> dict[str, Any]:
    """Map Hugo/Jekyll front-matter names onto the article contract."""
    record = dict(meta)
    record.setdefault("id", rel_id)
    date_keys = ("date", "publishDate", "pubDate")
    if "published_at" not in record:
        record["published_at"] = next((meta[k] for k in date_keys if meta.get(k) is not None), None)
    if record["published_at"] is None:
        # Jekyll posts carry their date in the file name: 2024-05-01-title.md
        match = _JEKYLL_DATE.match(rel_id.rsplit("/", 1)[-1])
        if match:
            record["published_at"] = match.group(1)
    for key in date_keys:
        record.pop(key, None)
    if "category" not in record:
        cats = meta.get("categories") or meta.get("section")
        if isinstance(cats, str):
            cats = cats.replace(",", " ").split()
        if isinstance(cats, list) and cats:
            record["category"] = str(cats[0])
        elif "/" in rel_id:
            record["category"] = rel_id.split("/", 1)[0]
    record.pop("categories", None)
    record.pop("section", None)
    if "url" not in record and meta.get("permalink"):
        record["url"] = meta["permalink"]
    record.pop("permalink", None)
    if "language" not in record and meta.get("lang"):
        record["language"] = record.pop("lang")
    record["body"] = body
    return record


# Front matter keys read without case (`Title:`, `Date:` in sites imported from other tools).
_KNOWN_KEYS = {k.lower(): k for k in (
    "id", "title", "body", "url", "published_at", "category", "categories", "tags", "language",
    "lang", "date", "publishDate", "pubDate", "section", "permalink", "draft",
)}  # fmt: skip


def _canonical_keys(meta: dict[str, Any]) -> dict[str, Any]:
    """Known keys in their canonical case; dates in the generators' forms made ISO-8601."""
    from recommender.sites.frontmatter import parse_date

    out: dict[str, Any] = {}
    for key, value in meta.items():
        name = _KNOWN_KEYS.get(str(key).lower(), key)
        if name in ("date", "publishDate", "pubDate", "published_at") and isinstance(value, str):
            with contextlib.suppress(ValueError):  # else the article check names the field
                value = parse_date(value)
        out.setdefault(name, value)
    return out


def _outside(path: Path, real_root: str) -> str | None:
    """Where a symbolic link at ``path`` leads when that is outside ``real_root``, else None."""
    target = os.path.realpath(path)
    return None if target == real_root or target.startswith(real_root + os.sep) else target


def _link_error(path: Path, target: str, root: Path) -> InputError:
    return InputError(
        f"a symbolic link to {target}, outside {root}: not read"
        " (--follow-symlinks reads links that leave the folder)",
        source=str(path),
    )


def refuse_link_out(path: Path, root: Path) -> None:
    """Raise the error :func:`files_under` gives when ``path``, a file or folder named under
    ``root``, really lies outside it because a symbolic link on the way leads out (a path
    that is itself written outside ``root``, such as a configured ``../posts``, is not a link
    and passes)."""
    named = os.path.normpath(os.path.abspath(path))
    top = os.path.normpath(os.path.abspath(root))
    if named != top and not named.startswith(top.rstrip(os.sep) + os.sep):
        return
    target = _outside(path, os.path.realpath(root))
    if target is not None:
        raise _link_error(path, target, root)


def markdown_files(root: Path, *, follow_symlinks: bool = False) -> list[Path]:
    """Every Markdown file under ``root``, sorted (see :func:`files_under`)."""
    return files_under(root, MARKDOWN_SUFFIXES, follow_symlinks=follow_symlinks)


def files_under(
    root: Path,
    suffixes: tuple[str, ...],
    *,
    follow_symlinks: bool = False,
    within: Path | None = None,
) -> list[Path]:
    """Every file under ``root`` whose suffix is one of ``suffixes``, sorted.

    Symbolic links are not followed out of ``root`` (or out of ``within``, a folder above it,
    such as a site's root above its content folder): a link to a file or folder outside it is
    an error naming the link, unless ``follow_symlinks`` (then linked folders are walked too).
    Links that stay inside are read where they point (linked folders are not walked twice)."""
    boundary = root if within is None else within
    if within is not None and not follow_symlinks:
        refuse_link_out(root, within)
    real_root = os.path.realpath(boundary)
    found: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        folder = Path(dirpath)
        if follow_symlinks:  # a link back up the tree would loop forever
            real = os.path.realpath(folder)
            if real in seen:
                dirnames.clear()
                continue
            seen.add(real)
        for name in dirnames + filenames:
            path = folder / name
            if not path.is_symlink() or follow_symlinks:
                continue
            target = _outside(path, real_root)
            if target is not None and (name in dirnames or path.suffix.lower() in suffixes):
                raise _link_error(path, target, boundary)
        found.extend(folder / n for n in filenames if (folder / n).suffix.lower() in suffixes)
    return sorted(found)


def read_markdown_dir(root: Path, *, follow_symlinks: bool = False) -> Iterator[Located]:
    """Every ``.md`` file under ``root``; id = path relative to root without extension.

    Drafts (``draft: true``) are skipped, as Hugo and Jekyll skip them when publishing. Links
    out of ``root`` are refused unless ``follow_symlinks`` (see :func:`markdown_files`).
    """
    for path in markdown_files(root, follow_symlinks=follow_symlinks):
        rel_id = path.relative_to(root).with_suffix("").as_posix()
        if rel_id.endswith("/_index") or rel_id == "_index":
            continue  # Hugo section list pages, not articles
        yield from read_markdown_file(path, rel_id)


def read_markdown_file(path: Path, rel_id: str | None = None) -> Iterator[Located]:
    size = path.stat().st_size
    if size > MAX_MARKDOWN_BYTES:
        raise InputError(
            f"file is {size} bytes; a Markdown article may have at most {MAX_MARKDOWN_BYTES}",
            source=str(path),
        )
    text = _decode(path)
    try:
        meta, body, _ = split_front_matter(text)
    except (ValueError, yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(
            f"bad front matter: {str(exc).splitlines()[0]}",
            source=str(path),
            line=(line + 2) if line is not None else 1,
        ) from None
    meta = _canonical_keys(meta)
    if meta.get("draft") is True:
        return
    meta.pop("draft", None)
    record = _markdown_record(meta, body, rel_id or path.stem)
    yield article_from_mapping(record, source=str(path), line=1), str(path), 1


def load_articles(
    paths: Sequence[str | Path] | str | Path,
    *,
    format: str | None = None,
    include_pages: bool = False,
    timeout: float = 20.0,
    follow_symlinks: bool = False,
) -> list[Article]:
    """Read and validate every input; duplicate ids and empty input are errors.

    Inputs are files, folders or URLs in any format of :mod:`recommender.sources` (JSONL, JSON,
    CSV, Markdown, WordPress WXR, RSS/Atom, HTML pages, sitemaps), detected from their content
    unless ``format`` names one. What was skipped on purpose (drafts, tag pages ...) is counted
    by :func:`recommender.sources.read_inputs`, which this wraps. A folder's symbolic links
    that lead out of it are refused unless ``follow_symlinks``.
    """
    from recommender.sources import ReadOptions, read_inputs

    options = ReadOptions(
        format=format, include_pages=include_pages, timeout=timeout, follow_symlinks=follow_symlinks
    )
    return read_inputs(paths, options).articles

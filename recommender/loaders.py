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
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from recommender._toml import tomllib
from recommender.articles import Article, article_from_mapping
from recommender.errors import InputError

MARKDOWN_SUFFIXES = (".md", ".markdown")
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
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON: {exc.msg} (column {exc.colno})", source=str(path), line=number
            ) from None
        yield article_from_mapping(data, source=str(path), line=number), str(path), number


def read_json(path: Path) -> Iterator[Located]:
    """A JSON array of article objects (line numbers are not known: items are numbered)."""
    try:
        data = json.loads(_decode(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg}", source=str(path), line=exc.lineno) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError("expected a JSON array of article objects", source=str(path))
    for number, item in enumerate(data, start=1):
        where = f"{path}[item {number}]"
        yield article_from_mapping(item, source=where), where, None


def read_csv(path: Path) -> Iterator[Located]:
    """A CSV file with a header row; ``tags`` is a ``;``- or ``,``-separated cell."""
    for item, line in csv_items(path):
        if isinstance(item, InputError):
            raise item
        yield item, str(path), line


def csv_items(path: Path) -> Iterator[tuple[Article | InputError, int]]:
    """Each data row as an article or as the error that rejects it (reading goes on past a bad
    row; a bad header or malformed CSV ends the file)."""
    text = _decode(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return
    header = [name.strip() for name in reader.fieldnames]
    reader.fieldnames = header
    for name in ("id", "title"):
        if name not in header:
            yield InputError("missing column in the header row", source=str(path), line=1,
                             field=name), 1  # fmt: skip
            return
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                message = (
                    f"row has {len(header) + len(row[None])} cells, the header has {len(header)}"
                )
                yield InputError(message, source=str(path), line=line), line
                continue
            if not any((value or "").strip() for value in row.values()):
                continue
            record = {k: (v if v != "" else None) for k, v in row.items()}
            try:
                yield article_from_mapping(record, source=str(path), line=line), line
            except InputError as exc:
                yield exc, line
    except csv.Error as exc:
        line = reader.line_num
        yield InputError(f"malformed CSV: {exc}", source=str(path), line=line), line


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
    meta = yaml.safe_load(block) or {} if fence == "---" else tomllib.loads(block)
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


def read_markdown_dir(root: Path) -> Iterator[Located]:
    """Every ``.md`` file under ``root``; id = path relative to root without extension.

    Drafts (``draft: true``) are skipped, as Hugo and Jekyll skip them when publishing.
    """
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in MARKDOWN_SUFFIXES)
    for path in files:
        rel_id = path.relative_to(root).with_suffix("").as_posix()
        if rel_id.endswith("/_index") or rel_id == "_index":
            continue  # Hugo section list pages, not articles
        yield from read_markdown_file(path, rel_id)


def read_markdown_file(path: Path, rel_id: str | None = None) -> Iterator[Located]:
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
) -> list[Article]:
    """Read and validate every input; duplicate ids and empty input are errors.

    Inputs are files, folders or URLs in any format of :mod:`recommender.sources` (JSONL, JSON,
    CSV, Markdown, WordPress WXR, RSS/Atom, HTML pages, sitemaps), detected from their content
    unless ``format`` names one. What was skipped on purpose (drafts, tag pages ...) is counted
    by :func:`recommender.sources.read_inputs`, which this wraps.
    """
    from recommender.sources import ReadOptions, read_inputs

    options = ReadOptions(format=format, include_pages=include_pages, timeout=timeout)
    return read_inputs(paths, options).articles

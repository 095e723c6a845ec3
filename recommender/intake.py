"""Everything a build reads, with every rejected input at once instead of the first one.

:func:`gather` reads a Hugo or Jekyll site root (as its generator does, see
:mod:`recommender.sites`) or any mix of JSONL, CSV, JSON and Markdown inputs, and keeps going
past bad files and lines so that one run names them all. :func:`accept` turns rejections into
one error (nothing is built) unless the caller chose to skip them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from recommender import loaders
from recommender.articles import Article, article_from_mapping
from recommender.errors import InputError
from recommender.sites import SiteRead, detect, read_site

SHOWN = 50  # rejected inputs listed in one error message


class RejectedInputError(InputError):
    """Some inputs were rejected; names every one (file, line, field)."""

    def __init__(self, rejected: Sequence[InputError]) -> None:
        self.rejected = tuple(rejected)
        super().__init__(f"{len(self.rejected)} rejected")

    def __str__(self) -> str:
        count = len(self.rejected)
        if count == 1:  # the one-line error of a single bad input, as it always was
            return str(self.rejected[0])
        lines = [
            f"{count} input{'s' if count != 1 else ''} rejected; nothing was built and the index"
            " is untouched (fix them, or build from the rest with --skip-invalid):"
        ]
        lines += [f"  {exc}" for exc in self.rejected[:SHOWN]]
        if count > SHOWN:
            lines.append(f"  ... and {count - SHOWN} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Intake:
    """The valid articles, every rejected input, and the site when the input was one."""

    articles: tuple[Article, ...]
    rejected: tuple[InputError, ...]
    site: SiteRead | None = None


def _markdown_dir(root: Path) -> Iterator[Article | InputError]:
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in loaders.MARKDOWN_SUFFIXES)
    for path in files:
        rel_id = path.relative_to(root).with_suffix("").as_posix()
        if rel_id == "_index" or rel_id.endswith("/_index"):
            continue
        try:
            for article, _, _ in loaders.read_markdown_file(path, rel_id):
                yield article
        except InputError as exc:
            yield exc


def _jsonl(path: Path) -> Iterator[Article | InputError]:
    import json

    try:
        text = loaders._decode(path)
    except InputError as exc:
        yield exc
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"malformed JSON: {exc.msg} (column {exc.colno})"
            yield InputError(message, source=str(path), line=number)
            continue
        try:
            yield article_from_mapping(data, source=str(path), line=number)
        except InputError as exc:
            yield exc


def _items(path: Path) -> Iterator[Article | InputError]:
    if path.is_dir():
        yield from _markdown_dir(path)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        yield from _jsonl(path)
    elif path.suffix.lower() in (".csv", ".tsv") and path.is_file():
        try:
            yield from (item for item, _ in loaders.csv_items(path))
        except InputError as exc:  # not UTF-8
            yield exc
    else:
        try:
            for article, _, _ in loaders.read_path(path):
                yield article
        except InputError as exc:
            yield exc


def gather(paths: Sequence[str | Path], *, now: dt.datetime | None = None) -> Intake:
    """Read every input, collecting all rejections (duplicate ids and empty inputs included)."""
    if not paths:
        raise InputError("no input files given")
    if len(paths) == 1 and (site := detect(paths[0])) is not None:
        read = read_site(site, now)
        if not read.articles and not read.rejected:
            raise InputError(
                f"no published posts found in this {site.generator} site", source=str(site.root)
            )
        return Intake(read.articles, read.rejected, read)
    articles: list[Article] = []
    rejected: list[InputError] = []
    seen: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        count = 0
        for item in _items(path):
            if isinstance(item, InputError):
                rejected.append(item)
                continue
            count += 1
            if item.id in seen:
                message = f"duplicate id {item.id!r} (first seen in {seen[item.id]})"
                rejected.append(InputError(message, source=str(path), field="id"))
                continue
            seen[item.id] = str(path)
            articles.append(item)
        if count == 0 and not any(e.source and e.source.startswith(str(path)) for e in rejected):
            rejected.append(InputError("no articles found (empty input)", source=str(path)))
    return Intake(tuple(articles), tuple(rejected))


def accept(intake: Intake, *, skip_invalid: bool = False) -> tuple[Article, ...]:
    """The articles to build from: all of them, or an error naming every rejected input."""
    if intake.rejected and not skip_invalid:
        raise RejectedInputError(intake.rejected)
    if not intake.articles:
        raise InputError("no valid articles to index")
    return intake.articles

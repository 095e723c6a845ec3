"""Everything a build reads, with every rejected input at once instead of the first one.

:func:`gather` reads a Hugo or Jekyll site root (as its generator does, see
:mod:`recommender.sites`) or any mix of JSONL, CSV, JSON and Markdown inputs, and keeps going
past bad files and lines so that one run names them all. :func:`accept` turns rejections into
one error (nothing is built) unless the caller chose to skip them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recommender import loaders
from recommender.articles import Article, article_from_mapping
from recommender.errors import InputError
from recommender.sites import SiteRead, detect, read_site
from recommender.sources import ReadOptions
from recommender.sources.common import Skips, is_url
from recommender.sources.detect import detect_format, read_one

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
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # per input, by reason

    def skipped_summary(self) -> list[str]:
        """One line per input of what was left out on purpose (``feed.xml: 2 draft post``)."""
        counts = self.skipped  # a site's skips are in its own report (sitebuild)
        return [
            f"{source}: " + ", ".join(f"{n} {reason}" for reason, n in sorted(c.items()))
            for source, c in counts.items()
        ]


def _markdown_dir(root: Path, follow_symlinks: bool) -> Iterator[Article | InputError]:
    try:  # links out of the folder are refused unless asked for (loaders.files_under)
        files = loaders.markdown_files(root, follow_symlinks=follow_symlinks)
    except InputError as exc:
        yield exc
        return
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


def _items(raw: str | Path, options: ReadOptions, skips: Skips) -> Iterator[Article | InputError]:
    """One input's articles and rejections: item by item for Markdown folders, JSONL and CSV;
    the first error of the input for the other formats (feeds, WXR, HTML, URLs)."""
    local = not (isinstance(raw, str) and is_url(raw))
    path = Path(raw)
    try:
        fmt = (options.format or detect_format(path)) if local else None
    except InputError as exc:
        yield exc
        return
    if fmt == "markdown" and path.is_dir():
        yield from _markdown_dir(path, options.follow_symlinks)
    elif fmt == "jsonl" and path.is_file():
        yield from _jsonl(path)
    elif fmt == "csv" and path.is_file():
        try:
            yield from (item for item, _ in loaders.csv_items(path))
        except InputError as exc:  # not UTF-8
            yield exc
    else:
        try:
            for article, _, _ in read_one(raw, options, skips):
                yield article
        except InputError as exc:
            yield exc


def gather(
    paths: Sequence[str | Path],
    *,
    now: dt.datetime | None = None,
    read: ReadOptions | None = None,
) -> Intake:
    """Read every input, collecting all rejections (duplicate ids and empty inputs included)."""
    if not paths:
        raise InputError("no input files given")
    read = read or ReadOptions()
    if len(paths) == 1 and read.format is None and (site := detect(paths[0])) is not None:
        found = read_site(site, now, follow_symlinks=read.follow_symlinks)
        if not found.articles and not found.rejected:
            raise InputError(
                f"no published posts found in this {site.generator} site", source=str(site.root)
            )
        return Intake(found.articles, found.rejected, found)
    articles: list[Article] = []
    rejected: list[InputError] = []
    seen: dict[str, str] = {}
    skips = Skips()
    for raw in paths:
        name = raw if isinstance(raw, str) and is_url(raw) else str(Path(raw))
        count = errors = 0
        for item in _items(raw, read, skips):
            if isinstance(item, InputError):
                rejected.append(item)
                errors += 1
                continue
            count += 1
            if item.id in seen:
                message = f"duplicate id {item.id!r} (first seen in {seen[item.id]})"
                rejected.append(InputError(message, source=name, field="id"))
                continue
            seen[item.id] = name
            articles.append(item)
        if count == 0 and errors == 0:
            skipped = sum(sum(c.values()) for s, c in skips.counts.items() if s.startswith(name))
            detail = f" ({skipped} items skipped: not published or not articles)" if skipped else ""
            rejected.append(InputError(f"no articles found (empty input){detail}", source=name))
    counts = {source: dict(c) for source, c in skips.counts.items()}
    return Intake(tuple(articles), tuple(rejected), skipped=counts)


def accept(intake: Intake, *, skip_invalid: bool = False) -> tuple[Article, ...]:
    """The articles to build from: all of them, or an error naming every rejected input."""
    if intake.rejected and not skip_invalid:
        raise RejectedInputError(intake.rejected)
    if not intake.articles:
        raise InputError("no valid articles to index")
    return intake.articles

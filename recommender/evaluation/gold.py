"""A site's own gold set: which articles should be related to which.

Two formats, chosen by extension (``.csv`` is pairs; anything else is JSONL):

- JSONL, one source per line: ``{"id": "a", "related": ["b", "c"]}`` (editors' links, series,
  same-story clusters); the order of ``related`` is not used, every listed id counts as relevant.
  A nested list names copies of one story (a wire copy and its update, a repost):
  ``{"id": "a", "related": [["b", "b-wire"], "c"]}`` is two relevant items, and a list that
  shows ``b`` or ``b-wire`` (or both) finds the first once. A reader gains nothing from seeing a
  story twice, so a gold set should not reward it; copy groups are global (the same ids are
  copies wherever they appear) and an id belongs to one group at most;
- CSV of pairs with a header ``id,related_id``; rows of the same ``id`` are merged.

Every error names the file, the line and the field, as article input errors do.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

from recommender import safejson
from recommender.errors import InputError

CSV_COLUMNS = ("id", "related_id")


@dataclass(frozen=True)
class GoldEntry:
    id: str
    related: tuple[str, ...]
    line: int
    """Line of the entry in the file (for CSV: its first row)."""
    copies: tuple[tuple[str, ...], ...] = ()
    """Groups of ``related`` ids that are copies of one story (nested lists in JSONL)."""


@dataclass(frozen=True)
class GoldSet:
    source: str
    entries: tuple[GoldEntry, ...]

    def as_dict(self) -> dict[str, list[str]]:
        return {e.id: list(e.related) for e in self.entries}

    def copy_of(self) -> dict[str, str]:
        """Each id named in a copy group -> the group's first id (what metrics count once)."""
        out: dict[str, str] = {}
        for entry in self.entries:
            for group in entry.copies:
                for member in group:
                    out[member] = out.get(member, out.get(group[0], group[0]))
        return out

    def __len__(self) -> int:
        return len(self.entries)


def load_gold(path: str | Path, known_ids: Container[str] | None = None) -> GoldSet:
    """Read and check a gold file; with ``known_ids`` (the index's ids), unknown ids are errors."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("gold file not found", source=source) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=source) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", source=source) from None
    if not text.strip():
        raise InputError("gold file is empty", source=source)
    if path.suffix.lower() == ".csv":
        entries = _parse_csv(text, source)
    else:
        entries = _parse_jsonl(text, source)
    if not entries:
        raise InputError("gold file holds no entries", source=source)
    gold = GoldSet(source, tuple(entries))
    if known_ids is not None:
        check_known(gold, known_ids)
    return gold


def _clean_id(value: object, source: str, line: int, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(
            f"expected an id (string), got {type(value).__name__}",
            source=source,
            line=line,
            field=field,
        )
    text = str(value).strip()
    if not text:
        raise InputError("empty id", source=source, line=line, field=field)
    return text


def _entry(
    source: str,
    line: int,
    aid: str,
    related: list[str],
    copies: tuple[tuple[str, ...], ...] = (),
) -> GoldEntry:
    if not related:
        raise InputError("no related ids", source=source, line=line, field="related")
    if aid in related:
        raise InputError(
            f"{aid!r} lists itself (the engine never recommends an article for itself)",
            source=source,
            line=line,
            field="related",
        )
    return GoldEntry(aid, tuple(dict.fromkeys(related)), line, copies)


def _related_ids(
    related: list[object], source: str, line: int
) -> tuple[list[str], tuple[tuple[str, ...], ...]]:
    """Flat ids and copy groups of a JSONL ``related`` list (nested lists are copy groups)."""
    ids: list[str] = []
    groups: list[tuple[str, ...]] = []
    for item in related:
        if not isinstance(item, list):
            ids.append(_clean_id(item, source, line, "related"))
            continue
        group = tuple(dict.fromkeys(_clean_id(m, source, line, "related") for m in item))
        if len(group) < 2:
            raise InputError(
                "a copy group (nested list) names at least two ids",
                source=source,
                line=line,
                field="related",
            )
        ids += group
        groups.append(group)
    return ids, tuple(groups)


def _check_groups(entries: list[GoldEntry], source: str) -> None:
    """An id is a copy in one group only, whichever line names it."""
    group_of: dict[str, frozenset[str]] = {}
    for entry in entries:
        for group in entry.copies:
            members = frozenset(group)
            for member in group:
                if group_of.setdefault(member, members) != members:
                    raise InputError(
                        f"{member!r} is in two different copy groups",
                        source=source,
                        line=entry.line,
                        field="related",
                    )


def _parse_jsonl(text: str, source: str) -> list[GoldEntry]:
    entries: list[GoldEntry] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = safejson.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON: {exc.msg} (column {exc.colno})", source=source, line=number
            ) from None
        if not isinstance(record, dict):
            raise InputError(
                'expected an object like {"id": ..., "related": [...]}', source=source, line=number
            )
        if "id" not in record:
            raise InputError("missing", source=source, line=number, field="id")
        aid = _clean_id(record["id"], source, number, "id")
        if aid in first_line:
            raise InputError(
                f"duplicate id {aid!r} (first on line {first_line[aid]})",
                source=source,
                line=number,
                field="id",
            )
        first_line[aid] = number
        if "related" not in record:
            raise InputError("missing", source=source, line=number, field="related")
        related = record["related"]
        if not isinstance(related, list):
            raise InputError(
                f"expected a list of ids, got {type(related).__name__}",
                source=source,
                line=number,
                field="related",
            )
        ids, groups = _related_ids(related, source, number)
        entries.append(_entry(source, number, aid, ids, groups))
    _check_groups(entries, source)
    return entries


def _parse_csv(text: str, source: str) -> list[GoldEntry]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise InputError(f"cannot read the CSV header: {exc}", source=source, line=1) from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"header must name the columns {', '.join(CSV_COLUMNS)} (found "
            f"{', '.join(header) or 'nothing'})",
            source=source,
            line=1,
            field=missing[0],
        )
    at = {c: header.index(c) for c in CSV_COLUMNS}
    related: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise InputError(
                    f"expected {len(header)} cells, found {len(row)}", source=source, line=number
                )
            aid = _clean_id(row[at["id"]], source, number, "id")
            other = _clean_id(row[at["related_id"]], source, number, "related_id")
            if aid == other:
                raise InputError(
                    f"{aid!r} paired with itself", source=source, line=number, field="related_id"
                )
            first_line.setdefault(aid, number)
            related.setdefault(aid, []).append(other)
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", source=source, line=reader.line_num) from None
    return [_entry(source, first_line[aid], aid, ids) for aid, ids in related.items()]


def check_known(gold: GoldSet, known_ids: Container[str]) -> None:
    """Every id in the gold set must be in the index; the error names the first line at fault
    and the unknown ids (up to five)."""
    unknown: list[str] = []
    first: tuple[int, str] | None = None
    for entry in gold.entries:
        for field, ids in (("id", (entry.id,)), ("related", entry.related)):
            bad = [i for i in ids if i not in known_ids]
            if bad and first is None:
                first = (entry.line, field)
            unknown += [i for i in bad if i not in unknown]
    if first is not None:
        shown = ", ".join(repr(i) for i in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InputError(
            f"{len(unknown)} id(s) not in the index: {shown}{more}",
            source=gold.source,
            line=first[0],
            field=first[1],
        )

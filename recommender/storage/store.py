"""Article metadata in SQLite, addressed by row (the vector index's row numbers).

The ranking layer needs a few columns for every candidate at once (date, category, language,
tags); :class:`Store` loads those into arrays on open and fetches whole articles by row only for
the results it returns.

The tags' idf is stored too (table ``tag_idf``): fitted with the lexical statistics (build,
reindex, a refit past the drift threshold) and kept fixed by the writes in between, which add
only the tags never seen (see ``indexing/statistics.py``). Stores written before that table
existed compute it from their rows on open.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommender.articles import Article, parse_datetime

SCHEMA = """
CREATE TABLE articles (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT,
    published_at TEXT,
    category TEXT,
    tags TEXT NOT NULL,
    language TEXT,
    metadata TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    evergreen INTEGER NOT NULL,
    canonical INTEGER NOT NULL
);
CREATE TABLE tag_idf (tag TEXT PRIMARY KEY, idf REAL NOT NULL);
"""


COLUMNS = (
    "row, id, title, body, url, published_at, category, tags, language, metadata,"
    " text_hash, evergreen, canonical"
)


STORE_FILE = "store.sqlite"
"""The metadata store's file name inside a version folder."""


def fit_tag_idf(tags: Iterable[Sequence[str]]) -> dict[str, float]:
    """Each casefolded tag's idf, ``log(1 + N / df)``, over the articles' tag lists."""
    df: Counter[str] = Counter()
    count = 0
    for article_tags in tags:
        df.update({t.casefold() for t in article_tags})
        count += 1
    n = max(1, count)
    return {t: float(np.log1p(n / d)) for t, d in df.items()}


def unseen_tag_idf(fitted_articles: int) -> float:
    """The idf a tag unknown to the fitted statistics gets: that of a tag on one article."""
    return float(np.log1p(max(1, fitted_articles) / 1))


def write_store(
    path: Path,
    articles: Sequence[Article],
    text_hashes: Sequence[str],
    tag_idf: Mapping[str, float] | None = None,
) -> None:
    """Write a fresh store; row i is ``articles[i]``; ``tag_idf``: fitted on ``articles``
    when not given."""
    db = sqlite3.connect(str(path))
    try:
        db.executescript(SCHEMA)
        _insert(db, articles, text_hashes, first_row=0)
        _insert_tag_idf(db, fit_tag_idf(a.tags for a in articles) if tag_idf is None else tag_idf)
        db.commit()
    finally:
        db.close()


def write_store_update(
    path: Path,
    previous: Path,
    keep_rows: Sequence[int],
    articles: Sequence[Article],
    text_hashes: Sequence[str],
    tag_idf: Mapping[str, float],
) -> None:
    """Write a store whose rows are the ``keep_rows`` of the store at ``previous`` (ascending,
    renumbered from 0) followed by ``articles``; kept rows are copied inside SQLite, or, when
    every row is kept (a publish of new articles), the file is copied and the rows appended."""
    if _appends(previous, keep_rows):
        shutil.copyfile(previous, path)
        db = sqlite3.connect(str(path))
        try:
            db.execute("PRAGMA journal_mode=OFF")  # a new file: a failed write is discarded
            _insert(db, articles, text_hashes, first_row=len(keep_rows))
            db.execute("DELETE FROM tag_idf")
            _insert_tag_idf(db, tag_idf)
            db.commit()
        finally:
            db.close()
        return
    db = sqlite3.connect(str(path))
    try:
        db.executescript(SCHEMA)
        db.execute("ATTACH DATABASE ? AS previous", (str(previous),))  # only read
        db.execute("CREATE TEMP TABLE keep (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
        db.executemany(
            "INSERT INTO keep VALUES (?, ?)", ((int(old), new) for new, old in enumerate(keep_rows))
        )
        fields = COLUMNS.replace("row, ", "")
        db.execute(
            f"INSERT INTO articles ({COLUMNS}) SELECT keep.new, {fields} FROM previous.articles"
            " JOIN keep ON keep.old = previous.articles.row ORDER BY keep.new"
        )
        _insert(db, articles, text_hashes, first_row=len(keep_rows))
        _insert_tag_idf(db, tag_idf)
        db.commit()
        db.execute("DETACH DATABASE previous")
    finally:
        db.close()


def _records(
    articles: Sequence[Article], text_hashes: Sequence[str], first_row: int
) -> list[tuple[Any, ...]]:
    """The stored rows of ``articles`` (the fields of :data:`COLUMNS`, in its order)."""
    return [
        (
            row,
            a.id,
            a.title,
            a.body,
            a.url,
            a.published_at.isoformat() if a.published_at else None,
            a.category,
            json.dumps(list(a.tags), ensure_ascii=False),
            a.language,
            json.dumps(dict(a.metadata), ensure_ascii=False, default=str),
            h,
            int(_truthy(a.metadata.get("evergreen"))),
            int(_truthy(a.metadata.get("canonical"))),
        )
        for row, (a, h) in enumerate(zip(articles, text_hashes, strict=True), first_row)
    ]


def _appends(previous: Path, keep_rows: Sequence[int]) -> bool:
    """Every row of ``previous`` kept, in order, and its tables as :data:`SCHEMA` writes them."""
    if list(keep_rows) != list(range(len(keep_rows))):
        return False
    db = sqlite3.connect(f"file:{Path(previous).resolve()}?mode=ro&immutable=1", uri=True)
    try:
        tables = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        count = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        db.close()
    expected = [f"{t.strip()}" for t in SCHEMA.strip().rstrip(";").split(";")]
    return count == len(keep_rows) and sorted(tables.values()) == sorted(expected)


def _insert(
    db: sqlite3.Connection, articles: Sequence[Article], text_hashes: Sequence[str], first_row: int
) -> None:
    db.executemany(
        "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        _records(articles, text_hashes, first_row),
    )


def _insert_tag_idf(db: sqlite3.Connection, tag_idf: Mapping[str, float]) -> None:
    db.executemany("INSERT INTO tag_idf VALUES (?, ?)", sorted(tag_idf.items()))


def replace_tag_idf(path: Path, tag_idf: Mapping[str, float]) -> None:
    """Store ``tag_idf`` in the store at ``path`` (a copy being written), replacing its own."""
    db = sqlite3.connect(str(path))
    try:
        db.execute("CREATE TABLE IF NOT EXISTS tag_idf (tag TEXT PRIMARY KEY, idf REAL NOT NULL)")
        db.execute("DELETE FROM tag_idf")
        _insert_tag_idf(db, tag_idf)
        db.commit()
    finally:
        db.close()


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value)


_TITLE_NOISE = re.compile(
    r"^\s*(update|updated|corrected|correction|refile|wire)\s*\d*\s*[-:|]+\s*", re.I
)
_NON_WORD = re.compile(r"[\W_]+")


def normalize_title(title: str) -> str:
    """Title for duplicate detection: no 'UPDATE 1-' prefixes, case, punctuation or spacing."""
    previous = None
    while previous != title:
        previous, title = title, _TITLE_NOISE.sub("", title)
    return _NON_WORD.sub(" ", title.casefold()).strip()


@dataclass(frozen=True)
class Columns:
    """Per-row arrays the ranking layer scores with (row i = article i)."""

    ids: np.ndarray  # object array of str
    timestamps: np.ndarray  # float64 POSIX seconds, NaN when undated
    categories: np.ndarray  # int32 code, -1 when none; see category_names
    category_names: tuple[str, ...]
    languages: np.ndarray  # int32 code, -1 when none; see language_names
    language_names: tuple[str, ...]
    tags: tuple[tuple[str, ...], ...]
    tag_rows: dict[str, np.ndarray]  # casefolded tag -> rows carrying it
    tag_idf: dict[str, float]  # casefolded tag -> log(1 + N / df), N and df of the last fit
    norm_titles: tuple[str, ...]
    evergreen_field: np.ndarray  # bool: the article's own `evergreen` field is true
    canonical: np.ndarray  # bool: marked canonical among its copies

    def evergreen(self, tag: str | None) -> np.ndarray:
        """Evergreen flags: the field, or carrying ``tag`` (from the ranking settings)."""
        flags = self.evergreen_field.copy()
        if tag:
            rows = self.tag_rows.get(tag.casefold())
            if rows is not None:
                flags[rows] = True
        return flags


def _columns(
    rows: Sequence[Mapping[str, Any]],
    tag_idf: Callable[[Sequence[tuple[str, ...]]], dict[str, float]],
) -> Columns:
    """The columns of stored ``rows`` (in row order); ``tag_idf(tags)``: the store's tag idf."""
    names: dict[str, int] = {}
    langs: dict[str, int] = {}
    cats = np.full(len(rows), -1, dtype=np.int32)
    lang_codes = np.full(len(rows), -1, dtype=np.int32)
    stamps = np.full(len(rows), np.nan, dtype=np.float64)
    # every row's tag list (a JSON array) in one parse, not one json.loads per row
    tags = [tuple(t) for t in json.loads("[" + ",".join(r["tags"] for r in rows) + "]")]
    for i, row in enumerate(rows):
        if row["category"] is not None:
            cats[i] = names.setdefault(row["category"].casefold(), len(names))
        if row["language"] is not None:
            lang_codes[i] = langs.setdefault(row["language"].casefold(), len(langs))
        if row["published_at"]:
            stamps[i] = dt.datetime.fromisoformat(row["published_at"]).timestamp()
    return Columns(
        ids=np.array([r["id"] for r in rows], dtype=object),
        timestamps=stamps,
        categories=cats,
        category_names=tuple(names),
        languages=lang_codes,
        language_names=tuple(langs),
        tags=tuple(tags),
        tag_rows=_tag_rows(tags),
        tag_idf=tag_idf(tags),
        norm_titles=tuple(normalize_title(r["title"]) for r in rows),
        evergreen_field=np.array([bool(r["evergreen"]) for r in rows], dtype=bool),
        canonical=np.array([bool(r["canonical"]) for r in rows], dtype=bool),
    )


def _tag_rows(tags: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """Casefolded tag -> the rows carrying it (ascending)."""
    tag_lists: dict[str, list[int]] = {}
    for i, article_tags in enumerate(tags):
        for tag in {t.casefold() for t in article_tags}:
            tag_lists.setdefault(tag, []).append(i)
    return {t: np.array(r, dtype=np.int64) for t, r in tag_lists.items()}


def _recode(
    names: Sequence[str], old: np.ndarray, added_names: Sequence[str], added: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes numbered by first appearance over the rows (as a load numbers them)."""
    table: dict[str, int] = {}
    rows = [names[c] if c >= 0 else None for c in old.tolist()]
    rows += [added_names[c] if c >= 0 else None for c in added.tolist()]
    codes = [-1 if n is None else table.setdefault(n, len(table)) for n in rows]
    return np.array(codes, dtype=np.int32), tuple(table)


def updated_columns(
    old: Columns,
    keep_rows: np.ndarray,
    articles: Sequence[Article],
    text_hashes: Sequence[str],
    tag_idf: Mapping[str, float],
) -> Columns:
    """The columns of the store :func:`write_store_update` writes from these arguments (a
    store whose columns are ``old``): what opening it reads, without reading it."""
    keep = np.asarray(keep_rows, dtype=np.int64)
    fields = COLUMNS.split(", ")
    records = [dict(zip(fields, r, strict=True)) for r in _records(articles, text_hashes, 0)]
    stored_idf = {str(t): float(v) for t, v in sorted(tag_idf.items())}  # as the table reads
    new = _columns(records, lambda _: stored_idf)
    cats, cat_names = _recode(
        old.category_names, old.categories[keep], new.category_names, new.categories
    )
    langs, lang_names = _recode(
        old.language_names, old.languages[keep], new.language_names, new.languages
    )
    tags = (*(old.tags[i] for i in keep.tolist()), *new.tags)
    return Columns(
        ids=np.concatenate([old.ids[keep], new.ids]),
        timestamps=np.concatenate([old.timestamps[keep], new.timestamps]),
        categories=cats,
        category_names=cat_names,
        languages=langs,
        language_names=lang_names,
        tags=tags,
        tag_rows=_tag_rows(tags),
        tag_idf=stored_idf,
        norm_titles=(*(old.norm_titles[i] for i in keep.tolist()), *new.norm_titles),
        evergreen_field=np.concatenate([old.evergreen_field[keep], new.evergreen_field]),
        canonical=np.concatenate([old.canonical[keep], new.canonical]),
    )


def _row_to_article(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        body=row["body"],
        url=row["url"],
        published_at=parse_datetime(row["published_at"]) if row["published_at"] else None,
        category=row["category"],
        tags=tuple(json.loads(row["tags"])),
        language=row["language"],
        metadata=json.loads(row["metadata"]),
    )


class Store:
    """Read-only view of one index version's metadata."""

    LOOKUP_MAX = 500  # ids looked up by one query (SQLite limits a query's parameters)

    def __init__(self, path: Path, columns: Columns | None = None) -> None:
        """Open the store at ``path``; ``columns``: those of a store with the very same rows
        (the same file, opened before it moved into its version folder), not read again."""
        self.path = Path(path)
        # immutable=1: a version's store never changes once written, so no locking is needed.
        uri = f"file:{self.path.resolve()}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self.columns = self._load_columns() if columns is None else columns
        self._row_of = {aid: i for i, aid in enumerate(self.columns.ids)}
        self._category_codes = {c: i for i, c in enumerate(self.columns.category_names)}
        self._language_codes = {c: i for i, c in enumerate(self.columns.language_names)}

    def _load_columns(self) -> Columns:
        rows = self._db.execute(
            "SELECT row, id, title, published_at, category, tags, language, evergreen, canonical"
            " FROM articles ORDER BY row"
        ).fetchall()
        for expected, row in enumerate(rows):
            if row["row"] != expected:
                raise ValueError(f"store rows are not contiguous at row {expected}")
        return _columns(rows, self._tag_idf)

    def _tag_idf(self, tags: Sequence[Sequence[str]]) -> dict[str, float]:
        """The stored (fitted) tag idf; fitted on the rows for stores older than the table."""
        try:
            stored = self._db.execute("SELECT tag, idf FROM tag_idf").fetchall()
        except sqlite3.OperationalError:  # no such table: written by an older version
            return fit_tag_idf(tags)
        return {str(tag): float(idf) for tag, idf in stored}

    def __len__(self) -> int:
        return len(self.columns.ids)

    def row_of(self, article_id: str) -> int | None:
        return self._row_of.get(article_id)

    def category_code(self, category: str | None) -> int:
        """Code of a category name; -1 for none, -2 for one no indexed article has."""
        if category is None:
            return -1
        return self._category_codes.get(category.casefold(), -2)

    def language_code(self, language: str | None) -> int:
        if language is None:
            return -1
        return self._language_codes.get(language.casefold(), -2)

    def articles(self, rows: Sequence[int]) -> list[Article]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            r["row"]: _row_to_article(r)
            for r in self._db.execute(
                f"SELECT * FROM articles WHERE row IN ({marks})", [int(r) for r in rows]
            )
        }
        return [found[int(r)] for r in rows]

    def text_hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """Text hash by id: of every row, or of those of ``ids`` that are indexed."""
        if ids is None or len(ids) > self.LOOKUP_MAX:
            return dict(self._db.execute("SELECT id, text_hash FROM articles").fetchall())
        marks = ",".join("?" * len(ids))
        query = f"SELECT id, text_hash FROM articles WHERE id IN ({marks})"
        return dict(self._db.execute(query, list(ids)).fetchall())

    def titles_and_bodies(self) -> list[tuple[str, str]]:
        """(title, body) of every row, in row order: what the text recipe reads."""
        return [tuple(r) for r in self._db.execute("SELECT title, body FROM articles ORDER BY row")]

    def close(self) -> None:
        self._db.close()

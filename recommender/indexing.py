"""The write path: build, upsert, remove and reindex an index folder.

Every writer holds the index's writer lock, produces a complete new version folder through one
:func:`write_version`, and switches to it atomically (``persistence``); how the vector index
itself changes between versions (compact copy or tombstones) is the index type's business
(``index``). Readers (:class:`~recommender.engine.Engine`) never see a half-written version.

    build:    articles -> embed (cache) -> lexical fit -> vector index -> write_version
    upsert:   plan (new / changed text / metadata only / unchanged) -> embed what changed
              -> current version minus replaced rows, plus the new rows -> write_version
    remove:   current version minus the rows -> write_version
    reindex:  the current vectors into another index type -> write_version
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender import persistence
from recommender.articles import Article
from recommender.encoder import EmbeddingCache, Encoder, LazyEncoder, embed_texts
from recommender.errors import InputError, ModelMismatchError, UnknownArticleError
from recommender.index import AUTO, DEFAULT_EXACT_MAX, VectorIndex, choose_index_type, index_class
from recommender.lexical import LEXICAL_VERSION, LexicalModel
from recommender.manifest import IndexDescription, Manifest
from recommender.ranking import RankingSettings
from recommender.rules import EditorialRules
from recommender.store import STORE_FILE, write_store, write_store_update
from recommender.text import TEXT_RECIPE_VERSION, article_text, text_hash

if TYPE_CHECKING:
    from recommender.config import Config
    from recommender.engine import Engine

__all__ = [
    "BuildReport",
    "UpdateReport",
    "UpsertPlan",
    "build",
    "plan_upsert",
    "reindex",
    "remove",
    "upsert",
    "write_version",
]


# ---------------------------------------------------------------------------- reports
@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI's summary (``to_dict`` is its ``--json``)."""

    index_path: Path
    version_path: Path
    read: int
    embedded: int
    cached: int
    seconds: float
    model: str
    dimension: int
    index: IndexDescription
    rejected: int = 0  # a rejected article fails the whole build: this is always 0 on success
    generation: int = 0
    timings: Mapping[str, float] = field(default_factory=dict)  # seconds by stage

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": str(self.index_path),
            "read": self.read,
            "embedded": self.embedded,
            "cached": self.cached,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "model": self.model,
            "dimension": self.dimension,
            "generation": self.generation,
            "index_type": self.index.type,
        }


@dataclass(frozen=True)
class UpdateReport:
    """What an upsert, remove or reindex did. ``version_path`` is None when nothing changed
    (no new version was written)."""

    index_path: Path
    version_path: Path | None
    generation: int
    article_count: int
    index: IndexDescription
    seconds: float
    read: int = 0  # articles given (upsert) or ids given (remove)
    new: int = 0
    changed: int = 0  # text or metadata differs from the indexed article
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    cached: int = 0
    not_found: int = 0  # ids given to remove that were not in the index (only with missing_ok)
    timings: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        counts = ("read", "new", "changed", "unchanged", "removed", "not_found", "embedded")
        return {
            "index": str(self.index_path),
            "generation": self.generation,
            "written": self.version_path is not None,
            **{name: getattr(self, name) for name in counts},
            "cached": self.cached,
            "article_count": self.article_count,
            "seconds": round(self.seconds, 3),
            "index_type": self.index.type,
            "timings": dict(self.timings),
        }


@dataclass(frozen=True)
class _Counts:
    """The counting fields of an :class:`UpdateReport`."""

    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    cached: int = 0
    not_found: int = 0

    def fields(self) -> dict[str, int]:
        return dict(self.__dict__)


# ---------------------------------------------------------------------------- the upsert plan
@dataclass(frozen=True)
class UpsertPlan:
    """Positions (into the given articles) by what an upsert must do with them."""

    new: tuple[int, ...]  # ids not in the index: embed and add
    changed_text: tuple[int, ...]  # indexed, text differs: embed and replace
    metadata_only: tuple[int, ...]  # indexed, same text, other fields differ: reuse the vector
    unchanged: tuple[int, ...]  # indexed exactly as given: nothing to do

    @property
    def to_embed(self) -> tuple[int, ...]:
        return tuple(sorted(self.new + self.changed_text))

    @property
    def written(self) -> tuple[int, ...]:
        """Every article the new version must (re)write, in input order."""
        return tuple(sorted(self.new + self.changed_text + self.metadata_only))


def plan_upsert(
    articles: Sequence[Article],
    hashes: Sequence[str],
    stored_hashes: Mapping[str, str],
    stored: Callable[[Sequence[str]], Sequence[Article]],
) -> UpsertPlan:
    """Sort articles by what an upsert must do: a pure function of what is given and stored.

    ``stored_hashes``: text hash by indexed id; ``stored(ids)``: the indexed articles of those
    ids (only called for ids whose text is unchanged, to compare their other fields).
    """
    new, changed, same_text = [], [], []
    for i, (article, digest) in enumerate(zip(articles, hashes, strict=True)):
        known = stored_hashes.get(article.id)
        if known is None:
            new.append(i)
        elif known != digest:
            changed.append(i)
        else:
            same_text.append(i)
    old = stored([articles[i].id for i in same_text]) if same_text else []
    unchanged = [i for i, before in zip(same_text, old, strict=True) if before == articles[i]]
    metadata = [i for i, before in zip(same_text, old, strict=True) if before != articles[i]]
    return UpsertPlan(tuple(new), tuple(changed), tuple(metadata), tuple(unchanged))


# ---------------------------------------------------------------------------- one version
@dataclass(frozen=True)
class VersionContent:
    """Everything a new version holds: what :func:`write_version` writes."""

    index: VectorIndex
    lexical: LexicalModel
    write_store: Callable[[Path], None]  # writes the metadata store into the version folder
    fields: Mapping[str, Any]  # model, recipe and settings fields of the manifest
    requested: str  # the index type asked for ("auto" or a type name)
    exact_max: int


def write_version(
    index_path: Path, content: VersionContent, timings: dict[str, float]
) -> tuple[Path, Manifest]:
    """Write ``content`` as the next version of ``index_path`` and switch to it.

    The one way every writer writes (call it holding the writer lock): (its folder, its
    manifest).
    """
    description = {
        **content.index.describe(),
        "requested": content.requested,
        "exact_max": content.exact_max,
    }

    def fill(folder: Path) -> dict[str, Any]:
        content.index.save(folder)
        content.write_store(folder)
        content.lexical.save(folder)
        return {
            **content.fields,
            "article_count": content.index.count,
            "index_type": content.index.kind,
            "index": description,
        }

    with _timer(timings, "write_s"):
        version_path = persistence.write_index_version(index_path, fill)
    return version_path, persistence.read_manifest(version_path, verify=False)


# ---------------------------------------------------------------------------- writers
def build(
    articles: Sequence[Article],
    index_path: Path,
    *,
    encoder: Encoder,
    cache: bool | str | Path = True,
    config: Config | None = None,
    settings: RankingSettings | None = None,
    index_choice: tuple[str, Mapping[str, Any] | None, int] = (AUTO, None, DEFAULT_EXACT_MAX),
    background_texts: Sequence[str] = (),
    lock_wait: float = 0.0,
) -> BuildReport:
    """Embed ``articles`` and write them as a new version of ``index_path`` (see
    :meth:`Engine.build <recommender.engine.Engine.build>`). ``index_choice``: (type asked for,
    parameters over its defaults, exact_max)."""
    started = time.perf_counter()
    if not articles:
        raise InputError("no articles to index (empty input)")
    check_unique(articles)
    requested, index_params, exact_max = index_choice
    if exact_max < 0:
        raise ValueError(f"exact_max must be >= 0, got {exact_max}")
    kind = choose_index_type(requested, len(articles), exact_max)
    params = index_class(kind).resolve_params(index_params)  # bad names fail before embedding
    settings = settings or RankingSettings()
    if config is not None:
        settings = settings.replace(**config.ranking)
    rules = config.rules if config is not None and config.rules is not None else None
    texts = [article_text(a) for a in articles]
    hashes = [text_hash(t) for t in texts]
    timings: dict[str, float] = {}
    with persistence.writer_lock(index_path, lock_wait):
        with _timer(timings, "embed_s"):
            vectors, embedded = _embed(encoder, texts, cache, index_path)
        dimension = int(vectors.shape[1])
        with _timer(timings, "lexical_s"):
            lexical = LexicalModel.fit(texts, background_texts)
        with _timer(timings, "index_s"):
            index = index_class(kind).build(vectors, **params)
        fields = {
            "model": {"name": encoder.name, "dimension": dimension},
            "text_recipe_version": TEXT_RECIPE_VERSION,
            "lexical_version": LEXICAL_VERSION,
            "ranking": settings.to_dict(),
            "rules": (rules or EditorialRules()).to_dict(),
        }
        content = VersionContent(
            index=index,
            lexical=lexical,
            write_store=lambda folder: write_store(folder / STORE_FILE, articles, hashes),
            fields=fields,
            requested=requested,
            exact_max=exact_max,
        )
        version_path, manifest = write_version(index_path, content, timings)
    return BuildReport(
        index_path=index_path,
        version_path=version_path,
        read=len(articles),
        embedded=embedded,
        cached=len(articles) - embedded,
        seconds=time.perf_counter() - started,
        model=encoder.name,
        dimension=dimension,
        index=manifest.index,
        generation=manifest.generation,
        timings=timings,
    )


def upsert(
    articles: Sequence[Article],
    index_path: Path,
    *,
    encoder: Encoder | None = None,
    cache: bool | str | Path = True,
    lock_wait: float = 0.0,
) -> UpdateReport:
    """Add new articles and replace changed ones (see :meth:`Engine.upsert`)."""
    started = time.perf_counter()
    if not articles:
        raise InputError("no articles to upsert (empty input)")
    check_unique(articles)
    timings: dict[str, float] = {}
    with persistence.writer_lock(index_path, lock_wait), _current(index_path, timings) as current:
        model_name = current.manifest.model_name
        if encoder is not None and encoder.name != model_name:
            raise ModelMismatchError(
                f"{index_path} was built with model {model_name!r}, not {encoder.name!r}:"
                " upsert with the same model, or rebuild"
            )
        store = current.store
        texts = [article_text(a) for a in articles]
        hashes = [text_hash(t) for t in texts]
        plan = plan_upsert(
            articles,
            hashes,
            store.text_hashes(),
            lambda ids: store.articles([int(store.row_of(i) or 0) for i in ids]),
        )
        counts = _Counts(
            read=len(articles),
            new=len(plan.new),
            changed=len(plan.changed_text) + len(plan.metadata_only),
            unchanged=len(plan.unchanged),
        )
        if not plan.written:
            return _unchanged_report(current, index_path, counts, started, timings)
        dimension = current.manifest.dimension
        vectors = np.zeros((len(plan.written), dimension), dtype=np.float32)
        position = {i: p for p, i in enumerate(plan.written)}
        embedded = 0
        if plan.to_embed:  # the model is only loaded when something is to be embedded
            encoder = encoder or LazyEncoder(model_name)
            with _timer(timings, "embed_s"):
                fresh, embedded = _embed(
                    encoder, [texts[i] for i in plan.to_embed], cache, index_path, dimension
                )
            vectors[[position[i] for i in plan.to_embed]] = fresh
        if plan.metadata_only:
            rows = [store.row_of(articles[i].id) for i in plan.metadata_only]
            vectors[[position[i] for i in plan.metadata_only]] = current.index.vectors(
                np.array(rows, dtype=np.int64)
            )
        replaced = [store.row_of(articles[i].id) for i in plan.written]
        counts = _Counts(
            **{**counts.fields(), "embedded": embedded, "cached": len(plan.to_embed) - embedded}
        )
        return _commit(
            current,
            index_path,
            drop_rows=[r for r in replaced if r is not None],
            added=_Added(
                articles=[articles[i] for i in plan.written],
                texts=[texts[i] for i in plan.written],
                hashes=[hashes[i] for i in plan.written],
                vectors=vectors,
            ),
            counts=counts,
            clock=(started, timings),
        )


def remove(
    article_ids: Iterable[str],
    index_path: Path,
    *,
    missing_ok: bool = False,
    lock_wait: float = 0.0,
) -> UpdateReport:
    """Remove articles by id (see :meth:`Engine.remove`)."""
    started = time.perf_counter()
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        raise InputError("no ids to remove")
    timings: dict[str, float] = {}
    with persistence.writer_lock(index_path, lock_wait), _current(index_path, timings) as current:
        rows = [current.store.row_of(i) for i in ids]
        missing = [i for i, r in zip(ids, rows, strict=True) if r is None]
        if missing and not missing_ok:
            names = ", ".join(repr(m) for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise UnknownArticleError(
                missing[0],
                f"cannot remove {names}{more}: not in {index_path} (nothing was removed)",
            )
        found = [r for r in rows if r is not None]
        counts = _Counts(read=len(ids), removed=len(found), not_found=len(missing))
        if not found:
            return _unchanged_report(current, index_path, counts, started, timings)
        empty = np.zeros((0, current.manifest.dimension), dtype=np.float32)
        return _commit(
            current,
            index_path,
            drop_rows=found,
            added=_Added(articles=[], texts=[], hashes=[], vectors=empty),
            counts=counts,
            clock=(started, timings),
        )


def reindex(
    index_path: Path,
    *,
    index_choice: tuple[str, Mapping[str, Any] | None, int] = (AUTO, None, DEFAULT_EXACT_MAX),
    lock_wait: float = 0.0,
) -> UpdateReport:
    """Rebuild only the vector index from the current vectors (see :meth:`Engine.reindex`)."""
    started = time.perf_counter()
    requested, index_params, exact_max = index_choice
    timings: dict[str, float] = {}
    with persistence.writer_lock(index_path, lock_wait), _current(index_path, timings) as current:
        count = len(current.store)
        kind = choose_index_type(requested, count, exact_max)
        params = index_class(kind).resolve_params(index_params)
        with _timer(timings, "index_s"):
            index = index_class(kind).build(
                current.index.vectors(np.arange(count, dtype=np.int64)), **params
            )
        source_store = current.folder / STORE_FILE
        content = VersionContent(
            index=index,
            lexical=current.lexical or _refit(current, np.arange(count), []),
            write_store=lambda folder: shutil.copyfile(source_store, folder / STORE_FILE),
            fields=_carried_fields(current.manifest),
            requested=requested,
            exact_max=exact_max,
        )
        version_path, manifest = write_version(index_path, content, timings)
    return UpdateReport(
        index_path=index_path,
        version_path=version_path,
        generation=manifest.generation,
        unchanged=count,
        article_count=count,
        index=manifest.index,
        seconds=time.perf_counter() - started,
        timings=timings,
    )


# ---------------------------------------------------------------------------- helpers
def check_unique(articles: Sequence[Article]) -> None:
    """One article per id in a write (the loaders name the file and line of a repeat)."""
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise InputError(f"duplicate id {article.id!r}", field="id")
        seen.add(article.id)


@contextmanager
def _timer(timings: dict[str, float], name: str) -> Iterator[None]:
    """``with _timer(timings, "embed_s"):`` adds the block's seconds to ``timings``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        timings[name] = round(timings.get(name, 0.0) + elapsed, 4)


@contextmanager
def _current(index_path: Path, timings: dict[str, float]) -> Iterator[Engine]:
    """The version a write starts from, closed when the write ends."""
    from recommender.engine import Engine  # the read side; imported here to keep layers apart

    with _timer(timings, "load_s"):
        current = Engine.load(index_path)
    try:
        yield current
    finally:
        current.close()


def default_cache_path(index_path: Path) -> Path:
    """Embedding cache beside the index folders, shared by the indexes in that folder."""
    return Path(index_path).parent / ".recommender-cache" / "embeddings.sqlite"


def _embed(
    encoder: Encoder,
    texts: Sequence[str],
    cache: bool | str | Path,
    index_path: Path,
    dimension: int | None = None,
) -> tuple[np.ndarray, int]:
    """(vectors, how many were embedded now) through the embedding cache."""
    embedding_cache = None
    if cache:
        cache_file = default_cache_path(index_path) if cache is True else Path(cache)
        embedding_cache = EmbeddingCache(cache_file)
    try:
        vectors, embedded = embed_texts(encoder, texts, embedding_cache)
    finally:
        if embedding_cache:
            embedding_cache.close()
    if dimension is not None and vectors.shape[1] != dimension:
        raise ModelMismatchError(
            f"encoder dimension {vectors.shape[1]} != index dimension {dimension}"
        )
    return vectors, embedded


@dataclass(frozen=True)
class _Added:
    """Articles an update appends, with their texts, hashes and vectors (same order)."""

    articles: Sequence[Article]
    texts: Sequence[str]
    hashes: Sequence[str]
    vectors: np.ndarray


def _commit(
    current: Engine,
    index_path: Path,
    *,
    drop_rows: Sequence[int],
    added: _Added,
    counts: _Counts,
    clock: tuple[float, dict[str, float]],
) -> UpdateReport:
    """The next version: ``current`` without ``drop_rows``, plus ``added`` at the end."""
    started, timings = clock
    old_count = len(current.store)
    keep = np.setdiff1d(np.arange(old_count, dtype=np.int64), np.asarray(drop_rows, dtype=np.int64))
    count = len(keep) + len(added.articles)
    if count == 0:
        raise InputError("that would leave the index empty: build a new one instead")
    described = current.manifest.index
    requested = described.requested or current.manifest.index_type
    exact_max = DEFAULT_EXACT_MAX if described.exact_max is None else described.exact_max
    kind = choose_index_type(requested, count, exact_max)
    with _timer(timings, "index_s"):
        if kind == current.index.kind:  # the type decides how: compact copy, or tombstones
            index = index_class(kind).load(
                current.folder, current.manifest.dimension, described.params, writable=True
            )
            index.remove(np.setdiff1d(np.arange(old_count), keep))
            index.add(added.vectors)
        else:  # "auto" crossed exact_max: the other type, from the same vectors
            index = index_class(kind).build(np.vstack([current.index.vectors(keep), added.vectors]))
    with _timer(timings, "lexical_s"):
        lexical = _refit(current, keep, added.texts)
    old_store = current.folder / STORE_FILE
    content = VersionContent(
        index=index,
        lexical=lexical,
        write_store=lambda folder: write_store_update(
            folder / STORE_FILE, old_store, keep.tolist(), added.articles, added.hashes
        ),
        fields=_carried_fields(current.manifest),
        requested=requested,
        exact_max=exact_max,
    )
    version_path, manifest = write_version(index_path, content, timings)
    return UpdateReport(
        index_path=index_path,
        version_path=version_path,
        generation=manifest.generation,
        article_count=count,
        index=manifest.index,
        seconds=time.perf_counter() - started,
        timings=timings,
        **counts.fields(),
    )


def _refit(current: Engine, keep: np.ndarray, added_texts: Sequence[str]) -> LexicalModel:
    """Lexical statistics of the kept articles plus the added texts (same background)."""
    stored = current.store.titles_and_bodies()
    texts = [
        article_text(Article(id="-", title=stored[r][0], body=stored[r][1])) for r in keep.tolist()
    ]
    background = current.lexical.background if current.lexical is not None else ()
    return LexicalModel.fit([*texts, *added_texts], background)


def _carried_fields(manifest: Manifest) -> dict[str, Any]:
    """Manifest fields a new version keeps from the current one (model, recipe, settings)."""
    return {
        "model": manifest.model.to_dict(),
        "text_recipe_version": manifest.text_recipe_version,
        "lexical_version": manifest.lexical_version,
        "ranking": dict(manifest.ranking),
        "rules": dict(manifest.rules),
    }


def _unchanged_report(
    current: Engine,
    index_path: Path,
    counts: _Counts,
    started: float,
    timings: dict[str, float],
) -> UpdateReport:
    return UpdateReport(
        index_path=index_path,
        version_path=None,
        generation=current.manifest.generation,
        article_count=len(current.store),
        index=current.manifest.index,
        seconds=time.perf_counter() - started,
        timings=timings,
        **counts.fields(),
    )

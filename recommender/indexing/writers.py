"""The write path: build, upsert, remove and reindex an index folder.

Every writer holds the index's writer lock, produces a complete new version folder through one
:func:`write_version`, and switches to it atomically (``persistence``); how the vector index
itself changes between versions (compact copy or tombstones) is the index type's business
(``index``). Readers (:class:`~recommender.engine.Engine`) never see a half-written version.

    build:    articles -> embed (cache) -> statistics fit -> vector index -> write_version
    upsert:   plan (new / changed text / metadata only / unchanged) -> embed what changed
              -> current version minus replaced rows, plus the new rows, statistics kept
              (refitted past the drift threshold: ``statistics``) -> write_version
    remove:   current version minus the rows, statistics kept -> write_version
    reindex:  the current vectors into another index type, statistics refitted -> write_version
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.articles import Article
from recommender.encoder import Encoder, LazyEncoder
from recommender.errors import InputError, SettingsError, UnknownArticleError
from recommender.indexing import statistics
from recommender.indexing.plan import plan_upsert
from recommender.indexing.reports import BuildReport, Counts, UpdateReport
from recommender.indexing.version import (
    HandOver,
    VersionContent,
    check_model,
    check_recipe,
    check_unique,
    embed,
    timer,
    write_version,
)
from recommender.listreach import Change
from recommender.ranking import RankingSettings
from recommender.ranking.rules import EditorialRules
from recommender.storage import versions as persistence
from recommender.storage.index import AUTO, DEFAULT_EXACT_MAX, choose_index_type, index_class
from recommender.storage.lexical import LexicalModel
from recommender.storage.manifest import Manifest
from recommender.storage.store import (
    STORE_FILE,
    replace_tag_idf,
    updated_columns,
    write_store,
    write_store_update,
)
from recommender.text import TEXT_RECIPE_VERSION, article_text, lexical_text, text_hash

if TYPE_CHECKING:
    from recommender.engine import Engine


def build(  # noqa: PLR0913  (Engine.build's documented options, passed through)
    articles: Sequence[Article],
    index_path: Path,
    *,
    encoder: Encoder,
    cache: bool | str | Path = True,
    defaults: tuple[RankingSettings, EditorialRules] | None = None,
    index_choice: tuple[str, Mapping[str, Any] | None, int] = (AUTO, None, DEFAULT_EXACT_MAX),
    background_texts: Sequence[str] = (),
    lock_wait: float = 0.0,
    precompute: bool = True,
    refit_drift: float = statistics.DEFAULT_REFIT_DRIFT,
) -> BuildReport:
    """Embed ``articles`` and write them as a new version of ``index_path`` (see
    :meth:`Engine.build <recommender.engine.Engine.build>`). ``defaults``: the ranking settings
    and editorial rules stored with the index; ``index_choice``: (type asked for, parameters
    over its defaults, exact_max); ``refit_drift``: see ``indexing/statistics.py``."""
    started = time.perf_counter()
    if not articles:
        raise InputError("no articles to index (empty input)")
    check_unique(articles)
    statistics.check_refit_drift(refit_drift)
    requested, index_params, exact_max = index_choice
    if exact_max < 0:
        raise SettingsError(f"exact_max must be >= 0, got {exact_max}")
    kind = choose_index_type(requested, len(articles), exact_max)
    params = index_class(kind).resolve_params(index_params)  # bad names fail before embedding
    settings, rules = defaults or (RankingSettings(), EditorialRules())
    texts = [article_text(a) for a in articles]
    hashes = [text_hash(t) for t in texts]
    timings: dict[str, float] = {}
    with persistence.writer_lock(index_path, lock_wait):
        with timer(timings, "embed_s"):
            vectors, embedded = embed(encoder, texts, cache, index_path)
        dimension = int(vectors.shape[1])
        with timer(timings, "lexical_s"):
            lexical = LexicalModel.fit([lexical_text(a) for a in articles], background_texts)
        with timer(timings, "index_s"):
            index = index_class(kind).build(vectors, **params)
        fields = {
            "model": {"name": encoder.name, "dimension": dimension},
            "text_recipe_version": TEXT_RECIPE_VERSION,
            "ranking": settings.to_dict(),
            "rules": rules.to_dict(),
            "precompute": bool(precompute),
            "statistics": statistics.Statistics.fitted(
                len(articles), statistics.fitted_documents(lexical), refit_drift
            ).to_dict(),
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
    loaded: Engine | None = None,
    defer_lists: bool = False,
    hand_over: HandOver | None = None,
) -> UpdateReport:
    """Add new articles and replace changed ones (see :meth:`Engine.upsert`). ``defer_lists``:
    the read-more lists the write can change are left pending (answered live) for a refresh
    (``indexing/refresh.py``) instead of ranked now. ``hand_over``: gets the version written,
    opened (see :func:`write_version`; not called when nothing was written)."""
    started = time.perf_counter()
    if not articles:
        raise InputError("no articles to upsert (empty input)")
    check_unique(articles)
    timings: dict[str, float] = {}
    with (
        persistence.writer_lock(index_path, lock_wait, existing=True),
        _current(index_path, timings, loaded) as current,
    ):
        model_name = current.manifest.model_name
        check_model(index_path, model_name, encoder)
        check_recipe(index_path, current.manifest.text_recipe_version)
        store = current.store
        texts = [article_text(a) for a in articles]
        hashes = [text_hash(t) for t in texts]
        plan = plan_upsert(
            articles,
            hashes,
            store.text_hashes([a.id for a in articles]),
            lambda ids: store.articles([int(store.row_of(i) or 0) for i in ids]),
        )
        counts = Counts(
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
            with timer(timings, "embed_s"):
                fresh, embedded = embed(
                    encoder, [texts[i] for i in plan.to_embed], cache, index_path, dimension
                )
            vectors[[position[i] for i in plan.to_embed]] = fresh
        if plan.metadata_only:
            rows = [store.row_of(articles[i].id) for i in plan.metadata_only]
            vectors[[position[i] for i in plan.metadata_only]] = current.index.vectors(
                np.array(rows, dtype=np.int64)
            )
        replaced = [store.row_of(articles[i].id) for i in plan.written]
        counts = Counts(
            **{**counts.fields(), "embedded": embedded, "cached": len(plan.to_embed) - embedded}
        )
        return _commit(
            current,
            index_path,
            drop_rows=[r for r in replaced if r is not None],
            added=_Added(
                articles=[articles[i] for i in plan.written],
                texts=[lexical_text(articles[i]) for i in plan.written],
                hashes=[hashes[i] for i in plan.written],
                vectors=vectors,
            ),
            counts=counts,
            clock=(started, timings),
            defer=(defer_lists, hand_over),
        )


def remove(
    article_ids: Iterable[str],
    index_path: Path,
    *,
    missing_ok: bool = False,
    lock_wait: float = 0.0,
    loaded: Engine | None = None,
    defer_lists: bool = False,
    hand_over: HandOver | None = None,
) -> UpdateReport:
    """Remove articles by id (see :meth:`Engine.remove`; ``defer_lists``, ``hand_over``: as
    for upsert)."""
    started = time.perf_counter()
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        raise InputError("no ids to remove")
    timings: dict[str, float] = {}
    with (
        persistence.writer_lock(index_path, lock_wait, existing=True),
        _current(index_path, timings, loaded) as current,
    ):
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
        counts = Counts(read=len(ids), removed=len(found), not_found=len(missing))
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
            defer=(defer_lists, hand_over),
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
    with (
        persistence.writer_lock(index_path, lock_wait, existing=True),
        _current(index_path, timings) as current,
    ):
        count = len(current.store)
        kind = choose_index_type(requested, count, exact_max)
        params = index_class(kind).resolve_params(index_params)
        with timer(timings, "index_s"):
            index = index_class(kind).build(
                current.index.vectors(np.arange(count, dtype=np.int64)), **params
            )
        source_store = current.folder / STORE_FILE
        stats = statistics.recorded(current)
        with timer(timings, "lexical_s"):  # a reindex fits the statistics again
            fitted = statistics.refit(
                current,
                np.arange(count),
                [],
                [],
                stats.refit_drift if stats else statistics.DEFAULT_REFIT_DRIFT,
                "reindex",
            )

        def copy_store(folder: Path) -> None:
            shutil.copyfile(source_store, folder / STORE_FILE)
            replace_tag_idf(folder / STORE_FILE, fitted.tag_idf)

        content = VersionContent(
            index=index,
            lexical=fitted.lexical,
            write_store=copy_store,
            fields={**_carried_fields(current.manifest), "statistics": fitted.statistics.to_dict()},
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


@contextmanager
def _current(
    index_path: Path, timings: dict[str, float], loaded: Engine | None = None
) -> Iterator[Engine]:
    """The version a write starts from: ``loaded`` when the caller (a server) already has the
    current version open (checked under the lock), else opened here and closed after."""
    from recommender.engine import Engine  # the read side; imported here to keep layers apart

    if loaded is not None and loaded.folder == persistence.resolve_version(index_path):
        yield loaded  # only read from; the caller keeps serving and closing it
        return
    with timer(timings, "load_s"):
        current = Engine.load(index_path)
    try:
        yield current
    finally:
        current.close()


@dataclass(frozen=True)
class _Added:
    """Articles an update appends, with their whole texts (for the lexical statistics), text
    hashes and vectors (same order)."""

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
    counts: Counts,
    clock: tuple[float, dict[str, float]],
    defer: tuple[bool, HandOver | None] = (False, None),
) -> UpdateReport:
    """The next version: ``current`` without ``drop_rows``, plus ``added`` at the end (nothing
    dropped or added: the same content again, where only pending lists are ranked).
    ``defer``: (``defer_lists``, ``hand_over``) of upsert."""
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
    with timer(timings, "index_s"):
        if kind == current.index.kind:  # the type decides how: compact copy, or tombstones
            index = index_class(kind).load(
                current.folder, current.manifest.dimension, described.params, writable=True
            )
            index.remove(np.setdiff1d(np.arange(old_count), keep))
            index.add(added.vectors)
        else:  # "auto" crossed exact_max: the other type, from the same vectors
            index = index_class(kind).build(np.vstack([current.index.vectors(keep), added.vectors]))
    with timer(timings, "lexical_s"):  # kept fixed, or fitted again past the drift threshold
        fitted = statistics.for_write(current, keep, added.articles, added.texts)
    old_store = current.folder / STORE_FILE
    content = VersionContent(
        index=index,
        lexical=fitted.lexical,
        write_store=lambda folder: write_store_update(
            folder / STORE_FILE,
            old_store,
            keep.tolist(),
            added.articles,
            added.hashes,
            fitted.tag_idf,
        ),
        fields={**_carried_fields(current.manifest), "statistics": fitted.statistics.to_dict()},
        requested=requested,
        exact_max=exact_max,
        change=Change(current, keep, drop_rows, fitted.refit, not drop_rows and not added.articles),
        defer_lists=defer[0],
        hand_over=defer[1],
        columns=updated_columns(
            current.store.columns, keep, added.articles, added.hashes, fitted.tag_idf
        ),
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


def _carried_fields(manifest: Manifest) -> dict[str, Any]:
    """Manifest fields a new version keeps from the current one (model, recipe, settings)."""
    return {
        "model": manifest.model.to_dict(),
        "text_recipe_version": manifest.text_recipe_version,
        "ranking": dict(manifest.ranking),
        "rules": dict(manifest.rules),
        "precompute": manifest.precompute,
    }


def _unchanged_report(
    current: Engine,
    index_path: Path,
    counts: Counts,
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

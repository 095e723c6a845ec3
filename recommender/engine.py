"""The engine: one object owns a loaded index. The CLI, the HTTP app and the exporter are thin
shells over it.

    with Engine.load("indexes/default") as engine:
        engine.related("russia-china-summit-video-call", k=5)
        engine.query({"title": "Draft headline", "body": "..."}, k=5)

This module is the read side. Writes (``build``, ``upsert``, ``remove``, ``reindex``) live in
``indexing``; the classmethods here are thin delegates so one object is the whole Python API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender import indexing, precomputed
from recommender.articles import Article, article_from_mapping
from recommender.encoder import Encoder, LazyEncoder
from recommender.errors import IndexFormatError, ModelMismatchError, UnknownArticleError
from recommender.indexing import BuildReport, UpdateReport, default_cache_path
from recommender.indexing.statistics import DEFAULT_REFIT_DRIFT
from recommender.indexing.version import check_model
from recommender.ranking import RankingSettings
from recommender.ranking.ranker import Ranked, Ranker
from recommender.ranking.rules import EditorialRules
from recommender.results import Recommendation
from recommender.storage import versions as persistence
from recommender.storage.index import AUTO, DEFAULT_EXACT_MAX, INDEX_FILE, VectorIndex, index_class
from recommender.storage.lexical import LexicalModel
from recommender.storage.manifest import IndexInfo, Manifest
from recommender.storage.store import STORE_FILE, Columns, Store
from recommender.text import article_text, lexical_text

if TYPE_CHECKING:
    from recommender.config import Config

DEFAULT_INDEX = Path("indexes/default")
__all__ = [
    "INDEX_FILE",
    "STORE_FILE",
    "BuildReport",
    "Engine",
    "UnknownArticleError",
    "UpdateReport",
    "default_cache_path",
]


class Engine:
    """A loaded index: vectors, article metadata, ranking settings, and (lazily) the encoder."""

    def __init__(  # noqa: PLR0913  (the parts of a loaded version, all keyword-only)
        self,
        *,
        path: Path,
        folder: Path,
        manifest: Manifest,
        index: VectorIndex,
        store: Store,
        settings: RankingSettings,
        rules: EditorialRules,
        lexical: LexicalModel | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.path = path
        self.folder = folder
        self.manifest = manifest
        self.index = index
        self.store = store
        self.settings = settings
        self.rules = rules
        self.lexical = lexical
        self._encoder = encoder
        self.ranker = Ranker(index, store, lexical, rules)
        self.precomputed = precomputed.PrecomputedLists.load(folder)
        self.lists_served = {"precomputed": 0, "live": 0}  # answers of related(), by source

    # ------------------------------------------------------------------ writing (delegates)
    @classmethod
    def build(  # noqa: PLR0913  (the documented keyword options of a build)
        cls,
        articles: Sequence[Article],
        index_path: str | Path = DEFAULT_INDEX,
        *,
        model: str | None = None,
        encoder: Encoder | None = None,
        cache: bool | str | Path = True,
        settings: RankingSettings | None = None,
        config: Config | None = None,
        index_type: str = AUTO,
        index_params: Mapping[str, Any] | None = None,
        exact_max: int = DEFAULT_EXACT_MAX,
        background_texts: Sequence[str] = (),
        lock_wait: float = 0.0,
        precompute: bool = True,
        refit_drift: float = DEFAULT_REFIT_DRIFT,
    ) -> BuildReport:
        """Embed ``articles`` and write a new version of the index at ``index_path``.

        Either the whole build succeeds and the index switches to it, or the previous index is
        left exactly as it was. ``config`` (ranking settings and editorial rules) is stored with
        the index as its defaults; ``background_texts`` only feed the lexical statistics.
        ``index_type``: ``auto`` (exact ``flat-ip`` up to ``exact_max`` articles, ``hnsw``
        above), or ``flat-ip``, ``hnsw``, ``ivf`` with ``index_params`` over their defaults.
        Another writer holding the index makes this wait up to ``lock_wait`` seconds, then
        raise :class:`~recommender.errors.IndexLockedError`. ``precompute``: store every
        article's list; ``refit_drift``: see ``indexing/statistics.py``.
        """
        settings = settings or RankingSettings()
        rules = EditorialRules()
        if config is not None:
            settings = settings.replace(**config.ranking)
            rules = config.rules if config.rules is not None else rules
        return indexing.build(
            articles,
            Path(index_path),
            encoder=encoder or LazyEncoder(model),
            cache=cache,
            defaults=(settings, rules),
            index_choice=(index_type, index_params, exact_max),
            background_texts=background_texts,
            lock_wait=lock_wait,
            precompute=precompute,
            refit_drift=refit_drift,
        )

    @classmethod
    def upsert(
        cls,
        articles: Sequence[Article],
        index_path: str | Path = DEFAULT_INDEX,
        *,
        encoder: Encoder | None = None,
        cache: bool | str | Path = True,
        lock_wait: float = 0.0,
        loaded: Engine | None = None,
    ) -> UpdateReport:
        """Add new articles and replace changed ones (same id), embedding only texts that changed.

        Unchanged articles keep their vectors; an article whose text is the same but whose
        metadata (date, section, tags, ...) changed is updated without embedding. The corpus
        statistics stay as fitted (refitted past the drift threshold: indexing/statistics.py).
        Nothing is written when every article is already indexed as given. ``loaded``: an
        engine that has the index open (a server's), the starting point if still current.
        """
        return indexing.upsert(
            articles,
            Path(index_path),
            encoder=encoder,
            cache=cache,
            lock_wait=lock_wait,
            loaded=loaded,
        )

    @classmethod
    def remove(
        cls,
        article_ids: Iterable[str],
        index_path: str | Path = DEFAULT_INDEX,
        *,
        missing_ok: bool = False,
        lock_wait: float = 0.0,
        loaded: Engine | None = None,
    ) -> UpdateReport:
        """Remove articles by id; they vanish from every list in the new version. An unknown
        id is an error naming it (nothing is removed), unless ``missing_ok``: then it is counted
        in ``not_found`` and skipped. Removing every article is refused (never empty)."""
        return indexing.remove(
            article_ids,
            Path(index_path),
            missing_ok=missing_ok,
            lock_wait=lock_wait,
            loaded=loaded,
        )

    @classmethod
    def reindex(
        cls,
        index_path: str | Path = DEFAULT_INDEX,
        *,
        index_type: str = AUTO,
        index_params: Mapping[str, Any] | None = None,
        exact_max: int = DEFAULT_EXACT_MAX,
        lock_wait: float = 0.0,
    ) -> UpdateReport:
        """Rebuild the vector index (another type or other parameters) from the current
        vectors (nothing is embedded, articles carried over) and fit the corpus statistics."""
        return indexing.reindex(
            Path(index_path),
            index_choice=(index_type, index_params, exact_max),
            lock_wait=lock_wait,
        )

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        index_path: str | Path = DEFAULT_INDEX,
        *,
        encoder: Encoder | None = None,
        verify: bool = True,
        config: Config | None = None,
        index_params: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> Engine:
        """Open an index folder, checking its format version and checksums.

        Ranking settings: those stored with the index, overridden by ``config``'s ``[ranking]``,
        overridden by ``settings``. Editorial rules: ``config``'s ``[rules]`` if it has them,
        else those stored with the index. ``index_params`` override the vector index's stored
        parameters for this process (e.g. ``{"ef_search": 256}``). Use it as a context manager
        (``with Engine.load(path) as engine:``) or call :meth:`close`.
        """
        index_path = Path(index_path)
        for attempt in range(3):
            folder = persistence.resolve_version(index_path)
            try:
                engine = cls.open_version(index_path, folder, verify, index_params)
            except IndexFormatError:
                # A writer may have switched twice while we read, collecting the version we
                # resolved: read the current one instead (a damaged one still fails).
                if folder.exists() or attempt == 2:
                    raise
                continue
            engine.configure(config, settings, encoder)
            return engine
        raise AssertionError("unreachable")

    @classmethod
    def open_version(
        cls,
        index_path: Path,
        folder: Path,
        verify: bool = False,
        index_params: Mapping[str, Any] | None = None,
        columns: Columns | None = None,
    ) -> Engine:
        """One version folder, with its stored settings (``columns``: its store's, if read)."""
        manifest = persistence.read_manifest(folder, verify=verify)
        params = {**manifest.index.params, **(index_params or {})}
        try:
            kind = index_class(manifest.index_type)
        except ValueError as exc:
            raise IndexFormatError(f"{folder}: {exc}") from None
        try:
            index = kind.load(folder, manifest.dimension, params)
            store = Store(folder / STORE_FILE, columns)
            lexical = LexicalModel.load(folder) if LexicalModel.present(folder) else None
        except Exception as exc:  # faiss and sqlite raise their own types for damaged files
            raise IndexFormatError(f"{folder} is damaged: {exc}") from None
        if index.count != len(store) or len(store) != manifest.article_count:
            raise IndexFormatError(
                f"{folder} is damaged: {index.count} vectors, {len(store)} articles,"
                f" manifest says {manifest.article_count}"
            )
        if lexical is not None and lexical.matrix.shape[0] != len(store):
            raise IndexFormatError(f"{folder} is damaged: lexical rows != articles")
        return cls(
            path=index_path,
            folder=folder,
            manifest=manifest,
            index=index,
            store=store,
            settings=RankingSettings.from_dict(manifest.ranking),
            rules=EditorialRules.from_dict(manifest.rules, where="manifest rules"),
            lexical=lexical,
        )

    def configure(
        self, config: Config | None, settings: Mapping[str, Any], encoder: Encoder | None
    ) -> None:
        """Overrides at load: ``config``'s ``[ranking]`` and ``[rules]``, then ``settings``."""
        base = self.settings
        if config is not None:
            base = base.replace(**config.ranking)
            if config.rules is not None:
                self.rules = config.rules
                self.ranker = Ranker(self.index, self.store, self.lexical, self.rules)
        self.settings = base.replace(**settings)
        check_model(self.path, self.manifest.model_name, encoder)
        self._encoder = encoder

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = LazyEncoder(self.manifest.model_name)
        return self._encoder

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ articles
    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self.store.row_of(article_id) is not None

    def ids(self) -> list[str]:
        """Every indexed id, in row order."""
        return [str(i) for i in self.store.columns.ids]

    def article(self, article_id: str) -> Article:
        row = self.store.row_of(article_id)
        if row is None:
            raise UnknownArticleError(article_id)
        return self.store.articles([row])[0]

    def vectors(self, article_ids: Sequence[str]) -> np.ndarray:
        """The stored (normalized) embeddings of indexed articles, one row per id."""
        rows = [self.store.row_of(i) for i in article_ids]
        for article_id, row in zip(article_ids, rows, strict=True):
            if row is None:
                raise UnknownArticleError(article_id)
        return self.index.vectors(np.array(rows, dtype=np.int64))

    def nearest(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """Raw nearest neighbours (id, cosine) by the vector index alone: no ranking, filters
        or rules. For evaluation and benchmarks that compare against the plain index."""
        scores, found = self.index.search(np.atleast_2d(vectors).astype(np.float32), k)
        ids = self.store.columns.ids
        return [
            [(str(ids[r]), float(s)) for r, s in zip(rows, sims, strict=True) if r >= 0]
            for rows, sims in zip(found, scores, strict=True)
        ]

    # ------------------------------------------------------------------ queries
    def related(
        self,
        article_id: str,
        k: int = 5,
        *,
        exclude: Collection[str] = (),
        now: float | None = None,
        **options: Any,
    ) -> list[Recommendation]:
        """The ``k`` best related articles for an indexed article (never itself).

        ``exclude``: ids not to return (e.g. already on the page). ``options`` override ranking
        settings for this call (``half_life_days=30``, ``same_category_only=True``, ...).
        ``now`` (POSIX seconds) fixes the clock for ``recency_reference="now"``.
        """
        plain = not exclude and not options and now is None
        stored = precomputed.stored_list(self, article_id, k) if plain else None
        self.lists_served["live" if stored is None else "precomputed"] += 1
        return stored or self.related_live(article_id, k, exclude=exclude, now=now, **options)

    def related_live(self, article_id: str, k: int = 5, **options: Any) -> list[Recommendation]:
        """:meth:`related` ranked now (``exclude``, ``now``, ranking options as there)."""
        exclude, now = options.pop("exclude", ()), options.pop("now", None)
        settings = self.settings.replace(**options)
        source = self.ranker.indexed_source(article_id)
        return self._finish(self.ranker.rank(source, k, settings, exclude, now=now))

    def query(
        self,
        article: Article | Mapping[str, Any] | str,
        k: int = 5,
        *,
        exclude: Collection[str] = (),
        now: float | None = None,
        **options: Any,
    ) -> list[Recommendation]:
        """Related articles for an article that is not in the index (a draft), or for text."""
        if isinstance(article, str):
            article = Article(id="", title=article)
        elif not isinstance(article, Article):
            data = dict(article)
            data.setdefault("id", "<draft>")
            article = article_from_mapping(data, source="<query>")
        text = article_text(article)
        vector = self.encoder.encode([text])[0]
        if vector.shape[0] != self.manifest.dimension:
            raise ModelMismatchError(
                f"{self.path}: the query was embedded with {self.encoder.name!r} (dimension"
                f" {vector.shape[0]}), the index with {self.manifest.model_name!r} (dimension"
                f" {self.manifest.dimension})"
            )
        source = self.ranker.draft_source(article, vector, lexical_text(article))
        settings = self.settings.replace(**options)
        return self._finish(self.ranker.rank(source, k, settings, exclude, now=now))

    def related_many(
        self,
        article_ids: Sequence[str] | None = None,
        k: int = 5,
        *,
        batch_size: int = 256,
        now: float | None = None,
        **options: Any,
    ) -> Iterator[tuple[str, list[Recommendation]]]:
        """(id, results) for many indexed articles (all by default), searching in batches.

        The same results as :meth:`related` per id, at a fraction of the cost per article:
        this is what static export uses.
        """
        settings = self.settings.replace(**options)
        ids = self.ids() if article_ids is None else list(article_ids)
        for article_id, ranked in self.ranker.rank_many(ids, k, settings, batch_size, now=now):
            yield article_id, self._finish(ranked)

    def _finish(self, ranked: list[Ranked]) -> list[Recommendation]:
        articles = self.store.articles([r.row for r in ranked])
        return [
            Recommendation(article=a, score=r.score, why=r.why)
            for a, r in zip(articles, ranked, strict=True)
        ]

    # ------------------------------------------------------------------ facts
    def info(self) -> IndexInfo:
        """What is in this index and how it ranks (``.to_dict()`` for JSON)."""
        m = self.manifest
        return IndexInfo(
            path=str(self.path),
            version_folder=str(self.folder),
            article_count=len(self.store),
            model=m.model.name,
            dimension=m.model.dimension,
            index_type=m.index_type,
            index=dataclasses.replace(m.index, params=dict(self.index.params)),
            generation=m.generation,
            version_id=m.version_id,
            built_at=m.built_at,
            format_version=m.format_version,
            package_version=m.package_version,
            text_recipe_version=m.text_recipe_version,
            size_bytes=persistence.folder_size(self.folder),
            ranking=self.settings.to_dict(),
            rules=self.rules.to_dict(),
        )

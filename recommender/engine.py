"""The engine: one object owns a loaded index. The CLI, the HTTP app and the exporter are thin
shells over it.

    engine = Engine.load("indexes/default")
    engine.related("russia-china-summit-video-call", k=5)
    engine.query({"title": "Draft headline", "body": "..."}, k=5)

Writes (``build``, ``upsert``, ``remove``) hold the index's writer lock, produce a complete new
version folder and switch to it atomically (``persistence``); how the vector index itself
changes between versions is the index type's business (``index``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender import persistence, precomputed
from recommender.articles import Article, article_from_mapping
from recommender.config import Config
from recommender.encoder import EmbeddingCache, Encoder, LazyEncoder, embed_texts
from recommender.errors import InputError, UnknownArticleError
from recommender.index import (
    AUTO,
    DEFAULT_EXACT_MAX,
    INDEX_FILE,
    VectorIndex,
    choose_index_type,
    index_class,
)
from recommender.lexical import LEXICAL_VERSION, LexicalModel
from recommender.pipeline import Ranked, Ranker, Source
from recommender.ranking import RankingSettings
from recommender.results import Recommendation
from recommender.rules import EditorialRules
from recommender.store import Store, normalize_title, write_store, write_store_update
from recommender.text import TEXT_RECIPE_VERSION, article_text, text_hash

DEFAULT_INDEX = Path("indexes/default")
STORE_FILE = "store.sqlite"
__all__ = [
    "INDEX_FILE",
    "STORE_FILE",
    "BuildReport",
    "Engine",
    "UnknownArticleError",
    "UpdateReport",
]


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the CLI's summary."""

    index_path: Path
    version_path: Path
    read: int
    embedded: int
    cached: int
    seconds: float
    model: str
    dimension: int
    rejected: int = 0  # a rejected article fails the whole build: this is always 0 on success
    generation: int = 0
    index: dict[str, Any] = field(default_factory=dict)  # type, params, rows (manifest "index")
    timings: dict[str, float] = field(default_factory=dict)  # seconds by stage


@dataclass(frozen=True)
class UpdateReport:
    """What an upsert or a remove did, for the CLI's summary. ``version_path`` is None when
    nothing changed (no new version was written)."""

    index_path: Path
    version_path: Path | None
    generation: int
    read: int  # articles given (upsert) or ids given (remove)
    new: int
    changed: int  # text or metadata differs from the indexed article
    unchanged: int
    removed: int
    embedded: int
    cached: int
    not_found: int  # ids given to remove that were not in the index (only with missing_ok)
    article_count: int
    index: dict[str, Any]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def default_cache_path(index_path: Path) -> Path:
    """Embedding cache beside the index folders, shared by the indexes in that folder."""
    return Path(index_path).parent / ".recommender-cache" / "embeddings.sqlite"


class Engine:
    """A loaded index: vectors, article metadata, ranking settings, and (lazily) the encoder."""

    def __init__(
        self,
        *,
        path: Path,
        folder: Path,
        manifest: persistence.Manifest,
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
        self.ranker = Ranker(index, store.columns, lexical, rules, store.row_of)
        self.precomputed = precomputed.PrecomputedLists.load(folder)
        self.lists_served = {"precomputed": 0, "live": 0}  # read by the server's /metrics

    # ------------------------------------------------------------------ building and loading
    @classmethod
    def build(
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
    ) -> BuildReport:
        """Embed ``articles`` and write a new version of the index at ``index_path``.

        Either the whole build succeeds and the index switches to it, or the previous index is
        left exactly as it was. ``config`` (ranking settings and editorial rules) is stored with
        the index as its defaults; ``background_texts`` only feed the lexical statistics.
        ``index_type``: ``auto`` (exact ``flat-ip`` up to ``exact_max`` articles, ``hnsw``
        above), or ``flat-ip``, ``hnsw``, ``ivf`` with ``index_params`` over their defaults.
        Another writer holding the index makes this wait up to ``lock_wait`` seconds, then
        raise :class:`~recommender.persistence.IndexLockedError`.
        ``precompute``: store every article's read-more list with each version of this index
        (:mod:`recommender.precomputed`; about 3-4 ms per article and write on one core).
        """
        started = time.perf_counter()
        index_path = Path(index_path)
        if not articles:
            raise InputError("no articles to index (empty input)")
        _check_unique(articles)
        if exact_max < 0:
            raise ValueError(f"exact_max must be >= 0, got {exact_max}")
        kind = choose_index_type(index_type, len(articles), exact_max)
        params = index_class(kind).resolve_params(index_params)  # bad names fail before embedding
        encoder = encoder or LazyEncoder(model)
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
                "precompute": bool(precompute),
            }

            def write_store_file(folder: Path) -> None:
                write_store(folder / STORE_FILE, articles, hashes)

            with _timer(timings, "write_s"):
                version_path, manifest = _write_version(
                    index_path,
                    fields,
                    index,
                    lexical,
                    write_store_file,
                    requested=index_type,
                    exact_max=exact_max,
                )
        return BuildReport(
            index_path=index_path,
            version_path=version_path,
            read=len(articles),
            embedded=embedded,
            cached=len(articles) - embedded,
            seconds=time.perf_counter() - started,
            model=encoder.name,
            dimension=dimension,
            generation=manifest.generation,
            index=manifest.data["index"],
            timings=timings,
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
    ) -> UpdateReport:
        """Add new articles and replace changed ones (same id), embedding only texts that changed.

        Unchanged articles keep their vectors from the current version; an article whose text
        is the same but whose metadata (date, section, tags, ...) changed is updated without
        embedding. The lexical statistics are refitted on the resulting corpus. Nothing is
        written when every article is already indexed as given.
        """
        started = time.perf_counter()
        index_path = Path(index_path)
        if not articles:
            raise InputError("no articles to upsert (empty input)")
        _check_unique(articles)
        timings: dict[str, float] = {}
        with persistence.writer_lock(index_path, lock_wait):
            with _timer(timings, "load_s"):
                current = cls.load(index_path, encoder=encoder)
            try:
                model_name = current.manifest.model_name
                if encoder is not None and encoder.name != model_name:
                    raise ValueError(
                        f"{index_path} was built with model {model_name!r}, not {encoder.name!r}:"
                        " upsert with the same model, or rebuild"
                    )
                stored_hashes = current.store.text_hashes()
                texts = [article_text(a) for a in articles]
                hashes = [text_hash(t) for t in texts]
                same_text = [
                    i
                    for i, (a, h) in enumerate(zip(articles, hashes, strict=True))
                    if stored_hashes.get(a.id) == h
                ]
                row_of = current.store.row_of
                stored = current.store.articles(
                    [int(row_of(articles[i].id) or 0) for i in same_text]
                )  # all indexed
                unchanged = {
                    i for i, old in zip(same_text, stored, strict=True) if old == articles[i]
                }
                added = [i for i in range(len(articles)) if i not in unchanged]
                new = sum(1 for i in added if articles[i].id not in stored_hashes)
                report = dict(
                    read=len(articles),
                    new=new,
                    changed=len(added) - new,
                    unchanged=len(unchanged),
                    removed=0,
                    not_found=0,
                )
                if not added:
                    return _unchanged_report(current, index_path, report, started, timings)
                same = set(same_text)
                to_embed = [i for i in added if i not in same]
                fresh, embedded = np.zeros((0, current.manifest.dimension), np.float32), 0
                if to_embed:  # the model is only loaded when something is to be embedded
                    encoder = encoder or LazyEncoder(model_name)
                    with _timer(timings, "embed_s"):
                        fresh, embedded = _embed(
                            encoder,
                            [texts[i] for i in to_embed],
                            cache,
                            index_path,
                            dimension=current.manifest.dimension,
                        )
                vectors = np.zeros((len(added), current.manifest.dimension), dtype=np.float32)
                position = {i: p for p, i in enumerate(added)}
                vectors[[position[i] for i in to_embed]] = fresh
                metadata_only = [i for i in added if i in same]
                if metadata_only:
                    rows = [current.store.row_of(articles[i].id) for i in metadata_only]
                    vectors[[position[i] for i in metadata_only]] = current.index.vectors(
                        np.array(rows, dtype=np.int64)
                    )
                replaced = [current.store.row_of(articles[i].id) for i in added]
                return _commit(
                    current,
                    index_path,
                    drop_rows=[r for r in replaced if r is not None],
                    articles=[articles[i] for i in added],
                    texts=[texts[i] for i in added],
                    hashes=[hashes[i] for i in added],
                    vectors=vectors,
                    report={**report, "embedded": embedded, "cached": len(to_embed) - embedded},
                    started=started,
                    timings=timings,
                )
            finally:
                current.close()

    @classmethod
    def remove(
        cls,
        article_ids: Iterable[str],
        index_path: str | Path = DEFAULT_INDEX,
        *,
        missing_ok: bool = False,
        lock_wait: float = 0.0,
    ) -> UpdateReport:
        """Remove articles by id; they vanish from every list in the new version.

        An id that is not in the index is an error naming it (nothing is removed), unless
        ``missing_ok``: then it is counted in ``not_found`` and skipped. Removing every article
        is refused (an index is never empty).
        """
        started = time.perf_counter()
        index_path = Path(index_path)
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            raise InputError("no ids to remove")
        timings: dict[str, float] = {}
        with persistence.writer_lock(index_path, lock_wait):
            with _timer(timings, "load_s"):
                current = cls.load(index_path)
            try:
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
                report = dict(
                    read=len(ids),
                    new=0,
                    changed=0,
                    unchanged=0,
                    removed=len(found),
                    not_found=len(missing),
                    embedded=0,
                    cached=0,
                )
                if not found:
                    return _unchanged_report(current, index_path, report, started, timings)
                return _commit(
                    current,
                    index_path,
                    drop_rows=found,
                    articles=[],
                    texts=[],
                    hashes=[],
                    vectors=np.zeros((0, current.manifest.dimension), dtype=np.float32),
                    report=report,
                    started=started,
                    timings=timings,
                )
            finally:
                current.close()

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
        """Rebuild only the vector index (another type or other parameters) from the current
        version's vectors: nothing is embedded, articles and lexical statistics are carried over.
        """
        started = time.perf_counter()
        index_path = Path(index_path)
        timings: dict[str, float] = {}
        with persistence.writer_lock(index_path, lock_wait):
            with _timer(timings, "load_s"):
                current = cls.load(index_path)
            try:
                count = len(current.store)
                kind = choose_index_type(index_type, count, exact_max)
                params = index_class(kind).resolve_params(index_params)
                with _timer(timings, "index_s"):
                    index = index_class(kind).build(
                        current.index.vectors(np.arange(count, dtype=np.int64)), **params
                    )
                lexical = current.lexical or _refit(current, np.arange(count), [])

                def write_store_file(folder: Path) -> None:
                    shutil.copyfile(current.folder / STORE_FILE, folder / STORE_FILE)

                with _timer(timings, "write_s"):
                    version_path, manifest = _write_version(
                        index_path,
                        _carried_fields(current),
                        index,
                        lexical,
                        write_store_file,
                        requested=index_type,
                        exact_max=exact_max,
                    )
            finally:
                current.close()
        return UpdateReport(
            index_path=index_path,
            version_path=version_path,
            generation=manifest.generation,
            read=0,
            new=0,
            changed=0,
            unchanged=count,
            removed=0,
            embedded=0,
            cached=0,
            not_found=0,
            article_count=count,
            index=manifest.data["index"],
            seconds=time.perf_counter() - started,
            timings=timings,
        )

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
        parameters for this process (e.g. ``{"ef_search": 256}``).
        """
        index_path = Path(index_path)
        for attempt in range(3):
            folder = persistence.resolve_version(index_path)
            try:
                return cls._load_folder(
                    index_path, folder, encoder, verify, config, index_params, settings
                )
            except persistence.IndexFormatError:
                # A writer may have switched twice while we read, collecting the version we
                # resolved: read the current one instead (a damaged one still fails).
                if folder.exists() or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load_folder(
        cls,
        index_path: Path,
        folder: Path,
        encoder: Encoder | None,
        verify: bool,
        config: Config | None,
        index_params: Mapping[str, Any] | None,
        settings: Mapping[str, Any],
    ) -> Engine:
        manifest = persistence.read_manifest(folder, verify=verify)
        params = {**manifest.data.get("index", {}).get("params", {}), **(index_params or {})}
        try:
            kind = index_class(manifest.index_type)
        except ValueError as exc:
            raise persistence.IndexFormatError(f"{folder}: {exc}") from None
        try:
            index = kind.load(folder, manifest.dimension, params)
            store = Store(folder / STORE_FILE)
            lexical = LexicalModel.load(folder) if LexicalModel.present(folder) else None
        except Exception as exc:  # faiss and sqlite raise their own types for damaged files
            raise persistence.IndexFormatError(f"{folder} is damaged: {exc}") from None
        if index.count != len(store) or len(store) != manifest.data["article_count"]:
            raise persistence.IndexFormatError(
                f"{folder} is damaged: {index.count} vectors, {len(store)} articles,"
                f" manifest says {manifest.data['article_count']}"
            )
        if lexical is not None and lexical.matrix.shape[0] != len(store):
            raise persistence.IndexFormatError(f"{folder} is damaged: lexical rows != articles")
        base = RankingSettings.from_dict(manifest.data.get("ranking", {}))
        if config is not None:
            base = base.replace(**config.ranking)
        if config is not None and config.rules is not None:
            rules = config.rules
        else:
            rules = EditorialRules.from_dict(manifest.data.get("rules", {}), where="manifest rules")
        return cls(
            path=index_path,
            folder=folder,
            manifest=manifest,
            index=index,
            store=store,
            settings=base.replace(**settings),
            rules=rules,
            lexical=lexical,
            encoder=encoder,
        )

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = LazyEncoder(self.manifest.model_name)
        return self._encoder

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self.store.row_of(article_id) is not None

    def article(self, article_id: str) -> Article:
        row = self.store.row_of(article_id)
        if row is None:
            raise UnknownArticleError(article_id)
        return self.store.articles([row])[0]

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
        if not exclude and not options and now is None:
            stored = self.precomputed_list(article_id, k)
            if stored is not None:
                self.lists_served["precomputed"] += 1
                return stored
        self.lists_served["live"] += 1
        return self.related_live(article_id, k, exclude=exclude, now=now, **options)

    def related_live(
        self,
        article_id: str,
        k: int = 5,
        *,
        exclude: Collection[str] = (),
        now: float | None = None,
        **options: Any,
    ) -> list[Recommendation]:
        """:meth:`related` ranked now, never read from the precomputed lists."""
        source = self._indexed_source(article_id)
        settings = self.settings.replace(**options)
        return self._finish(self.ranker.rank(source, k, settings, exclude, now=now))

    def precomputed_list(self, article_id: str, k: int = 5) -> list[Recommendation] | None:
        """The stored list of an article under the engine's settings, or None (rank live)."""
        lists, row = self.precomputed, self.store.row_of(article_id)
        if lists is None or row is None or not lists.serves(self.settings, self.rules, k):
            return None
        ranked = lists.ranked(row)
        if ranked is None:
            return None
        articles = self.store.articles([r for r, _, _ in ranked])
        return [
            Recommendation(article=a, score=score, why=why)
            for a, (_, score, why) in zip(articles, ranked, strict=True)
        ]

    def precomputed_body(self, article_id: str, k: int = 5) -> bytes | None:
        """The stored ``GET /related/{id}`` body, or None (rank live)."""
        lists, row = self.precomputed, self.store.row_of(article_id)
        if lists is None or row is None or not lists.serves(self.settings, self.rules, k):
            return None
        results = lists.results_json(row)
        if results is None:
            return None
        self.lists_served["precomputed"] += 1
        return precomputed.http_body(article_id, results)

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
            raise ValueError(
                f"encoder dimension {vector.shape[0]} != index dimension {self.manifest.dimension}"
            )
        row = self.store.row_of(article.id) if article.id else None
        source = Source(
            vector=vector,
            row=row,
            id=article.id or None,
            timestamp=article.published_at.timestamp() if article.published_at else float("nan"),
            category=self.store.category_code(article.category),
            language=self.store.language_code(article.language),
            tags=article.tags,
            norm_title=normalize_title(article.title),
            lexical=self.lexical.transform([text]) if self.lexical is not None else None,
        )
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
        ids = [str(i) for i in self.store.columns.ids] if article_ids is None else list(article_ids)
        sources = [self._indexed_source(aid) for aid in ids]
        n = len(self.store)
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            pool = min(n, max(settings.candidate_pool, k + 1))
            scores, found = self.index.search(np.stack([s.vector for s in chunk]), pool)
            for i, source in enumerate(chunk):
                ranked = self.ranker.rank(
                    source, k, settings, (), now=now, first_hits=(found[i], scores[i])
                )
                yield str(source.id), self._finish(ranked)

    def _indexed_source(self, article_id: str) -> Source:
        row = self.store.row_of(article_id)
        if row is None:
            raise UnknownArticleError(article_id)
        cols = self.store.columns
        return Source(
            vector=self.index.vectors(np.array([row]))[0],
            row=row,
            id=article_id,
            timestamp=float(cols.timestamps[row]),
            category=int(cols.categories[row]),
            language=int(cols.languages[row]),
            tags=cols.tags[row],
            norm_title=cols.norm_titles[row],
            lexical=self.lexical.row(row) if self.lexical is not None else None,
        )

    def _finish(self, ranked: list[Ranked]) -> list[Recommendation]:
        articles = self.store.articles([r.row for r in ranked])
        return [
            Recommendation(article=a, score=r.score, why=r.why)
            for a, r in zip(articles, ranked, strict=True)
        ]

    # ------------------------------------------------------------------ facts
    def info(self) -> dict[str, Any]:
        data = self.manifest.data
        return {
            "path": str(self.path),
            "version_folder": str(self.folder),
            "article_count": len(self.store),
            "model": data["model"]["name"],
            "dimension": data["model"]["dimension"],
            "index_type": data["index_type"],
            "index": {**data.get("index", {}), "params": self.index.params},
            "generation": data.get("generation", 0),
            "version_id": data["version_id"],
            "built_at": data.get("built_at"),
            "format_version": data["format_version"],
            "package_version": data.get("package_version"),
            "text_recipe_version": data.get("text_recipe_version"),
            "size_bytes": persistence.folder_size(self.folder),
            "ranking": self.settings.to_dict(),
            "rules": self.rules.to_dict(),
        }

    def close(self) -> None:
        self.store.close()


# ---------------------------------------------------------------------- writing, shared
def _check_unique(articles: Sequence[Article]) -> None:
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise InputError(f"duplicate id {article.id!r}", field="id")
        seen.add(article.id)


class _timer:
    """``with _timer(timings, "embed_s"):`` adds the block's seconds to ``timings``."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self.started
        self.timings[self.name] = round(self.timings.get(self.name, 0.0) + elapsed, 4)


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
        raise ValueError(f"encoder dimension {vectors.shape[1]} != index dimension {dimension}")
    return vectors, embedded


def _write_version(
    index_path: Path,
    fields: Mapping[str, Any],
    index: VectorIndex,
    lexical: LexicalModel,
    write_store_file: Any,
    *,
    requested: str,
    exact_max: int,
    change: precomputed.Change | None = None,
) -> tuple[Path, persistence.Manifest]:
    """Write index, store, lexical files and precomputed lists as a new version; (its folder,
    its manifest). ``change``: how it follows from the current version (upsert, remove)."""
    index_fields = {**index.describe(), "requested": requested, "exact_max": exact_max}

    def fill(folder: Path) -> dict[str, Any]:
        index.save(folder)
        write_store_file(folder)
        lexical.save(folder)
        lists = _write_lists(folder, index_path, fields, index, lexical, change)
        return {
            **fields,
            "lists": lists.to_dict(),
            "article_count": index.count,
            "index_type": index.kind,
            "index": index_fields,
        }

    version_path = persistence.write_index_version(index_path, fill)
    return version_path, persistence.read_manifest(version_path, verify=False)


def _write_lists(
    folder: Path,
    index_path: Path,
    fields: Mapping[str, Any],
    index: VectorIndex,
    lexical: LexicalModel,
    change: precomputed.Change | None,
) -> precomputed.ListsReport:
    """Rank every list of the version being written (or those a change can reach)."""
    if not fields.get("precompute", True):
        return precomputed.ListsReport("off", 0, 0, index.count, 0.0)
    engine = Engine(
        path=index_path,
        folder=folder,
        manifest=persistence.Manifest(dict(fields)),
        index=index,
        store=Store(folder / STORE_FILE),
        settings=RankingSettings.from_dict(fields.get("ranking", {})),
        rules=EditorialRules.from_dict(fields.get("rules", {}), where="manifest rules"),
        lexical=lexical,
    )
    try:
        return precomputed.write_lists(folder, engine, change)
    finally:
        engine.close()


def _commit(
    current: Engine,
    index_path: Path,
    *,
    drop_rows: Sequence[int],
    articles: Sequence[Article],
    texts: Sequence[str],
    hashes: Sequence[str],
    vectors: np.ndarray,
    report: dict[str, int],
    started: float,
    timings: dict[str, float],
) -> UpdateReport:
    """The next version: ``current`` without ``drop_rows``, plus ``articles`` at the end."""
    old_count = len(current.store)
    keep = np.setdiff1d(np.arange(old_count, dtype=np.int64), np.asarray(drop_rows, dtype=np.int64))
    count = len(keep) + len(articles)
    if count == 0:
        raise InputError("that would leave the index empty: build a new one instead")
    meta = current.manifest.data.get("index", {})
    requested = str(meta.get("requested", current.manifest.index_type))
    exact_max = int(meta.get("exact_max", DEFAULT_EXACT_MAX))
    kind = choose_index_type(requested, count, exact_max)
    with _timer(timings, "index_s"):
        if kind == current.index.kind:  # the type decides how: compact copy, or tombstones
            index = index_class(kind).load(
                current.folder, current.manifest.dimension, meta.get("params"), writable=True
            )
            index.remove(np.setdiff1d(np.arange(old_count), keep))
            index.add(vectors)
        else:  # "auto" crossed exact_max: the other type, from the same vectors
            index = index_class(kind).build(np.vstack([current.index.vectors(keep), vectors]))
    with _timer(timings, "lexical_s"):
        lexical = _refit(current, keep, texts)
    fields = _carried_fields(current)

    def write_store_file(folder: Path) -> None:
        write_store_update(
            folder / STORE_FILE, current.folder / STORE_FILE, keep.tolist(), articles, hashes
        )

    with _timer(timings, "write_s"):
        version_path, manifest = _write_version(
            index_path,
            fields,
            index,
            lexical,
            write_store_file,
            requested=requested,
            exact_max=exact_max,
            change=precomputed.Change(current, keep, drop_rows),
        )
    return UpdateReport(
        index_path=index_path,
        version_path=version_path,
        generation=manifest.generation,
        article_count=count,
        index=manifest.data["index"],
        seconds=time.perf_counter() - started,
        timings=timings,
        **report,
    )


def _refit(current: Engine, keep: np.ndarray, added_texts: Sequence[str]) -> LexicalModel:
    """Lexical statistics of the kept articles plus the added texts (same background)."""
    stored = current.store.titles_and_bodies()
    texts = [
        article_text(Article(id="-", title=stored[r][0], body=stored[r][1])) for r in keep.tolist()
    ]
    background = current.lexical.background if current.lexical is not None else ()
    return LexicalModel.fit([*texts, *added_texts], background)


def _carried_fields(current: Engine) -> dict[str, Any]:
    """Manifest fields a new version keeps from the current one (model, recipe, settings)."""
    return {
        key: current.manifest.data[key]
        for key in (
            "model",
            "text_recipe_version",
            "lexical_version",
            "ranking",
            "rules",
            "precompute",
        )
        if key in current.manifest.data
    }


def _unchanged_report(
    current: Engine,
    index_path: Path,
    report: dict[str, int],
    started: float,
    timings: dict[str, float],
) -> UpdateReport:
    base = {"embedded": 0, "cached": 0, **report}
    return UpdateReport(
        index_path=index_path,
        version_path=None,
        generation=current.manifest.generation,
        article_count=len(current.store),
        index=current.manifest.data.get("index", {}),
        seconds=time.perf_counter() - started,
        timings=timings,
        **base,
    )

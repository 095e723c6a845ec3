"""The engine: one object owns a loaded index. The CLI, the HTTP app and the exporter are thin
shells over it.

    engine = Engine.load("indexes/default")
    engine.related("russia-china-summit-video-call", k=5)
    engine.query({"title": "Draft headline", "body": "..."}, k=5)
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommender import persistence
from recommender.articles import Article, InputError, article_from_mapping
from recommender.encoder import EmbeddingCache, Encoder, LazyEncoder, embed_texts
from recommender.index import FlatIndex, VectorIndex, index_class
from recommender.ranking import RankingSettings, Source, score_candidates
from recommender.results import Recommendation
from recommender.store import Store, write_store
from recommender.text import TEXT_RECIPE_VERSION, article_text, text_hash

DEFAULT_INDEX = Path("indexes/default")
STORE_FILE = "store.sqlite"
INDEX_FILE = "index.faiss"


class UnknownArticleError(LookupError):
    """An article id that is not in the index."""

    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(f"no article with id {article_id!r} in this index")

    def __str__(self) -> str:
        return str(self.args[0])


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
        encoder: Encoder | None = None,
    ) -> None:
        self.path = path
        self.folder = folder
        self.manifest = manifest
        self.index = index
        self.store = store
        self.settings = settings
        self._encoder = encoder

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
        index_type: str = FlatIndex.kind,
    ) -> BuildReport:
        """Embed ``articles`` and write a new version of the index at ``index_path``.

        Either the whole build succeeds and the index switches to it, or the previous index is
        left exactly as it was.
        """
        started = time.perf_counter()
        index_path = Path(index_path)
        if not articles:
            raise InputError("no articles to index (empty input)")
        seen: set[str] = set()
        for article in articles:
            if article.id in seen:
                raise InputError(f"duplicate id {article.id!r}", field="id")
            seen.add(article.id)
        encoder = encoder or LazyEncoder(model)
        settings = settings or RankingSettings()
        texts = [article_text(a) for a in articles]
        hashes = [text_hash(t) for t in texts]
        embedding_cache = None
        if cache:
            cache_file = default_cache_path(index_path) if cache is True else Path(cache)
            embedding_cache = EmbeddingCache(cache_file)
        try:
            vectors, embedded = embed_texts(encoder, texts, embedding_cache)
        finally:
            if embedding_cache:
                embedding_cache.close()
        dimension = int(vectors.shape[1])

        def fill(folder: Path) -> dict[str, Any]:
            index_class(index_type).build(vectors).save(folder / INDEX_FILE)
            write_store(folder / STORE_FILE, articles, hashes)
            return {
                "model": {"name": encoder.name, "dimension": dimension},
                "text_recipe_version": TEXT_RECIPE_VERSION,
                "article_count": len(articles),
                "index_type": index_type,
                "ranking": settings.to_dict(),
            }

        version_path = persistence.write_index_version(index_path, fill)
        return BuildReport(
            index_path=index_path,
            version_path=version_path,
            read=len(articles),
            embedded=embedded,
            cached=len(articles) - embedded,
            seconds=time.perf_counter() - started,
            model=encoder.name,
            dimension=dimension,
        )

    @classmethod
    def load(
        cls,
        index_path: str | Path = DEFAULT_INDEX,
        *,
        encoder: Encoder | None = None,
        verify: bool = True,
        **settings: Any,
    ) -> Engine:
        """Open an index folder, checking its format version and checksums.

        ``settings`` override the ranking settings stored with the index.
        """
        index_path = Path(index_path)
        folder = persistence.resolve_version(index_path)
        manifest = persistence.read_manifest(folder, verify=verify)
        try:
            index = index_class(manifest.index_type).load(folder / INDEX_FILE, manifest.dimension)
            store = Store(folder / STORE_FILE)
        except Exception as exc:  # faiss and sqlite raise their own types for damaged files
            raise persistence.IndexFormatError(f"{folder} is damaged: {exc}") from None
        if index.count != len(store) or len(store) != manifest.data["article_count"]:
            raise persistence.IndexFormatError(
                f"{folder} is damaged: {index.count} vectors, {len(store)} articles,"
                f" manifest says {manifest.data['article_count']}"
            )
        base = RankingSettings.from_dict(manifest.data.get("ranking", {}))
        return cls(
            path=index_path,
            folder=folder,
            manifest=manifest,
            index=index,
            store=store,
            settings=base.replace(**settings),
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
        **options: Any,
    ) -> list[Recommendation]:
        """The ``k`` best related articles for an indexed article (never itself).

        ``exclude``: ids not to return (e.g. already on the page). ``options`` override ranking
        settings for this call (``half_life_days=30``, ``recency_reference="now"``, ...).
        """
        row = self.store.row_of(article_id)
        if row is None:
            raise UnknownArticleError(article_id)
        cols = self.store.columns
        source = Source(row=row, timestamp=float(cols.timestamps[row]), category=int(cols.categories[row]))
        vector = self.index.vectors(np.array([row]))[0]
        return self._rank(vector, source, k, self.settings.replace(**options), exclude)

    def query(
        self,
        article: Article | Mapping[str, Any] | str,
        k: int = 5,
        *,
        exclude: Collection[str] = (),
        **options: Any,
    ) -> list[Recommendation]:
        """Related articles for an article that is not in the index (a draft), or for text."""
        if isinstance(article, str):
            article = Article(id="", title=article)
        elif not isinstance(article, Article):
            data = dict(article)
            data.setdefault("id", "<draft>")
            article = article_from_mapping(data, source="<query>")
        vector = self.encoder.encode([article_text(article)])[0]
        if vector.shape[0] != self.manifest.dimension:
            raise ValueError(
                f"encoder dimension {vector.shape[0]} != index dimension {self.manifest.dimension}"
            )
        row = self.store.row_of(article.id) if article.id else None
        stamp = article.published_at.timestamp() if article.published_at else float("nan")
        source = Source(row=row, timestamp=stamp, category=self.store.category_code(article.category))
        return self._rank(vector, source, k, self.settings.replace(**options), exclude)

    def related_many(
        self,
        article_ids: Sequence[str] | None = None,
        k: int = 5,
        *,
        batch_size: int = 256,
        **options: Any,
    ) -> Iterator[tuple[str, list[Recommendation]]]:
        """(id, results) for many indexed articles (all by default), searching in batches.

        The same results as :meth:`related` per id, at a fraction of the cost per article:
        this is what static export uses.
        """
        settings = self.settings.replace(**options)
        ids = list(self.store.columns.ids) if article_ids is None else list(article_ids)
        rows = []
        for aid in ids:
            row = self.store.row_of(aid)
            if row is None:
                raise UnknownArticleError(aid)
            rows.append(row)
        cols = self.store.columns
        for start in range(0, len(rows), batch_size):
            chunk = np.array(rows[start : start + batch_size], dtype=np.int64)
            vectors = self.index.vectors(chunk)
            pool = min(len(self.store), max(settings.candidate_pool, k + 1))
            scores, found = self.index.search(vectors, pool)
            for i, row in enumerate(chunk):
                source = Source(
                    row=int(row),
                    timestamp=float(cols.timestamps[row]),
                    category=int(cols.categories[row]),
                )
                hits = (found[i], scores[i])
                results = self._rank(vectors[i], source, k, settings, (), first_hits=hits)
                yield str(cols.ids[row]), results

    def _rank(
        self,
        vector: np.ndarray,
        source: Source,
        k: int,
        settings: RankingSettings,
        exclude: Collection[str],
        *,
        first_hits: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[Recommendation]:
        if k < 1:
            raise ValueError("k must be at least 1")
        total = len(self.store)
        banned = {r for r in (self.store.row_of(i) for i in exclude) if r is not None}
        if source.row is not None:
            banned.add(source.row)
        eligible = total - len(banned)
        want = min(k, eligible)
        pool = min(total, max(settings.candidate_pool, k + len(banned)))
        cols = self.store.columns
        while True:
            if first_hits is not None and len(first_hits[0]) >= pool:
                found, scores = first_hits
            else:
                scores2d, rows2d = self.index.search(vector[None, :], pool)
                found, scores = rows2d[0], scores2d[0]
            first_hits = None
            keep = (found >= 0) & ~np.isin(found, list(banned))
            cand_rows, cosine = found[keep], scores[keep].astype(np.float64)
            # Re-ranking can lift a candidate from deep in the pool, so the pool must hold
            # well more than k survivors; grow it (doubling) until it does or holds everything.
            if len(cand_rows) >= min(eligible, 2 * want) or pool >= total:
                break
            pool = min(total, pool * 2)
        ranked = score_candidates(
            cand_rows,
            cosine,
            timestamps=cols.timestamps,
            categories=cols.categories,
            source=source,
            settings=settings,
        )[:want]
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
            "built_at": data.get("built_at"),
            "format_version": data["format_version"],
            "package_version": data.get("package_version"),
            "text_recipe_version": data.get("text_recipe_version"),
            "size_bytes": persistence.folder_size(self.folder),
            "ranking": self.settings.to_dict(),
        }

    def close(self) -> None:
        self.store.close()

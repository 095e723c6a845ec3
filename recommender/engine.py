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
from recommender.config import Config
from recommender.encoder import EmbeddingCache, Encoder, LazyEncoder, embed_texts
from recommender.index import FlatIndex, VectorIndex, index_class
from recommender.lexical import LEXICAL_VERSION, LexicalModel
from recommender.pipeline import Ranked, Ranker, Source
from recommender.ranking import RankingSettings
from recommender.results import Recommendation
from recommender.rules import EditorialRules
from recommender.store import Store, normalize_title, write_store
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
        index_type: str = FlatIndex.kind,
        background_texts: Sequence[str] = (),
    ) -> BuildReport:
        """Embed ``articles`` and write a new version of the index at ``index_path``.

        Either the whole build succeeds and the index switches to it, or the previous index is
        left exactly as it was. ``config`` (ranking settings and editorial rules) is stored with
        the index as its defaults; ``background_texts`` only feed the lexical statistics.
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
        if config is not None:
            settings = settings.replace(**config.ranking)
        rules = config.rules if config is not None and config.rules is not None else None
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
        lexical = LexicalModel.fit(texts, background_texts)

        def fill(folder: Path) -> dict[str, Any]:
            index_class(index_type).build(vectors).save(folder / INDEX_FILE)
            write_store(folder / STORE_FILE, articles, hashes)
            lexical.save(folder)
            return {
                "model": {"name": encoder.name, "dimension": dimension},
                "text_recipe_version": TEXT_RECIPE_VERSION,
                "lexical_version": LEXICAL_VERSION,
                "article_count": len(articles),
                "index_type": index_type,
                "ranking": settings.to_dict(),
                "rules": (rules or EditorialRules()).to_dict(),
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
        config: Config | None = None,
        **settings: Any,
    ) -> Engine:
        """Open an index folder, checking its format version and checksums.

        Ranking settings: those stored with the index, overridden by ``config``'s ``[ranking]``,
        overridden by ``settings``. Editorial rules: ``config``'s ``[rules]`` if it has them,
        else those stored with the index.
        """
        index_path = Path(index_path)
        folder = persistence.resolve_version(index_path)
        manifest = persistence.read_manifest(folder, verify=verify)
        try:
            index = index_class(manifest.index_type).load(folder / INDEX_FILE, manifest.dimension)
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
        source = self._indexed_source(article_id)
        settings = self.settings.replace(**options)
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

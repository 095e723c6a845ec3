"""Writing one version: the one :func:`write_version` every writer uses, and the steps writers
share (embedding through the cache, timing, the one-article-per-id check)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender import precomputed
from recommender.articles import Article
from recommender.encoder import EmbeddingCache, Encoder, embed_texts
from recommender.errors import IndexFormatError, InputError, ModelMismatchError
from recommender.ids import check_id
from recommender.listreach import Change
from recommender.storage import versions as persistence
from recommender.storage.index import VectorIndex
from recommender.storage.lexical import LexicalModel
from recommender.storage.manifest import Manifest
from recommender.storage.store import STORE_FILE, Columns, Store
from recommender.text import TEXT_RECIPE_VERSION

if TYPE_CHECKING:
    from recommender.engine import Engine

HandOver = Callable[["Engine"], None]
"""Called with the version a write wrote, opened as :meth:`Engine.load` opens it (a server
serves it without loading it again)."""


@dataclass(frozen=True)
class VersionContent:
    """Everything a new version holds: what :func:`write_version` writes."""

    index: VectorIndex
    lexical: LexicalModel
    write_store: Callable[[Path], None]  # writes the metadata store into the version folder
    fields: Mapping[str, Any]  # model, recipe and settings fields of the manifest
    requested: str  # the index type asked for ("auto" or a type name)
    exact_max: int
    change: Change | None = None  # how it follows from the current version
    defer_lists: bool = False  # store the lists the change can reach as pending (publish API)
    hand_over: HandOver | None = None  # gets the written version, opened (see write_version)
    columns: Columns | None = None  # those of the store write_store writes, when known


def write_version(
    index_path: Path, content: VersionContent, timings: dict[str, float]
) -> tuple[Path, Manifest]:
    """Write ``content`` as the next version of ``index_path`` and switch to it.

    The one way every writer writes (call it holding the writer lock): (its folder, its
    manifest). ``content.hand_over`` gets the new version opened as a load opens it, with the
    store's columns of the lists step (the same file, now in the version folder) not read again.
    """
    description = {
        **content.index.describe(),
        "requested": content.requested,
        "exact_max": content.exact_max,
    }
    # what the saved statistics hold: an upsert into an older index keeps its format until a fit
    fields = {**content.fields, "lexical_version": content.lexical.version}
    content = replace(content, fields=fields)

    columns: list[Columns] = []  # the store's, as the lists step read them

    def fill(folder: Path) -> dict[str, Any]:
        content.index.save(folder)
        content.write_store(folder)
        content.lexical.save(folder)
        with timer(timings, "lists_s"):
            lists = _write_lists(folder, index_path, content, description, columns)
        return {
            **content.fields,
            "lists": lists.to_dict(),
            "article_count": content.index.count,
            "index_type": content.index.kind,
            "index": description,
        }

    with timer(timings, "write_s"):
        version_path = persistence.write_index_version(index_path, fill)
    if content.hand_over is not None:
        from recommender.engine import Engine  # the read side, as in _write_lists

        with timer(timings, "open_s"):  # checksums: computed from the bytes just written
            given = columns[0] if columns else content.columns
            opened = Engine.open_version(index_path, version_path, columns=given)
        content.hand_over(opened)
    return version_path, persistence.read_manifest(version_path, verify=False)


def _write_lists(
    folder: Path,
    index_path: Path,
    content: VersionContent,
    description: Mapping[str, Any],
    columns: list[Columns],
) -> precomputed.ListsReport:
    """Rank the read-more lists of the version being written (or those a change can reach);
    the store's columns (``content.columns``, else read) are appended to ``columns``."""
    if not content.fields.get("precompute", True):
        return precomputed.ListsReport("off", 0, 0, content.index.count, 0.0)
    from recommender.engine import Engine  # the read side ranks; imported here as in writers
    from recommender.ranking import RankingSettings
    from recommender.ranking.rules import EditorialRules

    fields = content.fields
    manifest = Manifest.from_dict(
        {
            **fields,
            "version_id": "staging",
            "index_type": content.index.kind,
            "article_count": content.index.count,
            "index": dict(description),
            "files": {},
            "format_version": persistence.FORMAT_VERSION,
        }
    )
    engine = Engine(
        path=index_path,
        folder=folder,
        manifest=manifest,
        index=content.index,
        store=Store(folder / STORE_FILE, content.columns),
        settings=RankingSettings.from_dict(fields.get("ranking", {})),
        rules=EditorialRules.from_dict(fields.get("rules", {}), where="manifest rules"),
        lexical=content.lexical,
    )
    columns.append(engine.store.columns)
    try:
        return precomputed.write_lists(folder, engine, content.change, defer=content.defer_lists)
    finally:
        engine.close()


def check_model(index_path: Path, model_name: str, encoder: Encoder | None) -> None:
    """Refuse vectors from another model than the one an index was built with."""
    if encoder is not None and encoder.name != model_name:
        raise ModelMismatchError(
            f"{index_path} was built with model {model_name!r}, not {encoder.name!r}: vectors"
            " of two models cannot be compared; use the index's own model (the default when"
            f" none is given) or rebuild with --model {encoder.name}"
        )


def check_recipe(index_path: Path, recipe: int | None) -> None:
    """Refuse to add vectors of this text recipe to an index of another (rebuild instead)."""
    if recipe != TEXT_RECIPE_VERSION:
        raise IndexFormatError(
            f"{index_path} was built with text recipe {recipe}, this version embeds with"
            f" recipe {TEXT_RECIPE_VERSION}: rebuild it (recommender build)"
        )


def check_unique(articles: Sequence[Article]) -> None:
    """One article per id in a write (the loaders name the file and line of a repeat), each id
    within the id contract (articles made in Python never passed a loader)."""
    seen: set[str] = set()
    for article in articles:
        check_id(article.id)
        if article.id in seen:
            raise InputError(f"duplicate id {article.id!r}", field="id")
        seen.add(article.id)


@contextmanager
def timer(timings: dict[str, float], name: str) -> Iterator[None]:
    """``with timer(timings, "embed_s"):`` adds the block's seconds to ``timings``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        timings[name] = round(timings.get(name, 0.0) + elapsed, 4)


def default_cache_path(index_path: Path) -> Path:
    """Embedding cache beside the index folders, shared by the indexes in that folder."""
    return Path(index_path).parent / ".recommender-cache" / "embeddings.sqlite"


def embed(
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

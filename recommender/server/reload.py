"""The hot-reload holder: one loaded engine, replaced by a newer one when the index link moves.

``indexes/<name>`` is a symbolic link that a build swaps atomically. At most every
``reload_interval`` seconds a request compares the link's target with the loaded version; on a
change a background thread loads the new version and then replaces the engine reference. A
request keeps the engine it started with, and old version folders outlive their readers (open
files stay readable), so no request fails during a swap.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
from threadpoolctl import threadpool_limits

from recommender._version import __version__
from recommender.config import Config
from recommender.encoder import Encoder, LazyEncoder, ModelNotFoundError
from recommender.engine import Engine
from recommender.server.httputil import etag
from recommender.storage import versions as persistence

log = logging.getLogger("recommender.server")


@dataclass(frozen=True)
class Served:
    """A loaded engine and the fingerprint of everything that shapes its answers."""

    engine: Engine
    fingerprint: str


def fingerprint(engine: Engine) -> str:
    """Changes when the package, the index version, its settings or its rules change."""
    rules = getattr(engine, "rules", None)
    return etag(
        __version__,
        engine.manifest.version_id,
        engine.settings.to_dict(),
        rules.to_dict() if rules is not None else None,
    )


class EngineHolder:
    """One loaded engine, replaced by a newer one when the index link moves."""

    RETRY_FAILED_AFTER = 10.0

    def __init__(
        self,
        index_path: str | Path,
        *,
        encoder: Encoder | None = None,
        config: Config | None = None,
        ranking: Mapping[str, Any] | None = None,
        reload_interval: float = 1.0,
        compute_threads: int = 0,
    ) -> None:
        self.path = Path(index_path)
        self._config = config
        self._threads = compute_threads
        self._thread_state = threading.local()
        if compute_threads:
            threadpool_limits(compute_threads)  # BLAS pools are process-wide
        self.reload_interval = reload_interval
        self.reloads = 0
        self.reload_failures = 0
        self.lists_refresh_failures = 0  # background rankings of pending lists (publish API)
        self.last_error: str | None = None
        self._given_encoder = encoder
        self._encoders: dict[str, Encoder] = {}  # by model name: a reload keeps a loaded model
        self._ranking = dict(ranking or {})
        self._lock = threading.Lock()
        self._loading = False
        self._failed: tuple[str, float] | None = None
        self._served = self._load()
        self._checked = time.monotonic()
        self.query_lock = threading.Lock()  # one draft encoding at a time (model loads once)

    def _encoder_for(self, model_name: str) -> Encoder | None:
        if self._given_encoder is not None:
            return self._given_encoder
        if model_name not in self._encoders:
            try:
                self._encoders[model_name] = LazyEncoder(model_name)
            except ModelNotFoundError:
                return None  # GET routes work; POST /related answers 503
        return self._encoders[model_name]

    def _load(self, verify: bool = True) -> Served:
        folder = persistence.resolve_version(self.path)
        name = persistence.read_manifest(folder, verify=False).model_name
        engine = self._open(name, verify)
        if engine.manifest.model_name != name:  # the link moved between the two reads
            engine = self._open(engine.manifest.model_name, verify)
        return Served(engine, fingerprint(engine))

    def _open(self, model_name: str, verify: bool = True) -> Engine:
        return Engine.load(
            self.path,
            encoder=self._encoder_for(model_name),
            verify=verify,
            config=self._config,
            **self._ranking,
        )

    def get(self) -> Served:
        """The engine to answer one request with (keep it for the whole request)."""
        if self._threads and not getattr(self._thread_state, "limited", False):
            faiss.omp_set_num_threads(self._threads)  # OpenMP's setting is per thread
            self._thread_state.limited = True
        now = time.monotonic()
        if now - self._checked >= self.reload_interval:
            self._maybe_reload(now)
        return self._served

    def _maybe_reload(self, now: float) -> None:
        with self._lock:
            if self._loading or now - self._checked < self.reload_interval:
                return
            self._checked = now
            target = os.path.realpath(self.path)
            if target == str(self._served.engine.folder):
                return
            failed = self._failed
            if failed and failed[0] == target and now - failed[1] < self.RETRY_FAILED_AFTER:
                return
            self._loading = True
        threading.Thread(target=self._reload, name="recommender-reload", daemon=True).start()

    def adopt(self, written: Engine | None = None) -> Served:
        """Serve the version the link points to now (after a write by this process: its
        checksums were computed from the very bytes it wrote and fsynced, not read again).
        ``written``: that version as the write handed it over (``hand_over``), opened as a
        load opens it: configured here as a load is, instead of loaded again."""
        if written is None:
            served = self._load(verify=False)
        else:
            model = written.manifest.model_name
            written.configure(self._config, self._ranking, self._encoder_for(model))
            served = Served(written, fingerprint(written))
        with self._lock:
            if served.engine.manifest.generation >= self._served.engine.manifest.generation:
                self._served = served  # one reference assignment: atomic for readers
                self.reloads += 1
            self._checked = time.monotonic()
            return self._served

    def _reload(self) -> None:
        old = self._served.engine.manifest.version_id
        try:
            served = self._load()
        except Exception as exc:  # keep answering from the loaded version
            self._failed = (os.path.realpath(self.path), time.monotonic())
            self.reload_failures += 1
            self.last_error = f"reload failed: {exc}"
            log.error("index %s: %s; still serving %s", self.path, self.last_error, old)
        else:
            self._served = served  # one reference assignment: atomic for readers
            self.reloads += 1
            self.last_error = None
            log.info(
                "index %s: now serving %s (was %s)",
                self.path,
                served.engine.manifest.version_id,
                old,
            )
            # `old` is not closed: requests that started on it may still be reading. Its
            # SQLite connection closes when the last of them drops the reference.
        finally:
            self._loading = False

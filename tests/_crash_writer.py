"""The writer that tests/test_crash_safety.py kills: it writes versions of one index in a loop.

    python -m tests._crash_writer INDEX        (from the repository root)

Each line ``go SEED`` on stdin forks a writer process and prints its PID; the writer builds
state A, upserts it into state B, removes articles to reach state C, and starts again, until it
is killed. Forking from a process that has already imported everything makes each of the test's
many kills cost milliseconds instead of a second of imports. BLAS and OpenMP run one thread, so
the fork is safe (no thread pools to inherit).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import signal  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from recommender.articles import Article  # noqa: E402
from recommender.engine import Engine  # noqa: E402
from recommender.storage.lexical import stop_words  # noqa: E402
from tests.conftest import FakeEncoder, make_article  # noqa: E402

WORDS = [f"w{i}" for i in range(50)]
KINDS = ("flat-ip", "hnsw")


def state_a() -> list[Article]:
    rng = np.random.default_rng(7)
    return [
        make_article(
            f"a{i:02d}", f"Story {i}", " ".join(rng.choice(WORDS, 8)), category=f"c{i % 4}"
        )
        for i in range(60)
    ]


UPSERT = [  # state A -> B: three changed, three new
    make_article("a00", "Story 0", "w1 w2 w3 rewritten body"),
    make_article("a01", "Story 1", "w4 w5 w6 rewritten body"),
    make_article("a02", "Story 2", "w7 w8 w9 rewritten body"),
    make_article("n1", "New 1", "comet tail nucleus"),
    make_article("n2", "New 2", "comet probe nucleus"),
    make_article("n3", "New 3", "comet dust tail"),
]
REMOVE = ["a10", "a11", "a12", "n2", "a00"]  # state B -> C


def states() -> dict[str, list[Article]]:
    a = state_a()
    replaced = {u.id: u for u in UPSERT}
    b = [replaced.get(x.id, x) for x in a] + [u for u in UPSERT if u.id not in {x.id for x in a}]
    c = [x for x in b if x.id not in REMOVE]
    return {"A": a, "B": b, "C": c}


def write_forever(index: Path, seed: int) -> None:
    kind = KINDS[seed % len(KINDS)]
    articles = state_a()
    parent = os.getppid()
    while os.getppid() == parent:  # never outlive the test's fork server
        # refit_drift=0: every write fits the statistics, so each state's are those of its texts
        Engine.build(articles, index, encoder=FakeEncoder(), index_type=kind, refit_drift=0)
        Engine.upsert(UPSERT, index, encoder=FakeEncoder())
        Engine.remove(REMOVE, index)


def main() -> None:
    index = Path(sys.argv[1])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed writers are reaped by the kernel
    stop_words()  # loaded lazily (scikit-learn): load it here, before forking, like the rest
    print("ready", flush=True)
    for line in sys.stdin:
        seed = int(line.split()[1])
        pid = os.fork()
        if pid == 0:
            try:
                write_forever(index, seed)
            except BaseException:
                traceback.print_exc()
            os._exit(3)  # a writer only ends by being killed
        print(pid, flush=True)


if __name__ == "__main__":
    main()

"""SIGKILL a real writer process at random moments of build / upsert / remove: every time, the
index loads and answers ``related`` with exactly one of the known contents, never a mix, never
an error; readers running during the writes see the same; leftovers are cleaned by the next
writer."""

from __future__ import annotations

import collections
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recommender.articles import Article
from recommender.engine import Engine
from recommender.storage.lexical import LexicalModel
from recommender.storage.versions import versions_dir
from recommender.text import article_text

from ._crash_writer import states
from .conftest import FakeEncoder

ROOT = Path(__file__).resolve().parent.parent
KILLS = 40


def fingerprint(
    articles: Sequence[Article], vectors: np.ndarray, lexical: LexicalModel | None
) -> str:
    """Ids, texts and vectors by id, and the lexical statistics: one hash."""
    digest = hashlib.sha256()
    for i in sorted(range(len(articles)), key=lambda i: articles[i].id):
        a = articles[i]
        digest.update(f"{a.id}\0{a.title}\0{a.body}\0{a.category}\0".encode())
        digest.update(np.ascontiguousarray(vectors[i], dtype=np.float32).tobytes())
    if lexical is not None:
        digest.update("\0".join(sorted(lexical.vocabulary)).encode())
        digest.update(np.round(lexical.idf[sorted(lexical.vocabulary.values())], 5).tobytes())
    return digest.hexdigest()


def expected_fingerprints() -> dict[str, str]:
    out = {}
    for name, articles in states().items():
        texts = [article_text(a) for a in articles]
        vocabulary_order = LexicalModel.fit(texts)
        out[fingerprint(articles, FakeEncoder().encode(texts), vocabulary_order)] = name
    return out


def check(index: Path, expected: dict[str, str]) -> str:
    """Load, answer, and say which known state the index holds (fails on anything else)."""
    engine = Engine.load(index, encoder=FakeEncoder())
    try:
        rows = list(range(len(engine)))
        articles = engine.store.articles(rows)
        vectors = engine.index.vectors(np.array(rows, dtype=np.int64))
        found = fingerprint(articles, vectors, engine.lexical)
        assert found in expected, f"index holds none of the known contents ({len(rows)} rows)"
        ids = {a.id for a in articles}
        results = engine.related("a05", k=5)
        assert len(results) == 5 and {r.id for r in results} <= ids - {"a05"}
        return expected[found]
    finally:
        engine.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    index = tmp_path / "indexes" / "news"
    expected = expected_fingerprints()
    assert sorted(expected.values()) == ["A", "B", "C"]
    Engine.build(states()["A"], index, encoder=FakeEncoder())  # an old version always exists
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests._crash_writer", str(index)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert server.stdin is not None and server.stdout is not None
    assert server.stdout.readline().strip() == "ready"
    rng = random.Random(20250101)
    seen: collections.Counter[str] = collections.Counter()
    during: collections.Counter[str] = collections.Counter()
    staging_left = 0
    pid = 0
    try:
        for kill in range(KILLS):
            server.stdin.write(f"go {kill}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            delay = rng.uniform(0.0, 0.5)
            time.sleep(delay / 2)
            during[check(index, expected)] += 1  # a reader while the writer writes
            time.sleep(delay / 2)
            assert alive(pid), "the writer ended on its own: it failed (see captured stderr)"
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.005)
            assert not alive(pid)
            staging_left += any(versions_dir(index).glob("*.tmp"))
            seen[check(index, expected)] += 1  # after the kill
    finally:  # on a failure too: no writer may outlive the test
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # kills landed between different writes and inside them (a staging folder left behind)
    assert len(seen) >= 2, seen
    assert staging_left >= 1
    # the next writer removes what killed writers left, and never read it
    Engine.remove(["a20"], index)
    assert not list(versions_dir(index).glob("*.tmp"))
    assert not list(index.parent.glob(f".{index.name}.link-*"))
    assert len(list(versions_dir(index).iterdir())) == 2
    print(
        f"states after {KILLS} kills: {dict(seen)}; seen by readers during writes: "
        f"{dict(during)}; kills that left a staging folder: {staging_left}"
    )

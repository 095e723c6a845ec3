"""Builds with the embedding on Ray (extra ``ray``): the same index as a local build, the
embedding cache honoured (only misses dispatched), upsert, and the message without the extra.
One local Ray for the module (it takes seconds to start); the fake encoder runs in its actors."""

from __future__ import annotations

import builtins
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recommender import precomputed
from recommender.engine import Engine
from recommender.errors import MissingExtraError
from recommender.storage.versions import resolve_version

from .conftest import FakeEncoder
from .test_precomputed import corpus

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def ray_encoder() -> Iterator[Any]:
    from recommender.distributed import RayEncoder

    encoder = RayEncoder(factory=FakeEncoder, workers=2, batch_size=64)
    yield encoder
    encoder.shutdown()


def files(index: Path) -> dict[str, str]:
    manifest = json.loads((index / "manifest.json").read_text())
    return {name: meta["sha256"] for name, meta in manifest["files"].items()}


def test_ray_build_equals_local_build_and_honours_the_cache(
    ray_encoder: Any, tmp_path: Path
) -> None:
    articles = corpus(300)
    local, remote = tmp_path / "local" / "news", tmp_path / "ray" / "news"
    Engine.build(articles, local, encoder=FakeEncoder(), cache=False)
    report = Engine.build(articles, remote, encoder=ray_encoder)
    assert (report.embedded, report.model) == (300, FakeEncoder.name)
    assert files(remote) == files(local)  # index, store, lexical statistics, lists: same bytes
    a = Engine.load(local, encoder=FakeEncoder())
    b = Engine.load(remote, encoder=FakeEncoder())
    for aid in ("a00001", "a00008", "a00150"):  # dated: no clock in the answer
        assert b.related(aid) == a.related(aid)
        assert b.related(aid, k=10, dedupe=False) == a.related(aid, k=10, dedupe=False)
    assert (resolve_version(remote) / precomputed.LISTS_FILE).exists()

    edited = [*articles]
    edited[4] = dataclasses.replace(articles[4], body="an entirely new body for this story")
    again = Engine.build(edited, remote, encoder=ray_encoder)
    assert (again.embedded, again.cached) == (1, 299)  # only the miss went to Ray

    fresh = dataclasses.replace(articles[0], id="fresh", title="A new story")
    update = Engine.upsert([fresh], remote, encoder=ray_encoder)
    assert (update.new, update.embedded) == (1, 1)
    assert "fresh" in Engine.load(remote, encoder=FakeEncoder())


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender import distributed

    real_import = builtins.__import__

    def no_ray(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(MissingExtraError, match=r"pip install 'recommender\[ray\]'"):
        distributed.RayEncoder()

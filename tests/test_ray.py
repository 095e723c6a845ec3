"""Ray (extra ``ray``): builds with the embedding on Ray give the same index as a local build,
the embedding cache honoured (only misses dispatched), upsert; ``related_many`` and ``export``
ranked on Ray give the same lists as locally; the message without the extra. One local Ray for
the module (it takes seconds to start); the fake encoder runs in its actors."""

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
from recommender.errors import MissingExtraError, UnknownArticleError
from recommender.export import export
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


@pytest.fixture(scope="module")
def ray_ranker(ray_encoder: Any) -> Any:
    """Two actors, tasks of 2 batches of 32 ids: a 300-article index makes 5 tasks."""
    from recommender.distributed import RayRanker

    return RayRanker(workers=2, batch_size=32, task_batches=2)


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


def test_related_many_on_ray_equals_local(ray_ranker: Any, tmp_path: Path) -> None:
    Engine.build(corpus(300), tmp_path / "news", encoder=FakeEncoder())
    now = 1_750_000_000.0  # undated sources (every 50th) are aged against it
    with Engine.load(tmp_path / "news", encoder=FakeEncoder()) as engine:
        for k, options in ((5, {}), (8, {"same_category_only": True, "half_life_days": 30})):
            local = list(engine.related_many(None, k, batch_size=32, now=now, **options))
            remote = list(ray_ranker.related_many(engine, None, k, now=now, **options))
            assert [a for a, _ in remote] == engine.ids()  # in order, every article
            assert remote == local  # ids, scores, explanations, article fields
        some = ["a00299", "a00007", "a00100"]
        assert list(ray_ranker.related_many(engine, some, 3, now=now)) == list(
            engine.related_many(some, 3, batch_size=32, now=now)
        )
        with pytest.raises(UnknownArticleError, match="nope"):
            list(ray_ranker.related_many(engine, ["a00001", "nope"]))


def test_export_on_ray_equals_local_export(ray_ranker: Any, tmp_path: Path) -> None:
    dated = [a for a in corpus(300) if a.published_at is not None]  # no clock in the answers
    Engine.build(dated, tmp_path / "news", encoder=FakeEncoder())
    with Engine.load(tmp_path / "news", encoder=FakeEncoder()) as engine:
        for k, precomputed_lists in ((7, 0), (5, len(dated))):  # k=5: the stored lists answer
            local = export(engine, tmp_path / f"local-{k}", k=k, batch_size=32)
            remote = export(engine, tmp_path / f"ray-{k}", k=k, batch_size=32, ray=ray_ranker)
            assert local.precomputed == remote.precomputed == precomputed_lists
            assert remote.written == local.written == len(dated) + 1
            a, b = tmp_path / f"local-{k}", tmp_path / f"ray-{k}"
            names = sorted(p.relative_to(a) for p in a.rglob("*.json"))
            assert names == sorted(p.relative_to(b) for p in b.rglob("*.json"))
            assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def test_export_cli_ray_alone_means_a_local_ray(ray_ranker: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    Engine.build(corpus(40), tmp_path / "news", encoder=FakeEncoder())
    out = tmp_path / "site"
    args = ["export", "--index", str(tmp_path / "news"), "--out", str(out), "-k", "4"]
    result = CliRunner().invoke(app, [*args, "--ray", "--ray-workers", "2"])  # before an option
    assert result.exit_code == 0, result.output
    assert "all ranked on Ray" in result.output
    result = CliRunner().invoke(app, [*args[:-2], "--ray"])  # last; k=5: the stored lists
    assert result.exit_code == 0, result.output
    assert "39 from the precomputed lists, 1 ranked on Ray" in result.output  # a00007: undated


def hide_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports of ray fail from now on, as without the ``ray`` extra."""
    real_import = builtins.__import__

    def no_ray(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender import distributed

    hide_ray(monkeypatch)
    with pytest.raises(MissingExtraError, match=r"pip install 'recommender\[ray\]'"):
        distributed.RayEncoder()


def test_export_cli_without_the_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from recommender.cli import app

    Engine.build(corpus(20), tmp_path / "news", encoder=FakeEncoder())
    hide_ray(monkeypatch)
    result = CliRunner().invoke(
        app, ["export", "--index", str(tmp_path / "news"), "--out", str(tmp_path / "o"), "--ray"]
    )
    assert result.exit_code != 0
    assert "pip install 'recommender[ray]'" in result.output
    assert not (tmp_path / "o").exists()  # nothing exported

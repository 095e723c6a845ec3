"""End to end with the real packaged all-MiniLM-L6-v2 on the bundled demo corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.demo import demo_articles_path, demo_gold_path
from recommender.engine import Engine
from recommender.loaders import load_articles

pytestmark = pytest.mark.model

SUMMIT = "russia-china-summit-video-call"
FOLLOW_UPS = {"russia-china-energy-deal", "russia-china-sanctions", "russia-china-trade-record"}


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("e2e") / "indexes" / "demo"
    report = Engine.build(load_articles([demo_articles_path()]), index)
    assert report.read == report.embedded >= 96
    return index


def test_summit_read_more(demo_index: Path) -> None:
    engine = Engine.load(demo_index)
    top5 = [r.id for r in engine.related(SUMMIT, k=5)]
    assert set(top5) >= FOLLOW_UPS, top5
    assert "baseball-star-injury-recovery" not in top5
    assert all(i.startswith("russia-china-") for i in top5)


def test_every_article_gets_k_explained_results(demo_index: Path) -> None:
    engine = Engine.load(demo_index)
    floor = engine.settings.min_relatedness
    lengths = []
    for aid, results in engine.related_many(k=5):  # the floor on: no link below it, ever
        assert len(results) <= 5 and aid not in {r.id for r in results}
        assert all(r.why.relatedness >= floor and r.why.fallback is None for r in results)
        lengths.append(len(results))
    assert 0 < sum(n == 0 for n in lengths) < len(lengths) / 2  # some boxes stay empty
    engine = Engine.load(demo_index, min_relatedness=-1.0)  # floor off: k for every article
    same_section = total = 0
    for aid, results in engine.related_many(k=5):
        assert len(results) == 5 and aid not in {r.id for r in results}
        for r in results:
            assert sum(r.why.contributions.values()) == pytest.approx(r.score, abs=1e-4)
        source = engine.article(aid)
        same_section += sum(r.article.category == source.category for r in results)
        total += len(results)
    assert same_section / total > 0.5


def test_wire_copies_never_shown_twice_nor_the_sources_copy(demo_index: Path) -> None:
    engine = Engine.load(demo_index)
    pairs = [
        ("central-bank-holds-rates", "central-bank-holds-rates-update"),
        ("football-manager-sacked", "football-manager-sacked-wire"),
        ("hospital-cyberattack-systems-down", "hospital-cyberattack-systems-down-wire"),
    ]
    for a, b in pairs:
        assert b not in [r.id for r in engine.related(a, k=10)]
        assert a not in [r.id for r in engine.related(b, k=10)]
    for aid, results in engine.related_many(k=10):
        ids = {r.id for r in results}
        for a, b in pairs:
            assert not {a, b} <= ids, (aid, a, b)


def test_gold_clusters_are_found(demo_index: Path) -> None:
    from recommender.evaluation.gold import load_gold
    from recommender.evaluation.runs import gold_metrics

    engine = Engine.load(demo_index)
    gold = load_gold(demo_gold_path(), known_ids=engine)
    lists = {e.id: [r.id for r in engine.related(e.id, k=5)] for e in gold.entries}
    figures = gold_metrics(lists, gold.as_dict(), 5, gold.copy_of())
    assert figures["recall@5"] > 0.9, figures


def test_draft_query_finds_the_cluster(demo_index: Path) -> None:
    engine = Engine.load(demo_index)
    draft = {
        "title": "Kremlin and Beijing sign new oil supply pact",
        "body": "Russia will ship more crude to China under a long-term deal signed in Moscow.",
        "category": "world",
        "published_at": "2025-06-01",
    }
    ids = [r.id for r in engine.query(draft, k=3)]
    assert all(i.startswith("russia-china-") for i in ids), ids


def test_cli_demo_command_prints_the_list(tmp_path: Path) -> None:
    """README command 1 in miniature: the installed console script, a real process."""
    exe = Path(sys.executable).with_name("recommender")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "recommender"]
    result = subprocess.run(
        [*cmd, "demo", "--index", str(tmp_path / "demo"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    ids = [r["id"] for r in data["results"]]
    assert data["id"] == SUMMIT and set(ids) >= FOLLOW_UPS
    assert "baseball-star-injury-recovery" not in ids
    assert "articles read" in result.stderr

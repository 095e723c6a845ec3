"""The real ``recommender serve`` process over an index built with the real packaged model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.articles import Article
from recommender.engine import Engine

from ._serving import cli, http, serve_process
from .conftest import make_article

pytestmark = pytest.mark.model

ARTICLES = [
    make_article(
        "world/russia-china-summit",
        "Putin and Xi hold summit by video link",
        "The Russian and Chinese presidents discussed trade, energy and security in a "
        "video call, pledging closer ties despite Western sanctions.",
        published_at="2025-06-01",
        category="world",
    ),
    make_article(
        "world/china-russia-trade",
        "China-Russia trade reaches a record",
        "Trade between China and Russia hit a record as Moscow sells more oil and gas "
        "to Beijing, customs data showed.",
        published_at="2025-05-20",
        category="world",
    ),
    make_article(
        "world/un-security-council",
        "Security Council splits over sanctions",
        "Russia and China vetoed a resolution at the UN Security Council, diplomats "
        "said after a tense session.",
        published_at="2025-04-02",
        category="world",
    ),
    make_article(
        "sport/baseball-injury",
        "Star pitcher out for the season",
        "The pitcher tore a ligament in his elbow and will need surgery, the team "
        "announced on Tuesday.",
        published_at="2025-06-02",
        category="sport",
    ),
    make_article(
        "sport/world-cup-qualifier",
        "Late goal sends team to the World Cup",
        "A stoppage-time header secured qualification in front of a sold-out stadium.",
        published_at="2025-06-03",
        category="sport",
    ),
    make_article(
        "science/mars-rover",
        "Rover finds signs of ancient water on Mars",
        "Images from the rover show layered rocks that formed in a lake billions of years ago.",
        published_at="2025-03-15",
        category="science",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """(working folder, index, base URL) of a running server over a real-model index."""
    work = tmp_path_factory.mktemp("serve")
    index = work / "indexes" / "news"
    articles: list[Article] = list(ARTICLES)
    Engine.build(articles, index)  # no encoder: the packaged all-MiniLM-L6-v2
    with serve_process(index, work, "--no-access-log") as base:
        yield work, index, base


def get_json(url: str) -> tuple[int, dict]:
    status, _, body = http(url)
    return status, json.loads(body)


def test_related_matches_the_cli(site: tuple[Path, Path, str]) -> None:
    work, index, base = site
    status, served = get_json(f"{base}/related/world/russia-china-summit?k=3")
    assert status == 200
    result = cli(
        "related", "world/russia-china-summit", "--index", str(index), "-k", "3", "--json", cwd=work
    )
    assert result.returncode == 0, result.stderr
    assert served == json.loads(result.stdout)
    # Relevance with the real model: geopolitics first, never the baseball injury on top.
    top = [r["id"] for r in served["results"]]
    assert top[0] in ("world/china-russia-trade", "world/un-security-council")
    assert "sport/baseball-injury" not in top[:2]


def test_options_match_the_cli(site: tuple[Path, Path, str]) -> None:
    work, index, base = site
    status, served = get_json(
        f"{base}/related/sport/baseball-injury?k=4&same_category_only=true&half_life_days=30"
        "&exclude=world/un-security-council"
    )
    assert status == 200
    result = cli(
        "related",
        "sport/baseball-injury",
        "--index",
        str(index),
        "-k",
        "4",
        "--set",
        "same_category_only=true",
        "--half-life",
        "30",
        "--exclude",
        "world/un-security-council",
        "--json",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert served == json.loads(result.stdout)


def test_draft_matches_the_cli(site: tuple[Path, Path, str]) -> None:
    work, index, base = site
    draft = {
        "title": "Moscow and Beijing sign gas deal",
        "body": "Russia will ship more natural gas to China under a new agreement.",
    }
    status, _, body = http(f"{base}/related?k=3", body=draft)
    assert status == 200, body
    served = json.loads(body)
    result = cli(
        "query",
        "--index",
        str(index),
        "--title",
        draft["title"],
        "--body",
        draft["body"],
        "-k",
        "3",
        "--json",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    expected = json.loads(result.stdout)
    assert served["id"] is None
    assert [r["id"] for r in served["results"]] == [r["id"] for r in expected["results"]]
    for got, want in zip(served["results"], expected["results"], strict=True):
        assert got["score"] == pytest.approx(want["score"], abs=1e-4)  # two processes' floats
    assert served["results"][0]["id"].startswith("world/")


def test_errors_and_caching_over_http(site: tuple[Path, Path, str]) -> None:
    _, index, base = site
    status, body = get_json(f"{base}/related/nope")
    assert status == 404 and body == {"detail": "no article with id 'nope' in this index"}
    for k in (0, 1000):
        status, body = get_json(f"{base}/related/world/russia-china-summit?k={k}")
        assert status == 422 and "detail" in body
    status, headers, _ = http(f"{base}/related/world/russia-china-summit")
    etag = headers["etag"]
    status, headers, body = http(
        f"{base}/related/world/russia-china-summit", headers={"If-None-Match": etag}
    )
    assert status == 304 and body == b""
    status, health = get_json(f"{base}/health")
    assert health["version_id"] == Engine.load(index).manifest.version_id
    assert health["article_count"] == 6 and health["model"] == "all-MiniLM-L6-v2"

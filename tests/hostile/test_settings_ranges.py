"""Issue 12 item 5: non-finite numbers and out-of-range settings, the same in CLI and API.

Today-before-the-fix the API accepted ``dedupe_threshold=5`` and the CLI ``half_life_days=nan``;
extreme weights made scores infinite, printed as ``Infinity`` (not JSON). Every request
setting is range-checked by RankingSettings (recommender/ranking/settings.py: RANGES), which
the config file, ``--set``/``--half-life`` and the query string all build, so the three refuse
the same values with the same message.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recommender.cli import app as cli_app
from recommender.engine import Engine
from recommender.server import create_app

from ..conftest import FakeEncoder

BAD = [
    ("dedupe_threshold", "5"),
    ("dedupe_threshold", "-0.1"),
    ("dedupe_window_threshold", "1.5"),
    ("dedupe_window_days", "-1"),
    ("half_life_days", "nan"),
    ("half_life_days", "inf"),
    ("half_life_days", "0"),
    ("half_life_days", "-3"),
    ("weight_similarity", "1e308"),
    ("weight_lexical", "-1"),
    ("weight_recency", "nan"),
    ("weight_tags", "inf"),
    ("mmr_lambda", "2"),
    ("max_age_days", "-1"),
    ("max_age_days", "nan"),
    ("candidate_pool", "0"),
    ("candidate_pool", "1000000000"),
    ("min_shared_tags", "-1"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, small_corpus_module: list[Any]) -> Path:
    path = tmp_path_factory.mktemp("ranges") / "idx"
    Engine.build(small_corpus_module, path, encoder=FakeEncoder(), cache=False)
    return path


@pytest.fixture(scope="module")
def small_corpus_module() -> list[Any]:
    from ..conftest import make_article

    return [
        make_article("vote-1", "Election campaign", "voters election ballot", category="p"),
        make_article("vote-2", "Election debate", "election debate ballot voters", category="p"),
        make_article("vote-3", "Election result", "election ballot count voters", category="p"),
        make_article("ball-1", "Club wins derby", "football goal derby club", category="s"),
    ]


@pytest.fixture(scope="module")
def client(index: Path) -> TestClient:
    return TestClient(create_app(index, encoder=FakeEncoder()))


@pytest.mark.parametrize(("name", "value"), BAD)
def test_cli_and_api_refuse_alike(index: Path, client: TestClient, name: str, value: str) -> None:
    cli = CliRunner().invoke(
        cli_app, ["related", "vote-1", "--index", str(index), "--set", f"{name}={value}"]
    )
    assert cli.exit_code == 1, cli.output
    cli_lines = [line for line in cli.output.splitlines() if line.strip()]
    assert len(cli_lines) == 1 and cli_lines[0].startswith("error: ") and name in cli_lines[0]
    api = client.get(f"/related/vote-1?{name}={value}")
    assert api.status_code == 422, api.text
    detail = api.json()["detail"]
    assert name in json.dumps(detail)
    # the same words: the message after "error: " is the API's detail
    assert cli_lines[0].removeprefix("error: ") in json.dumps(detail)
    draft = client.post(f"/related?{name}={value}", json={"title": "Election"})
    assert draft.status_code == 422


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0"])
def test_half_life_option(index: Path, value: str) -> None:
    result = CliRunner().invoke(
        cli_app, ["related", "vote-1", "--index", str(index), "--half-life", value]
    )
    assert result.exit_code == 1 and "half_life_days" in result.output


def test_largest_allowed_weights_give_finite_json(index: Path, client: TestClient) -> None:
    query = "weight_similarity=1e6&weight_lexical=1e6&weight_recency=1e6&half_life_days=1e-9"
    answer = client.get(f"/related/vote-1?{query}")
    assert answer.status_code == 200
    scores = [r["score"] for r in json.loads(answer.text)["results"]]
    assert scores and all(math.isfinite(s) for s in scores)
    cli = CliRunner().invoke(
        cli_app,
        ["related", "vote-1", "--index", str(index), "--json"]
        + [f"--set={p}" for p in query.split("&")],
    )
    assert cli.exit_code == 0, cli.output
    assert "NaN" not in cli.output and "Infinity" not in cli.output
    json.loads(cli.output)


def test_config_file_refuses_alike(index: Path, tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text("[ranking]\ndedupe_threshold = 5\n")
    result = CliRunner().invoke(
        cli_app, ["related", "vote-1", "--index", str(index), "--config", str(config)]
    )
    assert result.exit_code == 1
    assert "dedupe_threshold must be between 0 and 1" in result.output

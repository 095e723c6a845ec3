"""Lee50: the data as read from gensim's test data, the evaluation's plumbing with the fake
encoder, and one check with the real model (dense cosine lands near the published 0.66)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from recommender import engine as engine_module
from recommender.cli import app
from recommender.evaluation import MissingExtraError
from recommender.evaluation.lee import lee_article, load_lee
from recommender.evaluation.runs import evaluate_lee
from recommender.indexing import writers as indexing_module

from .conftest import FakeEncoder

runner = CliRunner()


@pytest.fixture(scope="module")
def lee():  # type: ignore[no-untyped-def]
    return load_lee()


def test_lee_data(lee) -> None:  # type: ignore[no-untyped-def]
    assert len(lee.documents) == 50 and len(lee.background) == 300
    assert np.allclose(lee.ratings, lee.ratings.T) and np.allclose(np.diag(lee.ratings), 1)
    pairs = lee.pair_ratings()
    assert len(pairs) == 1225 and pairs.min() > 0 and pairs.max() <= 1
    assert "\u00a33,000" in lee.documents[40]  # lee.cor is Latin-1: the pound sign survives
    assert not set(lee.documents) & set(lee.background)


def test_lee_article_keeps_the_text() -> None:
    a = lee_article(3, "First sentence here. Second one follows. Third.")
    assert (a.id, a.title) == ("lee-03", "First sentence here")
    assert a.body == "Second one follows. Third."
    assert lee_article(0, "No split").body == ""


def test_evaluate_lee_plumbing_with_fake_encoder(lee) -> None:  # type: ignore[no-untyped-def]
    report = evaluate_lee(encoder=FakeEncoder(), data=lee, options={"weight_recency": 0.0})
    f = report.figures
    assert f["pairs"] == 1225 and f["missing_pairs"] == 0
    assert -1 <= f["pearson"] <= 1 and -1 <= f["spearman"] <= 1
    assert 0 < f["ndcg@5"] <= 1 and 0 < f["ndcg@10"] <= 1
    assert f["pearson"] > 0.2  # shared words track human similarity, even hashed into 64 dims
    assert report.settings["weight_recency"] == 0.0 and report.options == {"weight_recency": 0.0}
    with pytest.raises(ValueError, match="unknown ranking option"):
        evaluate_lee(encoder=FakeEncoder(), data=lee, options={"no_such_knob": 1})


def test_eval_lee_cli_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "LazyEncoder", lambda model=None: FakeEncoder())
    monkeypatch.setattr(indexing_module, "LazyEncoder", lambda model=None: FakeEncoder())
    result = runner.invoke(app, ["eval", "lee", "--dense", "--set", "dedupe=false", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["pairs"] == 1225 and data["reference_pearson"] == {"LSA": 0.6, "ESA": 0.72}
    assert {"pearson", "spearman", "ndcg@5", "ndcg@10"} <= set(data)
    assert data["options"]["dedupe"] is False and data["options"]["weight_lexical"] == 0.0
    assert all(
        v == 0
        for k, v in data["settings"].items()
        if k.startswith("weight_") and k != "weight_similarity"
    )


def test_eval_lee_bad_option_is_one_line() -> None:
    result = runner.invoke(app, ["eval", "lee", "--set", "weight_bogus=1"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: unknown ranking option(s): weight_bogus"


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gensim", None)  # import gensim -> ImportError
    result = runner.invoke(app, ["eval", "lee"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: gensim is not installed; this needs the evaluation extra: "
        "pip install 'recommender[eval]'"
    )
    assert issubclass(MissingExtraError, ImportError)


@pytest.mark.model
def test_dense_cosine_on_lee_with_the_real_model(lee) -> None:  # type: ignore[no-untyped-def]
    from recommender.cli.eval import dense_only

    report = evaluate_lee(data=lee, options=dense_only())
    # all-MiniLM-L6-v2 cosine gives about 0.66 on Lee50 (between LSA 0.60 and ESA 0.72).
    assert 0.60 <= report.figures["pearson"] <= 0.72, report.figures
    assert report.figures["ndcg@5"] > 0.8

"""Whole articles count (text recipe 2): the lexical evidence reads the whole text, the dense
text holds the head and the tail of a long article, so an edit in the last paragraph is
re-embedded and can change lists. Models: hub names, and another model's vectors refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.articles import Article
from recommender.encoder import DEFAULT_MODEL, resolve_model
from recommender.engine import Engine
from recommender.errors import IndexFormatError, ModelMismatchError, ModelNotFoundError
from recommender.text import ELLIPSIS, HEAD_CHARS, article_text, lexical_text

from .conftest import FakeEncoder, make_article

FILLER = " ".join(f"filler{i % 40}" for i in range(200))  # ~1,700 characters of neutral words
MIDDLE = " ".join(f"padding{i % 40}" for i in range(120))


def long_article(tail: str, middle: str = MIDDLE) -> Article:
    return make_article("long", "Weekly notebook", f"{FILLER}\n{middle}\n{tail}")


def corpus(tail: str, middle: str = MIDDLE) -> list[Article]:
    return [
        long_article(tail, middle),
        make_article("comet", "Comet probe", "comet probe nucleus dust tail orbit"),
        make_article("ballot", "Ballot count", "ballot count voters election polls turnout"),
    ]


COMET_END = "Finally the comet probe reached the nucleus and its dust tail in orbit."
BALLOT_END = "Finally the ballot count showed voters at the election polls and turnout."


def test_recipe_keeps_head_and_tail_and_lexical_reads_everything() -> None:
    article = long_article(COMET_END)
    text = article_text(article)
    assert text.startswith("Weekly notebook.\nfiller0")
    assert ELLIPSIS in text and text.endswith(COMET_END)
    assert len(text) < HEAD_CHARS + 400
    assert "padding7" not in text  # the middle is not embedded ...
    assert "padding7" in lexical_text(article)  # ... but the lexical evidence reads it
    short = make_article("s", "Short", "A short story.")
    assert article_text(short) == lexical_text(short) == "Short.\nA short story."


def test_an_edit_in_the_last_paragraph_is_embedded_and_changes_lists(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    Engine.build(corpus(COMET_END), index, encoder=FakeEncoder())
    engine = Engine.load(index, encoder=FakeEncoder(), min_relatedness=-1.0)
    before = engine.index.vectors(np.array([engine.store.row_of("long")]))[0]
    assert engine.related("long", k=1)[0].id == "comet"
    engine.close()
    report = Engine.upsert([long_article(BALLOT_END)], index, encoder=FakeEncoder())
    assert report.embedded == 1  # the text the model reads changed
    engine = Engine.load(index, encoder=FakeEncoder(), min_relatedness=-1.0)
    after = engine.index.vectors(np.array([engine.store.row_of("long")]))[0]
    assert float(before @ after) < 0.999
    assert engine.related("long", k=1)[0].id == "ballot"
    engine.close()


def test_an_edit_in_the_middle_reaches_the_lexical_evidence(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    Engine.build(corpus(COMET_END), index, encoder=FakeEncoder())
    middle = "referendum referendum referendum " + MIDDLE
    report = Engine.upsert([long_article(COMET_END, middle)], index, encoder=FakeEncoder())
    assert report.embedded == 0  # head and tail unchanged: same vector, no model time
    engine = Engine.load(index, encoder=FakeEncoder(), min_relatedness=-1.0)
    hits = engine.query({"title": "Referendum", "body": "referendum referendum"}, k=3)
    long_hit = next(r for r in hits if r.id == "long")
    assert long_hit.why.lexical > 0 and "referendum" in long_hit.why.shared_terms
    engine.close()


def test_another_models_vectors_are_refused(tmp_path: Path) -> None:
    class Other(FakeEncoder):
        name = "other-model"

    class Wider(FakeEncoder):
        dimension = 32

        def encode(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
            return super().encode(texts)[:, :32]

    index = tmp_path / "idx"
    Engine.build(corpus(COMET_END), index, encoder=FakeEncoder())
    with pytest.raises(ModelMismatchError, match="built with model 'fake-bow-64'"):
        Engine.load(index, encoder=Other())
    engine = Engine.load(index, encoder=Wider())  # same name, other vectors: caught at query
    with pytest.raises(ModelMismatchError, match="dimension 32"):
        engine.query("comet probe")
    engine.close()


def test_model_names() -> None:
    assert resolve_model(None)[0] == DEFAULT_MODEL
    name, path = resolve_model("sentence-transformers/all-mpnet-base-v2")
    assert name == "sentence-transformers/all-mpnet-base-v2" and path is None
    for bad in ("./missing-folder", "a/b/c", "no spaces allowed"):
        with pytest.raises(ModelNotFoundError):
            resolve_model(bad)


def test_upsert_refuses_an_index_of_another_text_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "idx"
    Engine.build(corpus(COMET_END), index, encoder=FakeEncoder())
    import recommender.indexing.version as version

    monkeypatch.setattr(version, "TEXT_RECIPE_VERSION", version.TEXT_RECIPE_VERSION + 1)
    with pytest.raises(IndexFormatError, match=r"built with text recipe .*rebuild"):
        Engine.upsert([long_article(BALLOT_END)], index, encoder=FakeEncoder())

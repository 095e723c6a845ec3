"""Real news with real wire-copy duplicates: gensim's Lee background corpus (300 Australian
news stories, several of them repeated verbatim). No list may show one text twice, or the
source's own copy. Fake encoder: identical texts get identical vectors, as with any model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from recommender.articles import Article
from recommender.engine import Engine

from .conftest import FakeEncoder

gensim = pytest.importorskip("gensim", reason="needs the eval extra (gensim test data)")


def lee_background() -> list[Article]:
    folder = Path(gensim.__file__).parent / "test" / "test_data"
    lines = (folder / "lee_background.cor").read_text(encoding="latin-1").splitlines()
    return [
        Article(id=f"lee-{i}", title=" ".join(text.split()[:8]), body=text)
        for i, text in enumerate(lines)
        if text.strip()
    ]


def test_no_list_shows_a_text_twice_or_the_sources_copy(tmp_path: Path) -> None:
    articles = lee_background()
    counts = Counter(a.body for a in articles)
    assert sum(c > 1 for c in counts.values()) >= 3, "the corpus should hold verbatim repeats"
    Engine.build(articles, tmp_path / "lee", encoder=FakeEncoder(), cache=False)
    engine = Engine.load(tmp_path / "lee", encoder=FakeEncoder())
    body = {a.id: a.body for a in articles}
    collapsed = 0
    for aid, results in engine.related_many(k=10):
        texts = [body[r.id] for r in results]
        assert len(texts) == 10
        assert len(set(texts)) == len(texts), aid
        assert body[aid] not in texts, aid
        collapsed += sum(len(r.why.collapsed) for r in results)
    assert collapsed > 0  # copies were met and folded, not merely absent

"""Property-based: over random corpora, filter combinations and relatedness floors, the k
guarantee holds (k results if at least k eligible articles clear the floor; with the fallback
asked for, k if at least k pass the hard filters), no result below the floor unless marked as
fallback, and no result is the source, excluded, blocked, of a blocked category, of another
language, or a copy."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.articles import Article
from recommender.config import Config
from recommender.engine import Engine
from recommender.ranking.rules import EditorialRules

DAY = 86_400.0
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()
CATS = ["world", "sport", "science", None]
LANGS = ["en", "fr", None]
TAGS = ["a", "b", "c", "d"]


class RandomEncoder:
    name = "random-8"
    dimension = 8

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode(self, texts, *, progress=False):  # type: ignore[no-untyped-def]
        return np.stack([self.vectors[t.split(".")[0]] for t in texts])


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[Article], dict[str, np.ndarray]]:
    n = draw(st.integers(min_value=2, max_value=40))
    seed = draw(st.integers(min_value=0, max_value=2**31))
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, 8))
    articles, vectors = [], {}
    for i in range(n):
        aid = f"t{i}"
        v = centers[rng.integers(3)] + rng.normal(
            scale=draw(st.sampled_from([0.05, 0.5, 2.0])), size=8
        )
        vectors[aid] = (v / np.linalg.norm(v)).astype(np.float32)
        stamp = None if rng.random() < 0.15 else NOW - float(rng.integers(0, 800)) * DAY
        articles.append(
            Article(
                id=aid,
                title=aid,
                published_at=dt.datetime.fromtimestamp(stamp, dt.timezone.utc) if stamp else None,
                category=CATS[rng.integers(len(CATS))],
                language=LANGS[rng.integers(len(LANGS))],
                tags=tuple(t for t in TAGS if rng.random() < 0.4),
            )
        )
    return articles, vectors


options = st.fixed_dictionaries(
    {},
    optional={
        "same_category_only": st.booleans(),
        "categories_deny": st.sampled_from([("sport",), ("world", "science")]),
        "max_age_days": st.sampled_from([10.0, 100.0, 400.0]),
        "only_older": st.booleans(),
        "min_shared_tags": st.integers(0, 2),
        "recency_reference": st.sampled_from(["source", "now"]),
        "mmr_lambda": st.sampled_from([1.0, 0.7]),
        "candidate_pool": st.integers(1, 10),
    },
)


def eligible(
    a: Article, src: Article, opts: dict, banned: set[str], blocked_cat: set[str]
) -> tuple[bool, bool]:
    """(passes hard filters, passes hard and soft filters), written independently."""
    if a.id == src.id or a.id in banned:
        return False, False
    cat = (a.category or "").casefold()
    deny = {c.casefold() for c in opts.get("categories_deny", ())} | blocked_cat
    if a.category is not None and cat in deny:
        return False, False
    if src.language is not None and a.language not in (None, src.language):
        return False, False
    ok = True
    if opts.get("same_category_only") and src.category is not None:
        ok &= a.category is not None and cat == src.category.casefold()
    ts = a.published_at.timestamp() if a.published_at else None
    use_src = opts.get("recency_reference", "source") == "source" and src.published_at is not None
    ref = src.published_at.timestamp() if src.published_at else NOW
    if opts.get("max_age_days") is not None:
        if ts is None:
            ok = False
        else:
            age = abs(ref - ts) if use_src else (NOW if not use_src else ref) - ts
            ok &= age <= opts["max_age_days"] * DAY
    if opts.get("only_older"):
        ok &= ts is not None and ts < ref
    if opts.get("min_shared_tags"):
        ok &= len(set(a.tags) & set(src.tags)) >= opts["min_shared_tags"]
    return True, ok


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), options, st.integers(1, 8), st.data())
def test_k_guarantee_and_safety(corpus, opts, k, data) -> None:  # type: ignore[no-untyped-def]
    articles, vectors = corpus
    ids = [a.id for a in articles]
    src = articles[data.draw(st.integers(0, len(articles) - 1))]
    exclude = set(data.draw(st.lists(st.sampled_from(ids), max_size=5)))
    blocked = set(data.draw(st.lists(st.sampled_from(ids), max_size=3)))
    blocked_cat = set(data.draw(st.sampled_from([set(), {"science"}])))
    fallback = data.draw(st.booleans())
    dedupe = data.draw(st.booleans())
    # no two articles share a word (below), so lexical cosine is 0: with the shipped
    # dedupe_min_lexical no pair is a copy at any distance in time; with 0, dense decides alone
    min_lexical = data.draw(st.sampled_from([0.0, 0.675]))
    floor = data.draw(st.sampled_from([-1.0, 0.0, 0.2, 0.4]))
    rules = EditorialRules(block=frozenset(blocked), block_categories=frozenset(blocked_cat))
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "idx"
        Engine.build(
            articles, index, encoder=RandomEncoder(vectors), cache=False, config=Config(rules=rules)
        )
        engine = Engine.load(index, encoder=RandomEncoder(vectors))
        results = engine.related(
            src.id,
            k=k,
            exclude=exclude,
            now=NOW,
            dedupe=dedupe,
            dedupe_min_lexical=min_lexical,
            min_relatedness=floor,
            fallback=("same_category", "recent") if fallback else (),
            **opts,
        )
        engine.close()
    got = [r.id for r in results]
    by_id = {a.id: a for a in articles}
    s = engine.settings
    # Titles are unique words ("t7"), so no two articles share a term: lexical cosine is 0, so
    # is topic cosine (each article resembles only itself), and relatedness is
    # w_s * cosine / (w_s + w_l + w_t), computed here independently of the engine.
    share = s.weight_similarity / (s.weight_similarity + s.weight_lexical + s.weight_topic)

    def clears(aid: str) -> bool:
        return share * float(vectors[aid] @ vectors[src.id]) >= floor

    for r in results:
        if r.why.fallback is None:
            assert clears(r.id), (r.id, r.why.relatedness, floor)
            assert abs(r.why.relatedness - share * float(vectors[r.id] @ vectors[src.id])) < 1e-4
    assert len(got) == len(set(got)) <= k
    for rid in got:
        hard, _ = eligible(by_id[rid], src, opts, exclude | blocked, blocked_cat)
        assert hard, (rid, "violates a hard filter, a block or an exclude")
    soft_ok = [
        a.id
        for a in articles
        if eligible(a, src, opts, exclude | blocked, blocked_cat)[1] and clears(a.id)
    ]
    hard_ok = [a.id for a in articles if eligible(a, src, opts, exclude | blocked, blocked_cat)[0]]
    if not fallback:
        assert set(got) <= set(soft_ok)
    if dedupe:
        for i, a in enumerate(got):
            for b in [*got[i + 1 :], src.id] if min_lexical == 0.0 else []:
                cos = float(vectors[a] @ vectors[b])
                assert cos < s.dedupe_threshold, (a, b, cos)
    else:
        expected = min(k, len(hard_ok if fallback else soft_ok))
        assert len(got) == expected, (got, soft_ok, hard_ok)

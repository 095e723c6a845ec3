"""Each ranking knob on a tiny corpus with hand-set vectors and hand-computed expectations."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from recommender.articles import Article
from recommender.config import load_config
from recommender.engine import Engine

from .conftest import make_article

DAY = 86_400.0


class TableEncoder:
    """Vectors chosen by the test: the text's first word (the title) names the vector."""

    name = "table-4"
    dimension = 4

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = {
            k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in table.items()
        }

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return np.stack([self.table[t.split(".")[0].split()[0]] for t in texts])


def unit(angle_deg: float) -> list[float]:
    """A vector at ``angle_deg`` from [1,0,0,0] in the first plane: cosine = cos(angle)."""
    a = np.radians(angle_deg)
    return [float(np.cos(a)), float(np.sin(a)), 0.0, 0.0]


# src at angle 0. cosines: a 0.9848 (10deg), b 0.9397 (20), c 0.8660 (30), d 0.7660 (40),
# e 0.6428 (50), f 0.5 (60)
ANGLES = {"src": 0, "a": 10, "b": 20, "c": 30, "d": 40, "e": 50, "f": 60}
COS = {k: float(np.cos(np.radians(v))) for k, v in ANGLES.items()}
PLAIN = dict(
    weight_lexical=0.0,
    weight_recency=0.0,
    weight_category=0.0,
    weight_tags=0.0,
    dedupe=False,
    min_relatedness=-1.0,
)


def build(
    tmp_path: Path,
    articles: list[Article],
    table: dict[str, Sequence[float]] | None = None,
    **load_kw: object,
) -> Engine:
    table = table or {k: unit(v) for k, v in ANGLES.items()}
    index = tmp_path / "idx"
    Engine.build(articles, index, encoder=TableEncoder(table), cache=False)
    return Engine.load(index, encoder=TableEncoder(table), **load_kw)  # type: ignore[arg-type]


def corpus(**per_id: dict[str, object]) -> list[Article]:
    out = []
    for aid in ANGLES:
        fields: dict[str, object] = {"published_at": "2025-01-01", "category": "world"}
        fields.update(per_id.get(aid, {}))
        out.append(make_article(aid, aid, **fields))  # type: ignore[arg-type]
    return out


def ids(results: list) -> list[str]:  # type: ignore[type-arg]
    return [r.id for r in results]


def test_plain_similarity_order_and_scores(tmp_path: Path) -> None:
    engine = build(tmp_path, corpus(), **PLAIN)
    results = engine.related("src", k=6)
    assert ids(results) == ["a", "b", "c", "d", "e", "f"]
    assert [r.score for r in results] == pytest.approx([COS[i] for i in "abcdef"], abs=1e-6)


def test_recency_half_life_and_reference(tmp_path: Path) -> None:
    # b is 30 days from the source, a is 300 days: with half-life 30 and weight 0.2,
    # a = 0.9848 + 0.2*0.5**10 = 0.98500, b = 0.9397 + 0.2*0.5 = 1.0397 -> b first.
    arts = corpus(
        src={"published_at": "2025-06-01"},
        a={"published_at": "2024-08-05"},
        b={"published_at": "2025-05-02"},
    )
    engine = build(tmp_path, arts, **{**PLAIN, "weight_recency": 0.2, "half_life_days": 30})
    results = engine.related("src", k=2)
    assert ids(results) == ["b", "a"]
    assert results[0].score == pytest.approx(COS["b"] + 0.1, abs=1e-6)
    assert results[0].why.age_days == 30.0
    # against "now" = 2025-06-01 the ages are the same here; against a much later now both fade
    later = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    results = engine.related("src", k=2, recency_reference="now", now=later)
    assert ids(results) == ["a", "b"]


def test_hard_windows(tmp_path: Path) -> None:
    arts = corpus(
        src={"published_at": "2025-06-01"},
        a={"published_at": "2024-01-01"},
        b={"published_at": "2025-07-01"},
        c={"published_at": "2025-05-20"},
        d={"published_at": "2020-01-01", "tags": ("evergreen",)},
        e={"published_at": None},
        f={"published_at": "2025-06-02"},
    )
    engine = build(tmp_path, arts, **PLAIN, fallback=())
    assert ids(engine.related("src", k=6, max_age_days=40)) == ["b", "c", "d", "f"]
    assert ids(engine.related("src", k=6, only_older=True)) == ["a", "c", "d"]
    assert ids(engine.related("src", k=6, only_newer=True)) == ["b", "f"]
    # evergreen d is exempt from decay: full recency despite being 5 years old
    r = engine.related("src", k=6, weight_recency=1.0, half_life_days=1)
    by_id = {x.id: x for x in r}
    assert by_id["d"].why.contributions["recency"] == pytest.approx(1.0)
    assert by_id["e"].why.contributions["recency"] == 0.0  # undated: no freshness evidence


def test_category_boost_filters_and_lists(tmp_path: Path) -> None:
    arts = corpus(
        src={"category": "world"},
        a={"category": "sport"},
        b={"category": "World"},
        c={"category": "politics"},
        d={"category": "world"},
        e={"category": None},
        f={"category": "sport"},
    )
    engine = build(tmp_path, arts, **PLAIN, fallback=())
    boosted = engine.related("src", k=2, weight_category=0.1)
    # a: 0.9848, b: 0.9397 + 0.1 = 1.0397 (categories compare case-insensitively)
    assert ids(boosted) == ["b", "a"] and boosted[0].why.same_category is True
    assert ids(engine.related("src", k=6, same_category_only=True)) == ["b", "d"]
    assert ids(engine.related("src", k=6, categories_allow=("sport",))) == ["a", "f"]
    assert ids(engine.related("src", k=6, categories_deny=("sport", "world"))) == ["c", "e"]


def test_tags_rare_count_more_and_min_shared(tmp_path: Path) -> None:
    # "common" is on 5 of 7 articles, "rare" on 2: idf log(1+7/5)=0.875, log(1+7/2)=1.504.
    arts = corpus(
        src={"tags": ("common", "rare")},
        a={"tags": ("common",)},
        b={"tags": ("rare",)},
        c={"tags": ("common",)},
        d={"tags": ("common",)},
        e={"tags": ("common",)},
        f={"tags": ()},
    )
    engine = build(tmp_path, arts, **{**PLAIN, "weight_tags": 0.2}, fallback=())
    common, rare = np.log1p(7 / 5), np.log1p(7 / 2)
    results = {r.id: r for r in engine.related("src", k=6)}
    assert results["b"].why.contributions["tags"] == pytest.approx(
        0.2 * rare / (common + rare), abs=1e-6
    )
    assert results["a"].why.contributions["tags"] == pytest.approx(
        0.2 * common / (common + rare), abs=1e-6
    )
    assert results["b"].why.shared_tags == ("rare",)
    # b (0.9397 + 0.1264) overtakes a (0.9848 + 0.0736)
    assert ids(engine.related("src", k=2)) == ["b", "a"]
    assert ids(engine.related("src", k=6, min_shared_tags=1)) == ["b", "a", "c", "d", "e"]
    assert ids(engine.related("src", k=6, min_shared_tags=2)) == []


def test_exclude_and_language(tmp_path: Path) -> None:
    arts = corpus(src={"language": "en"}, a={"language": "fr"}, b={"language": "en"})
    engine = build(tmp_path, arts, **PLAIN, fallback=())
    assert ids(engine.related("src", k=2)) == ["b", "c"]  # a is French; c has no language
    assert ids(engine.related("src", k=2, same_language=False)) == ["a", "b"]
    assert ids(engine.related("src", k=2, exclude=["b", "c"])) == ["d", "e"]


def test_lexical_names_lift_a_story(tmp_path: Path) -> None:
    arts = corpus(
        src={"body": "Putin and Xi spoke from the Kremlin and Zhongnanhai."},
        a={"body": "The weather was mild across the region today."},
        b={"body": "Putin hosted Xi at the Kremlin for talks."},
    )
    engine = build(tmp_path, arts, **{**PLAIN, "weight_lexical": 0.5})
    results = engine.related("src", k=2)
    assert ids(results) == ["b", "a"]
    why = results[0].why
    assert why.lexical > 0.2 and {"putin", "xi", "kremlin"} <= set(why.shared_terms)
    assert why.contributions["lexical"] == pytest.approx(0.5 * why.lexical, abs=1e-6)
    assert results[1].why.lexical == 0.0


SPREAD = {k: {"published_at": f"2025-{m:02d}-01"} for m, k in enumerate(ANGLES, start=1)}
"""Dates months apart, so that only the vectors (not the same-news-cycle window) decide."""


def spread(**per_id: dict[str, object]) -> list[Article]:
    return corpus(**{k: {**SPREAD[k], **per_id.get(k, {})} for k in ANGLES})


def test_duplicates_collapse_to_newest_or_canonical(tmp_path: Path) -> None:
    # cosine with src: c 0.99996 (the source's copy), a 0.766, b 0.760 (a's copy), e 0.5,
    # d 0.259, f 0.087; no other pair reaches 0.92 (e-f: 0.906, set apart by the threshold)
    table = {
        "src": unit(0),
        "a": unit(40),
        "b": unit(40.5),
        "c": unit(0.5),
        "d": unit(75),
        "e": unit(-60),
        "f": unit(-85),
    }
    arts = spread(a={"published_at": "2025-02-02"}, b={"published_at": "2025-02-03"})
    engine = build(tmp_path, arts, table, **{**PLAIN, "dedupe": True, "dedupe_threshold": 0.92})
    results = engine.related("src", k=3)
    assert ids(results) == ["b", "e", "d"]  # c dropped (source's copy); a and b: newest b kept
    assert results[0].why.collapsed == ("a",)
    arts = spread(
        a={"published_at": "2025-02-02", "metadata": {"canonical": True}},
        b={"published_at": "2025-02-03"},
    )
    engine = build(tmp_path, arts, table, **{**PLAIN, "dedupe": True, "dedupe_threshold": 0.92})
    assert ids(engine.related("src", k=1)) == ["a"]
    # equal normalized titles are copies whatever the vectors say
    arts = [*spread()[:-1], make_article("f", "UPDATE 1-a", published_at="2025-12-05")]
    engine = build(
        tmp_path,
        arts,
        {**table, "UPDATE": unit(60)},
        **{**PLAIN, "dedupe": True, "dedupe_threshold": 0.92},
    )
    assert "f" not in ids(engine.related("a", k=6))  # f's title is a's: a's own copy
    assert "a" not in ids(engine.related("f", k=6))


FAR = {"c": [0, 0, 1, 0], "d": [0, 0, 0, 1], "e": [0, 0, 1, 1], "f": [0, 0, 1, -1]}
"""Vectors for c..f far from src, a and b (and from each other): only a and b can be copies."""


def test_dedupe_window_separates_follow_ups_from_copies(tmp_path: Path) -> None:
    # a-b cosine 0.866: copies only when published close together; c..f are far from all
    table = {"src": [1, 0, 0, 0], "a": unit(50), "b": unit(80), **FAR}
    wire = "Storm surge floods harbour district overnight as river bursts banks, officials say"
    same = {"body": wire}
    arts = spread(
        a={"published_at": "2025-06-02", **same}, b={"published_at": "2025-06-02T06:00:00", **same}
    )
    engine = build(tmp_path, arts, table, **{**PLAIN, "dedupe": True})
    results = ids(engine.related("src", k=6))
    assert "b" in results and "a" not in results  # copies hours apart: the newer one, b
    arts = spread(
        a={"published_at": "2025-06-02", **same}, b={"published_at": "2025-09-02", **same}
    )
    engine = build(tmp_path, arts, table, **{**PLAIN, "dedupe": True})
    assert {"a", "b"} <= set(ids(engine.related("src", k=6)))


def test_dedupe_keeps_independent_reports_apart(tmp_path: Path) -> None:
    # a-b cosine 0.866, hours apart, but in other words (another outlet's report of the event):
    # not copies under the window's wording condition; copies without it
    table = {"src": [1, 0, 0, 0], "a": unit(50), "b": unit(80), **FAR}
    arts = spread(
        a={"published_at": "2025-06-02", "body": "Storm surge floods harbour district overnight"},
        b={
            "published_at": "2025-06-02T06:00:00",
            "body": "Residents wade through waist-deep water",
        },
    )
    engine = build(tmp_path, arts, table, **{**PLAIN, "dedupe": True})
    assert {"a", "b"} <= set(ids(engine.related("src", k=6)))
    results = ids(engine.related("src", k=6, dedupe_window_min_lexical=0.0))
    assert "b" in results and "a" not in results
    # at or above dedupe_certain_threshold, within the window or undated, words do not matter
    close = {**table, "b": unit(51)}
    engine = build(tmp_path, arts, close, **{**PLAIN, "dedupe": True})
    assert len({"a", "b"} & set(ids(engine.related("src", k=6)))) == 1
    undated = [a if a.id not in "ab" else dataclasses.replace(a, published_at=None) for a in arts]
    engine = build(tmp_path, undated, close, **{**PLAIN, "dedupe": True})
    assert len({"a", "b"} & set(ids(engine.related("src", k=6)))) == 1
    # months apart in other words: a late follow-up, not a copy, however close the vectors
    later = spread(
        a={"published_at": "2025-06-02", "body": "Storm surge floods harbour district overnight"},
        b={"published_at": "2025-10-02", "body": "Residents wade through waist-deep water"},
    )
    engine = build(tmp_path, later, close, **{**PLAIN, "dedupe": True})
    assert {"a", "b"} <= set(ids(engine.related("src", k=6)))


def test_mmr_diversifies(tmp_path: Path) -> None:
    table = {
        "src": [1, 0, 0, 0],
        "a": [0.9, 0.3, 0, 0],
        "b": [0.9, 0.32, 0, 0],
        "c": [0.8, 0, 0.5, 0],
        "d": [0, 0, 0, 1],
        "e": [0, 0, 1, 1],
        "f": [0, 1, 0, 1],
    }
    engine = build(tmp_path, corpus(), table, **PLAIN)
    assert ids(engine.related("src", k=2)) == ["a", "b"]
    diverse = engine.related("src", k=2, mmr_lambda=0.5)
    assert ids(diverse) == ["a", "c"]
    assert diverse[1].why.mmr_penalty > 0


def test_fallback_fills_and_says_so(tmp_path: Path) -> None:
    arts = corpus(
        src={"published_at": "2025-06-01", "category": "world"},
        a={"published_at": "2025-05-30", "category": "world"},
        b={"published_at": "2020-01-01", "category": "world"},
        c={"published_at": "2021-01-01", "category": "world"},
        d={"published_at": "2024-01-01", "category": "sport"},
        e={"published_at": "2019-01-01", "category": "sport"},
        f={"published_at": "2018-01-01", "category": "world"},
    )
    engine = build(tmp_path, arts, **PLAIN)
    results = engine.related("src", k=5, max_age_days=7, fallback=("same_category", "recent"))
    # a passes the window; then recent same-category: c (2021), b (2020), f (2018); then d.
    assert ids(results) == ["a", "c", "b", "f", "d"]
    assert results[0].why.fallback is None
    assert [r.why.fallback for r in results[1:]] == [
        "same_category",
        "same_category",
        "same_category",
        "recent",
    ]
    assert ids(engine.related("src", k=5, max_age_days=7)) == ["a"]  # no fallback by default


def test_editorial_rules_from_config(tmp_path: Path) -> None:
    config = tmp_path / "recommender.toml"
    config.write_text(
        "[ranking]\nweight_lexical = 0.0\nweight_recency = 0.0\nweight_category = 0.0\n"
        "weight_tags = 0.0\ndedupe = false\n"
        '[rules]\nblock = ["a"]\nblock_categories = ["sport"]\n'
        '[[rules.pin]]\narticle = "src"\nid = "f"\nposition = 2\n'
        '[[rules.block_for]]\narticle = "src"\nids = ["c"]\n'
        '[[rules.never_pair]]\nids = ["b", "d"]\n'
    )
    arts = corpus(e={"category": "sport"})
    engine = build(tmp_path, arts, config=load_config(config))
    results = engine.related("src", k=3)
    # a blocked everywhere, c blocked under src, e in a blocked category; f pinned at 2
    assert ids(results) == ["b", "f", "d"]
    assert results[1].why.rules == ("pinned at position 2",)
    assert "b" not in ids(engine.related("d", k=6)) and "d" not in ids(engine.related("b", k=6))
    assert "a" not in ids(engine.related("b", k=6))
    # a pin never shows the source itself nor an id excluded at request time
    assert "f" not in ids(engine.related("src", k=3, exclude=["f"]))
    assert engine.info().to_dict()["rules"]["pin"] == [{"article": "src", "id": "f", "position": 2}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ranking]\nhalf_life = 3\n", "unknown ranking option"),
        ("[ranking]\nsame_category_only = 'yes'\n", "must be true or false"),
        ("[rules]\nblok = []\n", "'blok': unknown rule"),
        ("[[rules.pin]]\narticle = 'a'\nid = 'b'\nposition = 0\n", "position"),
        ("[rankin]\n", "unknown section"),
        ("[ranking\n", "malformed TOML"),
    ],
)
def test_config_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    from recommender.articles import InputError

    path = tmp_path / "recommender.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_late_follow_up_is_not_a_copy_unless_its_words_are(tmp_path: Path) -> None:
    # a and b: cosine 0.9397 (20 degrees), months apart: the dense rule alone calls them one
    # story; their words decide (a repost repeats them, a follow-up reports new facts)
    story = "Orvant opens chip plant Tessaly with three thousand workers hired this spring"
    follow_up = "Regulators fined Orvant after flooding damaged wells around Tessaly farms"
    table = {"src": [1, 0, 0, 0], "a": unit(50), "b": unit(70), **FAR}

    def arts(b_body: str) -> list[Article]:
        out = spread()
        out[1] = make_article("a", "a", story, published_at="2025-02-01")
        out[2] = make_article("b", "b", b_body, published_at="2025-09-01")
        return out

    follow = build(tmp_path / "f", arts(follow_up), table, **{**PLAIN, "dedupe": True})
    assert {"a", "b"} <= set(ids(follow.related("src", k=6)))
    repost = build(tmp_path / "r", arts(story), table, **{**PLAIN, "dedupe": True})
    shown = ids(repost.related("src", k=6))
    assert ("a" in shown) != ("b" in shown)  # one story, one of them shown
    # the condition is a setting: 0 is the dense-only rule, which collapses the follow-up too
    dense_only = build(
        tmp_path / "d", arts(follow_up), table, **{**PLAIN, "dedupe": True, "dedupe_min_lexical": 0}
    )
    shown = ids(dense_only.related("src", k=6))
    assert ("a" in shown) != ("b" in shown)


def test_a_recurring_headline_is_not_a_copy(tmp_path: Path) -> None:
    """Blogs and papers reuse headlines ("Excited to wear this spring" every year, "Letters"):
    equal titles months apart are one story only when the words agree as a repost's do."""
    # the table encoder reads the first word: both columns get the same vector (cosine 1), so
    # only the dates and the words can tell them apart
    table = {"src": [1, 0, 0, 0], "Excited": unit(50), **FAR}
    spring = "linen shirts loafers and a lightweight navy blazer for warmer mornings outdoors"
    other = "a corduroy chore coat cream sweater canvas sneakers worn with pleated chinos"

    def arts(b_body: str, b_date: str) -> list[Article]:
        out = spread()
        out[1] = make_article("a", "Excited to wear this spring", spring, published_at="2024-03-29")
        out[2] = make_article("b", "Excited to Wear This Spring", b_body, published_at=b_date)
        return out

    dedupe = {**PLAIN, "dedupe": True}
    yearly = build(tmp_path / "y", arts(other, "2023-06-01"), table, **dedupe)
    assert {"a", "b"} <= set(ids(yearly.related("src", k=6)))  # two columns a year apart
    repost = build(tmp_path / "r", arts(spring, "2023-06-01"), table, **dedupe)
    shown = ids(repost.related("src", k=6))
    assert ("a" in shown) != ("b" in shown)  # the same text again: one story
    same_day = build(tmp_path / "s", arts(other, "2024-03-29T09:00:00"), table, **dedupe)
    shown = ids(same_day.related("src", k=6))
    assert ("a" in shown) != ("b" in shown)  # one headline, one news cycle: one story

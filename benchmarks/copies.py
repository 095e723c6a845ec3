"""Copies vs follow-ups: how the duplicate rule decides on labelled pairs written for it.

    .venv/bin/python benchmarks/copies.py

``benchmarks/data/copies.jsonl`` (written for this project, in the shapes of real wire news):
six stories, each an original plus a wire copy (same facts, reworded lightly, another
headline), an update ("UPDATE 1-": same story, a new paragraph, hours later), a repost (the
same text weeks later), a follow-up (new developments days or weeks later) and a reply (an
opinion piece or letter quoting the original's key sentence, then its own argument).

Pairs within a story: "same story" when both are among original/copy/update/repost (the engine
should show one of them), "different" when either is a follow-up or a reply (both may be
shown); pairs across stories are "different" too. The rule is the engine's own
(``recommender.ranking.dedupe.copy_rule``: equal normalized titles, or cosine >=
``dedupe_threshold``, or cosine >= ``dedupe_window_threshold`` within ``dedupe_window_days``),
on the engine's vectors (text recipe 2, all-MiniLM-L6-v2). Reported for the shipped settings
and a grid; the grid's best setting is chosen on these pairs (no other figure), by fewest
errors, then fewest wrong collapses, then the highest thresholds (the most conservative rule).
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
from common import fmt, machine, md_table, record, write_fragment
from lab import embed_articles

from recommender.articles import Article, parse_datetime
from recommender.demo import demo_articles_path, demo_gold_path
from recommender.encoder import SentenceTransformerEncoder
from recommender.evaluation.gold import load_gold
from recommender.loaders import load_articles
from recommender.ranking import RankingSettings
from recommender.ranking.dedupe import copy_rule
from recommender.storage.store import normalize_title
from recommender.text import TEXT_RECIPE_VERSION

DATA = Path(__file__).resolve().parent / "data" / "copies.jsonl"
SAME = {"original", "copy", "update", "repost"}


def load() -> tuple[list[dict], list[Article]]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    articles = [
        Article(
            id=r["id"],
            title=r["title"],
            body=r["body"],
            published_at=parse_datetime(r["published_at"]),
        )
        for r in rows
    ]
    return rows, articles


def pair_kind(a: dict, b: dict) -> str:
    if a["story"] != b["story"]:
        return "other story"
    kinds = {a["kind"], b["kind"]}
    if kinds <= SAME:
        return "same story: " + "+".join(sorted(kinds))
    return "different: " + ("reply" if "reply" in kinds else "follow-up")


def decide(
    sims: np.ndarray, titles: list[str], stamps: np.ndarray, s: RankingSettings
) -> np.ndarray:
    same_title = np.array([[bool(a) and a == b for b in titles] for a in titles])
    return copy_rule(sims, same_title, stamps[:, None] - stamps[None, :], s)


def demo_gold_pairs(encoder: SentenceTransformerEncoder) -> tuple[np.ndarray, np.ndarray]:
    """The demo corpus's gold pairs (a source and an article its editors call related: a
    different story, often a follow-up months later): cosine and time gap of each, for the
    rule must not collapse them either."""
    articles = load_articles([demo_articles_path()])
    gold = load_gold(demo_gold_path()).as_dict()
    pos = {a.id: i for i, a in enumerate(articles)}
    vectors = embed_articles(encoder, articles)
    stamps = np.array([a.published_at.timestamp() if a.published_at else np.nan for a in articles])
    pairs = sorted({tuple(sorted((pos[s], pos[r]))) for s, rel in gold.items() for r in rel})
    sims = np.array([float(vectors[i] @ vectors[j]) for i, j in pairs])
    gaps = np.array([stamps[i] - stamps[j] for i, j in pairs])
    return sims, gaps


def main() -> None:
    info = machine()
    rows, articles = load()
    encoder = SentenceTransformerEncoder(None)
    vectors = embed_articles(encoder, articles)
    demo_sims, demo_gaps = demo_gold_pairs(encoder)
    sims = vectors @ vectors.T
    titles = [normalize_title(a.title) for a in articles]
    stamps = np.array([a.published_at.timestamp() if a.published_at else np.nan for a in articles])
    pairs = list(itertools.combinations(range(len(rows)), 2))
    kinds = [pair_kind(rows[i], rows[j]) for i, j in pairs]
    truth = np.array([k.startswith("same") for k in kinds])

    def evaluate(s: RankingSettings) -> dict[str, object]:
        copies = decide(sims, titles, stamps, s)
        said = np.array([copies[i, j] for i, j in pairs])
        by_kind: dict[str, list[int]] = {}
        for kind, yes in zip(kinds, said, strict=True):
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += int(yes)
            by_kind[kind][1] += 1
        no_title = np.zeros(len(demo_sims), dtype=bool)
        demo_wrong = int(copy_rule(demo_sims, no_title, demo_gaps, s).sum())
        return {
            "missed_copies": int((truth & ~said).sum()),
            "wrong_collapses": int((~truth & said).sum()),
            "demo_gold_collapsed": demo_wrong,
            "by_kind": by_kind,
        }

    shipped = RankingSettings()
    results = {
        "shipped": evaluate(shipped),
        "previous": evaluate(
            shipped.replace(
                dedupe_threshold=0.92, dedupe_window_threshold=0.80, dedupe_window_days=2.0
            )
        ),
    }
    grid = []
    for high in (0.85, 0.86, 0.88, 0.90, 0.92, 0.94, 0.96):
        for low in (0.70, 0.75, 0.80, 0.85, 0.88, 0.90):
            for days in (0.5, 1.0, 2.0, 3.0):
                if low > high:
                    continue
                s = shipped.replace(
                    dedupe_threshold=high, dedupe_window_threshold=low, dedupe_window_days=days
                )
                r = evaluate(s)
                grid.append(((high, low, days), r))
    best = min(
        grid,
        key=lambda g: (
            g[1]["missed_copies"] + g[1]["wrong_collapses"],
            g[1]["wrong_collapses"],
            -g[0][0],
            -g[0][1],
        ),
    )
    results["best"] = {"settings": best[0], **best[1]}
    with_demo = min(
        grid,
        key=lambda g: (
            g[1]["missed_copies"] + g[1]["wrong_collapses"] + g[1]["demo_gold_collapsed"],
            g[1]["wrong_collapses"] + g[1]["demo_gold_collapsed"],
            -g[0][0],
            -g[0][1],
        ),
    )
    cos = {}
    for kind, (i, j) in zip(kinds, pairs, strict=True):
        cos.setdefault(kind, []).append(float(sims[i, j]))
    gaps = {
        kind: float(
            np.median(
                [
                    abs(stamps[i] - stamps[j]) / 86400
                    for (i, j), k in zip(pairs, kinds, strict=True)
                    if k == kind
                ]
            )
        )
        for kind in cos
    }
    figures = {
        "pairs": len(pairs),
        "demo_gold_pairs": len(demo_sims),
        "with_demo": {"settings": with_demo[0], **with_demo[1]},
        "demo_gold_cosines": sorted(demo_sims.tolist())[-5:],
        "results": results,
        "cosine_by_kind": {k: [min(v), float(np.median(v)), max(v)] for k, v in cos.items()},
        "median_gap_days": gaps,
        "grid": [
            {"settings": g[0], "missed": g[1]["missed_copies"], "wrong": g[1]["wrong_collapses"]}
            for g in grid
        ],
    }
    print(json.dumps({k: figures[k] for k in ("results", "cosine_by_kind")}, indent=1))
    line = record("copies", info, figures)
    write_fragment(
        "copies",
        "Copies vs follow-ups: the duplicate rule on labelled pairs",
        fragment(figures, shipped),
        info,
        line,
    )


def fragment(figures: dict, shipped: RankingSettings) -> str:
    res = figures["results"]
    kinds = sorted(figures["cosine_by_kind"])
    rows = []
    for kind in kinds:
        lo, med, hi = figures["cosine_by_kind"][kind]
        s_yes, n = res["shipped"]["by_kind"][kind]
        p_yes, _ = res["previous"]["by_kind"][kind]
        b_yes, _ = res["best"]["by_kind"][kind]
        rows.append(
            [
                kind,
                n,
                f"{lo:.3f} / {med:.3f} / {hi:.3f}",
                fmt(figures["median_gap_days"][kind], 1),
                f"{p_yes}/{n}",
                f"{s_yes}/{n}",
                f"{b_yes}/{n}",
            ]
        )
    high, low, days = res["best"]["settings"]
    by_kind = figures["cosine_by_kind"]
    fu_hi = by_kind["different: follow-up"][2]
    re_lo, re_hi = by_kind["different: reply"][0], by_kind["different: reply"][2]
    updates = [v for k, v in by_kind.items() if "update" in k]
    up_lo, up_hi = min(v[0] for v in updates), max(v[2] for v in updates)
    return f"""
{figures["pairs"]} pairs from `benchmarks/data/copies.jsonl` (6 stories x original, wire copy,
update, repost, follow-up, reply; written for this project). "Collapsed" counts the pairs the
rule calls copies of one story: wanted for "same story" rows, wrong for "different" and
"other story" rows. Shipped rule: cosine >= {shipped.dedupe_threshold}, or >=
{shipped.dedupe_window_threshold} within {shipped.dedupe_window_days} days, or equal titles.
Best on this set (fewest errors, then fewest wrong collapses): cosine >= {high}, or >= {low}
within {days} days. Previous rule (0.92, or 0.80 within 2 days): {
        res["previous"]["missed_copies"]
    } missed
copies / {
        res["previous"]["wrong_collapses"]
    } wrong collapses. Missed copies / wrong collapses: shipped {res["shipped"]["missed_copies"]} /
{res["shipped"]["wrong_collapses"]}, best {res["best"]["missed_copies"]} /
{res["best"]["wrong_collapses"]}.

Not in the choice, reported beside it: the demo corpus's gold pairs ({figures["demo_gold_pairs"]}
pairs of an article and one its editors call related: other stories, often follow-ups months
later) that a rule would collapse: shipped {res["shipped"]["demo_gold_collapsed"]}, best
{res["best"]["demo_gold_collapsed"]}, previous {res["previous"]["demo_gold_collapsed"]}. With
text recipe 3 no plain threshold keeps all of them and all the copies here: counting them in the
choice would pick {figures["with_demo"]["settings"]} ({figures["with_demo"]["missed_copies"]}
missed copies, {figures["with_demo"]["demo_gold_collapsed"]} demo pairs collapsed), which leaves
near-identical undated articles uncollapsed on the held-out bbc corpus (RESULTS.md, "Real
corpora").

Vectors: the engine's, text recipe {TEXT_RECIPE_VERSION} (text and title vectors combined: a
wire copy with a rewritten headline sits lower than under recipe 2, where this rule was 0.90, or
0.80 within 1 day). The follow-ups and replies here reach {fu_hi:.3f} and {re_hi:.3f}; the demo
corpus's related follow-ups reach {max(figures["demo_gold_cosines"]):.3f}.

Caveat: the replies here were written 2 to 5 days after their story; a reply published the
same day that quotes most of the story (cosine >= {shipped.dedupe_window_threshold}) would still
be collapsed, since within a day cosine does not separate updates ({up_lo:.2f}-{up_hi:.2f} here)
from replies ({re_lo:.2f}-{re_hi:.2f}).

{
        md_table(
            [
                "pair",
                "pairs",
                "cosine min / median / max",
                "median gap (days)",
                "collapsed (previous rule)",
                "collapsed (shipped)",
                "collapsed (best)",
            ],
            rows,
        )
    }
"""


if __name__ == "__main__":
    sys.exit(main())

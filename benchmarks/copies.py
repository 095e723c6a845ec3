"""Copies vs follow-ups: how the duplicate rule decides on labelled pairs written for it.

    .venv/bin/python benchmarks/copies.py

``benchmarks/data/copies.jsonl`` (written for this project, in the shapes of real wire news):
six stories, each an original plus a wire copy (same facts, reworded lightly, another
headline), an update ("UPDATE 1-": same story, a new paragraph, hours later), a repost (the
same text weeks later), a follow-up (new developments days or weeks later), a late follow-up
(months later, written to repeat the original's people, places and figures around new facts:
the hard case for a dense-only rule) and a reply (an opinion piece or letter quoting the
original's key sentence, then its own argument).

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
from lab import embed

from recommender.articles import Article, parse_datetime
from recommender.demo import demo_articles_path
from recommender.encoder import SentenceTransformerEncoder
from recommender.loaders import load_articles
from recommender.ranking import RankingSettings
from recommender.ranking.dedupe import copy_rule
from recommender.storage.lexical import LexicalModel
from recommender.storage.store import normalize_title
from recommender.text import article_text, lexical_text

LEXICAL_GRID = (0.0, 0.5, 0.55, 0.6, 0.625, 0.65, 0.675, 0.7, 0.725, 0.75)
"""TF-IDF cosine a pair above the any-time dense threshold must also reach (0: no condition)."""
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
    sims: np.ndarray, titles: list[str], stamps: np.ndarray, s: RankingSettings, lex: np.ndarray
) -> np.ndarray:
    same_title = np.array([[bool(a) and a == b for b in titles] for a in titles])
    return copy_rule(sims, same_title, stamps[:, None] - stamps[None, :], s, lex)


def lexical_cosines(articles: list[Article]) -> np.ndarray:
    """TF-IDF cosines as the engine computes them, with the demo corpus as background (the
    labelled stories are read as part of a site that publishes other news too)."""
    background = [lexical_text(a) for a in load_articles([demo_articles_path()])]
    model = LexicalModel.fit([lexical_text(a) for a in articles], background)
    return (model.matrix @ model.matrix.T).toarray()


def demo_pairs(shipped: RankingSettings) -> list[tuple[str, str, float, float, float, bool, bool]]:
    """The demo corpus's pairs at cosine >= 0.80, as the shipped rule and the rule without its
    lexical condition decide them."""
    demo = load_articles([demo_articles_path()])
    vectors = embed(SentenceTransformerEncoder(None), [article_text(a) for a in demo])
    model = LexicalModel.fit([lexical_text(a) for a in demo])
    sims, lex = vectors @ vectors.T, (model.matrix @ model.matrix.T).toarray()
    titles = [normalize_title(a.title) for a in demo]
    stamps = np.array([a.published_at.timestamp() if a.published_at else np.nan for a in demo])
    now = decide(sims, titles, stamps, shipped, lex)
    before = decide(sims, titles, stamps, shipped.replace(dedupe_min_lexical=0.0), lex)
    out = []
    for i, j in itertools.combinations(range(len(demo)), 2):
        if sims[i, j] >= 0.80:
            gap = abs(stamps[i] - stamps[j]) / 86400
            row = (demo[i].id, demo[j].id, float(sims[i, j]), float(lex[i, j]), float(gap))
            out.append((*row, bool(now[i, j]), bool(before[i, j])))
    return out


def main() -> None:
    info = machine()
    rows, articles = load()
    vectors = embed(SentenceTransformerEncoder(None), [article_text(a) for a in articles])
    sims = vectors @ vectors.T
    lex = lexical_cosines(articles)
    titles = [normalize_title(a.title) for a in articles]
    stamps = np.array([a.published_at.timestamp() if a.published_at else np.nan for a in articles])
    pairs = list(itertools.combinations(range(len(rows)), 2))
    kinds = [pair_kind(rows[i], rows[j]) for i, j in pairs]
    truth = np.array([k.startswith("same") for k in kinds])

    def evaluate(s: RankingSettings) -> dict[str, object]:
        copies = decide(sims, titles, stamps, s, lex)
        said = np.array([copies[i, j] for i, j in pairs])
        by_kind: dict[str, list[int]] = {}
        for kind, yes in zip(kinds, said, strict=True):
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += int(yes)
            by_kind[kind][1] += 1
        return {
            "missed_copies": int((truth & ~said).sum()),
            "wrong_collapses": int((~truth & said).sum()),
            "by_kind": by_kind,
        }

    shipped = RankingSettings()
    results = {
        "shipped": evaluate(shipped),
        "previous": evaluate(
            shipped.replace(
                dedupe_threshold=0.92,
                dedupe_window_threshold=0.80,
                dedupe_window_days=2.0,
                dedupe_min_lexical=0.0,
                dedupe_window_min_lexical=0.0,
                dedupe_certain_threshold=1.0,
            )
        ),
    }
    # The window's wording level and the certain line (chosen with ECB+ development topics,
    # benchmarks/real_corpora.py): what each level does on these pairs.
    window_sweep = [
        (
            (words, certain),
            evaluate(
                shipped.replace(dedupe_window_min_lexical=words, dedupe_certain_threshold=certain)
            ),
        )
        for certain in (0.92, 1.0)
        for words in (0.0, 0.3, 0.35, 0.4, 0.45, 0.5)
    ]
    grid = []
    for high in (0.85, 0.88, 0.90, 0.92, 0.94, 0.96):
        for low in (0.75, 0.80, 0.85, 0.88, 0.90):
            for days, words in itertools.product((0.5, 1.0, 2.0, 3.0), LEXICAL_GRID):
                if low > high:
                    continue
                s = shipped.replace(
                    dedupe_threshold=high,
                    dedupe_window_threshold=low,
                    dedupe_window_days=days,
                    dedupe_min_lexical=words,
                )
                r = evaluate(s)
                grid.append(((high, low, days, words), r))
    best = min(
        grid,
        key=lambda g: (
            g[1]["missed_copies"] + g[1]["wrong_collapses"],
            g[1]["wrong_collapses"],
            -g[0][0],
            -g[0][1],
        ),
    )
    # Every TF-IDF threshold in the tied run makes the same decisions here: take the middle of
    # the run, the farthest from the closest follow-up and the closest copy on either side.
    tied = sorted(
        g[0][3]
        for g in grid
        if g[0][:3] == best[0][:3]
        and (g[1]["missed_copies"], g[1]["wrong_collapses"])
        == (best[1]["missed_copies"], best[1]["wrong_collapses"])
    )
    middle = (tied[0] + tied[-1]) / 2
    best = next(g for g in grid if g[0][:3] == best[0][:3] and g[0][3] >= middle - 1e-9)
    results["best"] = {"settings": best[0], **best[1], "tied_lexical": [tied[0], tied[-1]]}
    cos: dict[str, list[float]] = {}
    words: dict[str, list[float]] = {}
    for kind, (i, j) in zip(kinds, pairs, strict=True):
        cos.setdefault(kind, []).append(float(sims[i, j]))
        words.setdefault(kind, []).append(float(lex[i, j]))
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
        "results": results,
        "cosine_by_kind": {k: [min(v), float(np.median(v)), max(v)] for k, v in cos.items()},
        "lexical_by_kind": {k: [min(v), float(np.median(v)), max(v)] for k, v in words.items()},
        "median_gap_days": gaps,
        "grid": [
            {"settings": g[0], "missed": g[1]["missed_copies"], "wrong": g[1]["wrong_collapses"]}
            for g in grid
        ],
    }
    figures["window_sweep"] = [
        {
            "window_words": w,
            "certain": c,
            "missed": r["missed_copies"],
            "wrong": r["wrong_collapses"],
        }
        for (w, c), r in window_sweep
    ]
    figures["demo_pairs"] = demo_pairs(shipped)
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
                "{:.3f} / {:.3f} / {:.3f}".format(*figures["lexical_by_kind"][kind]),
                fmt(figures["median_gap_days"][kind], 1),
                f"{p_yes}/{n}",
                f"{s_yes}/{n}",
                f"{b_yes}/{n}",
            ]
        )
    high, low, days, words = res["best"]["settings"]
    sweep = "; ".join(
        f"{w['window_words']} {'with' if w['certain'] < 1 else 'without'}: "
        f"{w['missed']} / {w['wrong']}"
        for w in figures["window_sweep"]
    )
    held = "\n".join(
        f"- {a} / {b}: cosine {c:.3f}, TF-IDF {w:.3f}, {g:.1f} days apart: "
        f"{'one story' if now else 'two stories'} (shipped), "
        f"{'one story' if before else 'two stories'} (without the lexical condition)"
        for a, b, c, w, g, now, before in figures["demo_pairs"]
    )
    return f"""
{figures["pairs"]} pairs from `benchmarks/data/copies.jsonl` (6 stories x original, wire copy,
update, repost, follow-up, late follow-up, reply; written for this project). "Collapsed"
counts the pairs the rule calls copies of one story: wanted for "same story" rows, wrong for
"different" and "other story" rows. Shipped rule: cosine >= {shipped.dedupe_threshold}, or >=
{shipped.dedupe_window_threshold} within {shipped.dedupe_window_days} days, or equal titles.
A pair over the any-time cosine must also reach TF-IDF cosine >= {shipped.dedupe_min_lexical},
a pair in the window TF-IDF >= {shipped.dedupe_window_min_lexical}; at cosine >=
{shipped.dedupe_certain_threshold} two articles are copies whatever their words.
Best on this set (fewest errors, then fewest wrong collapses, then the highest cosine
thresholds; for TF-IDF, the middle of the thresholds that decide alike, here
{res["best"]["tied_lexical"][0]} to {res["best"]["tied_lexical"][1]}):
cosine >= {high} with TF-IDF >= {words}, or >= {low} within {days} days.
Previous rule (0.92, or 0.80 within 2 days): {res["previous"]["missed_copies"]} missed
copies / {
        res["previous"]["wrong_collapses"]
    } wrong collapses. Missed copies / wrong collapses: shipped {res["shipped"]["missed_copies"]} /
{res["shipped"]["wrong_collapses"]}, best {res["best"]["missed_copies"]} /
{res["best"]["wrong_collapses"]}.

Caveat: the replies here were written 2 to 5 days after their story; a reply published the
same day that quotes most of the story (cosine >= 0.80 and TF-IDF >= the window's level) would
still be collapsed: within a day neither cosine nor words fully separate updates from replies.

The window's wording level and the certain line were chosen with the ECB+ development topics
("Real corpora": other outlets' same-day reports of one event share facts, not words); on these
pairs (missed copies / wrong collapses per window TF-IDF level, with and without the certain
line): {sweep}.

Held out (not used for any choice): every pair of the demo corpus with cosine >= 0.80. It has
three labelled copy pairs (`-update`, `-wire`) and follow-ups months apart; the lexical
condition is what keeps "merger approved" apart from "merger agreed" 268 days earlier:

{held}

{
        md_table(
            [
                "pair",
                "pairs",
                "cosine min / median / max",
                "TF-IDF min / median / max",
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

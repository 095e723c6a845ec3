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
on the engine's vectors (text recipe 2, all-MiniLM-L6-v2), with the wording condition
(``dedupe_min_lexical``: lexical cosine of the engine's TF-IDF, fitted on these articles with the
demo corpus as background, since the engine fits idf on a whole site; the figure with the
labelled set alone is printed beside it). Reported for the shipped settings, the rule before
the wording condition, and a grid; the grid's best setting is chosen on these pairs (no other
figure), by fewest errors, then fewest wrong collapses, then the highest thresholds and wording
level (the most conservative rule).
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
    sims: np.ndarray,
    titles: list[str],
    stamps: np.ndarray,
    s: RankingSettings,
    lexical: np.ndarray | None = None,
) -> np.ndarray:
    same_title = np.array([[bool(a) and a == b for b in titles] for a in titles])
    return copy_rule(sims, same_title, stamps[:, None] - stamps[None, :], s, lexical)


def lexical_pairs(articles: list[Article], background: list[str]) -> np.ndarray:
    """Pairwise lexical cosine as the engine computes it (its TF-IDF, idf fitted on the
    articles plus ``background``)."""
    matrix = LexicalModel.fit([lexical_text(a) for a in articles], background).matrix
    return np.asarray((matrix @ matrix.T).todense())


def main() -> None:
    info = machine()
    rows, articles = load()
    vectors = embed(SentenceTransformerEncoder(None), [article_text(a) for a in articles])
    sims = vectors @ vectors.T
    titles = [normalize_title(a.title) for a in articles]
    stamps = np.array([a.published_at.timestamp() if a.published_at else np.nan for a in articles])
    pairs = list(itertools.combinations(range(len(rows)), 2))
    kinds = [pair_kind(rows[i], rows[j]) for i, j in pairs]
    truth = np.array([k.startswith("same") for k in kinds])
    demo = [lexical_text(a) for a in load_articles([demo_articles_path()])]
    lex = lexical_pairs(articles, demo)

    def evaluate(s: RankingSettings, lexical: np.ndarray | None = lex) -> dict[str, object]:
        copies = decide(sims, titles, stamps, s, lexical)
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
        "shipped, idf of the labelled set alone": evaluate(shipped, lexical_pairs(articles, [])),
        "previous": evaluate(shipped.replace(dedupe_min_lexical=0.0)),
    }
    grid = []
    for high in (0.85, 0.88, 0.90, 0.92, 0.94, 0.96):
        for low in (0.75, 0.80, 0.85, 0.88, 0.90):
            for days in (0.5, 1.0, 2.0, 3.0):
                for words in (0.0, 0.3, 0.35, 0.4, 0.45, 0.5):
                    if low > high:
                        continue
                    s = shipped.replace(
                        dedupe_threshold=high,
                        dedupe_window_threshold=low,
                        dedupe_window_days=days,
                        dedupe_min_lexical=words,
                    )
                    grid.append(((high, low, days, words), evaluate(s)))
    best = min(
        grid,
        key=lambda g: (
            g[1]["missed_copies"] + g[1]["wrong_collapses"],
            g[1]["wrong_collapses"],
            -g[0][0],
            -g[0][1],
            -g[0][3],
        ),
    )
    results["best"] = {"settings": best[0], **best[1]}
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
        w_lo, w_med, w_hi = figures["lexical_by_kind"][kind]
        s_yes, n = res["shipped"]["by_kind"][kind]
        p_yes, _ = res["previous"]["by_kind"][kind]
        b_yes, _ = res["best"]["by_kind"][kind]
        rows.append(
            [
                kind,
                n,
                f"{lo:.3f} / {med:.3f} / {hi:.3f}",
                f"{w_lo:.3f} / {w_med:.3f} / {w_hi:.3f}",
                fmt(figures["median_gap_days"][kind], 1),
                f"{p_yes}/{n}",
                f"{s_yes}/{n}",
                f"{b_yes}/{n}",
            ]
        )
    high, low, days, words = res["best"]["settings"]
    alone = res["shipped, idf of the labelled set alone"]
    return f"""
{figures["pairs"]} pairs from `benchmarks/data/copies.jsonl` (6 stories x original, wire copy,
update, repost, follow-up, reply; written for this project). "Collapsed" counts the pairs the
rule calls copies of one story: wanted for "same story" rows, wrong for "different" and
"other story" rows. Shipped rule: equal titles, or cosine >=
{shipped.dedupe_certain_threshold}, or lexical cosine >= {shipped.dedupe_min_lexical} (the
wording condition) and cosine >= {shipped.dedupe_threshold} or >=
{shipped.dedupe_window_threshold} within {shipped.dedupe_window_days} days. Lexical cosine: the
engine's TF-IDF with the demo corpus as idf background. Best on this set (fewest errors, then
fewest wrong collapses, then the most conservative): cosine >= {high}, or >= {low} within {days}
days, wording >= {words}. Previous rule (no wording condition): {
        res["previous"]["missed_copies"]
    } missed copies / {res["previous"]["wrong_collapses"]} wrong collapses. Missed copies / wrong
collapses: shipped {res["shipped"]["missed_copies"]} / {res["shipped"]["wrong_collapses"]}
(with the idf of these 36 articles alone {alone["missed_copies"]} /
{alone["wrong_collapses"]}), best {res["best"]["missed_copies"]} /
{res["best"]["wrong_collapses"]}. The wording level was chosen as the highest that misses no
more copies here than the rule without it; its effect on independent reports of one event, and
why the cosine lines stay where they are although this set alone would lower the first to the
grid's best, is in "Real corpora" (ECB+ development topics).

Caveat: the replies here were written 2 to 5 days after their story; a reply published the
same day that quotes most of the story (cosine >= 0.80, lexical >= 0.40) would still be
collapsed: within a day neither cosine nor wording fully separates updates from replies (see
the lexical column).

{
        md_table(
            [
                "pair",
                "pairs",
                "cosine min / median / max",
                "lexical min / median / max",
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

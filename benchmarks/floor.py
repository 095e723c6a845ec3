"""Calibrating the relatedness floor on human judgments (Lee50) and the demo gold set.

    .venv/bin/python benchmarks/floor.py

Relatedness is what the floor reads (``why.relatedness``): the weighted mean of dense cosine
lexical cosine and topic cosine, at the shipped weights (``weight_similarity``, ``weight_lexical``,
``weight_topic``). Lee50:
a pair is "related" when its mean human rating is at least 3 on the 1-5 scale (0.6 in gensim's
0-1 file: the scale's "somewhat similar" and above). For each candidate floor: precision and
recall of "related" among the pairs at or above it. The floor is chosen on the pairs among
documents 1-25 only (highest F1), then reported on the pairs among 26-50 (held out) and on all
1,225.

Demo corpus: share of the gold links that clear the floor (recall of what editors call related)
and, of every article's top-5 list with the floor off, the share of results it removes.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from common import fmt, machine, md_table, record, write_fragment
from lab import demo, lee

from recommender.encoder import SentenceTransformerEncoder
from recommender.ranking import RankingSettings
from recommender.text import TEXT_RECIPE_VERSION

RELATED = 0.6
LEE_HEADER = ["floor", "precision (all)", "recall (all)", "F1 (all)"]
LEE_HEADER += ["precision (26-50)", "recall (26-50)", "pairs shown"]
DEMO_HEADER = ["floor", "gold links clearing", "top-5 results removed", "mean list length"]
DEMO_HEADER += ["empty lists"]
SHIPPED = RankingSettings()
GRID = np.round(np.arange(0.10, 0.51, 0.025), 3)


def pr(scores: np.ndarray, related: np.ndarray, floor: float) -> dict[str, float]:
    shown = scores >= floor
    tp = float((shown & related).sum())
    precision = tp / shown.sum() if shown.sum() else 1.0
    recall = tp / related.sum() if related.sum() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "shown_share": float(shown.mean())}


def lee_study(encoder: SentenceTransformerEncoder) -> dict[str, object]:
    data, sig = lee(encoder)
    n = len(data.documents)
    rows, cols = np.triu_indices(n, k=1)
    ratings = data.ratings[rows, cols]
    related = ratings >= RELATED
    first = (rows < n // 2) & (cols < n // 2)
    second = (rows >= n // 2) & (cols >= n // 2)
    out: dict[str, object] = {"related_pairs": int(related.sum()), "pairs": len(ratings)}
    content = sig.content(SHIPPED.weight_similarity, SHIPPED.weight_lexical, SHIPPED.weight_topic)
    for signal, matrix in (("relatedness", content), ("dense cosine", sig.dense)):
        values = matrix[rows, cols]
        tune = {f: pr(values[first], related[first], f)["f1"] for f in GRID}
        chosen = max(GRID, key=lambda f: (tune[f], -f))
        out[signal] = {
            "chosen_on_docs_1_25": float(chosen),
            "grid": {
                str(f): {
                    "all": pr(values, related, f),
                    "held_out_26_50": pr(values[second], related[second], f),
                }
                for f in GRID
            },
            "unrelated_mean": float(values[ratings <= 0.3].mean()),
            "related_mean": float(values[related].mean()),
        }
    return out


def demo_study(encoder: SentenceTransformerEncoder, floors: list[float]) -> dict[str, object]:
    _, gold, sig = demo(encoder)
    pos = {aid: i for i, aid in enumerate(sig.ids)}
    content = sig.content(SHIPPED.weight_similarity, SHIPPED.weight_lexical, SHIPPED.weight_topic)
    gold_scores = np.array([content[pos[s], pos[r]] for s, rel in gold.items() for r in rel])
    np.fill_diagonal(content, -np.inf)
    top5 = np.sort(content, axis=1)[:, ::-1][:, :5]
    return {
        str(f): {
            "gold_links_clearing": float((gold_scores >= f).mean()),
            "top5_results_removed": float((top5 < f).mean()),
            "mean_list_length": float((top5 >= f).sum(axis=1).mean()),
            "empty_lists": float(((top5 >= f).sum(axis=1) == 0).mean()),
        }
        for f in floors
    }


def main() -> None:
    info = machine()
    encoder = SentenceTransformerEncoder(None)
    lee_fig = lee_study(encoder)
    rel = lee_fig["relatedness"]
    assert isinstance(rel, dict)
    shipped = RankingSettings().min_relatedness
    floors = sorted({float(rel["chosen_on_docs_1_25"]), shipped, 0.2, 0.25, 0.3, 0.35})
    demo_fig = demo_study(encoder, floors)
    figures = {"lee50": lee_fig, "demo": demo_fig, "shipped_floor": shipped}
    print(json.dumps(figures, indent=1, default=float)[:3000])
    line = record("floor", info, figures)
    write_fragment(
        "floor", "The relatedness floor", fragment(lee_fig, demo_fig, shipped), info, line
    )


def fragment(lee_fig: dict, demo_fig: dict, shipped: float) -> str:
    rows = []
    for signal in ("relatedness", "dense cosine"):
        chosen = lee_fig[signal]["chosen_on_docs_1_25"]
        for f in (0.2, 0.25, 0.3, 0.35, 0.4, chosen):
            g = lee_fig[signal]["grid"][str(np.round(f, 3))]
            mark = " (chosen on docs 1-25)" if f == chosen else ""
            rows.append(
                [
                    f"{signal} >= {f:.3f}{mark}",
                    fmt(g["all"]["precision"]),
                    fmt(g["all"]["recall"]),
                    fmt(g["all"]["f1"]),
                    fmt(g["held_out_26_50"]["precision"]),
                    fmt(g["held_out_26_50"]["recall"]),
                    fmt(g["all"]["shown_share"]),
                ]
            )
    demo_rows = [
        [
            f"{float(f):.3f}" + (" (shipped)" if float(f) == shipped else ""),
            fmt(v["gold_links_clearing"]),
            fmt(v["top5_results_removed"]),
            fmt(v["mean_list_length"], 2),
            fmt(v["empty_lists"]),
        ]
        for f, v in demo_fig.items()
    ]
    return f"""
Relatedness (``why.relatedness``) = (w_s * dense cosine + w_l * lexical cosine + w_t * topic
cosine) / (w_s + w_l + w_t) at the shipped weights ({SHIPPED.weight_similarity:g},
{SHIPPED.weight_lexical:g} and {SHIPPED.weight_topic:g}), text recipe
{TEXT_RECIPE_VERSION}, all-MiniLM-L6-v2. **Lee50** ({lee_fig["pairs"]} pairs,
{lee_fig["related_pairs"]} "related": mean human rating at least 3 of 5). Mean relatedness of
related pairs
{lee_fig["relatedness"]["related_mean"]:.3f}, of pairs rated at most 1.5 of 5
{lee_fig["relatedness"]["unrelated_mean"]:.3f}. Floor chosen on the pairs among documents 1-25
(highest F1), reported on all pairs and on the held-out pairs among documents 26-50.

{md_table(LEE_HEADER, rows)}

**Demo corpus** (100 articles, 68 gold lists): share of gold links that clear the floor, and of
every article's top-5 list (floor off) the share the floor removes, the mean list length left
and the share of empty lists.

{md_table(DEMO_HEADER, demo_rows)}
"""


if __name__ == "__main__":
    sys.exit(main())

"""What text recipe 3 (the title embedded on its own too) costs the model, against recipes 1 and 2.

    .venv/bin/python benchmarks/title_cost.py /tmp/relcorpora [--time 150]

Model work in word pieces (each passage truncated at the model's 256, special tokens counted)
on the real corpora of benchmarks/corpora.py and on Lee50, relative to recipe 1 (the first
2,000 characters, what the issue's build cost was measured with). ``--time N``: also embed the
first N star articles under recipes 1, 2 and 3 with no cache, one process, the recipes
interleaved over 3 rounds, best round each (side-by-side seconds on this shared machine).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from common import fmt, machine, md_table, record, write_fragment
from long_articles import load

from recommender.articles import Article
from recommender.encoder import SentenceTransformerEncoder, article_vectors
from recommender.evaluation.lee import lee_articles, load_lee
from recommender.text import article_text, lexical_text, title_text

LIMIT = 256


def recipe_texts(articles: list[Article]) -> dict[str, list[str]]:
    return {
        "1 (lead)": [lexical_text(a)[:2000] for a in articles],
        "2 (head+tail)": [article_text(a) for a in articles],
        "3 (head+tail, title)": [article_text(a) for a in articles]
        + [title_text(a) for a in articles],
    }


def word_pieces(encoder: SentenceTransformerEncoder, texts: list[str]) -> int:
    tokenizer = encoder._model.tokenizer
    return sum(min(len(ids), LIMIT) for ids in tokenizer(texts)["input_ids"])


def timing(encoder: SentenceTransformerEncoder, articles: list[Article]) -> dict[str, float]:
    best: dict[str, float] = {}
    texts = recipe_texts(articles)
    for _ in range(3):
        for recipe in texts:
            started = time.perf_counter()
            if recipe.startswith("3"):
                article_vectors(encoder, articles, None)
            else:
                encoder.encode(texts[recipe])
            seconds = time.perf_counter() - started
            best[recipe] = min(best.get(recipe, np.inf), seconds)
    return best


def main() -> None:
    folder = Path(sys.argv[1])
    n_time = int(sys.argv[sys.argv.index("--time") + 1]) if "--time" in sys.argv else 0
    info = machine()
    encoder = SentenceTransformerEncoder(None)
    encoder.encode(["warm up"])
    corpora = {
        "bbc": load(folder / "bbc.jsonl"),
        "star": load(folder / "star.jsonl"),
        "lee50": lee_articles(load_lee()),
    }
    pieces = {
        name: {r: word_pieces(encoder, t) for r, t in recipe_texts(arts).items()}
        for name, arts in corpora.items()
    }
    seconds = timing(encoder, corpora["star"][:n_time]) if n_time else {}
    figures = {"word_pieces": pieces, "seconds": seconds, "timed_articles": n_time}
    print(figures)
    line = record("title_cost", info, figures)
    rows = []
    for name, by_recipe in pieces.items():
        base = by_recipe["1 (lead)"]
        for recipe, count in by_recipe.items():
            label = f"{name} ({len(corpora[name])})"
            rows.append([label, recipe, str(count), fmt(count / base, 2)])
    timed = ""
    if seconds:
        base_s = seconds["1 (lead)"]
        timed_rows = [[r, fmt(s, 2), fmt(s / base_s, 2)] for r, s in seconds.items()]
        timed = (
            f"Side by side, the first {n_time} star articles, no cache, best of 3 interleaved "
            f"rounds:\n\n{md_table(['recipe', 'seconds', 'vs recipe 1'], timed_rows)}\n"
        )
    body = f"""
Text recipe 3 embeds each article's text (recipe 2: title, head and tail) and, separately, its
title; the article's vector is ``normalize(text + 0.5 * title)``. Model work in word pieces
(passages truncated at {LIMIT}), relative to recipe 1 (the first 2,000 characters), which the
aim "at most 1.5x today's build cost" refers to. Lee50's stand-in titles are whole first
sentences, so its extra share is larger than a news headline's.

{md_table(["corpus", "recipe", "word pieces", "vs recipe 1"], rows)}

{timed}"""
    write_fragment("title_cost", "Text recipe 3: what the title costs", body, info, line)


if __name__ == "__main__":
    sys.exit(main())

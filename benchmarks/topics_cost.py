"""What the topic evidence costs a build, an upsert and a query, against the model's own time.

    .venv/bin/python benchmarks/topics_cost.py [--sizes 2000 10000 50000] [--embed 200]

Articles of news length are assembled from real sentences held on this machine (gensim's Lee
background corpus and the demo corpus): each takes 12-24 sentences, most from one source text
and the rest at random, so the vocabulary and its co-occurrences grow as an archive's do. For
each size: the lexical statistics fitted without and with the topic basis (``LexicalModel.fit``,
best of 2), projecting 10 new articles on the frozen basis (an upsert's part), and the topic
cosine of 100 candidates (a query's part). The model's time for the same articles is measured
on ``--embed`` of them (text recipe 2, one process) and scaled to each size: the build-cost
ratio is (model + lexical with topics) / (model + lexical without).
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial

import numpy as np
from common import fmt, machine, md_table, record, write_fragment

from recommender.articles import Article
from recommender.demo import demo_articles_path
from recommender.encoder import SentenceTransformerEncoder
from recommender.evaluation.lee import _SENTENCE, load_lee
from recommender.loaders import load_articles
from recommender.storage import lexical as lexical_module
from recommender.storage.lexical import LexicalModel
from recommender.text import article_text, lexical_text

HEADER = ["articles", "lexical fit without topics (s)", "with topics (s)", "topic basis (s)"]
HEADER += ["model time, scaled (s)", "build cost ratio", "10 new articles projected (ms)"]
HEADER += ["topic cosine, 100 candidates (µs)", "topic vectors (MB)"]


def sentences() -> list[list[str]]:
    lee = load_lee()
    texts = list(lee.background) + list(lee.documents)
    texts += [f"{a.title}. {a.body}" for a in load_articles([demo_articles_path()])]
    return [[s for s in _SENTENCE.split(t) if len(s) > 20] for t in texts]


def corpus(n: int, pool: list[list[str]], seed: int = 0) -> list[Article]:
    rng = np.random.default_rng(seed)
    flat = [s for group in pool for s in group]
    out = []
    for i in range(n):
        group = pool[int(rng.integers(len(pool)))]
        size = int(rng.integers(12, 25))
        own = [group[int(j)] for j in rng.integers(0, len(group), size * 2 // 3)]
        rest = [flat[int(j)] for j in rng.integers(0, len(flat), size - len(own))]
        body = " ".join(own + rest)
        out.append(Article(id=f"c{i}", title=own[0][:80], body=body))
    return out


def best_of(runs: int, fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, value = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - started)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 50000])
    parser.add_argument("--embed", type=int, default=200)
    args = parser.parse_args()
    info = machine()
    pool = sentences()
    sample = corpus(args.embed, pool, seed=99)
    encoder = SentenceTransformerEncoder(None)
    encoder.encode([article_text(sample[0])])  # load and warm up
    started = time.perf_counter()
    encoder.encode([article_text(a) for a in sample])
    per_article = (time.perf_counter() - started) / len(sample)
    rows = []
    figures: dict[str, object] = {"model_seconds_per_article": per_article}
    for n in args.sizes:
        texts = [lexical_text(a) for a in corpus(n, pool)]
        plain, _ = best_of(2, partial(_fit_without_topics, texts))
        full, model = best_of(2, partial(LexicalModel.fit, texts))
        assert isinstance(model, LexicalModel) and model.topics is not None
        topics = model.topics
        new = model.transform([lexical_text(a) for a in corpus(10, pool, seed=7)])
        project, _ = best_of(5, partial(topics.project, new))
        rng = np.random.default_rng(3)
        cands = rng.choice(n, 100, replace=False)
        query = topics.vectors[0]
        cosine, _ = best_of(50, partial(topics.similarity, query, cands))
        model_time = per_article * n
        figures[str(n)] = {
            "lexical_without_topics_s": plain,
            "lexical_with_topics_s": full,
            "model_s_scaled": model_time,
            "build_ratio": (model_time + full) / (model_time + plain),
            "project_10_ms": project * 1000,
            "cosine_100_us": cosine * 1e6,
            "rank": int(topics.basis.shape[1]),
            "vectors_mb": topics.vectors.nbytes / 2**20,
            "basis_mb": topics.basis.nbytes / 2**20,
        }
        f = figures[str(n)]
        assert isinstance(f, dict)
        print(n, f, flush=True)
        rows.append(
            [
                f"{n:,}",
                fmt(plain, 2),
                fmt(full, 2),
                fmt(full - plain, 2),
                fmt(model_time, 0),
                f"{f['build_ratio']:.3f}",
                fmt(project * 1000, 2),
                fmt(cosine * 1e6, 1),
                fmt(f["vectors_mb"], 1),
            ]
        )
    line = record("topics_cost", info, figures)
    body = f"""
Articles of news length assembled from real sentences (gensim's Lee background corpus and the
demo corpus; 12-24 sentences each, most from one source text). all-MiniLM-L6-v2 took
{per_article * 1000:.0f} ms per article here (text recipe 2, {args.embed} articles, one
process), scaled to each size for the model's share of a build. Lexical fits: best of 2; the
topic basis is the difference (rank {TOPIC_RANK_NOTE}).

{md_table(HEADER, rows)}
"""
    write_fragment("topics_cost", "Topic evidence: what it costs", body, info, line)


TOPIC_RANK_NOTE = (
    "128 singular vectors; an exact eigenproblem up to 2,048 rows,"
    " a seeded randomized SVD on at most 50,000 rows above"
)


def _fit_without_topics(texts: list[str]) -> LexicalModel:
    """The lexical fit as before the topic evidence: the same code with the basis skipped."""
    original = lexical_module.TopicModel.fit
    try:
        lexical_module.TopicModel.fit = _no_topics  # type: ignore[method-assign]
        return LexicalModel.fit(texts)
    finally:
        lexical_module.TopicModel.fit = original  # type: ignore[method-assign]


def _no_topics(matrix, extra=None, rank=0):  # type: ignore[no-untyped-def]
    return None


if __name__ == "__main__":
    sys.exit(main())

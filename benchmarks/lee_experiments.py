"""Lee50 with the default model: combinations tried for a Pearson above 0.72, out of sample.

    .venv/bin/python benchmarks/lee_experiments.py

Out of sample, three ways. Every setting of a variant (a weight, an exponent) is chosen on the
pairs among documents 1-25 and reported on the pairs among 26-50 (held out) and on all 1,225
pairs; and a k-fold figure: 10 random splits of the 50 documents into two halves of 25, the
setting chosen on the pairs within one half and judged on the pairs within the other (both
ways: 20 held-out figures, averaged), so one lucky split cannot carry a claim.

Signals (all-MiniLM-L6-v2):
- ``d``: dense cosine of the article text's vector (text recipe 2, what was shipped before);
- ``t``: dense cosine of the titles' vectors (a Lee document's first sentence stands in for
  its title, see recommender/evaluation/lee.py);
- ``v(a)``: dense cosine of ``normalize(text vector + a * title vector)``: one vector per
  article, leaning to its title (a candidate text recipe; not shipped, see the fragment);
- ``l``: the engine's lexical cosine (TF-IDF, names counted double, idf with lee_background);
  ``ls``: the same with Porter-stemmed tokens (gensim's stemmer);
- ``s``/``m``: mean of the sentence vectors / sentence max-sim (each sentence's best match in
  the other document, both ways); ``x``: BERTScore-style max-sim over the model's contextual
  token vectors (F1 of both directions, [CLS]/[SEP] left out) from the same forward pass as
  ``d``;
- power calibration of the shipped score, and the text vector centred on the background
  corpus's mean (anisotropy correction);
- ``p``: the engine's topic cosine (``recommender/storage/topics.py``: the cosine of two
  articles' TF-IDF profiles over the fitted corpus, rank 128: 50 documents + background),
  ``pe``: the exact profile cosine (no rank cut), ``p64``/``p256``: other ranks.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from common import fmt, machine, md_table, record, write_fragment
from lab import embed, lee

from recommender.encoder import SentenceTransformerEncoder, default_model_path
from recommender.evaluation.lee import _SENTENCE, lee_articles
from recommender.ranking import RankingSettings
from recommender.storage.lexical import tokenize
from recommender.text import article_text, lexical_text

SPLITS = 10
WEIGHTS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
TITLE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
TOPIC_LEXICAL = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
TOPIC_WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
HEADER = ["variant", "chosen", "docs 1-25", "26-50 (held out)", "all pairs"]
HEADER += ["k-fold held-out mean", "k-fold worst"]


class Judge:
    """Pearson of a pair-score matrix on a set of pairs, and the out-of-sample protocol."""

    def __init__(self, ratings: np.ndarray, seed: int = 0) -> None:
        n = ratings.shape[0]
        self.rows, self.cols = np.triu_indices(n, k=1)
        self.y = ratings[self.rows, self.cols]
        self.first = self.within(np.arange(n // 2), n)
        self.second = self.within(np.arange(n // 2, n), n)
        rng = np.random.default_rng(seed)
        self.splits = []
        for _ in range(SPLITS):
            order = rng.permutation(n)
            a, b = self.within(order[: n // 2], n), self.within(order[n // 2 :], n)
            self.splits += [(a, b), (b, a)]

    def within(self, docs: np.ndarray, n: int) -> np.ndarray:
        member = np.zeros(n, dtype=bool)
        member[docs] = True
        return member[self.rows] & member[self.cols]

    def pearson(self, matrix: np.ndarray, mask: np.ndarray | None = None) -> float:
        v = matrix[self.rows, self.cols]
        keep = np.ones(len(v), dtype=bool) if mask is None else mask
        return float(np.corrcoef(v[keep], self.y[keep])[0, 1])

    def choose(self, family: dict[str, np.ndarray], mask: np.ndarray) -> str:
        return max(family, key=lambda k: self.pearson(family[k], mask))

    def judge(self, family: dict[str, np.ndarray]) -> dict[str, object]:
        chosen = self.choose(family, self.first)
        held = [self.pearson(family[self.choose(family, a)], b) for a, b in self.splits]
        return {
            "chosen_on_docs_1_25": chosen,
            "docs_1_25": self.pearson(family[chosen], self.first),
            "docs_26_50": self.pearson(family[chosen], self.second),
            "all": self.pearson(family[chosen]),
            "kfold_held_out_mean": float(np.mean(held)),
            "kfold_held_out_min": float(np.min(held)),
        }


def title_weighted(text: np.ndarray, title: np.ndarray, weight: float) -> np.ndarray:
    """``normalize(text + weight * title)``: one vector per article, leaning to its title."""
    combined = text + weight * title
    return combined / np.linalg.norm(combined, axis=1, keepdims=True)


def cosine(vectors: np.ndarray) -> np.ndarray:
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return (v @ v.T).astype(np.float64)


def stemmed_lexical(texts: list[str], background: tuple[str, ...]) -> np.ndarray:
    """The engine's TF-IDF (sublinear tf, smooth idf, background in the idf), stemmed tokens."""
    from gensim.parsing.porter import PorterStemmer

    stem = PorterStemmer().stem
    memo: dict[str, str] = {}

    def tokens(text: str) -> list[str]:
        return [memo.setdefault(w, stem(w)) for w in tokenize(text)]

    counts = [Counter(tokens(t)) for t in texts]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    for text in background:
        df.update(set(tokens(text)))
    docs = len(texts) + len(background)
    terms = {t: i for i, t in enumerate(sorted(df))}
    idf = np.array([np.log((1 + docs) / (1 + df[t])) + 1 for t in sorted(df)])
    matrix = np.zeros((len(texts), len(terms)))
    for i, c in enumerate(counts):
        for t, k in c.items():
            matrix[i, terms[t]] = (1 + np.log(k)) * idf[terms[t]]
    return cosine(matrix)


def sentence_signals(encoder: SentenceTransformerEncoder, documents: tuple[str, ...]):  # type: ignore[no-untyped-def]
    sentences = [[t for t in _SENTENCE.split(doc) if t.strip()] for doc in documents]
    flat = embed(encoder, [t for group in sentences for t in group])
    per_doc, start = [], 0
    for group in sentences:
        per_doc.append(flat[start : start + len(group)])
        start += len(group)
    return cosine(np.stack([v.mean(0) for v in per_doc])), max_sim(per_doc)


def max_sim(per_doc: list[np.ndarray]) -> np.ndarray:
    """F1 of the mean best match both ways (BERTScore without idf)."""
    n = len(per_doc)
    out = np.zeros((n, n))
    for a in range(n):
        for b in range(a, n):
            sims = per_doc[a] @ per_doc[b].T
            r, p = sims.max(1).mean(), sims.max(0).mean()
            out[a, b] = out[b, a] = 2 * r * p / (r + p)
    return out


def token_vectors(texts: list[str]) -> list[np.ndarray]:
    """Contextual word-piece vectors of each text (unit length), from the same forward pass
    that gives the pooled vector; [CLS] and [SEP] left out."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(default_model_path()), device="cpu")
    special = set(model.tokenizer.all_special_ids)
    out = []
    for o in model.encode(texts, output_value=None, batch_size=16):
        keep = (o["attention_mask"] > 0).numpy() & ~np.isin(o["input_ids"].numpy(), list(special))
        tokens = o["token_embeddings"].numpy()[keep]
        out.append(tokens / np.linalg.norm(tokens, axis=1, keepdims=True))
    return out


def topic_signals(lexical_texts: list[str], background: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Topic cosines as the engine fits them, at its rank and others, and the exact profile."""
    from recommender.storage.lexical import LexicalModel
    from recommender.storage.topics import TopicModel

    model = LexicalModel.fit(lexical_texts, background)
    assert model.topics is not None
    rows = model.matrix
    reference = sp.vstack([rows, model.transform(list(background))]).tocsr()
    out = {"p": cosine(model.topics.vectors + 0.0)}
    for rank in (64, 256):
        out[f"p{rank}"] = cosine(TopicModel.fit(rows, reference[rows.shape[0] :], rank).vectors)
    out["pe"] = cosine((rows @ reference.T).toarray())
    return out


def families(sig: dict[str, np.ndarray], title_vectors: Callable[[float], np.ndarray]):  # type: ignore[no-untyped-def]
    d, t, l, ls, s, m, x = (sig[k] for k in ("d", "t", "l", "ls", "s", "m", "x"))  # noqa: E741
    p = sig["p"]
    shipped = {"1": d + l}
    fam: dict[str, dict[str, np.ndarray]] = {
        "d (dense, recipe 2)": {"-": d},
        "l (lexical)": {"-": l},
        "d + l (shipped before)": shipped,
        "d + w l": {f"w={w}": d + w * l for w in WEIGHTS},
        "d + w ls (stemmed)": {f"w={w}": d + w * ls for w in WEIGHTS},
        "max(d + l, 0)^p (calibration)": {
            f"p={p}": np.maximum(d + l, 0) ** p for p in (0.75, 1.0, 1.25, 1.5, 2.0)
        },
        "dc + w l (centred on background)": {f"w={w}": sig["dc"] + w * l for w in WEIGHTS},
        "(d + s)/2 + w l": {f"w={w}": (d + s) / 2 + w * l for w in WEIGHTS},
        "(d + m)/2 + w l": {f"w={w}": (d + m) / 2 + w * l for w in WEIGHTS},
        "d + a t + w l (two vectors)": {
            f"a={a}, w={w}": d + a * t + w * l for a in TITLE_WEIGHTS for w in WEIGHTS
        },
        "v(a) + w l (title-weighted vector)": {
            f"a={a}, w={w}": title_vectors(a) + w * l for a in TITLE_WEIGHTS for w in WEIGHTS
        },
        "v(a) + w ls (title-weighted, stemmed)": {
            f"a={a}, w={w}": title_vectors(a) + w * ls for a in TITLE_WEIGHTS for w in WEIGHTS
        },
        "x (token max-sim)": {"-": x},
        "x + w ls (token max-sim)": {f"w={w}": x + w * ls for w in (0.25, *WEIGHTS)},
        "(d + x)/2 + w ls": {f"w={w}": (d + x) / 2 + w * ls for w in (0.25, *WEIGHTS)},
        "p (topic)": {"-": p},
        "d + w l + a p (topic, rank 128)": {
            f"w={w}, a={a}": d + w * l + a * p for w in TOPIC_LEXICAL for a in TOPIC_WEIGHTS
        },
    }
    for name in ("p64", "p256", "pe"):
        fam[f"d + w l + a {name}"] = {
            f"w={w}, a={a}": d + w * l + a * sig[name] for w in TOPIC_LEXICAL for a in TOPIC_WEIGHTS
        }
    return fam


def main() -> None:
    info = machine()
    encoder = SentenceTransformerEncoder(None)
    data, sig = lee(encoder)
    articles = lee_articles(data)
    texts = [article_text(a) for a in articles]
    text_vecs = embed(encoder, texts)
    title_vecs = embed(encoder, [a.title for a in articles])
    background = embed(encoder, list(data.background))
    centred = text_vecs - background.mean(0)
    s, m = sentence_signals(encoder, data.documents)
    signals = {
        "d": cosine(text_vecs),
        "t": cosine(title_vecs),
        "l": sig.lexical,
        "ls": stemmed_lexical([lexical_text(a) for a in articles], data.background),
        "s": s,
        "m": m,
        "x": max_sim(token_vectors(texts)),
        "dc": cosine(centred),
        **topic_signals([lexical_text(a) for a in articles], data.background),
    }
    judge = Judge(data.ratings)
    fam = families(signals, lambda a: cosine(title_weighted(text_vecs, title_vecs, a)))
    figures = {name: judge.judge(f) for name, f in fam.items()}
    settings = RankingSettings()
    engine_score = sig.dense * settings.weight_similarity + sig.lexical * settings.weight_lexical
    engine_score = engine_score + sig.topic * settings.weight_topic
    figures["engine now (shipped weights)"] = judge.judge({"shipped": engine_score})
    ecb_choice = sig.dense + 0.5 * sig.lexical + 1.5 * sig.topic  # real_corpora.py's dev grid
    figures["ECB+ dev's own choice (d + 0.5 l + 1.5 p)"] = judge.judge({"ecb+ dev": ecb_choice})
    for name, f in figures.items():
        print(
            f"{name:40s} {f['chosen_on_docs_1_25']:>14s} {f['docs_26_50']:.3f} {f['all']:.3f}"
            f" kfold {f['kfold_held_out_mean']:.3f}"
        )
    line = record(
        "lee_experiments",
        info,
        {
            "variants": figures,
            "weight_lexical": settings.weight_lexical,
            "splits": SPLITS,
        },
    )
    write_fragment("lee_experiments", "Lee50: combinations tried", body(figures), info, line)


def body(figures: dict[str, dict]) -> str:  # type: ignore[type-arg]
    table = [
        [
            name,
            f"`{f['chosen_on_docs_1_25']}`",
            fmt(f["docs_1_25"]),
            fmt(f["docs_26_50"]),
            fmt(f["all"]),
            fmt(f["kfold_held_out_mean"]),
            fmt(f["kfold_held_out_min"]),
        ]
        for name, f in figures.items()
    ]
    now = figures["engine now (shipped weights)"]
    settings = RankingSettings()
    ecb = figures["ECB+ dev's own choice (d + 0.5 l + 1.5 p)"]
    return f"""
All-MiniLM-L6-v2; Pearson with the mean human ratings. Every setting is chosen on the pairs
among documents 1-25 ("chosen"); "26-50" are the held-out pairs, "all" the 1,225 pairs; k-fold:
{SPLITS} random splits of the documents into halves, the setting chosen on one half's pairs and
judged on the other's, both ways ({2 * SPLITS} held-out figures: mean and worst). Signals: see
the script's docstring (``d`` text vector, ``t`` title vector, ``v(a)`` the text recipe 3
vector ``normalize(text + a * title)``, ``l`` lexical, ``ls`` stemmed lexical, ``s``/``m``
sentence mean / sentence max-sim, ``x`` token max-sim, ``dc`` text vector centred on the
background corpus).

Shipped: ``d + {settings.weight_lexical:g} l + {settings.weight_topic:g} p`` (dense, lexical and
topic cosine): {now["docs_26_50"]:.3f} on the held-out pairs, **{now["all"]:.3f} on all pairs**,
k-fold held-out mean {now["kfold_held_out_mean"]:.3f} (worst split {now["kfold_held_out_min"]:.3f}),
above ESA's 0.72. Its weights were chosen on development data only: this grid on the pairs among
documents 1-25 (row "d + w l + a p": ``w=0, a=1``) and ECB+ topics 1-35 (same-thread recall,
``benchmarks/real_corpora.py``), where every lexical weight from 0 to 1 at topic weight 1 is
within 0.006 Pearson on documents 1-25; 0.5 keeps the names' evidence (TF-IDF) that decides
same-story lists on ECB+ development topics. Chosen on ECB+ development topics alone (no
Lee50 pair read: lexical 0.5, topic 1.5, the best of that grid), the weights score
{ecb["all"]:.3f} on all Lee50 pairs. Before the topic evidence, ``d + 1.5 l`` scored 0.709 on
all pairs (0.606 held out, k-fold 0.718).

The topic basis keeps 128 singular vectors. That rank was picked in a first exploration that
looked at all pairs, so it is not out of sample; the rows for rank 64, rank 256 and the exact
profile cosine (no rank cut) show that the claim does not rest on it, except that 64 is too few.

Before the topic evidence, the title-weighted vector (``v(0.5) + 1.5 l``, chosen on documents
1-25) was the one cheap variant above 0.72 (0.723 on all pairs, 0.624 held out, k-fold 0.730;
measured model work 1.04-1.06x recipe 1's word pieces on the bbc and star corpora, 1.00x its
time on 100 star pages), but it is not shipped: on the demo corpus it puts the trap story "Chess
federations hold video summit and pledge partnership on world championship bid" into the top 5
of "Putin and Xi reaffirm 'no limits' partnership in video call" (above the Russia-China naval
drills story), the very failure the product exists to prevent (tests/test_e2e_model.py). It also
lowers the cosine of wire copies whose headline was rewritten, so the copy rule's thresholds
would move (the copy benchmark chose 0.85 and 0.75 within a day in those vectors, against 0.90
and 0.80). Token max-sim (``x``) scores higher still but keeps one 384-dimension vector per word
piece (about 200 per news article: 150 KB as float16, 75 KB as int8, against 1.5 KB for the
article's one vector), and every candidate's max-sim costs a (tokens x tokens) product at query
time: not shipped. Stemming (Porter) adds 0.002-0.005 and a dependency: not shipped.

{md_table(HEADER, table)}
"""


if __name__ == "__main__":
    sys.exit(main())

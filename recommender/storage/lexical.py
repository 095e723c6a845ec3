"""Lexical evidence: TF-IDF over the indexed corpus, with names counted more.

Dense vectors blur proper names: two stories about *different* summits look alike, two stories
about the *same* people and places may not. TF-IDF cosine between the source and a candidate
rewards rare shared words, and this tokenizer counts a capitalized word that does not start a
sentence (a likely name of a person, place or organisation) twice.

Statistics (vocabulary, idf) are fitted on the indexed corpus (:meth:`LexicalModel.fit` at a
build, :meth:`LexicalModel.refit` at a reindex or when the writes since the fit pass the index's
drift threshold), optionally with a background corpus, and kept fixed by the writes in between
(:meth:`LexicalModel.extend`: kept rows and known terms' idf unchanged, unseen terms appended with
the idf of a term in one document), so those writes can carry the stored read-more lists over.
Saved with the index: ``lexical-vocab.json``, ``lexical-idf.npy``, ``lexical-matrix.npz``
(L2-normalized rows, one per article), and ``lexical-background.json`` (the background's document
frequencies, so a refit after an upsert counts the same background without its texts). The topic
evidence (``storage/topics.py``: which words keep company across the corpus) is fitted, frozen
and saved with these statistics; a background corpus given as texts feeds its fit too (a refit
reads the indexed articles only).

The weighting is scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` (smooth idf, l2 rows,
sorted vocabulary), computed here from one tokenization per text. Terms appended by
:meth:`LexicalModel.extend` come after the fitted, sorted ones.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.storage.topics import TopicModel

LEXICAL_VERSION = 2
"""1: TF-IDF only; 2: with topic vectors (``storage/topics.py``)."""
VOCAB_FILE = "lexical-vocab.json"
IDF_FILE = "lexical-idf.npy"
MATRIX_FILE = "lexical-matrix.npz"
BACKGROUND_FILE = "lexical-background.json"

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['\u2019-][A-Za-z0-9]+)*")
_SENTENCE_END = re.compile(r"[.!?:;\"\u201c\u201d\n]\s*$")


@functools.cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English list plus news filler. Loaded on first tokenization, so loading
    an index and answering ``related`` for indexed articles never pays sklearn's ~2 s import."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"said", "says", "s", "t", "mr", "mrs", "ms", "year"}


def tokenize(text: str) -> list[str]:
    """Lower-cased content words; a mid-sentence capitalized word appears twice (names)."""
    tokens: list[str] = []
    stops = stop_words()
    for match in _WORD.finditer(text):
        word = match.group(0)
        lower = word.lower().replace("\u2019", "'")
        if lower.endswith("'s"):
            lower = lower[:-2]
        if len(lower) < 2 or lower in stops or lower.isdigit():
            continue
        tokens.append(lower)
        start = match.start()
        starts_sentence = _SENTENCE_END.search(text[max(0, start - 3) : start])
        if word[0].isupper() and start > 0 and not starts_sentence:
            tokens.append(lower)
    return tokens


@dataclass(frozen=True)
class TermCounts:
    """Document frequencies of a corpus that feeds the statistics but is not indexed."""

    documents: int = 0
    df: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermCounts:
        df: Counter[str] = Counter()
        documents = 0
        for text in texts:
            df.update(set(tokenize(text)))
            documents += 1
        return cls(documents, dict(df))


class LexicalModel:
    """Fitted TF-IDF statistics plus the corpus matrix, and the topic vectors fitted with them
    (None in an index written before lexical version 2)."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        matrix: sp.csr_matrix,
        background: TermCounts | None = None,
        topics: TopicModel | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = idf
        self.matrix = matrix
        self.background = background or TermCounts()
        self.topics = topics
        self._terms: list[str] | None = None

    @classmethod
    def fit(cls, texts: Sequence[str], background: Iterable[str] | TermCounts = ()) -> LexicalModel:
        """Fit idf on ``texts`` plus ``background``; the matrix holds ``texts`` only (the topic
        basis is fitted on both when the background comes as texts)."""
        counts = [Counter(tokenize(text)) for text in texts]
        background_texts: list[str] = []
        if isinstance(background, TermCounts):
            extra = background
        else:
            background_texts = list(background)
            extra = TermCounts.of(background_texts)
        df: Counter[str] = Counter(extra.df)
        for c in counts:
            df.update(c.keys())
        terms = sorted(df)
        vocabulary = {term: i for i, term in enumerate(terms)}
        documents = len(counts) + extra.documents
        freq = np.fromiter((df[t] for t in terms), dtype=np.float64, count=len(terms))
        idf = smooth_idf(freq, documents)
        model = cls(
            vocabulary,
            idf,
            sp.csr_matrix((0, len(vocabulary)), dtype=np.float32),
            extra if extra.documents else None,
        )
        model.matrix = model._rows(counts)
        extra_rows = model.transform(background_texts) if background_texts else None
        model.topics = TopicModel.fit(model.matrix, extra_rows)
        return model

    def refit(self, keep: np.ndarray, added_texts: Sequence[str]) -> LexicalModel | None:
        """What :meth:`fit` gives for the texts of rows ``keep`` plus ``added_texts`` (same
        background), without tokenizing the kept texts again; None when a kept row's counts
        cannot be recovered (then fit the texts).

        A stored weight is ``(1 + log tf) * idf / norm``, so each kept row's term counts come
        back from its weights (see :func:`_recover_counts`) and are weighted as :meth:`fit`
        weights them. A write then costs the added texts' tokenization plus one pass over the
        kept rows; a full refit re-tokenized every article (1.3 s of a 2.2 s publish at 2,000
        articles).
        """
        keep = np.asarray(keep, dtype=np.int64)
        kept = self.matrix[keep].tocsr()
        tf = _recover_counts(kept, self.idf)
        if tf is None:
            return None
        counts = [Counter(tokenize(text)) for text in added_texts]
        old_terms = self.terms()
        df: Counter[str] = Counter(self.background.df)
        column_df = np.bincount(kept.indices, minlength=len(old_terms))
        for col in np.flatnonzero(column_df).tolist():
            df[old_terms[col]] += int(column_df[col])
        for c in counts:
            df.update(c.keys())
        terms = sorted(df)
        vocabulary = {term: i for i, term in enumerate(terms)}
        documents = kept.shape[0] + len(counts) + self.background.documents
        freq = np.fromiter((df[t] for t in terms), dtype=np.float64, count=len(terms))
        idf = smooth_idf(freq, documents)
        background = self.background if self.background.documents else None
        model = LexicalModel(vocabulary, idf, sp.csr_matrix((0, len(terms))), background)
        remap = np.fromiter(
            (vocabulary.get(t, -1) for t in old_terms), dtype=np.int64, count=len(old_terms)
        )
        columns = remap[kept.indices]
        weights = (1.0 + np.log(tf.astype(np.float32))) * idf[columns]  # as _rows, float32
        data = np.zeros_like(weights)
        for lo, hi in zip(kept.indptr[:-1].tolist(), kept.indptr[1:].tolist(), strict=True):
            norm = float(np.linalg.norm(weights[lo:hi])) if hi > lo else 0.0
            if norm:
                data[lo:hi] = weights[lo:hi] / norm
        kept_rows = sp.csr_matrix(
            (data, columns, kept.indptr.copy()), shape=(kept.shape[0], len(terms))
        )
        kept_rows.sort_indices()  # terms appended by extend() come after the sorted ones
        model.matrix = sp.vstack([kept_rows, model._rows(counts)], format="csr")
        model.topics = TopicModel.fit(model.matrix)
        return model

    def extend(
        self, keep: np.ndarray, added_texts: Sequence[str], unseen_idf: float
    ) -> LexicalModel:
        """The rows ``keep`` plus ``added_texts``, weighted with these statistics (frozen):
        kept rows are copied unchanged, known terms keep their idf, and terms never seen are
        appended to the vocabulary with ``unseen_idf`` (the writer passes the idf of a term in
        one document of the fitted corpus). No other row or column moves, so every score
        between kept articles stays the same, bit for bit."""
        counts = [Counter(tokenize(text)) for text in added_texts]
        vocabulary = dict(self.vocabulary)
        for c in counts:
            for term in sorted(c):
                vocabulary.setdefault(term, len(vocabulary))
        grown = len(vocabulary) - len(self.vocabulary)
        idf = np.concatenate([self.idf, np.full(grown, unseen_idf, dtype=np.float32)])
        kept = self.matrix[np.asarray(keep, dtype=np.int64)].tocsr()
        kept_rows = sp.csr_matrix(
            (kept.data, kept.indices, kept.indptr), shape=(kept.shape[0], len(vocabulary))
        )
        background = self.background if self.background.documents else None
        model = LexicalModel(vocabulary, idf, sp.csr_matrix((0, len(vocabulary))), background)
        model.matrix = sp.vstack([kept_rows, model._rows(counts)], format="csr")
        if self.topics is not None:
            model.topics = self.topics.extend(keep, model.matrix[kept.shape[0] :])
        return model

    @property
    def version(self) -> int:
        """The lexical version these statistics are (the manifest's ``lexical_version``)."""
        return LEXICAL_VERSION if self.topics is not None else 1

    def terms(self) -> list[str]:
        """The vocabulary's terms by column."""
        if self._terms is None:
            terms = [""] * len(self.vocabulary)
            for term, col in self.vocabulary.items():
                terms[col] = term
            self._terms = terms
        return self._terms

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Sublinear-tf x idf rows, L2-normalized (words outside the vocabulary are ignored)."""
        return self._rows([Counter(tokenize(text)) for text in texts])

    def _rows(self, token_counts: Sequence[Counter[str]]) -> sp.csr_matrix:
        indptr: list[int] = [0]
        indices: list[int] = []
        data: list[float] = []
        for tokens in token_counts:
            counts: dict[int, int] = {}
            for token, n in tokens.items():
                col = self.vocabulary.get(token)
                if col is not None:
                    counts[col] = n
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
            weights = tf * self.idf[cols] if len(cols) else tf
            norm = float(np.linalg.norm(weights)) if len(cols) else 0.0
            order = np.argsort(cols)
            indices.extend(cols[order].tolist())
            data.extend((weights[order] / norm).tolist() if norm else [0.0] * len(cols))
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(token_counts), len(self.vocabulary)),
        )

    def similarity(self, query: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        """Cosine between one query row and the corpus ``rows``, in [0, 1]."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float64)
        sub = self.matrix[np.asarray(rows, dtype=np.int64)]
        return np.asarray((sub @ query.T).todense()).ravel().astype(np.float64)

    def shared_terms(self, query: sp.csr_matrix, row: int, top: int = 5) -> list[str]:
        """The terms that contribute most to the query-candidate similarity."""
        m = self.matrix
        lo, hi = m.indptr[int(row)], m.indptr[int(row) + 1]
        # CSR rows hold sorted, unique columns: no need for intersect1d to sort them again
        cols, both, q_pos = np.intersect1d(
            m.indices[lo:hi], query.indices, assume_unique=True, return_indices=True
        )
        if len(cols) == 0:
            return []
        product = m.data[lo:hi][both] * query.data[q_pos]
        order = np.argsort(-product, kind="stable")[:top]
        terms = self.terms()
        return [terms[int(cols[i])] for i in order]

    def row(self, row: int) -> sp.csr_matrix:
        return self.matrix[int(row)]

    def save(self, folder: Path) -> None:
        (folder / VOCAB_FILE).write_text(json.dumps(self.vocabulary, ensure_ascii=False))
        np.save(folder / IDF_FILE, self.idf, allow_pickle=False)
        sp.save_npz(folder / MATRIX_FILE, self.matrix.tocsr(), compressed=False)
        if self.topics is not None:
            self.topics.save(folder)
        if self.background.documents:
            (folder / BACKGROUND_FILE).write_text(
                json.dumps(
                    {"documents": self.background.documents, "df": self.background.df},
                    ensure_ascii=False,
                )
            )

    @classmethod
    def load(cls, folder: Path) -> LexicalModel:
        vocabulary = json.loads((folder / VOCAB_FILE).read_text())
        idf = np.load(folder / IDF_FILE, allow_pickle=False)
        matrix = sp.load_npz(folder / MATRIX_FILE).tocsr()
        if matrix.shape[1] != len(vocabulary) or idf.shape[0] != len(vocabulary):
            raise ValueError("lexical statistics do not match their vocabulary")
        background = None
        if (folder / BACKGROUND_FILE).exists():
            data = json.loads((folder / BACKGROUND_FILE).read_text())
            background = TermCounts(int(data["documents"]), dict(data["df"]))
        topics = TopicModel.load(folder) if TopicModel.present(folder) else None
        if topics is not None and topics.vectors.shape[0] != matrix.shape[0]:
            raise ValueError("topic vectors do not match the lexical rows")
        return cls(vocabulary, idf, matrix, background, topics)

    @staticmethod
    def present(folder: Path) -> bool:
        return (folder / VOCAB_FILE).exists()


def smooth_idf(df: np.ndarray, documents: int) -> np.ndarray:
    """scikit-learn's smooth idf, ``ln((1 + n) / (1 + df)) + 1``, as float32."""
    return (np.log((1.0 + documents) / (1.0 + df)) + 1.0).astype(np.float32)


def _recover_counts(matrix: sp.csr_matrix, idf: np.ndarray) -> np.ndarray | None:
    """The term counts behind L2-normalized sublinear tf-idf rows (aligned with
    ``matrix.data``), or None if a row does not fit.

    ``data / idf = (1 + log tf) / norm``; a row's smallest value belongs to its rarest term,
    almost always counted once (``1 / norm``); rows where that guess fails are tried with a
    smallest count of 2 to 6. Every recovered row is checked against its stored weights.
    """
    t = matrix.data.astype(np.float64) / idf[matrix.indices]
    n = matrix.shape[0]
    sizes = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n), sizes)
    counts = np.zeros(len(t), dtype=np.int64)
    if not len(t):
        return counts
    nonempty = sizes > 0
    smallest = np.full(n, np.inf)
    smallest[nonempty] = np.minimum.reduceat(t, matrix.indptr[:-1][nonempty])
    todo = nonempty.copy()
    for least in range(1, 7):
        norm = (1.0 + np.log(least)) / smallest
        guess = np.rint(np.exp(t * norm[rows] - 1.0))
        guess = np.maximum(guess, 1.0)
        weights = (1.0 + np.log(guess)) * idf[matrix.indices]
        norms = np.sqrt(np.bincount(rows, weights=weights**2, minlength=n))
        error = np.abs(weights / norms[rows] - matrix.data)
        bad = np.bincount(rows, weights=(error > 1e-5).astype(np.float64), minlength=n) > 0
        fits = todo & ~bad
        counts[fits[rows]] = guess[fits[rows]].astype(np.int64)
        todo &= bad
        if not todo.any():
            return counts
    return None

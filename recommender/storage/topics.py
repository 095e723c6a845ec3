"""Topic evidence: two articles are related when their words keep company across the site.

TF-IDF cosine counts only the words two articles share. A flood in Hunan and a flood on the Elbe
share few ("flood" and "flooding" are different tokens; "thunderstorms", "dykes", "river" are
not in both), yet readers call them one topic. The archive knows better: those words occur
together in other articles. Each article's TF-IDF row ``x`` is compared with every fitted
article's row (``x R^T``: how much it resembles each one), and two articles are related when
they resemble the same articles: the cosine of those profiles,

    topic(a, b) = cos(x_a R^T, x_b R^T) = cos(x_a V S, x_b V S)    where R = U S V^T,

which is the term co-occurrence (generalized vector space) model: ``R^T R`` relates terms that
occur in the same articles. The right-hand form needs no profile over the whole corpus: each
article keeps ``rank`` numbers (``x V S`` for the top singular vectors, unit length), and the
basis ``V S`` (terms x rank) is fitted once with the lexical statistics.

Lifecycle: fitted with the lexical statistics (build, reindex, a refit past the drift
threshold) and frozen between fits like them (:meth:`TopicModel.extend`: kept rows unchanged,
new rows projected on the fitted basis; terms added after the fit have no basis row and count
nothing until the next fit). Saved with the index: ``topic-basis.npy``, ``topic-vectors.npy``.

Measured in ``benchmarks/lee_experiments.py`` (Lee50's human ratings) and
``benchmarks/real_corpora.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

TOPIC_RANK = 128
"""Singular vectors kept: Lee50 Pearson is level from 128 to the exact profile cosine."""
EXACT_ROWS = 2048
"""Fits on at most this many rows solve the exact eigenproblem of ``R R^T``; larger ones use a
seeded randomized SVD."""
FIT_ROWS = 50_000
"""Rows a fit reads at most (a seeded sample beyond): the basis of a large archive is steady."""
BASIS_FILE = "topic-basis.npy"
VECTORS_FILE = "topic-vectors.npy"


class TopicModel:
    """The fitted basis ``V S`` (fitted terms x rank) and one unit vector per article."""

    def __init__(self, basis: np.ndarray, vectors: np.ndarray) -> None:
        self.basis = np.ascontiguousarray(basis, dtype=np.float32)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @classmethod
    def fit(
        cls, matrix: sp.csr_matrix, extra: sp.csr_matrix | None = None, rank: int = TOPIC_RANK
    ) -> TopicModel:
        """Fit the basis on ``matrix`` (the articles' L2-normalized TF-IDF rows) plus ``extra``
        rows (a background corpus: fitted on, not stored); vectors for ``matrix``'s rows."""
        rows = matrix if extra is None or extra.shape[0] == 0 else sp.vstack([matrix, extra])
        rows = sp.csr_matrix(rows, dtype=np.float64)
        if rows.shape[0] > FIT_ROWS:
            pick = np.random.default_rng(0).choice(rows.shape[0], FIT_ROWS, replace=False)
            rows = rows[np.sort(pick)]
        basis = _basis(rows, rank)
        model = cls(basis, np.zeros((0, basis.shape[1]), dtype=np.float32))
        model.vectors = model.project(matrix)
        return model

    def project(self, rows: sp.csr_matrix) -> np.ndarray:
        """Unit topic vectors of TF-IDF ``rows`` (columns past the fitted terms count nothing;
        a row with no fitted term gets the zero vector: no topic evidence)."""
        rows = sp.csr_matrix(rows)
        fitted = self.basis.shape[0]
        if rows.shape[1] > fitted:
            rows = rows[:, :fitted]
        elif rows.shape[1] < fitted:
            rows = sp.csr_matrix((rows.data, rows.indices, rows.indptr), (rows.shape[0], fitted))
        out = np.asarray(rows @ self.basis, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def extend(self, keep: np.ndarray, added: sp.csr_matrix) -> TopicModel:
        """The rows ``keep`` (unchanged) plus ``added`` projected on the frozen basis."""
        kept = self.vectors[np.asarray(keep, dtype=np.int64)]
        return TopicModel(self.basis, np.vstack([kept, self.project(added)]))

    def similarity(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Topic cosine between one query vector and the articles ``rows``, in [-1, 1]."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float64)
        return (self.vectors[np.asarray(rows, dtype=np.int64)] @ query).astype(np.float64)

    def same_basis(self, other: TopicModel) -> bool:
        return self.basis.shape == other.basis.shape and np.array_equal(self.basis, other.basis)

    def save(self, folder: Path) -> None:
        np.save(folder / BASIS_FILE, self.basis, allow_pickle=False)
        np.save(folder / VECTORS_FILE, self.vectors, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> TopicModel:
        basis = np.load(folder / BASIS_FILE, allow_pickle=False)
        # mapped, not read: a large archive's vectors stay on disk until candidates are scored
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        if basis.ndim != 2 or vectors.ndim != 2 or basis.shape[1] != vectors.shape[1]:
            raise ValueError("topic basis and vectors do not match")
        return cls(basis, vectors)

    @staticmethod
    def present(folder: Path) -> bool:
        return (folder / BASIS_FILE).exists() and (folder / VECTORS_FILE).exists()


def _basis(rows: sp.csr_matrix, rank: int) -> np.ndarray:
    """``V S`` for the top ``rank`` singular values of ``rows`` (terms x rank; fewer columns
    when the rows span fewer dimensions). Signs are fixed (largest entry positive), so a fit
    of the same rows gives the same basis."""
    n, terms = rows.shape
    if n == 0 or terms == 0 or rows.nnz == 0:
        return np.zeros((terms, 0), dtype=np.float32)
    if n <= EXACT_ROWS:
        gram = (rows @ rows.T).toarray()
        values, vectors = np.linalg.eigh(gram)  # ascending
        order = np.argsort(-values)[:rank]
        values, vectors = values[order], vectors[:, order]
        keep = values > values[0] * 1e-10
        # R^T U = V S: the basis without forming V
        basis = np.asarray(rows.T @ vectors[:, keep])
    else:
        from sklearn.utils.extmath import randomized_svd

        _, sigma, vt = randomized_svd(rows, min(rank, n, terms), n_iter=5, random_state=0)
        keep = sigma > sigma[0] * 1e-5
        basis = vt[keep].T * sigma[keep]
    flip = np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(basis.shape[1])])
    return (basis * np.where(flip == 0, 1.0, flip)).astype(np.float32)

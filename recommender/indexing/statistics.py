"""Corpus statistics between fits: when a write keeps them fixed, and when it fits them again.

The lexical idf and the tags' idf are corpus-wide: fitted afresh at every write, one new text
would move the score of every list that shares a term with it, and no stored read-more list could
be carried over. So they are *fitted* at a build and a reindex and *kept fixed* (frozen) by the
upserts and removes in between:

- kept articles keep their lexical rows and every known term its idf, bit for bit;
- a new or changed text is weighted with the fitted idf; a term no fitted text had is appended
  to the vocabulary with the idf of a term in one document of the fitted corpus
  (``ln((1 + n) / 2) + 1``, ``n`` the fitted documents), the rarest a fitted term can be;
- a tag no fitted article had gets the idf of a tag on one article (``log(1 + n)``);
- a removed article's terms and tags stay in the statistics until the next fit.

Live ranking reads the same stored statistics as the stored lists, so both stay equal to the
bit. The frozen statistics drift from the corpus as it changes: when the articles written
(added, replaced or removed) since the fit pass ``refit_drift`` times the articles fitted on
(default :data:`DEFAULT_REFIT_DRIFT`, a build option stored with the index), the write fits them
again, on the whole corpus as it then is, and ranks every list again. ``refit_drift = 0`` fits
at every write (each text write then ranks every list).

The manifest's ``statistics`` field records the fit: ``fitted_at``, ``articles`` and
``documents`` (lexical documents, the background corpus included) fitted on, ``written`` since,
and ``refit_drift``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.articles import Article
from recommender.errors import SettingsError
from recommender.storage.lexical import LexicalModel, smooth_idf
from recommender.storage.store import fit_tag_idf, unseen_tag_idf
from recommender.text import lexical_text

if TYPE_CHECKING:
    from recommender.engine import Engine

DEFAULT_REFIT_DRIFT = 0.2
"""Refit when more articles than this share of the fitted corpus were written since the fit."""


def check_refit_drift(value: float) -> float:
    if not value >= 0:
        raise SettingsError(f"refit_drift must be 0 or more, got {value}")
    return float(value)


@dataclass(frozen=True)
class Statistics:
    """The manifest's ``statistics``: when the corpus statistics were fitted, and on what."""

    fitted_at: str
    articles: int
    documents: int
    written: int = 0
    refit_drift: float = DEFAULT_REFIT_DRIFT

    @classmethod
    def fitted(cls, articles: int, documents: int, refit_drift: float) -> Statistics:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return cls(now, articles, documents, 0, check_refit_drift(refit_drift))

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> Statistics | None:
        """The recorded fit, or None for an index written before statistics were frozen."""
        if not data:
            return None
        return cls(
            fitted_at=str(data["fitted_at"]),
            articles=int(data["articles"]),
            documents=int(data["documents"]),
            written=int(data.get("written", 0)),
            refit_drift=float(data.get("refit_drift", DEFAULT_REFIT_DRIFT)),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def refit_reason(self, writing: int) -> str:
        """Why a write of ``writing`` articles must fit the statistics again ("" to keep them)."""
        written = self.written + writing
        if written > self.refit_drift * self.articles:
            return (
                f"statistics refitted: {written} articles written since the fit, more than"
                f" refit_drift {self.refit_drift:g} x {self.articles} fitted"
            )
        return ""

    def after(self, writing: int) -> Statistics:
        """The same fit, with ``writing`` more articles written since."""
        return dataclasses.replace(self, written=self.written + writing)

    def unseen_term_idf(self) -> float:
        """The idf of a term no fitted document had: one document's, at the fitted size."""
        return float(smooth_idf(np.array([1.0]), self.documents)[0])


@dataclass(frozen=True)
class WriteStatistics:
    """The statistics a write stores: lexical model, tag idf, the fit's record, and why the
    write fitted them again ("" when it kept them fixed)."""

    lexical: LexicalModel
    tag_idf: dict[str, float]
    statistics: Statistics
    refit: str = ""


def recorded(current: Engine) -> Statistics | None:
    """The current version's fit. Versions written before the record existed were fitted at
    their own write, on exactly their articles: that fit, with nothing written since."""
    stats = Statistics.from_manifest(current.manifest.statistics)
    if stats is not None or current.lexical is None:
        return stats
    documents = fitted_documents(current.lexical)
    fitted_at = current.manifest.built_at or ""
    return Statistics(fitted_at, len(current.store), documents, 0, DEFAULT_REFIT_DRIFT)


def fitted_documents(lexical: LexicalModel) -> int:
    """Documents the lexical statistics count: the corpus's rows and the background's."""
    return int(lexical.matrix.shape[0]) + lexical.background.documents


def for_write(
    current: Engine, keep: np.ndarray, added: Sequence[Article], added_texts: Sequence[str]
) -> WriteStatistics:
    """The statistics of ``current``'s rows ``keep`` plus ``added`` (``added_texts``: their
    lexical texts): the current ones kept fixed, or fitted again past the drift threshold."""
    stats = recorded(current)
    added_ids = {a.id for a in added}
    ids = current.store.columns.ids
    dropped = np.setdiff1d(np.arange(len(ids)), keep).tolist()
    writing = len(added) + sum(1 for r in dropped if str(ids[r]) not in added_ids)
    if stats is None or current.lexical is None:
        return refit(current, keep, added, added_texts, DEFAULT_REFIT_DRIFT, "no statistics")
    reason = stats.refit_reason(writing)
    if reason:
        return refit(current, keep, added, added_texts, stats.refit_drift, reason)
    lexical = current.lexical.extend(keep, added_texts, stats.unseen_term_idf())
    tag_idf = dict(current.store.columns.tag_idf)
    unseen = unseen_tag_idf(stats.articles)
    for article in added:
        for tag in article.tags:
            tag_idf.setdefault(tag.casefold(), unseen)
    return WriteStatistics(lexical, tag_idf, stats.after(writing))


def refit(
    current: Engine,
    keep: np.ndarray,
    added: Sequence[Article],
    added_texts: Sequence[str],
    refit_drift: float,
    reason: str,
) -> WriteStatistics:
    """The statistics fitted on ``current``'s rows ``keep`` plus ``added``."""
    lexical = refit_lexical(current, keep, added_texts)
    tags = current.store.columns.tags
    tag_idf = fit_tag_idf([*(tags[r] for r in keep.tolist()), *(a.tags for a in added)])
    stats = Statistics.fitted(len(keep) + len(added), fitted_documents(lexical), refit_drift)
    return WriteStatistics(lexical, tag_idf, stats, reason)


def refit_lexical(current: Engine, keep: np.ndarray, added_texts: Sequence[str]) -> LexicalModel:
    """Lexical statistics fitted on the kept articles plus the added texts (same background)."""
    if current.lexical is not None:
        refitted = current.lexical.refit(keep, added_texts)  # no re-tokenizing of kept texts
        if refitted is not None:
            return refitted
    stored = current.store.titles_and_bodies()
    texts = [
        lexical_text(Article(id="-", title=stored[r][0], body=stored[r][1])) for r in keep.tolist()
    ]
    background = current.lexical.background if current.lexical is not None else ()
    return LexicalModel.fit([*texts, *added_texts], background)

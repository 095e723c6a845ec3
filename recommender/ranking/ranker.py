"""From a source vector to k explained results: retrieve, filter, score, collapse duplicates,
diversify, fall back, apply pins. The engine owns one :class:`Ranker` per loaded index.

    candidates (ANN top-N, or exact over a small filtered set)
      -> hard + soft filters, request excludes, editorial blocks
      -> score: similarity + lexical + topic + recency + category + tags   (signals.py)
      -> drop the source's own copies; collapse copies of one story to one (canonical/newest)
      -> MMR among the final k (if mmr_lambda < 1)
      -> fallback fill (same category, then recent) when filters leave fewer than k
      -> editorial pins at their positions
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.articles import Article
from recommender.errors import SettingsError
from recommender.ranking import RankingSettings, floor
from recommender.ranking.dedupe import copy_groups, copy_matrix, is_copy, lexical_pairs
from recommender.ranking.filters import FilterSource, hard_mask, soft_mask
from recommender.ranking.rules import EditorialRules
from recommender.ranking.signals import (
    category_scores,
    combine,
    mmr_order,
    recency_scores,
    relatedness,
    tag_scores,
)
from recommender.ranking.sources import Ranked, Source, draft_source, indexed_source
from recommender.results import COMPONENTS, Why
from recommender.storage.index import VectorIndex
from recommender.storage.lexical import LexicalModel
from recommender.storage.store import Store

EXACT_LIMIT = 4096
"""When filters leave at most this many rows, score them all exactly instead of searching."""


@dataclass
class _Scored:
    rows: np.ndarray
    cosine: np.ndarray
    total: np.ndarray
    parts: dict[str, np.ndarray]
    lexical: np.ndarray
    topic: np.ndarray
    age: np.ndarray
    same_category: np.ndarray
    shared_tags: list[list[str]]
    age_reference: str
    relatedness: np.ndarray
    mmr_penalties: dict[int, float] = field(default_factory=dict)


def pool_size(settings: RankingSettings, want: int, banned: int, n: int) -> int:
    """How many ANN candidates to fetch first: the one rule, for single and batched queries."""
    return min(n, max(settings.candidate_pool, want + banned))


class Ranker:
    """Ranks candidates for one loaded version: its vectors, columns, lexical model and rules."""

    def __init__(
        self,
        index: VectorIndex,
        store: Store,
        lexical: LexicalModel | None,
        rules: EditorialRules,
    ) -> None:
        self.index = index
        self.store = store
        self.columns = store.columns
        self.lexical = lexical
        self.rules = rules
        self.row_of = store.row_of
        self._evergreen: dict[str | None, np.ndarray] = {}
        self._recent_order: np.ndarray | None = None

    # ------------------------------------------------------------------ sources
    def indexed_source(self, article_id: str) -> Source:
        """The source for an indexed article, from its stored vector and columns."""
        return indexed_source(self.store, self.index, self.lexical, article_id)

    def draft_source(self, article: Article, vector: np.ndarray, text: str) -> Source:
        """The source for a draft (or an article given in full), embedded by the caller."""
        return draft_source(self.store, self.lexical, article, vector, text)

    # ------------------------------------------------------------------ helpers
    def evergreen(self, tag: str | None) -> np.ndarray:
        if tag not in self._evergreen:
            self._evergreen[tag] = self.columns.evergreen(tag)
        return self._evergreen[tag]

    def recent_order(self) -> np.ndarray:
        """All rows, newest first, undated last (computed once)."""
        if self._recent_order is None:
            stamps = np.nan_to_num(self.columns.timestamps, nan=-np.inf)
            self._recent_order = np.argsort(-stamps, kind="stable")
        return self._recent_order

    def _score(
        self, rows: np.ndarray, cosine: np.ndarray, source: Source, s: RankingSettings, now: float
    ) -> _Scored:
        cols = self.columns
        if s.recency_reference == "source" and not np.isnan(source.timestamp):
            reference, symmetric = source.timestamp, True
        else:
            reference, symmetric = now, False
        recency, age = recency_scores(
            cols.timestamps[rows],
            reference,
            s.half_life_days,
            symmetric=symmetric,
            evergreen=self.evergreen(s.evergreen_tag)[rows],
        )
        same_category = category_scores(cols.categories[rows], source.category)
        tags, shared = tag_scores(source.tags, [cols.tags[r] for r in rows], cols.tag_idf)
        has_lexical = self.lexical is not None and source.lexical is not None
        lexical = np.zeros(len(rows))
        if self.lexical is not None and source.lexical is not None:
            lexical = self.lexical.similarity(source.lexical, rows)
        topics = self.lexical.topics if self.lexical is not None else None
        has_topic = topics is not None and source.topic is not None
        topic = np.zeros(len(rows))
        if topics is not None and source.topic is not None:
            topic = topics.similarity(source.topic, rows)
        related = relatedness(
            cosine,
            lexical if has_lexical else None,
            s.weight_similarity,
            s.weight_lexical,
            topic if has_topic else None,
            s.weight_topic,
        )
        values = {"similarity": cosine, "lexical": lexical, "topic": topic, "recency": recency}
        values.update({"category": same_category, "tags": tags})
        total, parts = combine(values, {name: getattr(s, f"weight_{name}") for name in values})
        return _Scored(
            rows,
            cosine,
            total,
            parts,
            lexical,
            topic,
            age,
            same_category,
            shared,
            "source" if symmetric else "now",
            related,
        )

    def _why(self, sc: _Scored, i: int, source: Source, **acted: Any) -> Why:
        """The explanation of scored candidate ``i``; ``acted``: what else acted on it."""
        terms: list[str] = []
        if self.lexical is not None and source.lexical is not None and sc.lexical[i] > 0:
            terms = self.lexical.shared_terms(source.lexical, int(sc.rows[i]))
        age = sc.age[i]
        return Why(
            contributions={name: round(float(sc.parts[name][i]), 6) for name in COMPONENTS},
            cosine=round(float(sc.cosine[i]), 6),
            lexical=round(float(sc.lexical[i]), 6),
            topic=round(float(sc.topic[i]), 6),
            relatedness=round(float(sc.relatedness[i]), 6),
            shared_terms=tuple(terms),
            shared_tags=tuple(sc.shared_tags[i]),
            same_category=bool(sc.same_category[i]),
            age_days=None if np.isnan(age) else round(float(age), 2),
            age_reference=sc.age_reference,
            **acted,
        )

    # ------------------------------------------------------------------ the pipeline
    def rank_many(
        self,
        article_ids: Sequence[str],
        k: int,
        settings: RankingSettings,
        batch_size: int = 256,
        *,
        now: float | None = None,
    ) -> Iterator[tuple[str, list[Ranked]]]:
        """:meth:`rank` for many indexed articles, with one batched ANN search per batch."""
        sources = [self.indexed_source(aid) for aid in article_ids]
        n = len(self.columns.ids)
        pool = pool_size(settings, k, 1, n)  # the source itself is the one banned row
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            scores, found = self.index.search(np.stack([s.vector for s in chunk]), pool)
            for i, source in enumerate(chunk):
                hits = (found[i], scores[i])
                yield str(source.id), self.rank(source, k, settings, (), now=now, first_hits=hits)

    def rank(
        self,
        source: Source,
        k: int,
        settings: RankingSettings,
        exclude: Collection[str] = (),
        *,
        now: float | None = None,
        first_hits: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[Ranked]:
        if k < 1:
            raise SettingsError("k must be at least 1")
        now = dt.datetime.now(dt.timezone.utc).timestamp() if now is None else now
        cols = self.columns
        n = len(cols.ids)
        excluded_rows = {r for r in (self.row_of(i) for i in exclude) if r is not None}
        blocked_rows = {
            r for r in (self.row_of(i) for i in self.rules.banned_for(source.id)) if r is not None
        }
        banned = excluded_rows | blocked_rows
        if source.row is not None:
            banned.add(source.row)
        fsrc = FilterSource(source.timestamp, source.category, source.language, source.tags)
        hard, hard_notes = hard_mask(cols, fsrc, settings, self.rules.block_categories)
        soft, soft_notes = soft_mask(
            cols, fsrc, settings, now=now, evergreen=self.evergreen(settings.evergreen_tag)
        )
        mask = hard if soft is None else (soft if hard is None else hard & soft)
        filters = tuple(hard_notes + soft_notes)
        banned_arr = np.fromiter(banned, dtype=np.int64, count=len(banned))
        if mask is None:
            eligible = n - len(banned)
        else:
            eligible = int(mask.sum()) - int(mask[banned_arr].sum() if len(banned_arr) else 0)
        want = min(k, max(eligible, 0))

        chosen: list[tuple[int, list[int]]] = []  # (position in scored, collapsed positions)
        sc: _Scored | None = None
        if want > 0:
            sc, chosen = self._retrieve_and_select(
                source, want, settings, mask, banned_arr, eligible, now, first_hits
            )
        results: list[Ranked] = []
        if sc is not None:
            for pos, collapsed in chosen:
                mmr = sc.mmr_penalties.get(pos)
                why = self._why(
                    sc,
                    pos,
                    source,
                    filters=filters,
                    collapsed=tuple(str(cols.ids[sc.rows[c]]) for c in collapsed),
                    mmr_penalty=round(mmr, 6) if mmr else None,
                )
                results.append(Ranked(int(sc.rows[pos]), float(sc.total[pos]), why))
        if len(results) < k and settings.fallback:
            results += self._fallback(
                source, k - len(results), settings, hard, banned, results, now
            )
        return self._apply_pins(source, results, k, settings, excluded_rows | blocked_rows, now)

    def _retrieve_and_select(
        self,
        source: Source,
        want: int,
        s: RankingSettings,
        mask: np.ndarray | None,
        banned: np.ndarray,
        eligible: int,
        now: float,
        first_hits: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[_Scored, list[tuple[int, list[int]]]]:
        n = len(self.columns.ids)
        pool = pool_size(s, want, len(banned), n)
        while True:
            if mask is not None and eligible <= EXACT_LIMIT:
                rows = np.flatnonzero(mask)
                rows = rows[~np.isin(rows, banned)]
                cosine = self.index.vectors(rows) @ source.vector if len(rows) else np.zeros(0)
                exhaustive = True
            else:
                if first_hits is not None and len(first_hits[0]) >= pool:
                    found, scores = first_hits
                else:
                    s2, r2 = self.index.search(source.vector[None, :], pool)
                    found, scores = r2[0], s2[0]
                first_hits = None
                keep = found >= 0
                if len(banned):
                    keep &= ~np.isin(found, banned)
                if mask is not None:
                    keep &= mask[np.where(found >= 0, found, 0)]
                rows, cosine = found[keep], scores[keep]
                exhaustive = pool >= n
            sc = self._score(rows.astype(np.int64), cosine.astype(np.float64), source, s, now)
            chosen = self._select(sc, source, want, s)
            # Re-ranking lifts candidates from deep in the pool and collapsing removes some, so
            # the pool must hold well more than k survivors; grow it until it does or is all,
            # or until nothing outside it can clear the relatedness floor.
            if exhaustive or (len(chosen) >= want and len(rows) >= min(eligible, 2 * want)):
                return sc, chosen
            if len(chosen) < want and floor.unreachable(
                s, found, scores, n, self._lexical_of(source), source.topic
            ):
                return sc, chosen
            pool = min(n, pool * 4)

    def _lexical_of(self, source: Source) -> tuple[LexicalModel, Any] | None:
        if self.lexical is None or source.lexical is None:
            return None
        return self.lexical, source.lexical

    def _select(
        self, sc: _Scored, source: Source, want: int, s: RankingSettings
    ) -> list[tuple[int, list[int]]]:
        """Best-first positions after duplicate collapse and MMR, with collapsed copies."""
        order = np.lexsort((sc.rows, -sc.total))
        order = order[sc.relatedness[order] >= s.min_relatedness]  # the relatedness floor
        if not s.dedupe and s.mmr_lambda >= 1.0:
            return [(int(p), []) for p in order[:want]]
        cols = self.columns
        top = len(order)
        limit = min(top, max(50, 5 * want))
        while True:
            cand = order[:limit]
            vecs = self.index.vectors(sc.rows[cand])
            titles = [cols.norm_titles[r] for r in sc.rows[cand]]
            stamps = cols.timestamps[sc.rows[cand]]
            if s.dedupe:
                matrix = self.lexical.matrix if self.lexical is not None else None
                lex_source, lex_pairs = lexical_pairs(
                    matrix, sc.rows[cand], source.lexical, sc.lexical[cand]
                )
                me = (source.vector, source.norm_title, source.timestamp)
                copy_of_source = is_copy(me, vecs, titles, stamps, s, lex_source)
                copies = copy_matrix(vecs, titles, stamps, s, lex_pairs)
                groups = copy_groups(copies, copy_of_source)
            else:
                groups = [[i] for i in range(len(cand))]
            reps: list[tuple[int, list[int]]] = []
            for g in groups:
                if len(g) == 1:  # a story with one copy: nothing to choose
                    reps.append((g[0], []))
                    continue
                rep = max(g, key=lambda i: self._representative_key(sc, int(cand[i])))
                reps.append((rep, [j for j in g if j != rep]))
            reps.sort(key=lambda item: (-sc.total[cand[item[0]]], sc.rows[cand[item[0]]]))
            if len(reps) >= want or limit >= top:
                break
            limit = min(top, limit * 2)
        if s.mmr_lambda < 1.0 and len(reps) > 1:
            rep_pos = np.array([cand[r] for r, _ in reps])
            rv = self.index.vectors(sc.rows[rep_pos])
            picked, penalties = mmr_order(sc.total[rep_pos], rv @ rv.T, want, s.mmr_lambda)
            sc.mmr_penalties = {
                int(rep_pos[p]): pen for p, pen in zip(picked, penalties, strict=True)
            }
            reps = [reps[p] for p in picked]
        return [(int(cand[r]), [int(cand[c]) for c in coll]) for r, coll in reps[:want]]

    def _representative_key(self, sc: _Scored, pos: int) -> tuple[bool, float, float]:
        """Which copy of a story to show: the canonical one, else the newest, else the best."""
        row = sc.rows[pos]
        stamp = self.columns.timestamps[row]
        return (
            bool(self.columns.canonical[row]),
            -np.inf if np.isnan(stamp) else stamp,
            float(sc.total[pos]),
        )

    def _fallback(
        self,
        source: Source,
        need: int,
        s: RankingSettings,
        hard: np.ndarray | None,
        banned: set[int],
        have: list[Ranked],
        now: float,
    ) -> list[Ranked]:
        """Recent articles (same category first) passing the hard filters, copies excluded."""
        cols = self.columns
        taken = banned | {r.row for r in have}
        taken_vecs = [source.vector, *self.index.vectors(np.array([r.row for r in have]))]
        taken_titles = [source.norm_title, *(cols.norm_titles[r.row] for r in have)]
        taken_stamps = [source.timestamp, *(cols.timestamps[r.row] for r in have)]
        out: list[Ranked] = []
        order = self.recent_order()
        for kind in s.fallback:
            if kind == "same_category":
                if source.category < 0:
                    continue
                rows = order[cols.categories[order] == source.category]
            else:
                rows = order
            for row in rows:
                if len(out) >= need:
                    return out
                row = int(row)
                if row in taken or (hard is not None and not hard[row]):
                    continue
                vec = self.index.vectors(np.array([row]))[0]
                me = (vec, cols.norm_titles[row], float(cols.timestamps[row]))
                if (
                    s.dedupe
                    and is_copy(
                        me, np.array(taken_vecs), taken_titles, np.array(taken_stamps), s
                    ).any()
                ):
                    continue
                sc = self._score(
                    np.array([row]), np.array([float(vec @ source.vector)]), source, s, now
                )
                out.append(Ranked(row, float(sc.total[0]), self._why(sc, 0, source, fallback=kind)))
                taken.add(row)
                taken_vecs.append(vec)
                taken_titles.append(cols.norm_titles[row])
                taken_stamps.append(float(cols.timestamps[row]))
        return out

    def _apply_pins(
        self,
        source: Source,
        results: list[Ranked],
        k: int,
        s: RankingSettings,
        forbidden: set[int],
        now: float,
    ) -> list[Ranked]:
        pins = self.rules.pins_for(source.id)
        if not pins:
            return results[:k]
        results = list(results)
        for pin in pins:
            row = self.row_of(pin.id)
            if row is None or row == source.row or row in forbidden:
                continue
            results = [r for r in results if r.row != row]
            vec = self.index.vectors(np.array([row]))[0]
            cosine = np.array([float(vec @ source.vector)])
            sc = self._score(np.array([row]), cosine, source, s, now)
            why = self._why(sc, 0, source, rules=(f"pinned at position {pin.position}",))
            pinned = Ranked(row, float(sc.total[0]), why)
            results.insert(min(pin.position - 1, len(results)), pinned)
        return results[:k]

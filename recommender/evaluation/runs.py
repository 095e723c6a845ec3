"""The two evaluations, end to end: Lee50 pair scores and a site's gold set.

Both read the engine only through ``related`` / ``related_many`` with ranking ``options``
passed through unchanged, so whatever the ranking layer becomes is what gets measured.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.evaluation.gold import GoldSet
from recommender.evaluation.lee import (
    REFERENCE_PEARSON,
    LeeData,
    lee_articles,
    lee_metrics,
    load_lee,
)
from recommender.evaluation.lists import ListProperties, engine_lookups, list_properties
from recommender.evaluation.metrics import binary_qrels, ranking_metrics, run_from_lists
from recommender.evaluation.pairs import engine_pair_scores

if TYPE_CHECKING:
    from recommender.encoder import Encoder
    from recommender.engine import Engine


@dataclass(frozen=True)
class LeeReport:
    figures: dict[str, float]
    model: str
    options: dict[str, Any]
    """The ranking options passed to ``related`` (overrides of the defaults)."""
    settings: dict[str, Any]
    """The full ranking settings evaluated."""
    seconds: float
    reference_pearson: dict[str, float] = field(default_factory=lambda: dict(REFERENCE_PEARSON))

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": "lee50",
            **{k: round(v, 4) if isinstance(v, float) else v for k, v in self.figures.items()},
            "reference_pearson": self.reference_pearson,
            "model": self.model,
            "options": self.options,
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
        }


def build_lee_engine(
    folder: Path,
    data: LeeData,
    *,
    encoder: Encoder | None = None,
    model: str | None = None,
) -> Engine:
    """An index of the 50 documents in ``folder`` (the background corpus feeds only the
    lexical statistics), loaded."""
    from recommender.engine import Engine

    index = folder / "lee50"
    Engine.build(
        lee_articles(data),
        index,
        encoder=encoder,
        model=model,
        cache=False,
        background_texts=data.background,
    )
    return Engine.load(index, encoder=encoder)


def evaluate_lee(
    *,
    encoder: Encoder | None = None,
    model: str | None = None,
    options: Mapping[str, Any] | None = None,
    data: LeeData | None = None,
) -> LeeReport:
    """Build a temporary index of Lee50 and score the engine's lists against the ratings."""
    started = time.perf_counter()
    data = data or load_lee()
    options = dict(options or {})
    with tempfile.TemporaryDirectory(prefix="recommender-lee-") as tmp:
        engine = build_lee_engine(Path(tmp), data, encoder=encoder, model=model)
        try:
            settings = engine.settings.replace(**options).to_dict()
            pairs = engine_pair_scores(engine, data.ids, **options)
            model_name = engine.manifest.model_name
        finally:
            engine.close()
    return LeeReport(
        figures=lee_metrics(pairs, data),
        model=model_name,
        options=options,
        settings=settings,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class GoldReport:
    k: int
    figures: dict[str, float]
    properties: ListProperties
    sources: int
    index: str
    options: dict[str, Any]
    settings: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            **{k: round(v, 4) for k, v in self.figures.items()},
            "gold_sources": self.sources,
            "list_properties": {
                k: round(v, 4) if isinstance(v, float) else v
                for k, v in self.properties.to_dict().items()
            },
            "index": self.index,
            "options": self.options,
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
        }


def gold_metric_names(k: int) -> list[str]:
    return [f"recall@{k}", f"ndcg@{k}", "mrr"]


def gold_metrics(
    lists: Mapping[str, Sequence[str]],
    gold: Mapping[str, Sequence[str]],
    k: int,
    copy_of: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """recall@k, nDCG@k (binary gains) and MRR of ranked ``lists`` against ``gold``.

    MRR is read from the same top-k lists (a source whose list holds no gold id scores 0).
    ``copy_of`` (:meth:`GoldSet.copy_of`) maps copies of one story to one id: a gold copy group
    is one relevant item, and a list that shows two copies finds it once (its second copy is a
    wasted slot, as a reader sees it).
    """
    if copy_of:
        gold = {s: list(dict.fromkeys(copy_of.get(i, i) for i in ids)) for s, ids in gold.items()}
        lists = {s: _once(copy_of.get(i, i) for i in ids) for s, ids in lists.items()}
    return ranking_metrics(binary_qrels(gold), run_from_lists(lists), gold_metric_names(k))


def _once(ids: Iterable[str]) -> list[str]:
    """``ids`` in order, each first occurrence only; later copies become unique placeholders so
    they keep their slot (the list does not get shorter, nor do later positions move up)."""
    seen: set[str] = set()
    out: list[str] = []
    for i in ids:
        out.append(i if i not in seen else f"\x00copy:{len(out)}")
        seen.add(i)
    return out


def evaluate_gold(
    engine: Engine,
    gold: GoldSet,
    k: int = 10,
    *,
    near_duplicate: float | None = None,
    **options: Any,
) -> GoldReport:
    """Relevance on the gold sources; list properties over every indexed article's list."""
    from recommender.evaluation.lists import NEAR_DUPLICATE

    started = time.perf_counter()
    lists = {e.id: [r.id for r in engine.related(e.id, k=k, **options)] for e in gold.entries}
    figures = gold_metrics(lists, gold.as_dict(), k, gold.copy_of())
    every = {aid: [r.id for r in recs] for aid, recs in engine.related_many(None, k=k, **options)}
    article_of, vectors_of = engine_lookups(engine)
    properties = list_properties(
        every,
        article_of=article_of,
        vectors_of=vectors_of,
        catalog_size=len(engine),
        near_duplicate=NEAR_DUPLICATE if near_duplicate is None else near_duplicate,
    )
    return GoldReport(
        k=k,
        figures=figures,
        properties=properties,
        sources=len(gold),
        index=str(engine.path),
        options=dict(options),
        settings=engine.settings.replace(**options).to_dict(),
        seconds=time.perf_counter() - started,
    )

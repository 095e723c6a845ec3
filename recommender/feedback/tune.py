"""``recommender tune``: ranking weights and half-life learned from evidence, with k-fold
cross-validation and a before/after report on held-out folds. Never applied silently: the
result is a ``recommender.toml`` the user reads and adopts.

Evidence is a set of preference pairs over (source, candidate) components
(:mod:`~recommender.feedback.features`): "for this source, i should rank above j", with a weight.

- **Gold file**: every listed related article above every other candidate of the engine's pool.
- **Clicks**: in each impression, the clicked article above each shown article not clicked,
  weighted by ``1 / propensity(position of the click)`` (inverse propensity weighting, as in
  Joachims, Swaminathan and Schnabel, WSDM 2017): a click at a rarely examined position counts
  more, which removes the position bias from the pairs in expectation. Propensities are
  estimated from impressions whose adjacent pair the server randomized (``[events]
  swap_share``): the same article's click rate one position lower, relative to its own.

For each half-life on a grid, a logistic regression on the pairs' component differences (no
intercept, non-negative weights kept) gives the weights; the half-life with the lowest training
loss wins. Folds split by source, so held-out sources are never seen in training.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.engine import Engine
from recommender.errors import InputError
from recommender.feedback.events import Event
from recommender.feedback.features import WEIGHTED, PairFeatures, pair_features

HALF_LIVES = (7.0, 14.0, 30.0, 60.0, 90.0, 180.0, 365.0)
GOLD_POOL = 30
FEW_PAIRS = 2000


@dataclass(frozen=True)
class Group:
    """One source's candidates and its preference pairs (i above j, weight)."""

    source: str
    features: PairFeatures
    pairs: tuple[tuple[int, int, float], ...]


@dataclass(frozen=True)
class TuneResult:
    evidence: str  # "gold" or "clicks"
    settings: dict[str, float]
    metric: str
    folds: tuple[dict[str, float], ...]  # per held-out fold: before, after, sources
    pairs: int
    sources: int
    propensities: tuple[float, ...] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def before(self) -> float:
        return float(np.mean([f["before"] for f in self.folds]))

    @property
    def after(self) -> float:
        return float(np.mean([f["after"] for f in self.folds]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "evidence": self.evidence,
            "settings": self.settings,
            "metric": self.metric,
            "before": self.before,
            "after": self.after,
            "folds": list(self.folds),
            "pairs": self.pairs,
            "sources": self.sources,
            "propensities": list(self.propensities) if self.propensities else None,
            "notes": list(self.notes),
        }

    def to_toml(self) -> str:
        when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"# Learned by `recommender tune` from {self.evidence} on {when}:",
            f"# {self.pairs} preference pairs over {self.sources} source articles.",
            f"# Held-out {self.metric} over {len(self.folds)} folds: {self.before:.4f} with the"
            f" current settings, {self.after:.4f} with these.",
            "# Nothing is applied until you adopt it: copy [ranking] into your recommender.toml.",
            *(f"# {note}" for note in self.notes),
            "[ranking]",
        ]
        lines += [f"{key} = {value:.4g}" for key, value in self.settings.items()]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- evidence
def gold_groups(engine: Engine, gold: Mapping[str, Sequence[str]]) -> list[Group]:
    groups = []
    for source, related in gold.items():
        pool = [r.id for r in engine.related(source, k=GOLD_POOL)]
        candidates = list(dict.fromkeys([*pool, *related]))
        feats = pair_features(engine, source, candidates)
        at = feats.index()
        relevant = {at[r] for r in related if r in at}
        pairs = tuple(
            (i, j, 1.0) for i in relevant for j in range(len(candidates)) if j not in relevant
        )
        if pairs:
            groups.append(Group(source, feats, pairs))
    return groups


def _impressions(events: Sequence[Event]) -> list[tuple[Event, set[int]]]:
    clicks: defaultdict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.type == "click" and e.data:
            clicks[e.impression].add(int(e.data["position"]))
    seen: set[str] = set()
    out = []
    for e in events:
        if e.type == "impression" and e.impression not in seen:
            seen.add(e.impression)
            out.append((e, clicks.get(e.impression, set())))
    return out


def estimate_propensities(events: Sequence[Event], k: int) -> np.ndarray:
    """Examination probability of positions 1..k relative to position 1, from impressions
    with a randomized adjacent pair (``swap``) against those without."""
    shown: defaultdict[tuple[bool, int, int], int] = defaultdict(int)  # (swapped p?, p, pos)
    clicked: defaultdict[tuple[bool, int, int], int] = defaultdict(int)
    for imp, positions in _impressions(events):
        assert imp.data is not None
        swap = imp.data.get("swap")
        n = len(imp.data["shown"])
        for p in range(1, min(n, k)):
            if swap is not None and swap != p:
                continue
            for pos in (p, p + 1):
                key = (swap == p, p, pos)
                shown[key] += 1
                clicked[key] += pos in positions
    theta = [1.0]
    for p in range(1, k):
        rates = {}
        for swapped in (False, True):
            for pos in (p, p + 1):
                key = (swapped, p, pos)
                rates[key] = clicked[key] / shown[key] if shown[key] else 0.0
        low = rates[(True, p, p + 1)] * rates[(False, p, p + 1)]
        high = rates[(False, p, p)] * rates[(True, p, p)]
        if low <= 0 or high <= 0:
            raise InputError(
                f"not enough randomized impressions to estimate the bias of position {p + 1}"
                f" ({shown[(True, p, p)]} impressions with positions {p} and {p + 1} swapped):"
                " set [events] swap_share (e.g. 0.05) and collect more, or pass --position-bias",
                source="click events",
            )
        theta.append(theta[-1] * min(1.0, math.sqrt(low / high)))
    return np.array(theta)


def click_groups(engine: Engine, events: Sequence[Event], propensities: np.ndarray) -> list[Group]:
    """One group per source: every clicked-over-skipped pair of its impressions, IPW-weighted."""
    by_source: defaultdict[str, list[tuple[list[str], set[int]]]] = defaultdict(list)
    for imp, positions in _impressions(events):
        if positions and imp.source in engine:
            by_source[imp.source].append((imp.shown, positions))
    groups = []
    for source, items in by_source.items():
        candidates = list(dict.fromkeys(i for shown, _ in items for i in shown if i in engine))
        feats = pair_features(engine, source, candidates)
        at = feats.index()
        pairs = []
        for shown, positions in items:
            for c in positions:
                if c > len(shown) or shown[c - 1] not in at:
                    continue
                weight = 1.0 / float(propensities[min(c, len(propensities)) - 1])
                for pos, other in enumerate(shown, start=1):
                    if pos not in positions and other in at:
                        pairs.append((at[shown[c - 1]], at[other], weight))
        if pairs:
            groups.append(Group(source, feats, tuple(pairs)))
    return groups


# ---------------------------------------------------------------------------- learning
def _design(groups: Sequence[Group], half_life: float) -> tuple[np.ndarray, np.ndarray]:
    diffs, weights = [], []
    for g in groups:
        x = g.features.matrix(half_life)
        idx = np.array([(i, j) for i, j, _ in g.pairs])
        diffs.append(x[idx[:, 0]] - x[idx[:, 1]])
        weights.append(np.array([w for _, _, w in g.pairs]))
    return np.vstack(diffs), np.concatenate(weights)


def fit(groups: Sequence[Group], half_lives: Sequence[float] = HALF_LIVES) -> dict[str, float]:
    """Weights (non-negative, similarity scaled to 1 when it matters) and the half-life."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    best: tuple[float, dict[str, float]] | None = None
    for h in half_lives:
        d, w = _design(groups, h)
        x = np.vstack([d, -d])
        y = np.concatenate([np.ones(len(d)), np.zeros(len(d))])
        sw = np.concatenate([w, w])
        model = LogisticRegression(fit_intercept=False, C=1.0, max_iter=1000)
        model.fit(x, y, sample_weight=sw)
        coef = np.clip(model.coef_[0], 0.0, None)
        loss = log_loss(y, 1 / (1 + np.exp(-(x @ coef))), sample_weight=sw)
        scale = coef[0] if coef[0] > 0 else (coef.max() or 1.0)
        settings = {f"weight_{n}": float(c / scale) for n, c in zip(WEIGHTED, coef, strict=True)}
        settings["half_life_days"] = float(h)
        if best is None or loss < best[0]:
            best = (loss, settings)
    assert best is not None
    return best[1]


def _ipw_mrr(groups: Sequence[Group], settings: Mapping[str, float]) -> float:
    """Propensity-weighted mean reciprocal rank of preferred items among their group's
    candidates, ranked by ``settings``' score."""
    w = np.array([settings[f"weight_{n}"] for n in WEIGHTED])
    total = weight = 0.0
    for g in groups:
        scores = g.features.matrix(settings["half_life_days"]) @ w
        order = np.argsort(-scores, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        for i, pw in {i: pw for i, _, pw in g.pairs}.items():
            total += pw / rank[i]
            weight += pw
    return total / weight if weight else 0.0


def _folds(groups: Sequence[Group], k: int, seed: int) -> list[list[int]]:
    if len(groups) < k:
        raise InputError(
            f"{len(groups)} source articles with evidence: need at least {k} for {k} folds",
            source="tune",
        )
    order = list(range(len(groups)))
    random.Random(seed).shuffle(order)
    return [order[f::k] for f in range(k)]


def current(engine: Engine) -> dict[str, float]:
    s = engine.settings
    return {
        **{f"weight_{n}": float(getattr(s, f"weight_{n}")) for n in WEIGHTED},
        "half_life_days": s.half_life_days,
    }


def tune(
    engine: Engine,
    groups: Sequence[Group],
    *,
    evidence: str,
    folds: int = 5,
    seed: int = 0,
    metric: Any = None,
    propensities: np.ndarray | None = None,
) -> TuneResult:
    """Cross-validated weights: per fold, learn on the others and compare on it; the final
    settings are learned on every group. ``metric(held_out_groups, settings)`` defaults to the
    propensity-weighted MRR of the preferred items."""
    measure = metric or _ipw_mrr
    before_settings = current(engine)
    report = []
    for held in _folds(groups, folds, seed):
        held_set = set(held)
        train = [g for i, g in enumerate(groups) if i not in held_set]
        test = [groups[i] for i in held]
        learned = fit(train)
        report.append(
            {
                "sources": len(test),
                "before": float(measure(test, before_settings)),
                "after": float(measure(test, learned)),
            }
        )
    return TuneResult(
        evidence=evidence,
        settings=fit(groups),
        metric="ipw_mrr" if metric is None else getattr(metric, "name", "metric"),
        folds=tuple(report),
        pairs=sum(len(g.pairs) for g in groups),
        sources=len(groups),
        propensities=tuple(float(p) for p in propensities) if propensities is not None else None,
    )


def tune_from_gold(
    engine: Engine,
    gold: Mapping[str, Sequence[str]],
    *,
    k: int = 10,
    folds: int = 5,
    seed: int = 0,
    copy_of: Mapping[str, str] | None = None,
) -> TuneResult:
    """Weights from a gold set; held-out metric: nDCG@k of the engine's real lists (a gold copy
    group, ``copy_of``, is one relevant item)."""
    from recommender.evaluation.runs import gold_metrics

    def ndcg(test: Sequence[Group], settings: Mapping[str, Any]) -> float:
        lists = {g.source: [r.id for r in engine.related(g.source, k=k, **settings)] for g in test}
        test_gold = {g.source: gold[g.source] for g in test}
        return gold_metrics(lists, test_gold, k, copy_of)[f"ndcg@{k}"]

    ndcg.name = f"ndcg@{k}"  # type: ignore[attr-defined]
    return tune(
        engine, gold_groups(engine, gold), evidence="gold", folds=folds, seed=seed, metric=ndcg
    )


def tune_from_clicks(
    engine: Engine,
    events: Sequence[Event],
    *,
    folds: int = 5,
    seed: int = 0,
    position_bias: float | None = None,
) -> TuneResult:
    """Weights from click events, position bias removed by inverse propensity weighting.
    ``position_bias``: assume examination ``p ** -position_bias`` instead of estimating it."""
    k = max((len(e.shown) for e in events if e.type == "impression"), default=0)
    if k == 0:
        raise InputError("no impressions recorded: nothing to learn from", source="click events")
    if position_bias is None:
        theta = estimate_propensities(events, k)
        note = "Position bias estimated from randomized adjacent pairs."
    else:
        theta = np.arange(1, k + 1, dtype=np.float64) ** -position_bias
        note = f"Position bias assumed (examination = position ** -{position_bias})."
    groups = click_groups(engine, events, theta)
    result = tune(engine, groups, evidence="clicks", folds=folds, seed=seed, propensities=theta)
    notes = [note]
    if result.pairs < FEW_PAIRS:
        notes.append(
            f"Only {result.pairs} preference pairs: these weights are uncertain;"
            " collect more clicks before adopting them."
        )
    return TuneResult(**{**result.__dict__, "notes": tuple(notes)})

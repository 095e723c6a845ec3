"""Simulated readers with known preferences and a known position bias, clicking real lists.

A reader examines position ``p`` with probability ``p ** -position_bias`` and clicks an
examined article with its attraction ``click_ceiling * sigmoid(sharpness * (u - u0) / spread)``,
where ``u`` is the readers' true utility: a weighted sum of the same components the ranker
uses (with the readers' own weights and half-life). ``u0`` is the utility at the
``midpoint_quantile`` of all pairs and ``spread`` their standard deviation, so the model means
the same on any encoder.

Because the truth is known, the simulator can say which configuration is *truly* better (more
expected clicks when shown alone) and check what interleaving and tuning conclude from clicks.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.engine import Engine
from recommender.feedback.events import Event
from recommender.feedback.features import WEIGHTED, PairFeatures, pair_features
from recommender.feedback.interleaving import Interleaved, Outcome, swap_adjacent, team_draft


@dataclass(frozen=True)
class Readers:
    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "similarity": 1.0,
            "lexical": 0.3,
            "topic": 0.3,
            "recency": 0.6,
            "category": 0.3,
            "tags": 0.2,
        }
    )
    """True preference per component (names of :data:`~recommender.feedback.features.WEIGHTED`)."""
    half_life_days: float = 30.0
    position_bias: float = 1.0
    sharpness: float = 2.0
    midpoint_quantile: float = 0.97
    click_ceiling: float = 0.25
    """Attraction of the most attractive article (a read-more link is rarely a sure click)."""

    def examination(self, k: int) -> np.ndarray:
        return np.arange(1, k + 1, dtype=np.float64) ** -self.position_bias


class Simulator:
    """Readers of one engine's articles (every article is a source with equal traffic)."""

    def __init__(
        self, engine: Engine, readers: Readers, *, sources: Sequence[str] | None = None
    ) -> None:
        self.engine, self.readers = engine, readers
        self.sources = list(sources) if sources is not None else engine.ids()
        self.features: dict[str, PairFeatures] = {s: pair_features(engine, s) for s in self.sources}
        w = np.array([readers.weights.get(name, 0.0) for name in WEIGHTED])
        utility = {s: f.matrix(readers.half_life_days) @ w for s, f in self.features.items()}
        every = np.concatenate(list(utility.values()))
        u0 = float(np.quantile(every, readers.midpoint_quantile))
        spread = float(every.std()) or 1.0
        self._attraction: dict[str, dict[str, float]] = {}
        for s, u in utility.items():
            p = readers.click_ceiling / (1.0 + np.exp(-readers.sharpness * (u - u0) / spread))
            self._attraction[s] = dict(zip(self.features[s].ids, p.tolist(), strict=True))

    # ------------------------------------------------------------------ truth
    def attraction(self, source: str, ids: Sequence[str]) -> np.ndarray:
        table = self._attraction[source]
        return np.array([table[i] for i in ids])

    def expected_clicks(self, source: str, ids: Sequence[str]) -> float:
        """Expected clicks of the list shown alone (the truth a configuration is judged by)."""
        if not ids:
            return 0.0
        return float(self.readers.examination(len(ids)) @ self.attraction(source, ids))

    def lists(self, k: int = 5, **options: Any) -> dict[str, list[str]]:
        return {s: [r.id for r in self.engine.related(s, k=k, **options)] for s in self.sources}

    def value(self, lists: Mapping[str, Sequence[str]]) -> float:
        """Mean expected clicks per impression over ``lists``' sources (equal traffic)."""
        return float(np.mean([self.expected_clicks(s, ids) for s, ids in lists.items()]))

    # ------------------------------------------------------------------ behaviour
    def clicks(self, source: str, ids: Sequence[str], rng: np.random.Generator) -> list[int]:
        """Positions (1-based) one simulated reader clicks in a shown list."""
        p = self.readers.examination(len(ids)) * self.attraction(source, ids)
        return [int(i) + 1 for i in np.flatnonzero(rng.random(len(ids)) < p)]

    def interleaving_events(
        self,
        lists_a: Mapping[str, Sequence[str]],
        lists_b: Mapping[str, Sequence[str]],
        impressions: int,
        seed: int,
        *,
        k: int = 5,
        experiment: str = "sim",
    ) -> list[Event]:
        """The events ``impressions`` readers leave on team-draft interleaved lists."""
        rng = np.random.default_rng(seed)
        coin = random.Random(seed)
        sources = list(lists_a)
        events: list[Event] = []
        for n, s in enumerate(rng.choice(len(sources), size=impressions)):
            source = sources[int(s)]
            merged = team_draft(lists_a[source], lists_b[source], k, coin)
            token = f"i{n}"
            shown = [{"id": aid, "position": p} for p, aid in enumerate(merged.ids, start=1)]
            data = {"shown": shown, "teams": list(merged.teams)}
            events.append(Event("impression", token, source, experiment, experiment, data))
            events += self._click_events(token, source, merged.ids, rng)
        return events

    def interleaving_outcomes(
        self,
        lists_a: Mapping[str, Sequence[str]],
        lists_b: Mapping[str, Sequence[str]],
        impressions: int,
        seed: int,
        *,
        k: int = 5,
    ) -> list[Outcome]:
        """What :meth:`interleaving_events` gives after attribution, without building events
        (the same draws: for benchmarks that run thousands of experiments)."""
        rng = np.random.default_rng(seed)
        coin = random.Random(seed)
        sources = list(lists_a)
        out = []
        for n, s in enumerate(rng.choice(len(sources), size=impressions)):
            source = sources[int(s)]
            merged = team_draft(lists_a[source], lists_b[source], k, coin)
            clicked = self.clicks(source, merged.ids, rng)
            a = sum(1 for p in clicked if merged.teams[p - 1] == "a")
            out.append(Outcome(f"i{n}", a, len(clicked) - a))
        return out

    def interleaving_truth(
        self,
        lists_a: Mapping[str, Sequence[str]],
        lists_b: Mapping[str, Sequence[str]],
        k: int = 5,
    ) -> tuple[float, float]:
        """Exact (P(A wins), P(B wins)) of one interleaved impression, averaged over sources:
        every coin sequence of team-draft (equally likely) and the exact distribution of each
        team's clicks (independent clicks per position)."""
        wins = np.zeros(2)
        for source in lists_a:
            merges = _all_team_drafts(lists_a[source], lists_b[source], k)
            for merged in merges:
                p = self.readers.examination(len(merged.ids)) * self.attraction(source, merged.ids)
                wins += _win_probabilities(p, merged.teams) / len(merges)
        return float(wins[0] / len(lists_a)), float(wins[1] / len(lists_a))

    def logged_events(
        self,
        lists: Mapping[str, Sequence[str]],
        impressions: int,
        seed: int,
        *,
        swap_share: float = 0.1,
    ) -> list[Event]:
        """Events of one configuration's lists, with adjacent pairs randomized as the server
        does with ``[events] swap_share``."""
        rng = np.random.default_rng(seed)
        coin = random.Random(seed)
        sources = list(lists)
        events: list[Event] = []
        for n, s in enumerate(rng.choice(len(sources), size=impressions)):
            source = sources[int(s)]
            ids, swap = swap_adjacent(lists[source], swap_share, coin)
            token = f"l{n}"
            data: dict[str, object] = {
                "shown": [{"id": aid, "position": p} for p, aid in enumerate(ids, start=1)]
            }
            if swap is not None:
                data["swap"] = swap
            events.append(Event("impression", token, source, "default", None, data))
            events += self._click_events(token, source, ids, rng)
        return events

    def _click_events(
        self, token: str, source: str, ids: Sequence[str], rng: np.random.Generator
    ) -> Iterable[Event]:
        for position in self.clicks(source, ids, rng):
            data = {"target": ids[position - 1], "position": position}
            yield Event("click", token, source, None, None, data)


class _Coins(random.Random):
    """A "random" source that replays a fixed sequence of coin results."""

    def __init__(self, flips: Sequence[bool]) -> None:
        super().__init__(0)
        self.flips, self.used = list(flips), 0

    def random(self) -> float:
        flip = self.flips[self.used] if self.used < len(self.flips) else True
        self.used += 1
        return 0.0 if flip else 0.9


def _all_team_drafts(a: Sequence[str], b: Sequence[str], k: int) -> list[Interleaved]:
    """Team-draft's result for every coin sequence (each equally likely)."""
    flips = (k + 1) // 2
    out = []
    for pattern in range(2**flips):
        coins = _Coins([(pattern >> i) & 1 == 1 for i in range(flips)])
        out.append(team_draft(a, b, k, coins))
    return out


def _win_probabilities(p: np.ndarray, teams: Sequence[str]) -> np.ndarray:
    """(P(team a clicks more), P(team b clicks more)) for independent clicks ``p``."""
    # distribution of (clicks of a) - (clicks of b), offset by len(p)
    dist = np.zeros(2 * len(p) + 1)
    dist[len(p)] = 1.0
    for prob, team in zip(p, teams, strict=True):
        step = 1 if team == "a" else -1
        dist = dist * (1 - prob) + np.roll(dist, step) * prob
    return np.array([dist[len(p) + 1 :].sum(), dist[: len(p)].sum()])

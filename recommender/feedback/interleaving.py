"""Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008), click attribution, the
sign test, and the number of impressions a comparison still needs.

Each shown list mixes the lists of two configurations, A and B: in every round the team with
fewer picks (a coin decides ties) adds its best article not yet shown, and every position
remembers its team. A click credits the team of its position; an impression whose clicks favour
one team is a win for it, equal clicks a tie. Under "no preference" wins are a fair coin, hence
a two-sided sign test (``scipy.stats.binomtest``) on the decided impressions.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from recommender.feedback.events import Event

T = TypeVar("T")
ALPHA = 0.05
POWER = 0.95
"""The planning power: at the impressions planned for, a true preference of the size planned
for reaches significance in 95% of experiments (checked by the simulator)."""
PLANNING_CONFIDENCE = 0.90
"""The effect planned for is not the observed one but the lower end of its one-sided 90%
confidence interval: an early, lucky-looking effect would otherwise promise too few impressions
(benchmarks/feedback.py measures how often a pilot's claim then succeeds)."""


@dataclass(frozen=True)
class Interleaved:
    ids: tuple[str, ...]
    teams: tuple[str, ...]  # "a" or "b" per position


def team_draft(a: Sequence[str], b: Sequence[str], k: int, rng: random.Random) -> Interleaved:
    """Merge two ranked lists into at most ``k`` ids, each tagged with the team that chose it."""
    ids: list[str] = []
    teams: list[str] = []
    taken: set[str] = set()
    picks = {"a": 0, "b": 0}
    cursor = {"a": 0, "b": 0}
    lists = {"a": list(a), "b": list(b)}

    def next_of(team: str) -> str | None:
        items = lists[team]
        while cursor[team] < len(items) and items[cursor[team]] in taken:
            cursor[team] += 1
        return items[cursor[team]] if cursor[team] < len(items) else None

    while len(ids) < k:
        first = "a" if picks["a"] < picks["b"] else "b" if picks["b"] < picks["a"] else None
        if first is None:
            first = "a" if rng.random() < 0.5 else "b"
        other = "b" if first == "a" else "a"
        team, pick = first, next_of(first)
        if pick is None:
            team, pick = other, next_of(other)
        if pick is None:
            break
        ids.append(pick)
        teams.append(team)
        taken.add(pick)
        picks[team] += 1
    return Interleaved(tuple(ids), tuple(teams))


def swap_adjacent(ids: Sequence[T], share: float, rng: random.Random) -> tuple[list[T], int | None]:
    """In a ``share`` of calls, swap one random adjacent pair (positions p and p+1).

    Returns the list and ``p`` (1-based), or None when nothing was swapped. These randomized
    impressions let ``tune`` estimate how much readers favour each position over the next.
    """
    out = list(ids)
    if len(out) < 2 or share <= 0 or rng.random() >= share:
        return out, None
    p = rng.randrange(len(out) - 1)
    out[p], out[p + 1] = out[p + 1], out[p]
    return out, p + 1


# ---------------------------------------------------------------------------- attribution
@dataclass(frozen=True)
class Outcome:
    """Clicks per team in one interleaved impression."""

    impression: str
    clicks_a: int
    clicks_b: int

    @property
    def winner(self) -> str | None:
        if self.clicks_a == self.clicks_b:
            return None
        return "a" if self.clicks_a > self.clicks_b else "b"


def attribute(events: Iterable[Event], experiment: str | None = None) -> list[Outcome]:
    """One outcome per interleaved impression (of ``experiment``, or of every experiment)."""
    impressions: dict[str, Event] = {}
    clicks: defaultdict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.type == "impression" and e.data and "teams" in e.data:
            if experiment is None or e.experiment == experiment:
                impressions.setdefault(e.impression, e)
        elif e.type == "click" and e.data:
            clicks[e.impression].add(int(e.data["position"]))  # a repeated click counts once
    outcomes = []
    for token, imp in impressions.items():
        assert imp.data is not None
        teams = imp.data["teams"]
        counts = Counter(teams[p - 1] for p in clicks.get(token, ()) if 1 <= p <= len(teams))
        outcomes.append(Outcome(token, counts["a"], counts["b"]))
    return outcomes


# ---------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class InterleavingReport:
    experiment: str | None
    impressions: int
    with_clicks: int
    wins_a: int
    wins_b: int
    ties: int
    p_value: float
    preferred: str | None
    """"a" or "b" when significant at ``alpha``, else None."""
    leaning: str | None
    """The side with more wins (None on a draw), significant or not."""
    win_rate_a: float | None
    needed_impressions: int | None
    """Impressions the comparison needs in all, planned for the smallest effect the data support
    (lower end of a 90% interval); None while the data cannot tell the effect from none."""
    still_needed: int | None
    """0 once significant; else the impressions to add at the observed effect (None: no effect)."""
    alpha: float = ALPHA

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def impressions_needed(
    win_rate: float, decided_share: float, *, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Impressions for a two-sided sign test to detect ``win_rate`` (share of decided
    impressions won by one side) with ``power``, when ``decided_share`` of impressions are
    decided. Normal approximation of the binomial; None when there is no effect to detect."""
    from scipy.stats import norm

    effect = abs(win_rate - 0.5)
    if effect == 0 or decided_share <= 0:
        return None
    z_a, z_b = norm.ppf(1 - alpha / 2), norm.ppf(power)
    decided = ((z_a * 0.5 + z_b * math.sqrt(win_rate * (1 - win_rate))) / effect) ** 2
    return math.ceil(decided / decided_share)


def planning_rate(wins_a: int, decided: int) -> float | None:
    """The win rate to plan for: the observed one moved toward 1/2 by the one-sided
    :data:`PLANNING_CONFIDENCE` margin; None when that crosses 1/2 (no effect established)."""
    from scipy.stats import norm

    if decided == 0:
        return None
    rate = wins_a / decided
    margin = norm.ppf(PLANNING_CONFIDENCE) * math.sqrt(rate * (1 - rate) / decided)
    effect = abs(rate - 0.5) - margin
    if effect <= 0:
        return None
    return float(0.5 + effect if rate > 0.5 else 0.5 - effect)


def report(outcomes: Sequence[Outcome], experiment: str | None = None) -> InterleavingReport:
    from scipy.stats import binomtest

    wins = Counter(o.winner for o in outcomes)
    wa, wb = wins["a"], wins["b"]
    clicked = sum(1 for o in outcomes if o.clicks_a or o.clicks_b)
    decided = wa + wb
    p_value = float(binomtest(wa, decided, 0.5).pvalue) if decided else 1.0
    leaning = None if wa == wb else ("a" if wa > wb else "b")
    significant = p_value < ALPHA
    rate = wa / decided if decided else None
    planned = planning_rate(wa, decided)
    needed = impressions_needed(planned, decided / len(outcomes)) if planned is not None else None
    return InterleavingReport(
        experiment=experiment,
        impressions=len(outcomes),
        with_clicks=clicked,
        wins_a=wa,
        wins_b=wb,
        ties=clicked - decided,
        p_value=p_value,
        preferred=leaning if significant else None,
        leaning=leaning,
        win_rate_a=rate,
        needed_impressions=needed,
        still_needed=0
        if significant
        else None
        if needed is None
        else max(0, needed - len(outcomes)),
    )

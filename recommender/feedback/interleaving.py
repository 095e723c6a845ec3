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

import numpy as np

from recommender.feedback.events import Event

T = TypeVar("T")
ALPHA = 0.05
POWER = 0.95
"""The planning power: at the impressions planned for, a true preference of the size planned
for reaches significance in 95% of experiments (checked by the simulator)."""
EXACT_UP_TO = 10_000_000
"""Decided comparisons up to which the planning count is computed exactly."""
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


def _critical_counts(n: np.ndarray, alpha: float) -> np.ndarray:
    """Per number of decided comparisons ``n``: the largest win count ``c`` whose two-sided
    sign-test p-value (``binomtest(c, n, 0.5)``, ``2 * P(X <= c)``) is below ``alpha``; -1 when
    no count is. The test rejects at ``X <= c`` or ``X >= n - c``."""
    from scipy.stats import binom, norm

    # start from the normal approximation, then step until P(X <= c) < alpha/2 <= P(X <= c+1)
    # (binom.cdf is fast; binom.ppf searches and is slow on large arrays)
    c = np.floor(n / 2 + norm.ppf(alpha / 2) * np.sqrt(n) / 2).astype(np.int64)
    c = np.clip(c, -1, n)
    for _ in range(64):
        low = binom.cdf(c, n, 0.5) >= alpha / 2
        high = binom.cdf(c + 1, n, 0.5) < alpha / 2
        if not (low.any() or high.any()):
            return c
        c = c - low + high
    raise AssertionError("critical counts did not converge")  # pragma: no cover


def sign_test_power(
    decided: int | np.ndarray, win_rate: float, *, alpha: float = ALPHA
) -> np.ndarray:
    """Exact probability that the two-sided sign test of :func:`report` (``p < alpha``)
    rejects on ``decided`` comparisons when one side wins each with ``win_rate``: the binomial
    pmf summed over the rejection region."""
    from scipy.stats import binom

    n = np.atleast_1d(np.asarray(decided, dtype=np.int64))
    c = _critical_counts(n, alpha)
    power = binom.cdf(c, n, win_rate) + binom.sf(n - c - 1, n, win_rate)
    return np.where(c >= 0, power, 0.0)


def decided_needed(win_rate: float, *, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The smallest number of decided comparisons from which the exact power of the sign test
    stays at or above ``power`` (None when ``win_rate`` is 1/2: nothing to detect).

    Doubling then bisection find a crossing. The power of a discrete test saws up and down
    with ``n``: its teeth are O(1/sqrt(n)) high while the trend climbs O(effect/sqrt(n)) per
    comparison, so a dip can follow a crossing within about 1/effect ~ sqrt(n) comparisons.
    The window above the crossing (64 + 20 sqrt(n), bounded memory even for tiny effects) is
    checked and the answer moved past the last dip below ``power`` in it. Beyond
    :data:`EXACT_UP_TO` comparisons (no site runs such an experiment) the normal approximation
    is returned instead."""
    from scipy.stats import norm

    if abs(win_rate - 0.5) < 1e-12 or not 0 <= win_rate <= 1:
        return None
    z_a, z_b = norm.ppf(1 - alpha / 2), norm.ppf(power)
    approx = ((z_a * 0.5 + z_b * math.sqrt(win_rate * (1 - win_rate))) / (win_rate - 0.5)) ** 2
    if approx > EXACT_UP_TO:  # the exact search would take seconds; the normal one is close
        return math.ceil(approx)

    def enough(n: int) -> bool:
        return bool(sign_test_power(n, win_rate, alpha=alpha)[0] >= power)

    hi = 1
    while not enough(hi):
        hi *= 2
    lo = hi // 2  # 0, or a count that fell short
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    window = np.arange(hi, hi + 64 + int(20 * math.sqrt(hi)) + 1)
    short = np.flatnonzero(sign_test_power(window, win_rate, alpha=alpha) < power)
    return int(window[short[-1]] + 1) if short.size else hi


def impressions_power(
    impressions: int, win_rate: float, decided_share: float, *, alpha: float = ALPHA
) -> float:
    """Exact power over ``impressions`` impressions, each decided with ``decided_share``: the
    sign test's power averaged over the binomial number of decided ones."""
    from scipy.stats import binom

    mean = impressions * decided_share
    spread = 7 * math.sqrt(mean * (1 - decided_share)) + 10
    d = np.arange(max(0, int(mean - spread)), min(impressions, int(mean + spread)) + 1)
    weights = binom.pmf(d, impressions, decided_share)
    return float(np.dot(weights, sign_test_power(d, win_rate, alpha=alpha)))


def impressions_needed(
    win_rate: float, decided_share: float, *, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Impressions for the two-sided sign test to detect ``win_rate`` (share of decided
    impressions won by one side) with ``power``, when ``decided_share`` of impressions are
    decided; None when there is no effect to detect.

    Exact: :func:`decided_needed` comparisons divided by the decided share, then raised (if
    need be) to the smallest count at which the power averaged over the binomial number of
    decided impressions (:func:`impressions_power`) also reaches ``power``."""
    n = decided_needed(win_rate, alpha=alpha, power=power)
    if n is None or decided_share <= 0:
        return None
    count = math.ceil(n / min(decided_share, 1.0))
    if n > EXACT_UP_TO:
        return count

    def enough(impressions: int) -> bool:
        return impressions_power(impressions, win_rate, decided_share, alpha=alpha) >= power

    if enough(count):
        return count
    step = max(1, count // 200)
    while not enough(count + step):
        count += step
    lo, count = count, count + step  # lo fell short
    while count - lo > 1:
        mid = (lo + count) // 2
        lo, count = (lo, mid) if enough(mid) else (mid, count)
    return count


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

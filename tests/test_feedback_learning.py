"""Interleaving, the sign test, click reports and tuning, checked against simulated readers on
the bundled demo corpus (a small version of benchmarks/feedback.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import tomllib
from scipy.stats import binom, binomtest

from recommender.demo import demo_articles_path, demo_gold_path
from recommender.engine import Engine
from recommender.errors import InputError
from recommender.feedback.clicks import click_report, write_report
from recommender.feedback.events import Event, EventStore
from recommender.feedback.interleaving import (
    Outcome,
    attribute,
    decided_needed,
    impressions_needed,
    impressions_power,
    planning_rate,
    report,
    sign_test_power,
    swap_adjacent,
    team_draft,
)
from recommender.feedback.simulator import (
    Readers,
    Simulator,
    _all_team_drafts,
    _win_probabilities,
)
from recommender.feedback.tune import estimate_propensities, tune_from_clicks
from recommender.loaders import load_articles

from ._serving import cli
from .conftest import FakeEncoder

WORSE = {"weight_recency": 0.0, "weight_category": 0.0, "weight_tags": 0.0}
"""A configuration the simulated readers truly like less than the defaults (they value recency,
section and tags)."""


# ---------------------------------------------------------------------------- pure functions
def test_team_draft_properties() -> None:
    rng = random.Random(3)
    for _ in range(200):
        pool = [f"d{i}" for i in range(12)]
        a = rng.sample(pool, 6)
        b = rng.sample(pool, 6)
        merged = team_draft(a, b, 5, rng)
        assert len(merged.ids) == len(set(merged.ids)) == 5
        counts = [merged.teams.count("a"), merged.teams.count("b")]
        assert abs(counts[0] - counts[1]) <= 1
        for team, ranked in (("a", a), ("b", b)):
            picks = [i for i, t in zip(merged.ids, merged.teams, strict=True) if t == team]
            assert [ranked.index(p) for p in picks] == sorted(ranked.index(p) for p in picks)
            # each pick was that team's best article not yet shown at its turn
            for p in picks:
                before = merged.ids[: merged.ids.index(p)]
                assert p == next(x for x in ranked if x not in before)


def test_team_draft_known_answers() -> None:
    assert team_draft(["x", "y"], ["x", "y"], 2, random.Random(0)).ids == ("x", "y")
    merged = team_draft(["a1", "a2"], ["b1"], 3, random.Random(0))
    assert sorted(merged.ids) == ["a1", "a2", "b1"]  # B runs out: A fills
    assert team_draft([], [], 5, random.Random(0)).ids == ()


def test_swap_adjacent() -> None:
    rng = random.Random(1)
    assert swap_adjacent(["a", "b", "c"], 0.0, rng) == (["a", "b", "c"], None)
    ids, p = swap_adjacent(["a", "b", "c"], 1.0, rng)
    assert p in (1, 2) and ids[p - 1 : p + 1] == ["a", "b", "c"][p - 1 : p + 1][::-1]
    assert swap_adjacent(["a"], 1.0, rng) == (["a"], None)


def test_attribution_and_sign_test_known_values() -> None:
    events = [
        Event(
            "impression",
            "i1",
            "s",
            "e",
            "e",
            {
                "shown": [{"id": "x", "position": 1}, {"id": "y", "position": 2}],
                "teams": ["a", "b"],
            },
        ),
        Event("click", "i1", "s", None, None, {"target": "x", "position": 1}),
        Event("click", "i1", "s", None, None, {"target": "x", "position": 1}),  # repeated: once
        Event(
            "impression",
            "i2",
            "s",
            "e",
            "e",
            {
                "shown": [{"id": "x", "position": 1}, {"id": "y", "position": 2}],
                "teams": ["b", "a"],
            },
        ),
        Event("click", "i2", "s", None, None, {"target": "x", "position": 1}),
        Event("click", "i2", "s", None, None, {"target": "y", "position": 2}),
        Event(
            "impression",
            "i3",
            "s",
            "other",
            "other",
            {"shown": [{"id": "x", "position": 1}], "teams": ["b"]},
        ),
    ]
    outcomes = attribute(events, "e")
    assert outcomes == [Outcome("i1", 1, 0), Outcome("i2", 1, 1)]
    r = report([Outcome(str(i), 1, 0) for i in range(9)] + [Outcome("t", 0, 1), Outcome("n", 0, 0)])
    assert (r.wins_a, r.wins_b, r.ties, r.with_clicks, r.impressions) == (9, 1, 0, 10, 11)
    assert r.p_value == pytest.approx(22 / 1024)  # two-sided binomial: 2 * P(X >= 9 | 10, 1/2)
    assert r.preferred == "a" and r.still_needed == 0
    assert impressions_needed(0.5, 1.0) is None
    assert impressions_needed(0.6, 0.0) is None


def test_sign_test_rejection_region_is_binomtests() -> None:
    for n in range(1, 80):
        rejected = [x for x in range(n + 1) if binomtest(x, n, 0.5).pvalue < 0.05]
        power = sign_test_power(n, 0.7)[0]
        assert power == pytest.approx(sum(binom.pmf(x, n, 0.7) for x in rejected), abs=1e-12)


def test_exact_planning_known_answers() -> None:
    # n = 16: P(X <= 3) = 697/65536, p = 0.021; P(X <= 4) = 2517/65536, p = 0.077: reject X >= 13
    # n = 17: P(X <= 4) = 3214/131072, p = 0.049: reject X >= 13, a wider region
    assert sign_test_power(16, 0.9)[0] == pytest.approx(binom.sf(12, 16, 0.9))  # 0.9316
    assert sign_test_power(17, 0.9)[0] == pytest.approx(binom.sf(12, 17, 0.9))  # 0.9779
    assert decided_needed(0.9) == 17 and decided_needed(0.1) == 17
    assert impressions_needed(0.9, 1.0) == 17  # every impression decided: no spread
    # The sawtooth: nothing is significant below n = 6; at n = 6..8 only X = n rejects
    # (0.9^6 = 0.531, 0.9^7 = 0.478, 0.9^8 = 0.430); n = 9 adds X = 8 (0.775). Power 0.5 is
    # reached at 6 but only held from 9 on.
    assert sign_test_power(5, 0.9)[0] == 0.0
    both = [0.9**6 + 0.1**6, 0.9**7 + 0.1**7, 0.9**8 + 0.1**8]  # X = n or X = 0
    both.append(0.9**9 + 9 * 0.9**8 * 0.1 + 0.1**9 + 9 * 0.1**8 * 0.9)  # X >= 8 or X <= 1
    assert list(sign_test_power([6, 7, 8, 9], 0.9)) == pytest.approx(both, rel=1e-12)
    assert decided_needed(0.9, power=0.5) == 9
    assert decided_needed(0.5) is None


@pytest.mark.parametrize("rate", [0.56, 0.62, 0.75, 0.3])
@pytest.mark.parametrize("target", [0.5, 0.8, 0.95])
def test_decided_needed_is_where_power_stays_above_target(rate: float, target: float) -> None:
    n = decided_needed(rate, power=target)
    assert n is not None
    powers = sign_test_power(np.arange(1, 4 * n + 200), rate)
    assert powers[n - 1 :].min() >= target and powers[n - 2] < target


def test_impression_count_power_matches_simulated_experiments() -> None:
    # 0.6 of decided impressions won by b, 30% of impressions decided
    count = impressions_needed(0.6, 0.3)
    assert count is not None and count >= decided_needed(0.6) / 0.3  # type: ignore[operator]
    assert impressions_power(count, 0.6, 0.3) >= 0.95
    rng = np.random.default_rng(3)
    draws = rng.multinomial(count, [0.3 * 0.6, 0.3 * 0.4, 0.7], size=4000)
    significant = [binomtest(int(b), int(b + a), 0.5).pvalue < 0.05 for b, a, _ in draws]
    # exact power 0.951; 4000 experiments: standard error 0.0034
    assert np.mean(significant) == pytest.approx(impressions_power(count, 0.6, 0.3), abs=0.015)


def test_planning_rate_is_the_lower_end_of_a_90_percent_interval() -> None:
    # 0.9 - z(0.90) * sqrt(0.9 * 0.1 / 10) = 0.9 - 1.281552 * 0.0948683
    assert planning_rate(9, 10) == pytest.approx(0.778421, abs=1e-6)
    assert planning_rate(1, 10) == pytest.approx(1 - 0.778421, abs=1e-6)
    assert planning_rate(6, 10) is None  # cannot tell 0.6 from 0.5 on ten impressions
    assert planning_rate(0, 0) is None


def test_exact_interleaving_probabilities_known_answers() -> None:
    assert _win_probabilities(np.array([0.5, 0.5]), ["a", "b"]) == pytest.approx([0.25, 0.25])
    # a clicks once with 0.2; b never: a wins 0.2
    assert _win_probabilities(np.array([0.2, 0.0]), ["a", "b"]) == pytest.approx([0.2, 0.0])
    # two a positions (0.5 each) against one b (1.0): a wins only with both clicks
    assert _win_probabilities(np.array([0.5, 1.0, 0.5]), ["a", "b", "a"]) == pytest.approx(
        [0.25, 0.25]
    )
    merges = _all_team_drafts(["x", "y", "z"], ["z", "y", "x"], 3)
    assert len(merges) == 4  # two coin flips (before picks 1 and 3)
    assert {m.ids for m in merges} == {("x", "z", "y"), ("z", "x", "y")}


# ---------------------------------------------------------------------------- with readers
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path = tmp_path_factory.mktemp("demo") / "indexes" / "demo"
    Engine.build(load_articles([demo_articles_path()]), path, encoder=FakeEncoder())
    return Engine.load(path)


@pytest.fixture(scope="module")
def sim(demo: Engine) -> Simulator:
    return Simulator(demo, Readers())


def test_interleaving_finds_the_truly_better_configuration(sim: Simulator) -> None:
    better, worse = sim.lists(5), sim.lists(5, **WORSE)
    assert sim.value(better) > sim.value(worse)  # the truth, from the readers' known model
    # A pilot tells how many impressions the comparison needs; at that count, nearly every
    # experiment must pick the truly better configuration, significantly.
    pilot = report(attribute(sim.interleaving_events(worse, better, 3000, seed=99)))
    assert pilot.leaning == "b" and pilot.needed_impressions is not None
    claimed = pilot.needed_impressions
    runs = [
        report(attribute(sim.interleaving_events(worse, better, claimed, seed=s)))
        for s in range(40)
    ]
    right = sum(r.preferred == "b" for r in runs)
    wrong = sum(r.preferred == "a" for r in runs)
    assert wrong == 0 and right >= 0.9 * len(runs), (claimed, right)


def test_exact_win_rates_match_simulated_readers(sim: Simulator) -> None:
    better, worse = sim.lists(5), sim.lists(5, **WORSE)
    exact_a, exact_b = sim.interleaving_truth(worse, better)
    r = report(sim.interleaving_outcomes(worse, better, 20000, seed=8))
    assert r.wins_a / r.impressions == pytest.approx(exact_a, abs=0.006)
    assert r.wins_b / r.impressions == pytest.approx(exact_b, abs=0.006)
    assert exact_b > exact_a


def test_propensities_are_estimated_from_randomized_pairs(sim: Simulator) -> None:
    events = sim.logged_events(sim.lists(5), 20000, seed=5, swap_share=0.3)
    theta = estimate_propensities(events, 5)
    truth = Readers().examination(5)
    assert theta[0] == 1.0
    assert np.all(np.abs(theta - truth) < 0.12), theta
    with pytest.raises(InputError, match="swap_share"):
        estimate_propensities(sim.logged_events(sim.lists(5), 300, seed=5, swap_share=0.0), 5)


def test_tune_from_clicks_beats_defaults_on_held_out_truth(sim: Simulator, demo: Engine) -> None:
    sources = list(sim.sources)
    random.Random(7).shuffle(sources)
    train, test = sources[:70], sources[70:]
    lists = sim.lists(5)
    events = sim.logged_events({s: lists[s] for s in train}, 12000, seed=11, swap_share=0.2)
    result = tune_from_clicks(demo, events, folds=3)
    assert result.after > result.before  # the cross-validated report says so ...
    learned = {s: [r.id for r in demo.related(s, k=5, **result.settings)] for s in test}
    default = {s: lists[s] for s in test}
    assert sim.value(learned) > 1.1 * sim.value(default)  # ... and the unseen truth agrees
    settings = tomllib.loads(result.to_toml())["ranking"]
    assert settings["half_life_days"] == pytest.approx(result.settings["half_life_days"])
    assert settings["weight_similarity"] == pytest.approx(1.0)


def test_click_report_counts_and_plots(sim: Simulator, demo: Engine, tmp_path: Path) -> None:
    events = sim.logged_events(sim.lists(5), 2000, seed=2, swap_share=0.0)
    r = click_report(demo, events)
    clicks = sum(1 for e in events if e.type == "click")
    assert r.impressions == 2000 and r.clicks == clicks == r.overall.clicks
    assert [p.label for p in r.by_position] == ["1", "2", "3", "4", "5"]
    assert r.by_position[0].ctr > r.by_position[4].ctr  # the readers' position bias shows
    for rate in (*r.by_position, *r.by_section, *r.by_age):
        assert rate.low <= rate.ctr <= rate.high
    assert sum(x.shown for x in r.by_section) == sum(x.shown for x in r.by_age) == 10000
    assert 0 < r.clicked_coverage <= 1 and r.clicked_articles <= r.shown_articles
    files = write_report(r, tmp_path / "report")
    assert {f.name for f in files} >= {
        "ctr_by_position.png",
        "ctr_by_section.png",
        "ctr_by_age.png",
    }
    assert all(f.read_bytes()[:4] == b"\x89PNG" for f in files if f.suffix == ".png")


# ---------------------------------------------------------------------------- the CLI
def test_cli_events_eval_and_tune(sim: Simulator, demo: Engine, tmp_path: Path) -> None:
    index = demo.path
    store = EventStore.for_index(index)
    store.append(sim.interleaving_events(sim.lists(5, **WORSE), sim.lists(5), 600, seed=1))
    store.append(sim.logged_events(sim.lists(5), 3000, seed=4, swap_share=0.3))
    store.close()
    out = tmp_path / "events.jsonl"
    done = cli("events", "export", "--index", str(index), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    types = {json.loads(line)["type"] for line in out.read_text().splitlines()}
    assert types == {"impression", "click"}
    done = cli(
        "eval", "interleaving", "--index", str(index), "--experiment", "sim", "--json", cwd=tmp_path
    )
    assert done.returncode == 0 and json.loads(done.stdout)["impressions"] == 600
    done = cli("eval", "clicks", "--index", str(index), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "r" / "ctr_by_position.png").exists()
    tuned = tmp_path / "tuned.toml"
    done = cli(
        "tune", "--index", str(index), "--clicks", "--folds", "3", "--out", str(tuned), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Not applied" in done.stdout
    assert set(tomllib.loads(tuned.read_text())["ranking"]) >= {"weight_recency", "half_life_days"}
    again = cli("tune", "--index", str(index), "--clicks", "--out", str(tuned), cwd=tmp_path)
    assert again.returncode == 1 and "exists" in again.stderr  # never overwritten silently
    gold = cli(
        "tune",
        "--index",
        str(index),
        "--gold",
        str(demo_gold_path()),
        "--folds",
        "3",
        "--out",
        str(tmp_path / "gold.toml"),
        "--json",
        cwd=tmp_path,
    )
    assert gold.returncode == 0, gold.stderr
    figures = json.loads(gold.stdout)
    assert figures["metric"] == "ndcg@10" and len(figures["folds"]) == 3
    nothing = cli("eval", "clicks", "--index", str(tmp_path / "indexes" / "none"), cwd=tmp_path)
    assert nothing.returncode == 1 and nothing.stderr.startswith("error:")

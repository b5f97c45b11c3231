"""Statistical agreement of the engine with the exact CTMC solver on several Markov scenarios.

Each scenario is solved exactly (sim.analyses.exact.solve) and simulated at a fixed seed. At the
horizon every rung, outcome and way of ending must lie inside the 99.9% Wilson interval of
its Monte Carlo estimate (z = 3.29); every cumulative incidence curve must lie inside the
Dvoretzky-Kiefer-Wolfowitz band for alpha = 0.001 around the exact curve. Further tests aim
at two specific kinds of bug: an aggregation that puts first-passage times in the wrong day
(off by one) and an engine that loses (or invents) events, checked through exact expected
action counts. See docs/verification.md.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.analyses.exact import ExactResult, solve
from sim.results.stats import wilson
from sim.results.summary import Summary, summarise
from sim.run.aggregate import Aggregate, day_bins
from sim.run.engine import Plan
from sim.run.runner import run, simulate_chunk
from sim.spec.loader import load, load_text
from sim.spec.model import Model
from sim.spec.settings import apply_variant

ROOT = Path(__file__).resolve().parent.parent
SEED = 31415
Z999 = 3.29  # two-sided 99.9% normal quantile
ALPHA = 0.001


def dkw(n: int, alpha: float = ALPHA) -> float:
    """Half-width of the DKW confidence band for an empirical CDF of n draws."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


HEAD = """
scenario: {{id: {id}, title: {id}, start: 2025-01-01, horizon_days: {horizon}}}
actors: {{red: {{name: Red}}, blue: {{name: Blue}}}}
"""

# Three rungs and a fast first step: P(crisis by day d) = 1 - exp(-0.25 d) moves by 0.22 on
# day 1, so a curve shifted by one day is far outside any band. Patrols are a Poisson
# stream that only the run's end stops.
SMALL = HEAD.format(id="small", horizon=30) + """
ladder:
  initial: calm
  rungs: [{id: calm, name: Calm}, {id: crisis, name: Crisis}, {id: war, name: War}]
actions:
  provoke: {actor: red, rung: crisis}
  attack: {actor: blue, rung: war, ends_run: true}
  patrol: {actor: red}
processes:
  provocation: {rate: 0.25, when: "rung < crisis", action: provoke, source: test}
  patrols: {rate: 0.5, action: patrol, source: test}
rules:
  answer:
    on: provoke
    probability: 0.4
    delay: {dist: exponential, mean: 4}
    action: attack
    source: test
outcomes:
  war: {when: "peak >= war"}
  attacked: {action: attack}
"""

# A bounded counter that goes up and down; three rates read it (one quadratically), one
# reads the rung; a rule with an exponential delay and state-dependent weights.
MEDIUM = HEAD.format(id="medium", horizon=180) + """
ladder:
  initial: tension
  rungs:
    - {id: settled, name: Settled}
    - {id: tension, name: Tension}
    - {id: clashes, name: Clashes}
    - {id: war, name: War}
state:
  incidents: {initial: 0, min: 0, max: 5}
actions:
  incident: {actor: red, rung: clashes, effects: {incidents: incidents + 1}}
  calm_down: {actor: blue, effects: {incidents: incidents - 1}}
  invade: {actor: red, rung: war}
  counterattack: {actor: blue}
  settle: {actor: blue, rung: settled, rung_mode: set, ends_run: true}
processes:
  provocations:
    {rate: "0.04 + 0.02 * incidents", when: "rung < war", action: incident, source: test}
  de_escalation: {rate: "0.03 * incidents", action: calm_down, source: test}
  invasion:
    {rate: "0.0015 * incidents * incidents", when: "rung < war", action: invade, source: test}
  talks: {rate: "0.004 if rung < war else 0.002", action: settle, source: test}
rules:
  response:
    on: invade
    probability: 0.7
    delay: {dist: exponential, mean: 15}
    choose: {settle: 1, counterattack: "1 + incidents"}
    source: test
outcomes:
  war: {when: "peak >= war"}
  settled: {action: settle}
  five_incidents: {when: "incidents >= 5"}
  countered: {action: counterattack}
"""

# The crisis can go up and come down; nuclear use is rare (exact P about 1.1%).
RARE = HEAD.format(id="rare", horizon=365) + """
ladder:
  initial: calm
  rungs:
    - {id: calm, name: Calm}
    - {id: crisis, name: Crisis}
    - {id: war, name: War}
    - {id: nuclear, name: Nuclear use}
actions:
  provoke: {actor: red, rung: crisis}
  stand_down: {actor: blue, rung: calm, rung_mode: set}
  invade: {actor: red, rung: war}
  armistice: {actor: blue, rung: crisis, rung_mode: set}
  nuclear_strike: {actor: red, rung: nuclear, ends_run: true}
processes:
  provocations: {rate: 0.02, when: "rung == calm", action: provoke, source: test}
  calming: {rate: 0.05, when: "rung == crisis", action: stand_down, source: test}
  invasion: {rate: 0.01, when: "rung == crisis", action: invade, source: test}
  armistices: {rate: 0.02, when: "rung == war", action: armistice, source: test}
  nuclear_risk: {rate: 0.0003, when: "rung == war", action: nuclear_strike, source: test}
outcomes:
  war: {when: "peak >= war"}
  nuclear: {when: "peak >= nuclear"}
"""

# A process whose own action changes its rate (0.2 when n is even, 0.5 when odd), so every
# firing goes through the re-arming path; a plain Poisson stream beside it; no run ends
# early. One outcome per count level gives the exact distribution of the final count.
LEVELS = 45
COUNTER = HEAD.format(id="counter", horizon=60) + """
ladder:
  initial: calm
  rungs: [{id: calm, name: Calm}, {id: alert, name: Alert}]
state:
  n: {initial: 0, min: 0, max: 100}
actions:
  tick: {actor: red, effects: {n: n + 1}}
  patrol: {actor: blue}
processes:
  ticking: {rate: "0.2 + 0.3 * (n % 2)", action: tick, source: test}
  patrols: {rate: 0.5, action: patrol, source: test}
outcomes:
""" + "".join(f"  n{k}: {{when: \"n >= {k}\"}}\n" for k in range(1, LEVELS + 1))


@cache
def scenario(name: str) -> Model:
    """The named test scenario (``markov`` and ``markov_no_mediation`` are shipped)."""
    if name.startswith("markov"):
        base = load(ROOT / "scenarios" / "markov.yaml")
        return apply_variant(base, "no_mediation" if name.endswith("no_mediation") else None)
    return load_text({"small": SMALL, "medium": MEDIUM, "rare": RARE,
                      "counter": COUNTER}[name], name)


RUNS = {"markov": 4000, "markov_no_mediation": 4000, "small": 4000, "medium": 4000,
        "rare": 20000, "counter": 4000}


@cache
def exact(name: str) -> ExactResult:
    """The exact solution of the named scenario on whole days."""
    return solve(scenario(name))


@cache
def monte_carlo(name: str) -> tuple[Aggregate, Summary]:
    """The Monte Carlo aggregate and summary of the named scenario at the fixed seed."""
    m = scenario(name)
    runs = RUNS[name]
    agg = run(m, runs, SEED, workers=2 if runs > 4000 else 1).aggregate
    assert agg.n == runs
    return agg, summarise(m, agg)


STATISTICAL = ["markov", "markov_no_mediation", "small", "medium", "rare"]


def test_markov_yaml_exact_values_match_its_header() -> None:
    """The exact solver reproduces the numbers quoted in scenarios/markov.yaml's header."""
    base, variant = exact("markov"), exact("markov_no_mediation")
    assert base.n_states == 12
    assert base.outcome_curve("war")[-1] == pytest.approx(0.378, abs=5e-4)
    assert base.outcome_curve("nuclear")[-1] == pytest.approx(0.0341, abs=5e-5)
    assert base.outcome_curve("settled")[-1] == pytest.approx(0.617, abs=5e-4)
    assert variant.outcome_curve("war")[-1] == pytest.approx(0.378, abs=5e-4)
    assert variant.outcome_curve("nuclear")[-1] == pytest.approx(0.0563, abs=5e-5)
    assert variant.outcome_curve("settled")[-1] == pytest.approx(0.505, abs=5e-4)


def test_inline_scenarios_have_the_intended_shape() -> None:
    """The inline chains have the sizes and tail probabilities the tests rely on."""
    assert exact("small").n_states == 4
    assert exact("medium").n_states > 40
    assert exact("counter").n_states > 60
    assert 0.005 <= exact("rare").rung("nuclear")[-1] <= 0.02
    for name in STATISTICAL:
        res = exact(name)
        assert sum(res.terminal.values()) == pytest.approx(1.0, abs=1e-9)
        assert np.all(np.diff(res.reach, axis=1) >= -1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name", STATISTICAL)
def test_horizon_estimates_within_999_wilson(name: str) -> None:
    """Every rung, outcome and terminal reason: exact value inside the 99.9% Wilson interval."""
    res, (agg, summary) = exact(name), monte_carlo(name)
    n = agg.n
    checked = 0
    for i, line in enumerate(summary.rungs):
        est = wilson(line.estimate.k, n, z=Z999)
        assert est.low <= res.reach[i, -1] <= est.high, (line.id, res.reach[i, -1], est)
        checked += 1
    for i, line in enumerate(summary.outcomes):
        est = wilson(line.estimate.k, n, z=Z999)
        assert est.low <= res.outcome[i, -1] <= est.high, (line.id, res.outcome[i, -1], est)
        checked += 1
    counts = dict(agg.terminal)
    for reason, p in res.terminal.items():
        est = wilson(counts.get(reason, 0), n, z=Z999)
        assert est.low <= p <= est.high, (reason, p, est)
    assert set(counts) <= set(res.terminal)
    assert checked == len(scenario(name).rungs) + len(scenario(name).outcomes)


@pytest.mark.parametrize("name", STATISTICAL)
def test_first_passage_curves_within_dkw_band(name: str) -> None:
    """Every cumulative incidence curve stays within the DKW band (alpha 0.001) of exact."""
    res, (agg, summary) = exact(name), monte_carlo(name)
    band = dkw(agg.n)
    curves = list(zip(summary.rung_curves, res.reach, strict=True)) + \
        list(zip(summary.outcome_curves, res.outcome, strict=True))
    for curve, truth in curves:
        assert curve.p.shape == truth.shape == (int(scenario(name).horizon) + 1,)
        gap = float(np.max(np.abs(curve.p - truth)))
        assert gap <= band, (curve.id, gap, band)


def test_rare_top_rung_is_estimated_within_its_interval() -> None:
    """A rung of exact probability about 1% is seen often enough and estimated honestly."""
    truth = exact("rare").rung("nuclear")[-1]
    agg, summary = monte_carlo("rare")
    est = summary.rung("nuclear")
    assert est.k >= 100  # 20,000 runs at ~1.1%: ~220 expected
    strict = wilson(est.k, est.n, z=Z999)
    assert strict.low <= truth <= strict.high
    # Relative precision: the 99.9% interval is narrower than the value itself.
    assert strict.high - strict.low < truth
    # The rare rung is only reached through war: its count cannot exceed war's.
    assert agg.reached[scenario("rare").rung_index("nuclear")] <= summary.rung("war").k


def test_curves_are_aligned_to_the_right_day() -> None:
    """P(reach by day d) matches exact at d, and is rejected against exact at d-1 or d+1."""
    res = exact("small")
    agg, summary = monte_carlo("small")
    band = dkw(agg.n)
    mc = next(c for c in summary.rung_curves if c.id == "crisis").p
    truth = res.rung("crisis")
    assert truth[1] == pytest.approx(1 - math.exp(-0.25), abs=1e-9)
    assert float(np.max(np.abs(mc - truth))) <= band
    # The test has the power to see a one-day shift: it moves the curve by far more.
    early = float(np.max(np.abs(mc[:-1] - truth[1:])))  # as if times were counted a day late
    late = float(np.max(np.abs(mc[1:] - truth[:-1])))   # as if a day early
    assert early > 5 * band and late > 5 * band
    # Day 0 holds only what happened at time 0 (here nothing); by day 1 about 22% crossed.
    assert mc[0] == 0.0
    assert abs(mc[1] - truth[1]) <= band


@pytest.mark.slow
def test_a_floor_binning_aggregation_would_be_caught() -> None:
    """Re-binning the same records with floor instead of ceil fails the exact check."""
    m = scenario("small")
    plan = Plan(m)
    agg, records = simulate_chunk(plan, SEED, 0, 4000, True)
    crisis = m.rung_index("crisis")
    times = np.array([r.first_reach[crisis] for r in records])
    hit = times[np.isfinite(times)]
    n_days = int(m.horizon) + 1
    right = np.cumsum(np.bincount(day_bins(hit, n_days), minlength=n_days)) / agg.n
    wrong = np.cumsum(np.bincount(np.minimum(np.floor(hit), n_days - 1).astype(int),
                                  minlength=n_days)) / agg.n
    truth = exact("small").rung("crisis")
    band = dkw(agg.n)
    assert np.array_equal(right * agg.n, np.cumsum(agg.reach_hist[crisis]))
    assert float(np.max(np.abs(right - truth))) <= band
    assert float(np.max(np.abs(wrong - truth))) > 5 * band


def _survival_moments(name: str, outcome: str, steps: int = 6000) -> tuple[float, float]:
    """E[D] and E[D^2] of D = min(time of ``outcome``, horizon), by quadrature of exact."""
    m = scenario(name)
    t = np.linspace(0.0, float(m.horizon), steps + 1)
    survive = 1.0 - solve(m, days=t).outcome_curve(outcome)
    mean = float(np.trapezoid(survive, t))
    second = float(np.trapezoid(2 * t * survive, t))
    return mean, second


@pytest.mark.slow
def test_poisson_stream_stopped_by_the_run_end_loses_no_event() -> None:
    """Mean patrol count = rate * E[min(end, horizon)] (exact), within a 99.9% interval."""
    rate = 0.5
    m = scenario("small")
    agg, summary = monte_carlo("small")
    mean_d, second_d = _survival_moments("small", "attacked")
    expected = rate * mean_d
    # Count given the duration D is Poisson(rate D): Var = rate E[D] + rate^2 Var(D).
    variance = rate * mean_d + rate ** 2 * (second_d - mean_d ** 2)
    half = Z999 * math.sqrt(variance / agg.n)
    patrol = m.action_index("patrol")
    observed = agg.action_total[patrol] / agg.n
    assert 10.0 < expected < 15.0
    assert abs(observed - expected) <= half, (observed, expected, half)
    mean_count = next(c for a, _, c in summary.actions if a == "patrol")
    assert mean_count == pytest.approx(observed, abs=1e-12)
    # The whole-horizon value rate * 30 = 15 is rejected: the run's end does stop patrols.
    assert abs(observed - rate * 30) > half


@pytest.mark.slow
def test_poisson_stream_count_is_rate_times_horizon() -> None:
    """A constant-rate action in runs that never end early: mean count = rate * horizon."""
    m = scenario("counter")
    agg, summary = monte_carlo("counter")
    patrol = m.action_index("patrol")
    expected = 0.5 * 60
    half = Z999 * math.sqrt(expected / agg.n)  # Poisson: variance = mean
    observed = agg.action_total[patrol] / agg.n
    assert abs(observed - expected) <= half, (observed, expected, half)
    assert agg.terminal == {"horizon": agg.n}
    # P(no patrol at all) = exp(-30): every run saw one.
    assert agg.action_any[patrol] == agg.n
    reported = next(a for a in summary.to_dict()["actions"] if a["id"] == "patrol")
    assert reported["mean_count"] == pytest.approx(observed, abs=1e-12)
    assert reported["occurs"]["p"] == 1.0


def test_self_rearming_process_count_matches_exact_distribution() -> None:
    """A process that changes its own rate at every firing: mean and P(count >= k) exact."""
    m = scenario("counter")
    res = exact("counter")
    agg, summary = monte_carlo("counter")
    tail = np.array([res.outcome_curve(f"n{k}")[-1] for k in range(1, LEVELS + 1)])
    assert tail[-1] < 1e-6  # the levels cover the distribution
    k = np.arange(1, LEVELS + 1)
    mean = float(tail.sum())               # E[N] = sum_k P(N >= k)
    second = float(((2 * k - 1) * tail).sum())  # E[N^2] = sum_k (2k - 1) P(N >= k)
    half = Z999 * math.sqrt((second - mean ** 2) / agg.n)
    tick = m.action_index("tick")
    observed = agg.action_total[tick] / agg.n
    assert 15.0 < mean < 20.0
    assert abs(observed - mean) <= half, (observed, mean, half)
    # The final value of n is the count (no clipping), and its histogram mean agrees.
    n_mean = next(mu for s, _, mu in summary.state if s == "n")
    assert n_mean == pytest.approx(observed, abs=1e-9)
    # The whole distribution of the count: P(N >= k) for every k within the DKW band (a
    # pointwise Wilson check of 45 levels would fail in the far tail, where n p << 1).
    observed_tail = agg.outcome_counts / agg.n
    assert float(np.max(np.abs(observed_tail - tail))) <= dkw(agg.n)
    # and the median level pointwise, inside its 99.9% Wilson interval
    middle = int(np.argmin(np.abs(tail - 0.5)))
    est = wilson(int(agg.outcome_counts[middle]), agg.n, z=Z999)
    assert est.low <= tail[middle] <= est.high, (middle + 1, tail[middle], est)
    # Plausible wrong answers are far outside: a rate cached at its first value (0.2) gives
    # 12; a process that lost its clock at its first change of rate, at most 1.
    assert abs(observed - 0.2 * 60) > 10 * half
    assert observed > 1 + 10 * half


GUARDED = HEAD.format(id="guarded", horizon=30) + """
ladder: {initial: calm, rungs: [{id: calm, name: Calm}, {id: war, name: War}]}
state: {ready: {initial: 0, min: 0, max: 1}}
actions:
  go: {actor: red, rung: war, ends_run: true}
processes:
  attempts: {rate: 0.5, choose: {go: ready}, source: test}
"""


def test_exact_single_option_choose_with_zero_weight_never_fires() -> None:
    """`choose: {go: ready}` with ready == 0 forever: exact P(war) is 0, not 1 - exp(-15)."""
    res = solve(load_text(GUARDED, "guarded"))
    assert res.rung("war")[-1] == 0.0
    assert res.terminal["horizon"] == pytest.approx(1.0)

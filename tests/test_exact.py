"""The exact CTMC solver: closed forms, agreement with the engine, and refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sim.analyses.exact import ExactResult, solve
from sim.errors import NotMarkovianError, ScenarioError, UsageError
from sim.results.stats import wilson
from sim.results.summary import Summary, summarise
from sim.run.engine import ModelRuntimeError, Plan
from sim.run.runner import run, simulate_chunk
from sim.spec.loader import load_text
from sim.spec.model import Model

RUNS = 4000
SEED = 20250101
Z999 = 3.29  # two-sided 99.9%
ALPHA = 0.001
DKW = math.sqrt(math.log(2 / ALPHA) / (2 * RUNS))

HEAD = """
scenario: {{id: t, title: test, start: 2025-01-01, horizon_days: {horizon}}}
actors: {{a: {{name: A}}, b: {{name: B}}}}
"""


def model(body: str, horizon: int = 90) -> Model:
    """A scenario from a YAML body (everything but 'scenario' and 'actors')."""
    return load_text(HEAD.format(horizon=horizon) + body)


def monte_carlo(m: Model, runs: int = RUNS) -> Summary:
    """The engine's summary of ``runs`` replications (fixed seed)."""
    return summarise(m, run(m, runs, SEED, workers=1).aggregate)


def assert_agrees(m: Model, exact: ExactResult, mc: Summary) -> None:
    """Every rung, outcome and terminal reason within 99.9% Wilson; every curve in DKW."""
    n = mc.n
    for i, line in enumerate(mc.rungs):
        est = wilson(line.estimate.k, n, z=Z999)
        assert est.low <= exact.reach[i, -1] <= est.high, (line.id, exact.reach[i, -1], est)
    for i, line in enumerate(mc.outcomes):
        est = wilson(line.estimate.k, n, z=Z999)
        assert est.low <= exact.outcome[i, -1] <= est.high, (line.id, exact.outcome[i, -1], est)
    for line in mc.terminal:
        est = wilson(line.estimate.k, n, z=Z999)
        assert est.low <= exact.terminal[line.id] <= est.high, (line.id, est)
    for reason, p in exact.terminal.items():
        if p > 0.01:
            assert any(line.id == reason for line in mc.terminal), reason
    for curve, ex in zip(mc.rung_curves + mc.outcome_curves,
                         list(exact.reach) + list(exact.outcome), strict=True):
        assert np.max(np.abs(curve.p - ex)) <= DKW, (curve.id, np.max(np.abs(curve.p - ex)))


# -- closed forms -------------------------------------------------------------------------
TWO_STATE = """
ladder:
  initial: calm
  rungs: [{id: calm, name: Calm}, {id: war, name: War}]
actions:
  attack: {actor: a, rung: war, ends_run: true}
processes:
  attacks: {rate: 0.05, action: attack, source: test}
outcomes:
  war_started: {action: attack}
  at_war: {when: "rung >= war"}
"""


def test_two_state_chain_is_exponential() -> None:
    """One constant-rate process to an ends_run rung: P(reach by t) = 1 - exp(-λt)."""
    res = solve(model(TWO_STATE))
    days = np.arange(91.0)
    expected = 1 - np.exp(-0.05 * days)
    assert res.n_states == 2
    assert_allclose(res.days, days)
    assert_allclose(res.reach[0], 1.0, atol=1e-12)
    assert_allclose(res.rung("war"), expected, rtol=0, atol=1e-9)
    assert_allclose(res.outcome, [expected, expected], rtol=0, atol=1e-9)
    assert res.terminal == pytest.approx({"attack": 1 - math.exp(-4.5),
                                          "horizon": math.exp(-4.5)}, abs=1e-9)


COMPETING = """
ladder:
  initial: calm
  rungs: [{id: settled, name: S}, {id: calm, name: C}, {id: war, name: W}]
actions:
  attack: {actor: a, rung: war, ends_run: true}
  agree: {actor: b, rung: settled, rung_mode: set, ends_run: true}
processes:
  attacks: {rate: 0.03, action: attack, source: test}
  talks: {rate: 0.02, action: agree, source: test}
"""


def test_competing_risks() -> None:
    """Two terminal processes at rates a and b: P(A by t) = a/(a+b)(1 - exp(-(a+b)t))."""
    a, b = 0.03, 0.02
    res = solve(model(COMPETING))
    t = np.arange(91.0)
    both = 1 - np.exp(-(a + b) * t)
    assert_allclose(res.rung("war"), a / (a + b) * both, atol=1e-9)
    assert_allclose(res.rung("settled"), b / (a + b) * both, atol=1e-9)
    assert res.terminal["attack"] == pytest.approx(0.6 * (1 - math.exp(-4.5)), abs=1e-9)
    assert res.terminal["agree"] == pytest.approx(0.4 * (1 - math.exp(-4.5)), abs=1e-9)
    assert res.terminal["horizon"] == pytest.approx(math.exp(-4.5), abs=1e-9)


DELAYED = """
ladder:
  initial: calm
  rungs: [{id: calm, name: C}, {id: crisis, name: K}, {id: war, name: W}]
actions:
  provoke: {actor: a, rung: crisis}
  strike: {actor: b, rung: war, ends_run: true}
processes:
  provocation: {rate: 0.05, when: "rung < crisis", action: provoke, source: test}
rules:
  answer:
    on: provoke
    probability: 0.6
    delay: {dist: exponential, mean: 8}
    action: strike
    source: test
"""


def test_exponential_rule_delay_is_hypoexponential() -> None:
    """Action then a response with prob p after Exp(mean m): p times the hypoexponential CDF."""
    lam, mu, p = 0.05, 1 / 8, 0.6
    res = solve(model(DELAYED))
    t = np.arange(91.0)
    hypo = 1 - (mu * np.exp(-lam * t) - lam * np.exp(-mu * t)) / (mu - lam)
    assert_allclose(res.rung("crisis"), 1 - np.exp(-lam * t), atol=1e-9)
    assert_allclose(res.rung("war"), p * hypo, atol=1e-9)
    assert res.terminal["strike"] == pytest.approx(p * hypo[-1], abs=1e-9)


def test_days_argument_matches_the_default_grid() -> None:
    """Any days in [0, horizon], in any order, give the values of the whole-day grid."""
    m = model(DELAYED)
    full = solve(m)
    some = solve(m, days=np.array([30.0, 0.0, 12.5, 90.0, 7.0]))
    lam, mu = 0.05, 1 / 8
    assert_allclose(some.reach[:, [0, 1, 3, 4]], full.reach[:, [30, 0, 90, 7]], atol=1e-12)
    hypo = 1 - (mu * math.exp(-lam * 12.5) - lam * math.exp(-mu * 12.5)) / (mu - lam)
    assert some.rung("war")[2] == pytest.approx(0.6 * hypo, abs=1e-12)
    assert some.terminal == pytest.approx(full.terminal, abs=1e-12)
    with pytest.raises(UsageError, match=r"\[0, 90\]"):
        solve(m, days=[100.0])


# -- zero-delay (instantaneous) responses ---------------------------------------------------
INSTANT = """
ladder:
  initial: calm
  rungs: [{id: calm, name: C}, {id: crisis, name: K}, {id: war, name: W}]
state:
  anger: {initial: 0}
actions:
  provoke: {actor: a, rung: crisis, effects: {anger: anger + 2}}
  strike: {actor: b, rung: war, ends_run: true}
  protest: {actor: b}
processes:
  provocation: {rate: 0.05, when: "rung < crisis", action: provoke, source: test}
rules:
  answer:
    on: provoke
    probability: 0.5
    choose: {strike: anger, protest: 6}
    source: test
"""


def test_zero_delay_response_sees_the_state_after_the_action() -> None:
    """A delay-0 response chooses with weights evaluated after the triggering effects."""
    res = solve(model(INSTANT))
    t = np.arange(91.0)
    assert_allclose(res.rung("war"), 0.5 * 2 / 8 * (1 - np.exp(-0.05 * t)), atol=1e-9)


FIFO = """
ladder:
  initial: calm
  rungs: [{id: calm, name: C}, {id: crisis, name: K}, {id: war, name: W}]
state:
  ready: {initial: 0}
actions:
  provoke: {actor: a, rung: crisis}
  mobilise: {actor: b, effects: {ready: 1}}
  demobilise: {actor: b, effects: {ready: 0}}
  strike: {actor: b, rung: war, ends_run: true}
  stand_down: {actor: b}
processes:
  provocation: {rate: 0.05, when: "rung < crisis", action: provoke, source: test}
rules:
  first: {on: provoke, action: mobilise, source: test}
  second: {on: provoke, choose: {strike: ready, stand_down: 1}, source: test}
  undo: {on: mobilise, action: demobilise, source: test}
outcomes:
  stood_down: {action: stand_down}
  mobilised: {when: "ready == 1"}
"""


@pytest.mark.slow
def test_zero_delay_cascade_is_first_in_first_out_like_the_engine() -> None:
    """Responses queued at one instant run in order (first, second, undo), as SimPy does."""
    m = model(FIFO)
    res = solve(m)
    t = np.arange(91.0)
    # FIFO: 'second' runs while ready == 1 (strike with 1/2); depth-first would give 0.
    assert_allclose(res.rung("war"), 0.5 * (1 - np.exp(-0.05 * t)), atol=1e-9)
    assert_allclose(res.outcome_curve("stood_down"), 0.5 * (1 - np.exp(-0.05 * t)), atol=1e-9)
    assert_allclose(res.outcome_curve("mobilised"), 1 - np.exp(-0.05 * t), atol=1e-9)
    assert_agrees(m, res, monte_carlo(m))


CYCLE = """
ladder:
  initial: calm
  rungs: [{id: calm, name: C}, {id: crisis, name: K}]
state:
  pings: {initial: 0, max: 3}
actions:
  start: {actor: a, rung: crisis}
  ping: {actor: b, effects: {pings: pings + 1}}
processes:
  trigger: {rate: 0.05, when: "rung < crisis", action: start, source: test}
rules:
  echo: {on: [start, ping], probability: 0.5, action: ping, source: test}
outcomes:
  three_pings: {when: "pings >= 3"}
"""


def test_zero_delay_cycle_is_solved_exactly() -> None:
    """A response that can retrigger itself at one instant: P(3 pings) = 1/8 of the starts."""
    m = model(CYCLE)
    res = solve(m)
    t = np.arange(91.0)
    assert_allclose(res.outcome_curve("three_pings"), (1 - np.exp(-0.05 * t)) / 8, atol=1e-9)
    assert_agrees(m, res, monte_carlo(m, 2000))


def test_endless_zero_delay_cycle_is_refused() -> None:
    """A certain, instantaneous self-trigger never ends; the solver says so and names it."""
    m = model(CYCLE.replace("probability: 0.5", "probability: 1"))
    with pytest.raises(NotMarkovianError, match=r"never ends.*echo"):
        solve(m)


# -- state-dependent rates: exact against the engine ----------------------------------------
STATEFUL = """
ladder:
  initial: calm
  rungs:
    - {id: settled, name: Settlement}
    - {id: calm, name: Skirmishes}
    - {id: struck, name: Deep strikes}
    - {id: war, name: General war}
levers:
  intensity: {value: 1.0, source: test}
state:
  strikes: {initial: 0, max: 4}
actions:
  strike: {actor: a, rung: struck, effects: {strikes: strikes + 1}}
  retaliate: {actor: b, rung: war, ends_run: true}
  warn: {actor: b}
  talks: {actor: b, rung: settled, rung_mode: set, ends_run: true}
processes:
  campaign: {rate: "0.1 * intensity", when: "strikes < 4", action: strike, source: test}
  escalation: {rate: "min(0.05, 0.01 * (1 + strikes))", action: retaliate, source: test}
  peace: {rate: "0.01 if strikes < 3 else 0", action: talks, source: test}
rules:
  answer:
    on: strike
    probability: "min(1, 0.2 + 0.05 * strikes)"
    delay: {dist: exponential, mean: 5}
    choose: {retaliate: strikes, warn: 2}
    source: test
outcomes:
  war: {when: "peak >= war"}
  three_strikes: {when: "strikes >= 3"}
  talked: {action: talks}
"""


@pytest.mark.slow
def test_state_dependent_rates_agree_with_the_engine() -> None:
    """Exact vs 4000 engine runs: 99.9% Wilson at the horizon and a DKW band on every curve."""
    m = model(STATEFUL)
    res = solve(m)
    assert 10 < res.n_states < 200
    assert sum(res.terminal.values()) == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(res.reach, axis=1) >= -1e-12)  # cumulative curves never fall
    assert_agrees(m, res, monte_carlo(m))


AROUSAL = """
ladder:
  initial: calm
  rungs: [{id: calm, name: C}, {id: war, name: W}]
state:
  alert: {initial: 0, max: 1}
actions:
  provoke: {actor: a, effects: {alert: 1}}
  attack: {actor: b, rung: war, ends_run: true}
processes:
  provocation: {rate: 0.05, action: provoke, source: test}
  attacks: {rate: "RATE", action: attack, source: test}
"""
LIVE_RATE = AROUSAL.replace("RATE", "0.002 + 0.03 * alert")
FROZEN_RATE = AROUSAL.replace("RATE", "0.002")


@pytest.mark.slow
def test_exact_answer_catches_an_engine_that_keeps_stale_clocks() -> None:
    """A rate that changes mid-run differs from the rate frozen at its start, by far more
    than the Monte Carlo interval: an engine keeping old clocks would fail the check."""
    live, frozen = model(LIVE_RATE), model(FROZEN_RATE)
    exact = solve(live).rung("war")[-1]
    stale = solve(frozen).rung("war")[-1]
    # Closed form of the frozen chain, and of the live one (hypoexponential mixture).
    a, b, c = 0.05, 0.002, 0.032
    assert stale == pytest.approx(1 - math.exp(-b * 90), abs=1e-9)
    live_closed = 1 - (math.exp(-(a + b) * 90) + a / (a + b - c)
                       * (math.exp(-c * 90) - math.exp(-(a + b) * 90)))
    assert exact == pytest.approx(live_closed, abs=1e-9)
    mc = monte_carlo(live)
    est = wilson(mc.rung("war").k, mc.n, z=Z999)
    assert est.low <= exact <= est.high
    assert exact - stale > 5 * est.half_width
    # The same engine with re-arming switched off keeps its first clock: it matches the
    # frozen answer and is rejected by the exact one.
    plan = Plan(live)
    plan.readers = {name: () for name in plan.readers}  # never re-evaluate rates
    broken, _ = simulate_chunk(plan, SEED, 0, RUNS, False)
    bad = wilson(int(broken.reached[live.rung_index("war")]), broken.n, z=Z999)
    assert bad.low <= stale <= bad.high
    assert not bad.low <= exact <= bad.high


# -- refusals ---------------------------------------------------------------------------------
SIMPLE = """
ladder:
  initial: calm
  rungs: [{id: calm, name: C}, {id: war, name: W}]
EXTRA
actions:
  attack: {actor: a, rung: war, ends_run: true}
  warn: {actor: b}
processes:
  attacks: {rate: 0.05, action: warn, source: test}
"""


@pytest.mark.parametrize(("extra", "message"), [
    ("parameters:\n  resolve: {dist: uniform, low: 0, high: 1, source: test}",
     r"parameters\.resolve is uniform"),
    ("processes:\n  patrol: {every: 7, action: warn, source: test}",
     r"processes\.patrol has a cadence"),
    ("schedule:\n  - {id: ultimatum, day: 30, action: warn}",
     r"schedule\.ultimatum is a scheduled event"),
    ("rules:\n  red_answers: {on: warn, delay: {dist: lognormal, median: 3, sigma: 1}, "
     "action: attack, source: test}",
     r"rules\.red_answers\.delay is lognormal; only exponential \(or 0\) delays"),
    ("rules:\n  late: {on: warn, delay: 3, action: attack, source: test}",
     r"rules\.late\.delay is fixed\(value=3\)"),
    ("rules:\n  dated: {on: warn, probability: 'min(1, day / 90)', action: attack, "
     "source: test}", r"rules\.dated\.probability reads 'day'"),
    ("processes:\n  later: {rate: 0.1, start: 20, action: warn, source: test}",
     r"processes\.later\.start is 20"),
])
def test_non_markovian_features_are_refused(extra: str, message: str) -> None:
    """Each non-Markovian feature raises NotMarkovianError naming the offending element."""
    text = SIMPLE.replace("EXTRA", "")
    section = extra.split(":", 1)[0]
    if section in text:  # merge into the existing section
        text = text.replace(f"{section}:\n", extra + "\n", 1)
    else:
        text = text.replace("actions:", extra + "\nactions:", 1)
    m = model(text)
    with pytest.raises(NotMarkovianError, match=message):
        solve(m)


def test_day_in_an_effect_is_refused() -> None:
    """An effect that reads the calendar day is named in the refusal."""
    m = model(SIMPLE.replace("EXTRA", "state:\n  tension: {initial: 0}").replace(
        "warn: {actor: b}", "warn: {actor: b, effects: {tension: day}}"))
    with pytest.raises(NotMarkovianError, match=r"actions\.warn\.effects\.tension reads 'day'"):
        solve(m)


def test_unbounded_state_space_is_refused() -> None:
    """An unbounded counter feeding a rate exceeds the state cap; the error names it."""
    m = model(SIMPLE.replace("EXTRA", "state:\n  n: {initial: 0}").replace(
        "warn: {actor: b}", "warn: {actor: b, effects: {n: n + 1}}"))
    with pytest.raises(NotMarkovianError, match=r"more than 500 states.*'n'"):
        solve(m, max_states=500)
    bounded = model(SIMPLE.replace("EXTRA", "state:\n  n: {initial: 0, max: 9}").replace(
        "warn: {actor: b}", "warn: {actor: b, effects: {n: n + 1}}"))
    assert solve(bounded, max_states=500).n_states == 10


def test_impossible_value_in_a_reachable_state_is_a_runtime_error() -> None:
    """A probability that leaves [0, 1] in some reachable state fails like the engine does."""
    # '0.6 + rung' is bounded (rung <= 2), so the loader refuses it; an unbounded state
    # variable gets through to the solver, which must fail like the engine.
    with pytest.raises(ScenarioError, match="can be as low as 0.6 and as high as 2.6"):
        model(DELAYED.replace("probability: 0.6", 'probability: "0.6 + rung"'))
    m = model(DELAYED.replace("probability: 0.6", 'probability: "0.6 + k"').replace(
        "  provoke: {actor: a, rung: crisis}",
        "  provoke: {actor: a, rung: crisis, effects: {k: k + 1}}").replace(
        "actions:", "state:\n  k: {initial: 0}\nactions:", 1))
    with pytest.raises(ModelRuntimeError, match=r"'0.6 \+ k' evaluated to 1.6"):
        solve(m)

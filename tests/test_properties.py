"""Property tests: random valid scenarios (as YAML text) through loader, engine and aggregates.

The generator builds scenarios that are valid by construction and cannot fail at run time:
rates are non-negative combinations of bounded non-negative state variables and the rung,
probabilities are ``min(1, ...)`` of non-negative terms, and rules only respond with actions
later in the action list than those that trigger them, so cascades of responses (even with
zero delay) always end. Every example is deterministic (``derandomize=True``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import assert_same, cpu_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.results.summary import summarise
from sim.run import runner
from sim.run.aggregate import Aggregate
from sim.run.engine import ModelRuntimeError, Plan
from sim.run.record import Record
from sim.spec.loader import load_text
from sim.spec.model import Model

START = dt.date(2025, 1, 1)
SETTINGS = {"deadline": None, "derandomize": True, "database": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


# -- the generator ------------------------------------------------------------------------
def _num(draw: Any, low: float, high: float) -> float:
    """A float in [low, high] rounded to 3 decimals (readable YAML)."""
    return round(draw(st.floats(low, high, allow_nan=False)), 3)


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    """A valid scenario as plain data (dump it with :func:`to_yaml`)."""
    horizon = draw(st.integers(10, 120))
    n_rungs = draw(st.integers(2, 6))
    rungs = [f"r{i}" for i in range(n_rungs)]
    initial = draw(st.integers(0, n_rungs - 1))
    actors = [f"a{i}" for i in range(draw(st.integers(1, 3)))]
    state: dict[str, dict[str, Any]] = {}
    bounds: dict[str, int] = {}
    for i in range(draw(st.integers(0, 3))):
        high = draw(st.integers(1, 6))
        bounds[f"s{i}"] = high
        state[f"s{i}"] = {"initial": draw(st.integers(0, high)), "min": 0, "max": high}
    levers: dict[str, Any] = {}
    if draw(st.booleans()):
        levers["switch"] = {"value": draw(st.booleans()), "source": "test"}
    parameters: dict[str, Any] = {}
    if draw(st.booleans()):
        parameters["resolve"] = {"dist": "uniform", "low": 0.0, "high": 0.5, "source": "test"}
        if state and draw(st.booleans()):
            # a continuous initial value: many distinct final values (histogram coarsening)
            var = draw(st.sampled_from(sorted(state)))
            state[var]["initial"] = f"resolve * {bounds[var]}"

    def state_term() -> str:
        var = draw(st.sampled_from(sorted(bounds) + ["rung", "peak"]))
        return var

    def rate_expr() -> float | str:
        kind = draw(st.sampled_from(["const", "linear", "step", "rung"]
                                    if bounds else ["const", "rung"]))
        c0 = round(draw(st.sampled_from([0.1, 0.02, 0.3, 0.05, 0.5, 0.0])) + _num(draw, 0, 0.1), 3)
        c1 = round(draw(st.sampled_from([0.05, 0.1, 0.0, 0.2])) + _num(draw, 0, 0.1), 3)
        if kind == "const":
            return c0
        if kind == "rung":
            return f"{c0} + {c1} * rung"
        var = draw(st.sampled_from(sorted(bounds)))
        if kind == "linear":
            return f"{c0} + {c1} * {var}"
        return f"{c0} if {var} < {draw(st.integers(0, bounds[var]))} else {c1}"

    def condition() -> str:
        kind = draw(st.sampled_from(["rung", "state", "lever"]))
        if kind == "state" and bounds:
            var = draw(st.sampled_from(sorted(bounds)))
            op = draw(st.sampled_from(["<", ">=", "==", "!="]))
            return f"{var} {op} {draw(st.integers(0, bounds[var]))}"
        if kind == "lever" and levers:
            return draw(st.sampled_from(["switch", "not switch"]))
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "=="]))
        return f"rung {op} {draw(st.sampled_from(rungs))}"

    def probability() -> float | str:
        if draw(st.booleans()):
            return _num(draw, 0, 1)
        term = state_term() if bounds or draw(st.booleans()) else "rung"
        extra = " * resolve" if parameters and draw(st.booleans()) else ""
        return f"min(1, {_num(draw, 0, 0.6)} + {_num(draw, 0, 0.2)} * {term}{extra})"

    n_actions = draw(st.integers(1, 5))
    names = [f"act{i}" for i in range(n_actions)]

    def choice(options: list[str]) -> dict[str, Any]:
        if len(options) == 1 or draw(st.booleans()):
            return {"action": draw(st.sampled_from(options))}
        picked = draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True))
        weights: dict[str, Any] = {}
        for k, act in enumerate(picked):
            if bounds and k > 0 and draw(st.booleans()):
                weights[act] = f"1 + {draw(st.sampled_from(sorted(bounds)))}"
            else:
                weights[act] = draw(st.sampled_from([0.5, 1, 2, 3]))
        return {"choose": weights}

    actions: dict[str, dict[str, Any]] = {}
    for name in names:
        item: dict[str, Any] = {"actor": draw(st.sampled_from(actors))}
        if draw(st.sampled_from([True, True, False])):
            top = n_rungs - 1
            up = initial < top and draw(st.booleans())
            item["rung"] = rungs[draw(st.integers(initial + 1, top)) if up
                                 else draw(st.integers(0, top))]
            mode = draw(st.sampled_from(["default", "set", "raise", "set"]))
            if mode != "default":
                item["rung_mode"] = mode
        if bounds and draw(st.booleans()):
            effects = {}
            for var in draw(st.lists(st.sampled_from(sorted(bounds)), min_size=1,
                                     unique=True)):
                effects[var] = draw(st.sampled_from(
                    [f"{var} + 1", f"{var} - 1", f"{var} + 2", "0", f"{bounds[var]}",
                     f"{var} * 0.5 + 1"]))
            item["effects"] = effects
        if draw(st.integers(0, 3)) == 0:
            item["ends_run"] = True
        actions[name] = item

    processes: dict[str, dict[str, Any]] = {}
    for i in range(draw(st.integers(1, 4))):
        proc: dict[str, Any] = {"rate": rate_expr(), **choice(names), "source": "test"}
        if draw(st.booleans()):
            proc["when"] = condition()
        processes[f"proc{i}"] = proc
    if draw(st.booleans()):
        cadence: dict[str, Any] = {"every": draw(st.integers(2, 30)), **choice(names),
                                   "source": "test"}
        if draw(st.booleans()):
            cadence["start"] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            cadence["when"] = draw(st.sampled_from([condition(), f"day >= {horizon // 2}"]))
        processes["cadence"] = cadence

    rules: dict[str, dict[str, Any]] = {}
    if n_actions >= 2:
        for i in range(draw(st.integers(0, 3))):
            cut = draw(st.integers(1, n_actions - 1))
            on = draw(st.lists(st.sampled_from(names[:cut]), min_size=1, max_size=2,
                               unique=True))
            rule: dict[str, Any] = {"on": on if len(on) > 1 else on[0],
                                    **choice(names[cut:]), "source": "test"}
            kind = draw(st.sampled_from(["exponential", "fixed", "lognormal", "number"]))
            if kind == "exponential":
                rule["delay"] = {"dist": "exponential", "mean": _num(draw, 0.1, 20)}
            elif kind == "fixed":
                rule["delay"] = {"dist": "fixed", "value": _num(draw, 0, 10)}
            elif kind == "lognormal":
                rule["delay"] = {"dist": "lognormal", "median": _num(draw, 0.1, 10),
                                 "sigma": _num(draw, 0.1, 1.5)}
            else:
                rule["delay"] = draw(st.integers(0, 5))
            if draw(st.booleans()):
                rule["probability"] = probability()
            if draw(st.booleans()):
                rule["when"] = condition()
            rules[f"rule{i}"] = rule

    schedule: list[dict[str, Any]] = []
    if draw(st.booleans()):
        entry: dict[str, Any] = {"id": "event0", **choice(names)}
        day = draw(st.integers(0, horizon))
        if draw(st.booleans()):
            entry["at"] = START + dt.timedelta(days=day)
        else:
            entry["day"] = day
        if draw(st.booleans()):
            entry["probability"] = _num(draw, 0, 1)
            entry["source"] = "test"
        schedule.append(entry)

    outcomes: dict[str, dict[str, Any]] = {}
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["peak", "state", "action"]))
        if kind == "state" and bounds:
            var = draw(st.sampled_from(sorted(bounds)))
            outcomes[f"out{i}"] = {"when": f"{var} >= {draw(st.integers(0, bounds[var]))}"}
        elif kind == "action":
            outcomes[f"out{i}"] = {"action": draw(st.sampled_from(names))}
        else:
            outcomes[f"out{i}"] = {"when": f"peak >= {draw(st.sampled_from(rungs))}"}

    data: dict[str, Any] = {
        "scenario": {"id": "prop", "title": "Property test", "start": START,
                     "horizon_days": horizon},
        "ladder": {"initial": rungs[initial],
                   "rungs": [{"id": r, "name": f"Rung {r}"} for r in rungs]},
        "actors": {a: {"name": a.upper()} for a in actors},
    }
    for key, value in (("levers", levers), ("parameters", parameters), ("state", state)):
        if value:
            data[key] = value
    data["actions"] = actions
    if schedule:
        data["schedule"] = schedule
    data["processes"] = processes
    if rules:
        data["rules"] = rules
    data["outcomes"] = outcomes
    data["_flow"] = draw(st.booleans())
    return data


def to_yaml(data: dict[str, Any], horizon: int | None = None) -> str:
    """The scenario as YAML text (block or flow style), optionally with another horizon."""
    body = {k: v for k, v in data.items() if k != "_flow"}
    if horizon is not None:
        body = {**body, "scenario": {**body["scenario"], "horizon_days": horizon}}
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=data["_flow"], width=100)


def load_valid(data: dict[str, Any], horizon: int | None = None) -> Model:
    """Load generated text; the generator's contract is that this never fails."""
    return load_text(to_yaml(data, horizon), "<generated>")


def simulate(model: Model, n: int, seed: int = 7) -> list[Record]:
    """Records of replications 0..n-1."""
    plan = Plan(model)
    return [plan.run(seed, i) for i in range(n)]


def aggregate(model: Model, records: list[Record], cap: int | None = None) -> Aggregate:
    """A fresh aggregate of ``records`` (with a small histogram cap if given)."""
    agg = Aggregate.for_model(model)
    if cap is not None:
        for hist in agg.state:
            hist.cap = cap
    agg.add(records)
    return agg


# -- properties ---------------------------------------------------------------------------
@pytest.mark.slow
@settings(max_examples=120, **SETTINGS)
@given(scenarios())
def test_engine_runs_every_generated_scenario(data: dict[str, Any]) -> None:
    """Generated scenarios load and run; every record is internally consistent."""
    model = load_valid(data)
    records = simulate(model, 40)
    ends = {a.id for a in model.actions if a.ends_run}
    bounds = [(s.low, s.high) for s in model.state]
    for rec in records:
        assert 0 <= rec.end_day <= model.horizon
        if rec.terminal == "horizon":
            assert rec.end_day == model.horizon
        else:
            assert rec.terminal in ends
            assert rec.action_counts[model.action_index(rec.terminal)] >= 1
        assert rec.first_reach[model.initial_rung] == 0.0
        assert rec.peak >= max(model.initial_rung, rec.final_rung)
        assert np.isfinite(rec.first_reach[rec.peak])
        assert all(np.isinf(t) for t in rec.first_reach[rec.peak + 1:])
        assert all(t <= rec.end_day for t in rec.first_reach if np.isfinite(t))
        assert all(t <= rec.end_day for t in rec.outcome_days if np.isfinite(t))
        assert min(rec.action_counts, default=0) >= 0
        assert len(rec.rung_path) - 1 <= sum(rec.action_counts)
        assert [t for t, _ in rec.rung_path] == sorted(t for t, _ in rec.rung_path)
        assert rec.rung_path[-1][1] == rec.final_rung
        for value, (low, high) in zip(rec.final_state, bounds, strict=True):
            assert low is None or value >= low
            assert high is None or value <= high
    summary = summarise(model, aggregate(model, records))
    for line in (*summary.rungs, *summary.outcomes, *summary.terminal):
        assert 0.0 <= line.estimate.low <= line.estimate.p <= line.estimate.high <= 1.0
    assert sum(line.estimate.k for line in summary.terminal) == len(records)


@pytest.mark.slow
@settings(max_examples=80, **SETTINGS)
@given(scenarios(), st.integers(1, 9))
def test_reach_probability_is_monotone_in_the_horizon(data: dict[str, Any],
                                                      tenths: int) -> None:
    """Curves rise, count first times <= d, and a cut-short run matches the full one."""
    model = load_valid(data)
    records = simulate(model, 40)
    long_agg = aggregate(model, records)
    summary = summarise(model, long_agg)
    for curve in (*summary.rung_curves, *summary.outcome_curves):
        assert np.all(np.diff(curve.p) >= 0), curve.id
        assert np.all(curve.low <= curve.p) and np.all(curve.p <= curve.high)
    for curve, line in zip(summary.rung_curves, summary.rungs, strict=True):
        assert curve.p[-1] == line.estimate.p
    # The curve at day d counts exactly the runs whose first time is <= d.
    horizon = int(model.horizon)
    days = np.arange(horizon + 1)
    first = np.array([r.first_reach for r in records])
    when = np.array([r.outcome_days for r in records]).reshape(len(records), -1)
    for r, curve in enumerate(summary.rung_curves):
        counts = (first[:, r, None] <= days).sum(axis=0)
        assert np.array_equal(np.cumsum(long_agg.reach_hist[r]), counts), curve.id
        assert np.allclose(curve.p, counts / len(records), rtol=0, atol=1e-12)
    for o, curve in enumerate(summary.outcome_curves):
        counts = (when[:, o, None] <= days).sum(axis=0)
        assert np.array_equal(np.cumsum(long_agg.outcome_hist[o]), counts), curve.id
        assert np.allclose(curve.p, counts / len(records), rtol=0, atol=1e-12)
    short_h = max(1, horizon * tenths // 10)
    short_model = load_valid(data, short_h)
    short_agg = aggregate(short_model, simulate(short_model, 40))
    # The horizon is inclusive (events due at it happen), so whatever a run did up to
    # short_h is exactly what the long run did by then, day by day.
    assert np.array_equal(short_agg.reached, np.cumsum(long_agg.reach_hist, axis=1)[:, short_h])
    assert np.array_equal(short_agg.outcome_counts,
                          np.cumsum(long_agg.outcome_hist, axis=1)[:, short_h])
    assert np.array_equal(short_agg.occupancy, long_agg.occupancy[:short_h + 1])
    assert np.all(short_agg.reached <= long_agg.reached)


@pytest.mark.slow
@settings(max_examples=80, **SETTINGS)
@given(scenarios())
def test_peak_tail_is_non_increasing(data: dict[str, Any]) -> None:
    """P(peak >= r) falls with r above the start; reach above the start is exactly that."""
    model = load_valid(data)
    agg = aggregate(model, simulate(model, 60))
    summary = summarise(model, agg)
    start = model.initial_rung
    tail = np.cumsum(agg.peak_counts[::-1])[::-1]  # runs with peak >= r
    assert tail[0] == agg.n == int(agg.peak_counts.sum())
    assert np.all(agg.peak_counts[:start] == 0)
    assert np.all(np.diff(tail[start:]) <= 0)
    for r in range(start + 1, len(model.rungs)):
        assert agg.reached[r] == tail[r]
        assert summary.rungs[r].estimate.p == tail[r] / agg.n
    # Below the start, settling at least that far is likelier the nearer the start.
    assert np.all(np.diff(agg.reached[:start + 1]) >= 0)
    assert agg.reached[start] == agg.n
    share = np.cumsum(summary.peak_share[::-1])[::-1]
    assert np.allclose(share, tail / agg.n)


@pytest.mark.slow
@settings(max_examples=80, **SETTINGS)
@given(scenarios(), st.lists(st.integers(0, 50), min_size=1, max_size=3),
       st.sampled_from([None, 2, 5, 40]), st.randoms(use_true_random=False))
def test_merging_in_any_order_gives_the_same_aggregate(data: dict[str, Any],
                                                       cuts: list[int], cap: int | None,
                                                       rnd: Any) -> None:
    """Partial aggregates merged in every order equal each other and the single aggregate."""
    model = load_valid(data)
    records = simulate(model, 50)
    edges = [0, *sorted(cuts), len(records)]
    parts = [aggregate(model, records[a:b], cap) for a, b in itertools.pairwise(edges)]
    whole = aggregate(model, records, cap)
    orders = list(itertools.permutations(range(len(parts))))
    rnd.shuffle(orders)
    for order in orders[:6]:
        merged = aggregate(model, [], cap)
        for k in order:
            merged.merge(parts[k])
        assert_same(merged, whole)
    if len(parts) >= 3:  # a tree of merges (a pair first) gives the same as well
        left = aggregate(model, [], cap)
        left.merge(parts[0])
        left.merge(parts[1])
        right = aggregate(model, [], cap)
        for part in parts[2:]:
            right.merge(part)
        right.merge(left)
        assert_same(right, whole)


@settings(max_examples=3, **SETTINGS)
@given(scenarios())
def test_one_and_two_workers_give_identical_aggregates(data: dict[str, Any]) -> None:
    """runner.run with 1 and 2 worker processes (4 chunks of 30 + 1 of 10) agree exactly."""
    model = load_valid(data)
    one = runner.run(model, 130, 11, workers=1, chunk=30).aggregate
    two = runner.run(model, 130, 11, workers=2, chunk=30).aggregate
    assert one.n == two.n == 130
    assert_same(one, two)
    assert_same(one, aggregate(model, simulate(model, 130, seed=11)))


# -- known bugs ----------------------------------------------------------------------------
GUARDED = """
scenario: {id: guarded, title: Guarded, start: 2025-01-01, horizon_days: 30}
ladder: {rungs: [{id: calm, name: Calm}, {id: war, name: War}]}
actors: {x: {name: X}}
state: {ready: {initial: 0, min: 0, max: 1}}
actions:
  go: {actor: x, rung: war}
  other: {actor: x}
processes:
  PROCESS
"""


def test_single_option_choose_with_zero_weight_does_nothing() -> None:
    """`choose: {go: ready}` with ready == 0 throughout never fires go, like two options do."""
    two = load_text(GUARDED.replace(
        "PROCESS", "p: {rate: 0.5, choose: {go: ready, other: ready}, source: t}"))
    assert sum(r.action_counts[0] for r in simulate(two, 20)) == 0  # this part holds
    one = load_text(GUARDED.replace("PROCESS", "p: {rate: 0.5, choose: {go: ready}, source: t}"))
    records = simulate(one, 20)
    assert sum(r.action_counts[0] for r in records) == 0
    assert all(r.peak == 0 for r in records)




@pytest.mark.slow
@pytest.mark.parametrize("process", [
    "tick: {every: 1e-300, when: 'ready > 0', action: go, source: t}",
    "burst: {rate: 1e12, choose: {go: ready, other: ready}, source: t}",
], ids=["tiny-cadence", "huge-rate-zero-weights"])
def test_runaway_events_without_actions_are_stopped(process: str) -> None:
    """A model that would spin forever is refused at load or stopped with ModelRuntimeError."""
    try:
        model = load_text(GUARDED.replace("PROCESS", process))
    except ScenarioError:
        return  # refusing the value at load time would be a fix as good as any
    # The engine's guard counts events (500,000 take about a second of CPU); the CPU-time
    # bound only turns a missing guard into a failure instead of a hang.
    with cpu_limit(60.0), pytest.raises(ModelRuntimeError, match="runaway"):
        Plan(model).run(1, 0)

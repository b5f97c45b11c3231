"""Aggregates of hand-built records: exact grids, counts and order-free merging."""

from __future__ import annotations

import itertools
import math
import textwrap

import numpy as np
import pytest
from helpers import assert_same

from sim.run.aggregate import Aggregate, day_bins
from sim.run.engine import Plan
from sim.run.record import Record
from sim.spec.loader import load_text

INF = math.inf


def rec(replication: int = 0, *, first_reach=(0.0, INF, INF), outcome_days=(INF, INF),
        action_counts=(0, 0), final_state=(0.0,), rung_path=((0.0, 0),), peak=None,
        terminal="horizon", end_day=10.0, n_events=0) -> Record:
    """A hand-built record for a 3-rung, 2-outcome, 2-action, 1-state model."""
    rungs = [k for _, k in rung_path]
    return Record(replication=replication, peak=max(rungs) if peak is None else peak,
                  final_rung=rungs[-1], end_day=end_day, terminal=terminal,
                  first_reach=tuple(first_reach), outcome_days=tuple(outcome_days),
                  action_counts=tuple(action_counts), final_state=tuple(final_state),
                  parameters=(), rung_path=tuple(rung_path), n_events=n_events)


def empty(n_days: int = 11) -> Aggregate:
    """An empty aggregate shaped for rec() records over days 0..n_days-1."""
    return Aggregate(n_rungs=3, n_outcomes=2, n_actions=2, n_state=1, n_days=n_days)


RECORDS = [
    rec(0, first_reach=(0.0, 2.5, INF), rung_path=((0.0, 0), (2.5, 1), (5.0, 2), (7.2, 0)),
        peak=2, outcome_days=(3.0, INF), action_counts=(2, 0), final_state=(1.5,),
        n_events=4),
    rec(1, first_reach=(0.0, 4.0, 4.0), rung_path=((0.0, 0), (4.0, 2)),
        outcome_days=(0.0, 9.99), action_counts=(1, 3), final_state=(0.3,),
        terminal="war", end_day=4.0, n_events=6),
    rec(2, action_counts=(0, 0), final_state=(2.0,), n_events=1),
    rec(3, first_reach=(0.0, 10.0, INF), rung_path=((0.0, 0), (10.0, 1)),
        outcome_days=(INF, 10.0), action_counts=(0, 1), final_state=(-1.0,),
        terminal="talks", end_day=10.0, n_events=2),
]


def test_day_bins_are_ceilings_capped_at_the_last_day():
    """Bin d counts times in (d-1, d]; times past the grid land in the last bin."""
    days = np.array([0.0, 0.1, 1.0, 1.0000001, 2.5, 9.0, 10.0, 12.0])
    assert day_bins(days, 11).tolist() == [0, 1, 1, 2, 3, 9, 10, 10]


def test_reach_hist_exact():
    """First-reach days land in ceil(day) bins; never-reached rungs are not counted."""
    agg = empty()
    agg.add(RECORDS)
    expected = np.zeros((3, 11), dtype=int)
    expected[0, 0] = 4
    expected[1, 3] = 1   # 2.5
    expected[1, 4] = 1   # 4.0 exactly
    expected[1, 10] = 1  # the horizon
    expected[2, 4] = 1
    assert agg.reach_hist.tolist() == expected.tolist()
    assert agg.reached.tolist() == [4, 3, 1]


def test_outcome_hist_exact():
    """Outcome days land in ceil(day) bins (0 at day 0); inf is not counted."""
    agg = empty()
    agg.add(RECORDS)
    expected = np.zeros((2, 11), dtype=int)
    expected[0, 3] = 1
    expected[0, 0] = 1
    expected[1, 10] = 2  # 9.99 and 10.0
    assert agg.outcome_hist.tolist() == expected.tolist()
    assert agg.outcome_counts.tolist() == [2, 2]


def test_occupancy_is_rung_at_end_of_each_whole_day():
    """Occupancy counts the rung at each integer day, a change exactly at day d included."""
    agg = empty()
    agg.add([RECORDS[0]])
    # Path: 0 until 2.5, 1 until 5.0, 2 until 7.2, then 0.
    rung_by_day = [int(np.argmax(row)) for row in agg.occupancy]
    assert rung_by_day == [0, 0, 0, 1, 1, 2, 2, 2, 0, 0, 0]
    assert agg.occupancy.sum(axis=1).tolist() == [1] * 11


def test_occupancy_takes_last_of_simultaneous_changes_and_sums_over_records():
    """Two changes at the same instant count the later one; rows sum to the run count."""
    agg = empty(6)
    agg.add([rec(0, rung_path=((0.0, 0), (3.0, 2), (3.0, 1))),
             rec(1, rung_path=((0.0, 1),), peak=1),
             rec(2, rung_path=((0.0, 0), (0.0, 2)))])
    assert agg.occupancy.tolist() == [
        [1, 1, 1],
        [1, 1, 1],
        [1, 1, 1],
        [0, 2, 1],
        [0, 2, 1],
        [0, 2, 1],
    ]


def test_peak_actions_terminal_state_counts():
    """peak_counts, action_any/total, terminal counts, n, n_events and state values."""
    agg = empty()
    agg.add(RECORDS)
    assert agg.peak_counts.tolist() == [1, 1, 2]
    assert agg.action_any.tolist() == [2, 2]
    assert agg.action_total.tolist() == [3, 4]
    assert dict(agg.terminal) == {"horizon": 2, "war": 1, "talks": 1}
    assert (agg.n, agg.n_events) == (4, 13)
    assert agg.state[0].n == 4
    assert agg.state[0].quantiles([0.0, 1.0]) == pytest.approx([-1.0, 2.0])
    assert agg.state[0].mean() == pytest.approx((1.5 + 0.3 + 2.0 - 1.0) / 4)


def test_adding_in_batches_equals_adding_at_once():
    """add() over several batches gives the same counts as one add() of everything."""
    one, parts = empty(), empty()
    one.add(RECORDS)
    parts.add(RECORDS[:1])
    parts.add([])
    parts.add(RECORDS[1:3])
    parts.add(RECORDS[3:])
    assert_same(one, parts)


def test_merge_equals_adding_all_in_any_order():
    """merge(a, b) equals add(all), whichever way round and in whatever grouping."""
    whole = empty()
    whole.add(RECORDS)
    for split in range(5):
        for first, second in ((RECORDS[:split], RECORDS[split:]),
                              (RECORDS[split:], RECORDS[:split])):
            a, b = empty(), empty()
            a.add(first)
            b.add(second)
            a.merge(b)
            assert_same(whole, a)
    singles = []
    for r in RECORDS:
        agg = empty()
        agg.add([r])
        singles.append(agg)
    for order in itertools.permutations(range(4)):
        acc = empty()
        for i in order:
            acc.merge(singles[i])
        assert_same(whole, acc)


def test_merge_does_not_change_the_other_aggregate():
    """Merging b into a leaves b's counts as they were."""
    a, b = empty(), empty()
    a.add(RECORDS[:2])
    b.add(RECORDS[2:])
    before = b.reach_hist.copy(), dict(b.terminal), b.n
    a.merge(b)
    assert np.array_equal(b.reach_hist, before[0])
    assert (dict(b.terminal), b.n) == before[1:]


def test_for_model_shapes_and_real_records():
    """for_model sizes the grids from the model; real records from the engine fold in."""
    model = load_text(textwrap.dedent("""
    scenario: {id: t, title: T, start: 2025-01-01, horizon_days: 30}
    ladder:
      initial: low
      rungs:
        - {id: low, name: Low}
        - {id: mid, name: Mid}
        - {id: top, name: Top}
    actors:
      a: {name: A}
    state:
      s: {initial: 0}
    actions:
      up: {actor: a, rung: mid, effects: {s: s + 1}}
      war: {actor: a, rung: top, ends_run: true}
    schedule:
      - {id: e1, day: 4.5, action: up}
      - {id: e2, day: 20, action: war}
    outcomes:
      hot: {when: "peak >= mid"}
    """))
    agg = Aggregate.for_model(model)
    assert agg.reach_hist.shape == (3, 31)
    assert agg.occupancy.shape == (31, 3)
    assert agg.outcome_hist.shape == (1, 31)
    agg.add([Plan(model).run(1, i) for i in range(3)])
    assert agg.reach_hist[1, 5] == 3 and agg.reach_hist[2, 20] == 3
    assert agg.outcome_hist[0, 5] == 3
    assert agg.occupancy[:, 1].tolist() == [0] * 5 + [3] * 15 + [0] * 11
    assert agg.occupancy[20:, 2].tolist() == [3] * 11
    assert dict(agg.terminal) == {"war": 3}
    assert agg.action_total.tolist() == [3, 3]

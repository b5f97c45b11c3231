"""The Monte Carlo runner: same answers for any worker count, ordered sinks, early stops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same

from sim.run import runner
from sim.run.aggregate import Aggregate
from sim.run.engine import Plan
from sim.spec.loader import load

ROOT = Path(__file__).resolve().parent.parent
MODEL = load(ROOT / "scenarios" / "teaching.yaml")
RUNS = 900  # four full chunks and a partial one
WAR = MODEL.rung_index("general_war")


@pytest.fixture(scope="module")
def direct() -> Aggregate:
    """The aggregate of replications 0..RUNS-1 (seed 5) run one by one without the runner."""
    agg = Aggregate.for_model(MODEL)
    plan = Plan(MODEL)
    agg.add([plan.run(5, i) for i in range(RUNS)])
    return agg


@pytest.mark.parametrize("workers", [1, 2])
def test_runner_equals_direct_replications(direct, workers):
    """The runner's aggregate equals running replications 0..n-1 directly, for 1 and 2 workers."""
    result = runner.run(MODEL, RUNS, 5, workers)
    assert_same(result.aggregate, direct)
    assert (result.runs, result.requested, result.seed, result.workers) == (RUNS, RUNS, 5, workers)
    assert not result.interrupted and not result.stopped_early
    assert result.elapsed > 0


def test_seed_changes_the_results(direct):
    """Another seed gives another aggregate."""
    other = runner.run(MODEL, RUNS, 6, 1).aggregate
    assert not np.array_equal(other.reach_hist, direct.reach_hist)


def _stop_at_war(count: int):
    """A stop rule: at least ``count`` runs reached general war."""
    def rule(agg: Aggregate) -> bool:
        """True once enough runs reached general war."""
        return int(agg.reached[WAR]) >= count
    return rule


@pytest.mark.parametrize("workers", [1, 2])
def test_stop_when_stops_at_the_first_chunk_where_it_holds(direct, workers):
    """stop_when stops at the first chunk boundary where it holds, for 1 and 2 workers."""
    target = int(direct.reached[WAR]) // 2
    result = runner.run(MODEL, RUNS, 5, workers, stop_when=_stop_at_war(target))
    n = result.runs
    assert result.stopped_early and n < RUNS and n % runner.CHUNK == 0
    plan = Plan(MODEL)
    before = Aggregate.for_model(MODEL)
    before.add([plan.run(5, i) for i in range(n - runner.CHUNK)])
    at = Aggregate.for_model(MODEL)
    at.add([plan.run(5, i) for i in range(n)])
    assert int(before.reached[WAR]) < target <= int(at.reached[WAR])
    assert_same(result.aggregate, at)


def test_stop_when_same_count_for_one_and_two_workers():
    """An early stop happens at the same replication count with 1 and 2 workers."""
    rule = _stop_at_war(40)
    one = runner.run(MODEL, 2000, 9, 1, stop_when=rule)
    two = runner.run(MODEL, 2000, 9, 2, stop_when=rule)
    assert one.runs == two.runs < 2000
    assert_same(one.aggregate, two.aggregate)


def test_stop_when_never_true_or_true_only_at_the_end():
    """A rule that never holds runs everything; holding only at n = runs is not an early stop."""
    never = runner.run(MODEL, 450, 1, 1, stop_when=lambda agg: False)
    assert never.runs == 450 and not never.stopped_early
    at_end = runner.run(MODEL, 450, 1, 1, stop_when=lambda agg: agg.n >= 450)
    assert at_end.runs == 450 and not at_end.stopped_early
    first = runner.run(MODEL, 450, 1, 1, stop_when=lambda agg: True)
    assert first.runs == runner.CHUNK and first.stopped_early


@pytest.mark.parametrize("workers", [1, 2])
def test_sink_gets_every_record_once_in_order(workers):
    """The sink receives replications 0..n-1 exactly once, in order, equal to direct runs."""
    seen = []
    batches = []

    def sink(records):
        """Collect the records and the batch sizes."""
        batches.append(len(records))
        seen.extend(records)

    runner.run(MODEL, 450, 3, workers, sink=sink)
    assert [r.replication for r in seen] == list(range(450))
    assert batches == [200, 200, 50]
    plan = Plan(MODEL)
    for i in (0, 199, 200, 449):
        assert seen[i] == plan.run(3, i)


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_reaches_the_total(workers):
    """Progress is called after each chunk with (done, total), rising to (total, total)."""
    calls = []
    runner.run(MODEL, 450, 3, workers, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(200, 450), (400, 450), (450, 450)]


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupt_keeps_what_was_merged(workers):
    """Ctrl-C (KeyboardInterrupt) during a run keeps the chunks merged so far."""
    def progress(done, total):
        """Simulate Ctrl-C once 400 runs are merged."""
        if done >= 400:
            raise KeyboardInterrupt

    result = runner.run(MODEL, 1000, 3, workers, progress=progress)
    assert result.interrupted
    assert result.runs == 400
    direct = Aggregate.for_model(MODEL)
    plan = Plan(MODEL)
    direct.add([plan.run(3, i) for i in range(400)])
    assert_same(result.aggregate, direct)


def test_small_and_zero_run_counts():
    """Fewer runs than a chunk work; zero runs give an empty aggregate."""
    small = runner.run(MODEL, 7, 2, 2)
    assert small.runs == 7 and small.aggregate.peak_counts.sum() == 7
    empty = runner.run(MODEL, 0, 2, 1)
    assert empty.runs == 0 and not empty.interrupted


def test_simulate_chunk_keeps_records_only_when_asked():
    """simulate_chunk folds replications [start, stop) and returns them if keep=True."""
    plan = Plan(MODEL)
    agg, kept = runner.simulate_chunk(plan, 4, 10, 15, keep=True)
    assert agg.n == 5 and [r.replication for r in kept] == [10, 11, 12, 13, 14]
    agg2, none = runner.simulate_chunk(plan, 4, 10, 15, keep=False)
    assert none == []
    assert_same(agg, agg2)


def test_default_workers_is_positive():
    """default_workers() is at least one."""
    assert runner.default_workers() >= 1

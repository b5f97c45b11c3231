"""Metrics: one type for "a rung reached or an outcome that happened" (sim.spec.metric)."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from sim.errors import UsageError
from sim.results.summary import summarise
from sim.run import runner
from sim.run.engine import Plan
from sim.spec.loader import load_text
from sim.spec.metric import (
    AS_OUTCOME,
    OUTCOME,
    RUNG,
    Metric,
    find,
    happened,
    metrics,
    outcomes,
    pick,
    resolve,
    rungs,
)

# 'war' is both a rung and an outcome (reached on the same day); 'talks' is only an outcome.
SCENARIO = textwrap.dedent("""
    scenario: {id: s, title: S, start: 2025-01-01, horizon_days: 30}
    ladder: {rungs: [{id: calm, name: Calm}, {id: crisis, name: Crisis},
                     {id: war, name: War}]}
    actors: {a: {name: A}}
    actions:
      flare: {actor: a, rung: crisis}
      strike: {actor: a, rung: war, ends_run: true}
      talk: {actor: a}
    processes:
      p: {rate: 0.05, action: flare, source: test}
      q: {rate: 0.02, action: strike, source: test}
      t: {rate: 0.03, action: talk, source: test}
    outcomes:
      war: {name: Open war, when: "peak >= war"}
      talks: {name: Talks held, action: talk}
""")


@pytest.fixture(scope="module")
def model():
    """Three rungs and two outcomes, one sharing its id with a rung."""
    return load_text(SCENARIO)


def test_metrics_list_rungs_then_outcomes_with_their_positions(model):
    """The order every comparison uses; index is the position in the model's tuples."""
    assert [(m.kind, m.id, m.index) for m in metrics(model)] == [
        (RUNG, "calm", 0), (RUNG, "crisis", 1), (RUNG, "war", 2),
        (OUTCOME, "war", 0), (OUTCOME, "talks", 1)]
    assert [m.label for m in metrics(model)] == [
        "Calm (rung)", "Crisis (rung)", "War (rung)", "Open war", "Talks held"]
    assert metrics(model)[2].key == "rung:war" and metrics(model)[3].key == "outcome:war"
    assert rungs(model) + outcomes(model) == metrics(model)
    assert all(m.is_rung for m in rungs(model)) and not any(m.is_rung for m in outcomes(model))


def test_an_id_naming_a_rung_and_an_outcome_means_the_outcome(model):
    """Resolution, picking among a list and finding in a model agree."""
    assert resolve(model, "war") == Metric(OUTCOME, "war", 0, "Open war")
    assert pick(metrics(model), "war") == resolve(model, "war")
    assert find(model, "crisis") == Metric(RUNG, "crisis", 1, "Crisis")
    assert find(model, "peace") is None
    chosen = resolve(model, "talks")
    assert resolve(model, chosen) is chosen  # a Metric passes through


def test_unknown_ids_are_refused_in_the_words_of_the_caller(model):
    """Asked for as a metric: every id is listed; as an outcome: a spelling suggestion."""
    with pytest.raises(UsageError) as asked_metric:
        resolve(model, "tallks")
    assert str(asked_metric.value) == ("unknown metric 'tallks' (did you mean 'talks'?); use "
                                       "an outcome or rung id: calm, crisis, war, war, talks")
    with pytest.raises(UsageError) as asked_outcome:
        resolve(model, "cirsis", AS_OUTCOME)
    assert str(asked_outcome.value) == "unknown outcome or rung 'cirsis' (did you mean 'crisis'?)"


def test_a_metric_reads_records_aggregates_and_summaries_consistently(model):
    """happened/day on records, count on the aggregate and the summary's line agree, and
    the vectorised table equals the metric-by-metric reading."""
    plan = Plan(model)
    records = [plan.run(3, i) for i in range(300)]
    agg = runner.run(model, 300, 3, workers=1).aggregate
    summary = summarise(model, agg)
    table = happened(metrics(model), records)
    assert table.shape == (300, 5)
    for col, m in enumerate(metrics(model)):
        flags = [m.happened(r) for r in records]
        assert table[:, col].tolist() == flags
        assert m.count(agg) == sum(flags) == m.line(summary).estimate.k
        days = [m.day(r) for r in records]
        assert all((d <= model.horizon) == f for d, f in zip(days, flags, strict=True))
    rung_war, outcome_war = metrics(model)[2], metrics(model)[3]
    assert 0 < rung_war.count(agg) < 300  # the test means something
    # the outcome 'war' holds exactly when the rung 'war' is reached, on the same day
    assert [rung_war.day(r) for r in records] == [outcome_war.day(r) for r in records]
    assert metrics(model)[0].count(agg) == 300  # the starting rung, reached at day 0
    assert all(metrics(model)[0].day(r) == 0.0 for r in records)
    assert not any(math.isnan(d) for r in records for d in r.outcome_days)


def test_empty_inputs(model):
    """No runs, or no metrics chosen: empty tables of the right shape."""
    assert happened(metrics(model), []).shape == (0, 5)
    assert happened([], [Plan(model).run(1, 0)]).shape == (1, 0)
    with pytest.raises(KeyError):
        Metric(OUTCOME, "nope", 0, "Nope").line(summarise(model, runner.run(
            model, 10, 1, workers=1).aggregate))
    assert np.array_equal(happened([], []), np.zeros((0, 0), dtype=bool))

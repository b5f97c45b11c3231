"""Stories and paths (sim.analyses.story)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.analyses.story import common_paths, compile_where, find, render, timeline
from sim.errors import UsageError
from sim.run.engine import Plan
from sim.spec.loader import load

TEACHING = Path(__file__).resolve().parent.parent / "scenarios" / "teaching.yaml"


@pytest.fixture(scope="module")
def model():
    """The teaching scenario."""
    return load(TEACHING)


def test_render_fills_names_rungs_and_formats(model):
    """Placeholders take actor and action names, rung names, whole numbers and formats."""
    idx = model.action_index("deep_strike")
    values = {"strikes": 3.0, "rung": 2.0, "peak": 2.0, "day": 31.5, "red_resolve": 0.25}
    assert render("{actor} at {rung} ({strikes}, {red_resolve:.0%}) on {date}", values,
                  model, idx) == "Blue at Strikes deep in Red's territory (3, 25%) on 2025-02-01"
    assert render("{nothing}", values, model, idx) == "?"


def test_timeline_marks_rung_changes_and_the_end(model):
    """A story starts at the start date, marks each rung change and says how it ended."""
    record = next(find(model, 1, "war"))
    lines = timeline(model, record)
    assert lines[0] == "2025-01-01  (day   0.0)  Start: Border skirmishes."
    assert sum("[UP]" in line for line in lines) == 2
    assert lines[-1].endswith("The run ends: red escalates.")


def test_find_returns_only_matching_replications(model):
    """--where picks replications meeting the condition, traced, in replication order."""
    found = list(find(model, 1, "settled", count=3))
    assert len(found) == 3
    assert [r.replication for r in found] == sorted(r.replication for r in found)
    for r in found:
        assert r.terminal == "talks_succeed" and r.events


def test_where_errors_are_usage_errors(model):
    """A bad --where names the problem with a did-you-mean."""
    with pytest.raises(UsageError, match="did you mean 'strikes'"):
        compile_where(model, "strike > 2")
    with pytest.raises(UsageError, match="expected a true/false"):
        compile_where(model, "strikes + 1")


def test_common_paths_count_every_hit(model):
    """Path shares add up to one and counts equal the runs that reached the rung."""
    plan = Plan(model)
    records = [plan.run(2, i) for i in range(300)]
    n, paths = common_paths(model, records, "general_war")
    assert n == sum(r.first_reach[3] != float("inf") for r in records)
    assert sum(p.count for p in paths) == n
    assert paths[0].rungs == ("skirmishes", "deep_strikes", "general_war")

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


ATACMS = Path(__file__).resolve().parent.parent / "scenarios" / "atacms.yaml"


@pytest.fixture(scope="module")
def nuclear_story():
    """The first flagship replication (seed 1) in which a nuclear weapon is used."""
    flagship = load(ATACMS)
    return flagship, next(find(flagship, 1, "peak >= tactical_nuclear_use"))


def test_short_story_keeps_every_rung_change_and_counts_what_it_leaves_out(nuclear_story):
    from sim.analyses.story import key_events
    model, record = nuclear_story
    full, short = timeline(model, record), timeline(model, record, short=True)
    assert len(short) < len(full) / 2
    ups = [line for line in full if "[UP]" in line or "[DOWN]" in line]
    assert ups == [line for line in short if "[UP]" in line or "[DOWN]" in line]
    left = len(record.events) - len(key_events(model, record))
    assert short[-1].startswith(f"(Left out: {left} repeats of routine events")
    # every kind of event still appears once
    names = {model.actions[e.action].narrative.split("{")[0][:12] for e in record.events}
    assert len(names) <= len(short)


def test_story_html_is_escaped_and_readable_on_a_phone(nuclear_story):
    from sim.analyses.story import story_html
    model, record = nuclear_story
    page = story_html(model, [("Replication <20>", record)], "A & B", short=True)
    assert "Replication &lt;20&gt;" in page and "<title>A &amp; B</title>" in page
    assert 'name="viewport"' in page and "Left out:" in page
    assert "not a forecast" in page


def test_after_nuclear_use_the_flagship_stops_its_routine(nuclear_story):
    """No aid tranche, offensive, salvo or talks after the detonation: the scenario says the
    break happened instead of narrating business as usual."""
    model, record = nuclear_story
    use = next(e.day for e in record.events
               if model.actions[e.action].id == "tactical_nuclear_strike")
    after = {model.actions[e.action].id for e in record.events if e.day > use}
    routine = {"aid_tranche", "weariness_grows", "russian_offensive_push", "atacms_salvo",
               "russian_strike_wave", "talks_open_up", "ceasefire_agreed", "aid_paused"}
    assert not after & routine, after & routine
    text = "\n".join(timeline(model, record))
    assert "stops modelling the war's routine" in text


def test_paths_say_how_many_stood_on_each_rung_before(model):
    from sim.analyses.story import stood_on_before
    plan = Plan(model)
    records = [plan.run(3, i) for i in range(300)]
    n, _ = common_paths(model, records, "general_war")
    counts = dict(stood_on_before(model, records, "general_war"))
    by_hand = sum(1 for r in records if r.first_reach[model.rung_index("general_war")]
                  != float("inf") and any(k == model.rung_index("deep_strikes")
                                          for _d, k in r.rung_path))
    assert counts == {"deep_strikes": by_hand} and 0 < by_hand <= n


def test_cli_story_short_and_html(tmp_path, capsys):
    from sim.cli import main
    page = tmp_path / "story.html"
    assert main(["story", str(TEACHING), "--short", "--html", str(page), "--count", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("== ") == 2 and "Left out" in out
    assert page.read_text().count("<section>") == 2

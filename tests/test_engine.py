"""The engine: exact single paths, the semantics of every construct, errors and Poisson counts."""

from __future__ import annotations

import math
import random
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

import sim.run.engine as engine
from sim.run.engine import ModelRuntimeError, Plan
from sim.run.streams import Streams
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
INF = math.inf


def make(body: str, horizon: int = 100, initial: str = "r0",
         rungs: tuple[str, ...] = ("r0", "r1", "r2", "r3"), start: str = "2025-01-01"):
    """A model from a scenario header (rungs r0..r3, one actor 'a') plus ``body``."""
    ladder = "\n".join(f"    - {{id: {r}, name: Rung {r}}}" for r in rungs)
    text = (f"scenario:\n  id: t\n  title: Test\n  start: {start}\n"
            f"  horizon_days: {horizon}\n"
            f"ladder:\n  initial: {initial}\n  rungs:\n{ladder}\n"
            "actors:\n  a: {name: A}\n") + textwrap.dedent(body)
    return load_text(text)


def run(model, seed: int = 1, replication: int = 0, trace: bool = True):
    """One replication of ``model``."""
    return Plan(model).run(seed, replication, trace=trace)


def days_of(record, model, action_id: str) -> list[float]:
    """Days on which ``action_id`` happened in a traced record."""
    index = model.action_index(action_id)
    return [e[0] for e in record.events if e[1] == index]


def count(record, model, action_id: str) -> int:
    """How often ``action_id`` happened."""
    return record.action_counts[model.action_index(action_id)]


def state(record, model, var: str) -> float:
    """Final value of state variable ``var``."""
    return record.final_state[[s.id for s in model.state].index(var)]


# -- timing of deterministic paths ------------------------------------------------------------

def test_schedule_by_day_and_rule_fixed_delays_give_exact_days():
    """Scheduled day 3, then rule delays 2 and 1.5 give actions on days 3, 5 and 6.5."""
    m = make("""
    actions:
      go: {actor: a, rung: r1}
      answer: {actor: a, rung: r2}
      reply: {actor: a}
    schedule:
      - {id: kick, day: 3, action: go}
    rules:
      r_answer: {on: go, probability: 1, delay: 2, action: answer}
      r_reply: {on: answer, delay: {dist: fixed, value: 1.5}, action: reply}
    """, horizon=20)
    rec = run(m)
    assert [(e[0], m.actions[e[1]].id) for e in rec.events] == [
        (3.0, "go"), (5.0, "answer"), (6.5, "reply")]
    assert rec.first_reach == (0.0, 3.0, 5.0, INF)
    assert rec.rung_path == ((0.0, 0), (3.0, 1), (5.0, 2))
    assert (rec.peak, rec.final_rung, rec.end_day, rec.terminal) == (2, 2, 20.0, "horizon")


def test_schedule_by_date_converts_to_days_since_start():
    """'at: 2025-03-01' with start 2025-01-01 happens on day 59 (31 + 28)."""
    m = make("""
    actions:
      go: {actor: a}
    schedule:
      - {id: spring, at: 2025-03-01, action: go}
      - {id: leap, at: 2025-01-02, action: go}
    """, horizon=100)
    rec = run(m)
    assert days_of(rec, m, "go") == [1.0, 59.0]
    assert m.date_of(59.0).isoformat() == "2025-03-01"


def test_cadence_default_start_is_one_period():
    """'every: 7' without 'start' acts on days 7, 14, 21, 28 within a 30-day horizon."""
    m = make("""
    actions:
      tick: {actor: a}
    processes:
      clock: {every: 7, action: tick}
    """, horizon=30)
    rec = run(m)
    assert days_of(rec, m, "tick") == [7.0, 14.0, 21.0, 28.0]
    assert count(rec, m, "tick") == 4


@pytest.mark.parametrize(("start", "expected"), [
    (0, [0.0, 10.0, 20.0, 30.0, 40.0]),
    (3, [3.0, 13.0, 23.0, 33.0, 43.0]),
    (2.5, [2.5, 12.5, 22.5, 32.5, 42.5]),
])
def test_cadence_with_explicit_start(start, expected):
    """'every: 10' with 'start' acts at start, start + 10, ... before the horizon of 45."""
    m = make(f"""
    actions:
      tick: {{actor: a}}
    processes:
      clock: {{every: 10, start: {start}, action: tick}}
    """, horizon=45)
    assert days_of(run(m), m, "tick") == expected


@pytest.mark.parametrize("tabulated", [True, False])
def test_cadence_ticks_land_on_exact_days_tabulated_or_not(monkeypatch, tabulated):
    """Ticks every 0.1 day land on day 3 exactly (rounded to a nanoday, not summed), the
    tick at the horizon itself happens, and the plan's tick table gives the same days as
    computing each tick as it comes (a process with more ticks than the table holds)."""
    if not tabulated:
        monkeypatch.setattr(engine, "MAX_TABULATED_TICKS", 10)
    m = make("""
    actions:
      tick: {actor: a}
    processes:
      clock: {every: 0.1, start: 0.1, action: tick}
    """, horizon=3)
    plan = Plan(m)
    assert (plan.tick_days[0] is not None) == tabulated
    if tabulated:
        assert len(plan.tick_days[0]) == 30 and plan.tick_days[0][-1] == 3.0
    rec = plan.run(1, 0, trace=True)
    assert days_of(rec, m, "tick") == [round(0.1 * k, 9) for k in range(1, 31)]
    assert days_of(rec, m, "tick")[-1] == 3.0


def test_cadence_when_condition_skips_decisions():
    """A cadence process with 'when' acts only at decision times where the condition holds."""
    m = make("""
    state:
      open: {initial: 0}
    actions:
      tick: {actor: a}
      unlock: {actor: a, effects: {open: 1}}
    schedule:
      - {id: u, day: 25, action: unlock}
    processes:
      clock: {every: 10, when: "open > 0", action: tick}
    """, horizon=55)
    assert days_of(run(m), m, "tick") == [30.0, 40.0, 50.0]


def test_huge_rate_fires_at_once_and_switches_off_via_state():
    """Rate 1e7 while s < 3 fires exactly 3 times right away, and 3 more after a reset at day 10."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      bump: {actor: a, effects: {s: s + 1}}
      reset: {actor: a, effects: {s: 0}}
    schedule:
      - {id: again, day: 10, action: reset}
    processes:
      burst: {rate: "1e7 if s < 3 else 0", action: bump}
    """, horizon=20)
    rec = run(m)
    days = days_of(rec, m, "bump")
    assert len(days) == 6
    assert all(0 <= d < 1e-4 for d in days[:3])
    assert all(10 <= d < 10 + 1e-4 for d in days[3:])
    assert state(rec, m, "s") == 3.0


def test_rate_when_condition_switches_on_after_state_change():
    """A huge-rate process with 'when: armed > 0' first fires just after the day-4 arming."""
    m = make("""
    state:
      armed: {initial: 0}
      n: {initial: 0}
    actions:
      arm: {actor: a, effects: {armed: 1}}
      fire: {actor: a, effects: {n: n + 1, armed: 0}}
    schedule:
      - {id: arm_it, day: 4, action: arm}
    processes:
      shooter: {rate: 1e7, when: "armed > 0", action: fire}
    """, horizon=10)
    rec = run(m)
    days = days_of(rec, m, "fire")
    assert len(days) == 1 and 4.0 <= days[0] < 4.0 + 1e-4
    assert state(rec, m, "n") == 1.0


def test_rate_change_to_another_positive_value_redraws_the_clock():
    """A tiny rate raised to 1e7 by a day-4 action fires just after day 4 (clock redrawn)."""
    m = make("""
    state:
      armed: {initial: 0}
      n: {initial: 0}
    actions:
      arm: {actor: a, effects: {armed: 1}}
      fire: {actor: a, effects: {n: n + 1}}
    schedule:
      - {id: arm_it, day: 4, action: arm}
    processes:
      shooter: {rate: "1e-9 + (1e7 * armed if n < 1 else 0)", action: fire}
    """, horizon=10)
    for replication in range(5):
        rec = run(m, replication=replication)
        days = days_of(rec, m, "fire")
        assert len(days) == 1 and 4.0 <= days[0] < 4.0 + 1e-4


def test_stale_clock_of_an_old_rate_never_fires():
    """Rate 5/day calmed to 1e-9 on day 1: no event after day 1 (the old clock is stale)."""
    m = make("""
    state:
      calm: {initial: 0}
    actions:
      x: {actor: a}
      settle: {actor: a, effects: {calm: 1}}
    schedule:
      - {id: s, day: 1, action: settle}
    processes:
      p: {rate: "1e-9 if calm > 0 else 5", action: x}
    """, horizon=30)
    plan = Plan(m)
    for replication in range(100):
        rec = plan.run(3, replication, trace=True)
        assert all(d < 1.0 for d in days_of(rec, m, "x"))


def test_rate_reading_rung_is_rearmed_when_the_rung_moves():
    """A process with rate '1e7 if rung >= r1' fires just after a day-3 raise to r1."""
    m = make("""
    state:
      n: {initial: 0}
    actions:
      up: {actor: a, rung: r1}
      fire: {actor: a, effects: {n: n + 1}}
    schedule:
      - {id: s, day: 3, action: up}
    processes:
      p: {rate: "1e7 if rung >= r1 else 0", when: "n < 2", action: fire}
    """, horizon=10)
    rec = run(m)
    days = days_of(rec, m, "fire")
    assert len(days) == 2 and all(3.0 <= d < 3.0 + 1e-4 for d in days)


@pytest.mark.parametrize("rate", ["0.5 if stock > 0 else 0", "0.5 * stock"])
@pytest.mark.parametrize("replication", [0, 1, 2, 3, 4])
def test_rate_reading_state_stops_when_stock_runs_out(rate, replication):
    """Strikes drawing down a stock of 7 happen exactly 7 times: the rate switches off at 0."""
    m = make(f"""
    state:
      stock: {{initial: 7}}
    actions:
      strike: {{actor: a, effects: {{stock: stock - 1}}}}
    processes:
      strikes: {{rate: "{rate}", action: strike}}
    """, horizon=2000)
    rec = run(m, replication=replication)
    assert count(rec, m, "strike") == 7
    assert state(rec, m, "stock") == 0.0


def test_rate_process_start_delays_the_first_event():
    """A huge-rate process with 'start: 5' fires only from day 5 on."""
    m = make("""
    state:
      n: {initial: 0}
    actions:
      fire: {actor: a, effects: {n: n + 1}}
      poke: {actor: a, effects: {n: n + 10}}
    schedule:
      - {id: early, day: 2, action: poke}
    processes:
      p: {rate: "1e7 if n < 12 else 0", start: 5, action: fire}
    """, horizon=10)
    rec = run(m)
    days = days_of(rec, m, "fire")
    assert len(days) == 2 and all(5.0 <= d < 5.0 + 1e-4 for d in days)
    assert state(rec, m, "n") == 12.0


def test_zero_delay_rule_loop_is_stopped_with_an_error():
    """A rule that answers its own action with no delay is a runaway: ModelRuntimeError."""
    m = make("""
    actions:
      echo: {actor: a}
    schedule:
      - {id: s, day: 2, action: echo}
    rules:
      again: {on: echo, delay: 0, action: echo}
    """, horizon=10)
    msg = _runtime_error(m)
    assert "replication 7" in msg and "day 2.00" in msg and "runaway" in msg


# -- effects and the rung ---------------------------------------------------------------------

def test_effects_are_simultaneous_swap():
    """Effects {x: y, y: x} swap the two values (each reads the values before the action)."""
    m = make("""
    state:
      x: {initial: 1}
      y: {initial: 2}
      z: {initial: 5}
    actions:
      swap: {actor: a, effects: {x: y, y: x, z: "x + y + z"}}
    schedule:
      - {id: s, day: 1, action: swap}
    """, horizon=5)
    rec = run(m)
    assert rec.final_state == (2.0, 1.0, 8.0)


def test_effects_program_names_never_shadow_variables():
    """The effects program's own names (_v0, _changed, _float, _clipped, _e0...) are taken
    around variables of those names: a scenario may use them and still swap and clip."""
    m = make("""
    state:
      _v0: {initial: 1}
      _v1: {initial: 2}
      _changed: {initial: 3, max: 4}
      _float: {initial: 0}
      _clipped: {initial: 0}
      _e0: {initial: 0}
    actions:
      mix: {actor: a, effects: {_v0: _v1, _v1: _v0, _changed: "_changed + _v0 + _v1"}}
    schedule:
      - {id: s, day: 1, action: mix}
    """, horizon=5)
    plan = Plan(m)
    text = plan.programs[plan.steps[0].effect_program].text
    assert "_v0_ = _float_((_v1))" in text and "_changed_ += ('_v0',)" in text
    assert plan.run(1, 0).final_state == (2.0, 1.0, 4.0, 0.0, 0.0, 0.0)


def test_rates_program_names_never_shadow_variables():
    """A rate batch's program takes its own names (_rates, _x0, _moved) around variables of
    those names: a rate reading them still moves when they change."""
    m = make("""
    state:
      _rates: {initial: 0}
      _x0: {initial: 0}
      _moved: {initial: 0}
    actions:
      switch: {actor: a, effects: {_rates: 1, _x0: 2, _moved: 3}}
      fire: {actor: a}
    schedule:
      - {id: s, day: 1, action: switch}
    processes:
      p: {rate: "1000 * _rates * _x0 * _moved", action: fire}
    """, horizon=2)
    plan = Plan(m)
    todo, program = plan.rate_batch(("_rates", "_x0", "_moved"))
    assert "if _x0_ != _rates_[0]:" in plan.programs[program].text
    assert count(plan.run(1, 0), m, "fire") > 1000


def test_effects_and_initial_values_are_clipped_to_min_max():
    """State is clipped to [min, max] both initially and after every effect."""
    m = make("""
    state:
      up: {initial: 0, min: 0, max: 10}
      down: {initial: 3, min: -1, max: 10}
      start_high: {initial: 50, max: 10}
    actions:
      push: {actor: a, effects: {up: up + 100, down: down - 100}}
    schedule:
      - {id: s, day: 1, action: push}
    """, horizon=5)
    m_before = make("""
    state:
      start_high: {initial: 50, max: 10}
    actions:
      noop: {actor: a}
    """, horizon=5)
    assert run(m).final_state == (10.0, -1.0, 10.0)
    assert run(m_before).final_state == (10.0,)


def test_clipped_value_is_what_later_effects_read():
    """After clipping at max 10, a later '+1 then read' sees 10, not the unclipped 100."""
    m = make("""
    state:
      x: {initial: 0, max: 10}
      copy: {initial: 0}
    actions:
      big: {actor: a, effects: {x: 100}}
      look: {actor: a, effects: {copy: x}}
    schedule:
      - {id: s1, day: 1, action: big}
      - {id: s2, day: 2, action: look}
    """, horizon=5)
    assert run(m).final_state == (10.0, 10.0)


def test_raise_never_lowers_and_set_lowers():
    """'raise' to a lower rung leaves the rung alone; 'set' moves it down; peak stays the max."""
    m = make("""
    actions:
      to3: {actor: a, rung: r3}
      raise1: {actor: a, rung: r1}
      set1: {actor: a, rung: r1, rung_mode: set}
    schedule:
      - {id: s1, day: 1, action: to3}
      - {id: s2, day: 2, action: raise1}
      - {id: s3, day: 3, action: set1}
    """, horizon=10)
    rec = run(m)
    assert rec.rung_path == ((0.0, 0), (1.0, 3), (3.0, 1))
    assert (rec.peak, rec.final_rung) == (3, 1)
    # A jump from r0 to r3 reaches r1 and r2 on the way, at the same instant.
    assert rec.first_reach == (0.0, 1.0, 1.0, 1.0)


def test_set_can_raise_too():
    """'set' to a higher rung moves the rung up like 'raise' would."""
    m = make("""
    actions:
      set2: {actor: a, rung: r2, rung_mode: set}
    schedule:
      - {id: s1, day: 4, action: set2}
    """, horizon=10)
    rec = run(m)
    assert (rec.final_rung, rec.peak, rec.first_reach) == (2, 2, (0.0, 4.0, 4.0, INF))


def test_first_reach_below_the_initial_rung_means_at_or_below():
    """Starting at r2, 'set r1' reaches r1 only; 'set r0' later reaches r0; r3 when raised."""
    m = make("""
    actions:
      down1: {actor: a, rung: r1, rung_mode: set}
      down0: {actor: a, rung: r0, rung_mode: set}
      up3: {actor: a, rung: r3}
    schedule:
      - {id: s1, day: 2, action: down1}
      - {id: s2, day: 5, action: down0}
      - {id: s3, day: 7, action: up3}
    """, horizon=10, initial="r2")
    rec = run(m)
    assert rec.first_reach == (5.0, 2.0, 0.0, 7.0)
    assert rec.peak == 3 and rec.final_rung == 3


def test_first_reach_jump_below_initial_marks_every_rung_passed():
    """Starting at r3, one 'set r0' reaches r2, r1 and r0 at that instant."""
    m = make("""
    actions:
      collapse: {actor: a, rung: r0, rung_mode: set}
    schedule:
      - {id: s1, day: 6, action: collapse}
    """, horizon=10, initial="r3")
    rec = run(m)
    assert rec.first_reach == (6.0, 6.0, 6.0, 0.0)
    assert (rec.peak, rec.final_rung) == (3, 0)


def test_coming_back_up_does_not_count_rungs_below_initial_as_reached_above():
    """From r1, going down to r0 and back up to r1 does not set first_reach of r2 or r3."""
    m = make("""
    actions:
      down: {actor: a, rung: r0, rung_mode: set}
      back: {actor: a, rung: r1, rung_mode: set}
    schedule:
      - {id: s1, day: 1, action: down}
      - {id: s2, day: 2, action: back}
    """, horizon=5, initial="r1")
    rec = run(m)
    assert rec.first_reach == (1.0, 0.0, INF, INF)
    assert rec.rung_path == ((0.0, 1), (1.0, 0), (2.0, 1))
    assert rec.peak == 1


def test_rung_names_are_readable_in_expressions():
    """A rule condition 'rung >= r2' uses rung ids as numbers and reads the current rung."""
    m = make("""
    actions:
      up1: {actor: a, rung: r1}
      up2: {actor: a, rung: r2}
      note: {actor: a}
    schedule:
      - {id: s1, day: 1, action: up1}
      - {id: s2, day: 2, action: up2}
    rules:
      noted: {on: [up1, up2], when: "rung >= r2", action: note}
    """, horizon=5)
    rec = run(m)
    assert days_of(rec, m, "note") == [2.0]


# -- ends_run ---------------------------------------------------------------------------------

def test_ends_run_stops_everything_at_that_instant():
    """After an ends_run action at day 5 nothing else happens, not even at day 5."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      finish: {actor: a, rung: r2, ends_run: true, effects: {s: 1}}
      same_day: {actor: a}
      later: {actor: a}
      tick: {actor: a}
      echo: {actor: a}
    schedule:
      - {id: end, day: 5, action: finish}
      - {id: same, day: 5, action: same_day}
      - {id: after, day: 6, action: later}
    processes:
      clock: {every: 5, action: tick}
    rules:
      answer: {on: finish, delay: 0, action: echo}
    outcomes:
      hot: {when: "rung >= r2"}
      finished: {action: finish}
      sameday: {action: same_day}
    """, horizon=50)
    rec = run(m)
    assert (rec.end_day, rec.terminal) == (5.0, "finish")
    assert rec.action_counts == (1, 0, 0, 0, 0)
    # The ends_run action's own effects, rung and outcomes still count.
    assert rec.final_state == (1.0,)
    assert rec.final_rung == 2 and rec.first_reach[2] == 5.0
    assert rec.outcome_days == (5.0, 5.0, INF)
    assert [(e[0], m.actions[e[1]].id) for e in rec.events] == [(5.0, "finish")]


def test_ends_run_from_a_rule_response():
    """A rule whose response ends the run sets end_day to the response day."""
    m = make("""
    actions:
      provoke: {actor: a}
      war: {actor: a, rung: r3, ends_run: true}
    schedule:
      - {id: s1, day: 2, action: provoke}
      - {id: s2, day: 9, action: provoke}
    rules:
      answer: {on: provoke, delay: 3, action: war}
    """, horizon=30)
    rec = run(m)
    assert (rec.end_day, rec.terminal, rec.final_rung) == (5.0, "war", 3)
    assert rec.action_counts == (1, 1)


def test_horizon_end_record():
    """Without an ending action the run ends at the horizon with terminal 'horizon'."""
    m = make("""
    actions:
      idle: {actor: a}
    """, horizon=42)
    rec = run(m)
    assert (rec.end_day, rec.terminal, rec.action_counts) == (42.0, "horizon", (0,))
    assert rec.first_reach == (0.0, INF, INF, INF)
    assert rec.rung_path == ((0.0, 0),)


def test_scheduled_event_after_horizon_never_happens():
    """An event scheduled after the horizon has no effect."""
    m = make("""
    actions:
      go: {actor: a, rung: r1}
    schedule:
      - {id: late, day: 12, action: go}
    """, horizon=10)
    rec = run(m)
    assert rec.action_counts == (0,) and rec.final_rung == 0


# -- outcomes ---------------------------------------------------------------------------------

def test_outcomes_by_when_and_by_action():
    """Outcomes record the first day a condition holds (0 at the start) or an action happens."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      bump: {actor: a, effects: {s: s + 1}}
      up: {actor: a, rung: r2}
    schedule:
      - {id: b1, day: 1, action: bump}
      - {id: b2, day: 2, action: bump}
      - {id: b3, day: 3, action: bump}
      - {id: u, day: 4.5, action: up}
    outcomes:
      from_start: {when: "s >= 0"}
      three: {when: "s >= 3"}
      never: {when: "s > 10"}
      bumped: {action: bump}
      hot: {when: "peak >= r2"}
      never_up_action: {when: "rung >= r3"}
    """, horizon=10)
    rec = run(m)
    assert rec.outcome_days == (0.0, 3.0, INF, 1.0, 4.5, INF)


def test_when_outcome_is_not_undone_when_condition_becomes_false():
    """An outcome that became true on day 1 keeps day 1 after the condition turns false."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      on_: {actor: a, effects: {s: 1}}
      dim: {actor: a, effects: {s: 0}}
      on_again: {actor: a, effects: {s: 1}}
    schedule:
      - {id: e1, day: 1, action: on_}
      - {id: e2, day: 2, action: dim}
      - {id: e3, day: 3, action: on_again}
    outcomes:
      lit: {when: "s > 0"}
    """, horizon=10)
    assert run(m).outcome_days == (1.0,)


def test_outcome_when_reading_lever_true_from_start():
    """An outcome whose condition holds at t=0 (reading a lever) is recorded at day 0."""
    m = make("""
    levers:
      flag: {value: true}
    actions:
      idle: {actor: a}
    outcomes:
      flagged: {when: "flag"}
    """, horizon=10)
    assert run(m).outcome_days == (0.0,)
    off = m.with_levers({"flag": False})
    assert Plan(off).run(1, 0).outcome_days == (INF,)


# -- rules ------------------------------------------------------------------------------------

def test_rule_probability_zero_and_one_and_when():
    """Probability 1 always answers, 0 never; a false 'when' blocks the answer."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      poke: {actor: a}
      agree: {actor: a}
      refuse: {actor: a}
      gated: {actor: a}
    schedule:
      - {id: p1, day: 1, action: poke}
      - {id: p2, day: 2, action: poke}
      - {id: p3, day: 3, action: poke}
    rules:
      always: {on: poke, probability: 1, action: agree}
      never: {on: poke, probability: 0, action: refuse}
      blocked: {on: poke, when: "s > 0", action: gated}
    """, horizon=10)
    for replication in range(20):
        rec = Plan(m).run(5, replication)
        assert rec.action_counts == (3, 3, 0, 0)


def test_rule_probability_expression_reading_state():
    """A rule with probability 'min(1, s)' answers only once s reaches 1."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      poke: {actor: a, effects: {s: s + 0.5}}
      answer: {actor: a}
    schedule:
      - {id: p1, day: 1, action: poke}
      - {id: p2, day: 2, action: poke}
      - {id: p3, day: 3, action: poke}
    rules:
      r: {on: poke, probability: "0 if s < 1 else 1", action: answer}
    """, horizon=10)
    rec = run(m)
    # The rule reads the state after the action's effects: s = 0.5, 1.0, 1.5.
    assert days_of(rec, m, "answer") == [2.0, 3.0]


def test_rule_probability_half_is_binomial():
    """A probability-0.5 rule answers about half the time (99.9% binomial interval)."""
    m = make("""
    actions:
      poke: {actor: a}
      answer: {actor: a}
    schedule:
      - {id: p1, day: 1, action: poke}
    rules:
      r: {on: poke, probability: 0.5, action: answer}
    """, horizon=5)
    plan = Plan(m)
    n = 2000
    k = sum(plan.run(11, i).action_counts[1] for i in range(n))
    low, high = st.binom.interval(0.999, n, 0.5)
    assert low <= k <= high


# -- choose -----------------------------------------------------------------------------------

def test_choose_weight_zero_never_chosen_and_proportions_binomial():
    """Weights {x: 1, y: 3, z: 0}: z never; y in a 99.9% binomial interval around 3/4."""
    m = make("""
    actions:
      x: {actor: a}
      y: {actor: a}
      z: {actor: a}
    schedule:
      - id: pick
        day: 1
        choose: {x: 1, y: 3, z: 0}
    """, horizon=5)
    plan = Plan(m)
    n = 2000
    totals = np.zeros(3, dtype=int)
    for i in range(n):
        rec = plan.run(2, i)
        assert sum(rec.action_counts) == 1
        totals += rec.action_counts
    assert totals[2] == 0
    low, high = st.binom.interval(0.999, n, 0.75)
    assert low <= totals[1] <= high
    assert totals[0] + totals[1] == n


def test_choose_weights_reading_state_all_zero_means_nothing_happens():
    """When every weight evaluates to 0 the decision is skipped; later it can pick."""
    m = make("""
    state:
      w: {initial: 0}
    actions:
      x: {actor: a}
      set_w: {actor: a, effects: {w: 1}}
    schedule:
      - {id: set_it, day: 5, action: set_w}
    processes:
      clock:
        every: 2
        choose: {x: w, set_w: "0 * w"}
    """, horizon=9)
    rec = run(m)
    assert days_of(rec, m, "x") == [6.0, 8.0]


class _TopOfUnit(random.Random):
    """A stream whose uniform draw is always the largest double below 1."""

    def random(self) -> float:
        """The top of the unit interval."""
        return 1.0 - 2.0 ** -53


class _TopStreams(Streams):
    """Streams that hand out only _TopOfUnit generators."""

    def __getitem__(self, source: int) -> random.Random:
        """A top-of-unit stream for every source."""
        return _TopOfUnit(0)


def test_choose_weight_zero_last_never_chosen_at_top_of_uniform(monkeypatch):
    """Even a uniform draw at the very top of [0, 1) never picks a weight-0 action."""
    m = make("""
    actions:
      x: {actor: a}
      y: {actor: a}
      z: {actor: a}
    schedule:
      - id: pick
        day: 1
        choose: {x: 0.15, y: 0.35, z: 0}
    """, horizon=5)
    monkeypatch.setattr(engine, "Streams", _TopStreams)
    assert Plan(m).run(1, 0).action_counts == (0, 1, 0)


# -- schedule conditions ----------------------------------------------------------------------

def test_scheduled_when_and_probability():
    """A scheduled event with a false 'when' or probability 0 is skipped; probability 1 not."""
    m = make("""
    levers:
      go: {value: false}
    actions:
      x: {actor: a}
      y: {actor: a}
      z: {actor: a}
    schedule:
      - {id: gated, day: 1, when: go, action: x}
      - {id: never, day: 2, probability: 0, action: y}
      - {id: sure, day: 3, probability: 1, action: z}
    """, horizon=5)
    assert run(m).action_counts == (0, 0, 1)
    assert Plan(m.with_levers({"go": True})).run(1, 0).action_counts == (1, 0, 1)


# -- runtime errors ---------------------------------------------------------------------------

def _runtime_error(model, replication: int = 7) -> str:
    """The ModelRuntimeError message from running ``model`` (seed 1, ``replication``)."""
    with pytest.raises(ModelRuntimeError) as info:
        Plan(model).run(1, replication)
    return str(info.value)


def test_division_by_zero_in_effect_names_replication_and_day():
    """1/s with s = 0 in an effect on day 3 raises ModelRuntimeError naming rep 7, day 3."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      bad: {actor: a, effects: {s: "1 / s"}}
    schedule:
      - {id: boom, day: 3, action: bad}
    """, horizon=10)
    msg = _runtime_error(m)
    assert "replication 7" in msg and "day 3.00" in msg and "1 / s" in msg


def test_failing_outcome_condition_is_named_and_a_dated_one_is_not_evaluated():
    """An outcome condition that fails (1 / s with s = 0 after day 3) names itself; one that
    already happened is not evaluated again (its division by zero never shows)."""
    m = make("""
    state:
      s: {initial: 2}
      t: {initial: 1}
    actions:
      zero_t: {actor: a, effects: {t: 0, s: 1}}
      zero_s: {actor: a, effects: {s: 0}}
    schedule:
      - {id: a1, day: 2, action: zero_t}
      - {id: a2, day: 3, action: zero_s}
    outcomes:
      early: {when: "1 / t > 0 and s > 0"}
      late: {when: "1 / s > 5"}
    """, horizon=10)
    msg = _runtime_error(m)
    assert "day 3.00" in msg and "1 / s > 5" in msg and "1 / t" not in msg


def test_division_by_zero_in_cadence_process_is_located():
    """An error inside a cadence process also becomes a ModelRuntimeError with its day."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      bad: {actor: a, effects: {s: "1 / s"}}
    processes:
      clock: {every: 2.5, action: bad}
    """, horizon=10)
    msg = _runtime_error(m, replication=4)
    assert "replication 4" in msg and "day 2.50" in msg


def test_probability_above_one_raises():
    """A rule probability evaluating to 1.5 raises ModelRuntimeError naming day 2 (an
    unbounded state variable: a lever of 1.5 is refused at load time, see
    test_fix_hints.py)."""
    m = make("""
    state:
      p: {initial: 1.5}
    actions:
      poke: {actor: a}
      answer: {actor: a}
    schedule:
      - {id: s, day: 2, action: poke}
    rules:
      r: {on: poke, probability: p, action: answer}
    """, horizon=10)
    msg = _runtime_error(m)
    assert "replication 7" in msg and "day 2.00" in msg and "1.5" in msg


def test_scheduled_probability_above_one_raises():
    """A scheduled probability evaluating to 1.5 raises ModelRuntimeError."""
    m = make("""
    state:
      p: {initial: 1.5}
    actions:
      x: {actor: a}
    schedule:
      - {id: s, day: 4, probability: p, action: x}
    """, horizon=10)
    assert "day 4.00" in _runtime_error(m)


def test_negative_rate_after_state_change_raises():
    """A rate '1 - s' that turns negative when s becomes 2 on day 6 raises at day 6."""
    m = make("""
    state:
      s: {initial: 0}
    actions:
      x: {actor: a}
      push: {actor: a, effects: {s: 2}}
    schedule:
      - {id: s6, day: 6, action: push}
    processes:
      p: {rate: "0.000001 * (1 - s)", action: x}
    """, horizon=10)
    msg = _runtime_error(m, replication=3)
    assert "replication 3" in msg and "day 6.00" in msg and "rate" in msg


def test_negative_initial_rate_raises_at_day_zero():
    """A rate reading a negative (unbounded) state variable raises at day 0."""
    m = make("""
    state:
      r: {initial: -1}
    actions:
      x: {actor: a}
    processes:
      p: {rate: r, action: x}
    """, horizon=10)
    assert "day 0.00" in _runtime_error(m)


def test_error_in_initial_state_is_a_model_runtime_error():
    """'initial: 1 / p' with p = 0 raises ModelRuntimeError naming the replication."""
    m = make("""
    parameters:
      p: {dist: fixed, value: 0}
    state:
      s: {initial: "1 / p"}
    actions:
      x: {actor: a}
    """, horizon=10)
    msg = _runtime_error(m)
    assert "replication 7" in msg and "day 0.00" in msg and "1 / p" in msg


# -- randomness -------------------------------------------------------------------------------

def test_poisson_count_mean_and_variance():
    """Rate 0.2/day over 50 days: mean count 10 and variance 10 within 99.9% intervals."""
    m = make("""
    actions:
      x: {actor: a}
    processes:
      p: {rate: 0.2, action: x}
    """, horizon=50)
    plan = Plan(m)
    n, lam = 3000, 10.0
    counts = np.array([plan.run(9, i).action_counts[0] for i in range(n)])
    z = st.norm.ppf(0.9995)
    assert abs(counts.mean() - lam) <= z * math.sqrt(lam / n)
    # Var of the sample variance of Poisson(lam) is about (lam + 2 lam^2) / n.
    assert abs(counts.var(ddof=1) - lam) <= z * math.sqrt((lam + 2 * lam * lam) / n)


def test_rule_exponential_delay_mean():
    """Exponential delays of mean 5 average 5 within a 99.9% interval over 2000 runs."""
    m = make("""
    actions:
      poke: {actor: a}
      answer: {actor: a}
    schedule:
      - {id: s, day: 1, action: poke}
    rules:
      r: {on: poke, delay: {dist: exponential, mean: 5}, action: answer}
    """, horizon=1000)
    plan = Plan(m)
    n = 2000
    delays = np.array([plan.run(4, i, trace=True).events[1][0] - 1.0 for i in range(n)])
    assert abs(delays.mean() - 5.0) <= st.norm.ppf(0.9995) * 5.0 / math.sqrt(n)


def test_same_seed_and_replication_give_identical_records():
    """Plan.run is a pure function of (seed, replication), also across Plan instances."""
    model = load(ROOT / "scenarios" / "teaching.yaml")
    plan = Plan(model)
    for i in (0, 5, 17):
        a = plan.run(123, i, trace=True)
        b = Plan(model).run(123, i, trace=True)
        assert a == b
    # Running other replications in between does not disturb a replication.
    first = plan.run(123, 3)
    for i in range(10):
        plan.run(123, i)
    assert plan.run(123, 3) == first


def test_different_replications_and_seeds_differ():
    """Different replications (or seeds) draw different parameters."""
    model = load(ROOT / "scenarios" / "teaching.yaml")
    plan = Plan(model)
    params = {plan.run(1, i).parameters for i in range(20)}
    assert len(params) == 20
    assert plan.run(1, 0).parameters != plan.run(2, 0).parameters


def test_trace_fills_events_only_when_asked():
    """trace=True lists every action (day, index) in time order; trace=False lists none."""
    model = load(ROOT / "scenarios" / "teaching.yaml")
    plan = Plan(model)
    for i in range(30):
        traced = plan.run(1, i, trace=True)
        plain = plan.run(1, i, trace=False)
        assert plain.events == ()
        assert len(traced.events) == sum(traced.action_counts)
        days = [e[0] for e in traced.events]
        assert days == sorted(days)
        for k in range(len(model.actions)):
            assert sum(1 for e in traced.events if e[1] == k) == traced.action_counts[k]
        # Tracing does not change what happens.
        assert (plain.action_counts, plain.end_day, plain.rung_path) == (
            traced.action_counts, traced.end_day, traced.rung_path)


def test_teaching_record_invariants():
    """Teaching runs: peak >= final rung, end_day <= horizon, terminals are known reasons."""
    model = load(ROOT / "scenarios" / "teaching.yaml")
    plan = Plan(model)
    terminals = set()
    for i in range(300):
        rec = plan.run(8, i)
        terminals.add(rec.terminal)
        assert rec.peak >= rec.final_rung
        assert 0 <= rec.end_day <= model.horizon
        assert rec.rung_path[-1][1] == rec.final_rung
        assert max(k for _, k in rec.rung_path) == rec.peak
        # Strikes state equals the strike count.
        assert rec.final_state[0] == rec.action_counts[model.action_index("deep_strike")]
        if rec.terminal == "red_escalates":
            assert rec.final_rung == model.rung_index("general_war")
            assert rec.outcome_days[0] == rec.end_day
    assert terminals == {"horizon", "red_escalates", "talks_succeed"}


def test_horizon_is_inclusive_for_every_kind_of_event():
    """Cadence, schedule and zero-delay responses due exactly at the horizon all happen."""
    m = make("""
    actions:
      tick: {actor: a}
      once: {actor: a}
      echo: {actor: a}
    processes:
      p: {every: 5, action: tick}
    schedule:
      - {id: e, day: 10, action: once}
    rules:
      r: {on: once, action: echo}
    """, horizon=10)
    rec = run(m)
    assert (count(rec, m, "tick"), count(rec, m, "once"), count(rec, m, "echo")) == (2, 1, 1)
    assert days_of(rec, m, "tick") == [5.0, 10.0]
    assert rec.terminal == "horizon" and rec.end_day == 10.0


def test_rate_reading_peak_is_re_evaluated_when_the_peak_rises():
    """A rate that reads `peak` switches on as soon as the peak rises."""
    m = make("""
    actions:
      up: {actor: a, rung: r1}
      go: {actor: a, rung: r2, ends_run: true}
    schedule:
      - {id: s, day: 1, action: up}
    processes:
      p: {rate: "100 if peak >= r1 else 0", action: go}
    """, horizon=10)
    rec = run(m)
    assert rec.terminal == "go" and 1.0 < rec.end_day < 1.5


def test_rate_process_choice_weights_see_the_current_day():
    """Weights of a rate process's choose read the day of the firing, not a stale one."""
    m = make("""
    actions:
      early: {actor: a}
      late: {actor: a}
    processes:
      p: {rate: 1, choose: {early: "1 if day < 5 else 0", late: "1 if day >= 5 else 0"}}
    """, horizon=10)
    for rep in range(20):
        rec = Plan(m).run(1, rep, trace=True)
        for event in rec.events:
            name = m.actions[event.action].id
            assert (name == "early") == (event.day < 5), (rep, event.day, name)


def test_fractional_cadence_lands_on_the_inclusive_horizon():
    """every: 0.1 over 3 days gives exactly 30 decisions (no drift past the horizon)."""
    m = make("""
    actions:
      tick: {actor: a}
    processes:
      p: {every: 0.1, action: tick}
    """, horizon=3)
    assert count(run(m), m, "tick") == 30


def test_skipped_draws_keep_variants_aligned():
    """A rule whose `when` differs between variants still consumes its draw (CRN intact)."""
    from sim.analyses.compare import run_models
    m = make("""
    levers: {flag: {value: true}}
    state: {late: {initial: 0}}
    actions:
      tick: {actor: a}
      hit: {actor: a, effects: {late: "late + (1 if day >= 2 else 0)"}}
    schedule:
      - {id: s1, day: 1, action: tick}
      - {id: s2, day: 2, action: tick}
    rules:
      r: {on: tick, when: "flag or day >= 2", probability: 0.5, action: hit}
    outcomes:
      late_hit: {when: "late >= 1"}
    """, horizon=10)
    comp = run_models([("base", m), ("off", m.with_levers({"flag": False}))], 1000, 1,
                      workers=1)
    d = comp.difference("off", "late_hit")
    assert d.diff == 0.0 and d.high - d.low < 0.01


def test_non_finite_effect_is_a_runtime_error():
    """An effect that overflows to infinity stops the run with a clear error."""
    m = make("""
    state: {s: {initial: 1}}
    actions:
      grow: {actor: a, effects: {s: "s * 1e200"}}
    processes:
      p: {every: 1, action: grow}
    """, horizon=10)
    with pytest.raises(ModelRuntimeError, match="effect on 's' gave inf"):
        run(m)


def test_failing_rate_among_several_is_named():
    """Of three rates reading s, the one dividing by s = 0 is named when s drops to 0."""
    m = make("""
    state:
      s: {initial: 1}
    actions:
      x: {actor: a}
      drop: {actor: a, effects: {s: 0}}
    schedule:
      - {id: s6, day: 6, action: drop}
    processes:
      p1: {rate: "0.000001 * (1 + s)", action: x}
      p2: {rate: "0.000001 / s", action: x}
      p3: {rate: "0.000001 * (2 + s)", action: x}
    """, horizon=10)
    msg = _runtime_error(m, replication=3)
    assert "day 6.00" in msg and "0.000001 / s" in msg and "1 + s" not in msg


def test_failing_effect_among_several_is_named():
    """Of two effects, the one taking log(0) is named; the other is not blamed."""
    m = make("""
    state:
      s: {initial: 0}
      t: {initial: 0}
    actions:
      bad: {actor: a, effects: {t: "t + 1", s: "log(s)"}}
    schedule:
      - {id: boom, day: 3, action: bad}
    """, horizon=10)
    msg = _runtime_error(m)
    assert "day 3.00" in msg and "log(s)" in msg and "t + 1" not in msg


def test_rate_of_process_not_started_is_not_evaluated_early():
    """A delayed process whose rate would fail before its start day raises nothing then."""
    m = make("""
    state:
      s: {initial: 1}
    actions:
      x: {actor: a}
      drop: {actor: a, effects: {s: 0}}
      lift: {actor: a, effects: {s: 1}}
    schedule:
      - {id: d2, day: 2, action: drop}
      - {id: l4, day: 4, action: lift}
    processes:
      fine: {rate: "0.000001 * s", action: x}
      later: {rate: "0.000001 / s", start: 6, action: x}
    """, horizon=10)
    rec = run(m)
    assert rec.terminal == "horizon" and rec.action_counts[1:] == (1, 1)


def test_rate_batch_lists_each_reader_once_and_skips_constant_rates():
    """Changing s and t recomputes 'both' once, 'only_t' once and never 'fixed'."""
    m = make("""
    state:
      s: {initial: 0}
      t: {initial: 0}
    actions:
      x: {actor: a}
    processes:
      fixed: {rate: 0.5, action: x}
      both: {rate: "0.1 * (1 + s + t)", action: x}
      only_t: {rate: "0.2 * (1 + t)", action: x}
    """, horizon=10)
    plan = Plan(m)
    todo, program = plan.rate_batch(("s", "t"))
    assert todo == (1, 2) and program is not None
    moved = plan.programs[program].bind({"s": 1.0, "t": 2.0})
    # Given the current rates by process, it returns the rates that moved.
    both, only_t = 0.1 * (1 + 1.0 + 2.0), 0.2 * (1 + 2.0)
    assert moved([0.5, 0.0, 0.0]) == ((1, both), (2, only_t))
    assert moved([0.5, both, 0.0]) == ((2, only_t),)
    assert moved([0.5, both, only_t]) == ()
    assert plan.rate_batch(("s",))[0] == (1,)


def test_run_ended_by_a_tick_at_the_event_limit_is_not_a_runaway(monkeypatch):
    """A cadence tick whose action ends the run just as the event cap is passed ends it."""
    monkeypatch.setattr(engine, "MAX_EVENTS", 19)  # ticks on days 1..20: the 20th passes it
    m = make("""
    actions:
      tick: {actor: a}
      end: {actor: a, ends_run: true}
    processes:
      clock:
        every: 1
        choose: {tick: "1 if day < 20 else 0", end: "1 if day >= 20 else 0"}
    """, horizon=100)
    rec = run(m)
    assert rec.terminal == "end" and rec.end_day == 20.0 and rec.n_events == 20


def test_pinned_parameters_must_match_the_model():
    """A pinned vector of the wrong length is refused with a message saying both lengths."""
    m = make("""
    parameters:
      p: {dist: uniform, low: 0, high: 1}
    actions:
      x: {actor: a}
    """)
    with pytest.raises(ValueError, match="2 pinned parameter values for 1 parameters"):
        Plan(m).run(1, 0, parameters=[0.5, 0.5])


def test_replication_keeps_the_fast_attribute_layout():
    """At most 29 instance attributes: CPython's shared-key layout (which the hot path's
    attribute loads are specialised for) holds no more; a 30th cost 4% of a run."""
    from sim.run.engine import Replication
    rep = Replication(Plan(load(ROOT / "scenarios" / "atacms.yaml")), 1, 0, trace=True)
    rep.run()
    assert len(vars(rep)) <= 29


def test_loading_and_running_the_flagship_does_not_import_scipy_stats():
    """scipy.stats costs over a second to import; a plain load and run never needs it."""
    import subprocess
    import sys
    code = ("import sys; from sim.spec.loader import load; from sim.run.engine import Plan; "
            "Plan(load('scenarios/atacms.yaml')).run(1, 0); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_runs_reusing_a_namespace_equal_fresh_replications():
    """Plan.run hands each finished run's namespace (with its bound programs) to the next;
    every record, trace included, equals that of a replication built from scratch, also
    when a replication driven step by step (its own namespace) runs in between."""
    model = load(Path(__file__).resolve().parents[1] / "scenarios" / "atacms.yaml")
    plan = Plan(model)
    reused = [plan.run(7, i, trace=i % 3 == 0) for i in range(12)]
    live = plan.start(7, 99)
    live.advance(30.0)
    reused += [plan.run(7, i, trace=i % 3 == 0) for i in range(12, 16)]
    fresh = Plan(model)
    expected = [engine.Replication(fresh, 7, i, trace=i % 3 == 0).run() for i in range(16)]
    assert reused == expected
    assert len(plan._spares) == 1 and plan._spares[0].ns is not live.values()


def test_a_weight_that_turns_negative_at_run_time_is_named():
    """A choice weight reading state that has gone negative stops the run with the weight,
    where it is and the value it gave (the same message whether the weights came from the
    engine's program or one by one)."""
    m = make("""
    state:
      s: {initial: 1}
    actions:
      down: {actor: a, effects: {s: "s - 2"}}
      x: {actor: a}
      y: {actor: a}
    schedule:
      - {id: fall, day: 2, action: down}
    processes:
      p: {every: 1, start: 0.5, choose: {x: s, y: 1}}
    """, horizon=10)
    message = _runtime_error(m)
    assert "weight 's'" in message and "evaluated to -1; weights must be finite and >= 0" \
        in message and "day 2.50" in message

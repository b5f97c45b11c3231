"""From aggregate to Summary: probabilities, intervals, curves, bands, warnings, JSON."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sim.results.stats import wilson
from sim.results.summary import BANDS, FEW_EVENTS, summarise
from sim.run.aggregate import Aggregate
from sim.run.engine import Plan
from sim.run.record import Record
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
INF = math.inf

MODEL = load_text(textwrap.dedent("""
scenario: {id: small, title: Small test, start: 2025-01-01, horizon_days: 10}
ladder:
  initial: calm
  rungs:
    - {id: calm, name: Calm}
    - {id: tense, name: Tense}
    - {id: war, name: War}
actors:
  a: {name: A}
levers:
  dial: {value: 2, range: [0, 5]}
state:
  s: {initial: 0}
actions:
  push: {actor: a, rung: tense, effects: {s: s + 1}}
  fight: {actor: a, rung: war, ends_run: true}
outcomes:
  hot: {when: "peak >= tense"}
  fought: {action: fight}
"""))


def rec(i: int, path, s: float = 0.0, counts=(0, 0), terminal="horizon") -> Record:
    """A record for MODEL with rung path ``path`` (first reach derived from it)."""
    first = [INF, INF, INF]
    for t, k in path:
        for j in range(0, k + 1):
            first[j] = min(first[j], t)
    peak = max(k for _, k in path)
    return Record(replication=i, peak=peak, final_rung=path[-1][1], end_day=10.0,
                  terminal=terminal, first_reach=tuple(first),
                  outcome_days=(first[1], first[2] if terminal == "fight" else INF),
                  action_counts=tuple(counts), final_state=(s,), parameters=(),
                  rung_path=tuple(path))


def aggregate(records) -> Aggregate:
    """An aggregate of ``records`` for MODEL."""
    agg = Aggregate.for_model(MODEL)
    agg.add(records)
    return agg


def mixed(n_each: int) -> list[Record]:
    """Three kinds of runs in equal numbers: calm, tense from day 3, war on day 6."""
    out = []
    for i in range(n_each):
        out.append(rec(3 * i, ((0.0, 0),), s=0.0))
        out.append(rec(3 * i + 1, ((0.0, 0), (3.0, 1)), s=1.0, counts=(1, 0)))
        out.append(rec(3 * i + 2, ((0.0, 0), (2.5, 1), (6.0, 2)), s=2.0, counts=(2, 1),
                       terminal="fight"))
    return out


def test_probabilities_equal_counts_over_n():
    """Rung, outcome, terminal and action probabilities are count / n with Wilson bounds."""
    agg = aggregate(mixed(400))
    s = summarise(MODEL, agg)
    assert s.n == 1200
    assert [line.estimate.k for line in s.rungs] == [1200, 800, 400]
    for line in (*s.rungs, *s.outcomes, *s.terminal):
        e = line.estimate
        assert e.p == e.k / 1200
        assert (e.low, e.high) == (wilson(e.k, 1200).low, wilson(e.k, 1200).high)
    assert s.rung("tense").k == 800 and s.outcome("hot").k == 800
    assert s.outcome("fought").k == 400
    assert [(t.id, t.estimate.k) for t in s.terminal] == [("horizon", 800), ("fight", 400)]
    actions = {a: (e.k, mean) for a, e, mean in s.actions}
    assert actions == {"push": (800, pytest.approx(1200 / 1200)),
                       "fight": (400, pytest.approx(400 / 1200))}
    assert s.peak_share.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])


def test_curves_are_cumulative_and_end_at_the_totals():
    """Incidence curves rise to reached/n by the horizon, never decreasing."""
    s = summarise(MODEL, aggregate(mixed(400)))
    tense = s.rung_curves[1]
    # 2.5 -> day 3, 3.0 -> day 3: nothing before day 3, then two thirds.
    assert tense.p.tolist() == pytest.approx([0, 0, 0] + [2 / 3] * 8)
    war = s.rung_curves[2]
    assert war.p.tolist() == pytest.approx([0] * 6 + [1 / 3] * 5)
    for curve in (*s.rung_curves, *s.outcome_curves):
        assert len(curve.p) == 11
        assert np.all(np.diff(curve.p) >= 0)
        assert np.all(curve.low <= curve.p) and np.all(curve.p <= curve.high)
    assert s.rung_curves[0].p.tolist() == [1.0] * 11


def test_occupancy_and_bands():
    """Occupancy shares per day sum to 1; bands are rung quantiles, monotone in q."""
    s = summarise(MODEL, aggregate(mixed(400)))
    assert s.occupancy.sum(axis=1) == pytest.approx(np.ones(11))
    assert s.occupancy[2].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert s.occupancy[3].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert s.occupancy[6].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert set(s.bands) == set(BANDS)
    qs = sorted(s.bands)
    for lo_q, hi_q in zip(qs, qs[1:], strict=False):
        assert np.all(s.bands[lo_q] <= s.bands[hi_q])
    # Day 6: a third in each rung. 5% and 25% -> calm, 50% -> tense, 75% and 95% -> war.
    assert [int(s.bands[q][6]) for q in BANDS] == [0, 0, 1, 2, 2]
    # Day 3: a third calm, two thirds tense.
    assert [int(s.bands[q][3]) for q in BANDS] == [0, 0, 1, 1, 1]
    assert [int(s.bands[q][0]) for q in BANDS] == [0] * 5


def test_band_at_an_exact_share_takes_the_lower_rung():
    """When exactly a quarter is calm, the 25% band is calm (the smallest rung with share >= q)."""
    records = [rec(0, ((0.0, 0),)), rec(1, ((0.0, 0), (1.0, 1))),
               rec(2, ((0.0, 0), (1.0, 2))), rec(3, ((0.0, 0), (1.0, 2)))]
    s = summarise(MODEL, aggregate(records))
    # From day 1: shares 1/4 calm, 1/4 tense, 1/2 war; cumulative 0.25, 0.5, 1.
    assert [int(s.bands[q][5]) for q in BANDS] == [0, 0, 1, 2, 2]


def test_bands_monotone_on_real_runs():
    """For simulated teaching runs, each band is at or above the one for a lower q."""
    model = load(ROOT / "scenarios" / "teaching.yaml")
    agg = Aggregate.for_model(model)
    agg.add([Plan(model).run(1, i) for i in range(500)])
    s = summarise(model, agg)
    qs = sorted(s.bands)
    for lo_q, hi_q in zip(qs, qs[1:], strict=False):
        assert np.all(s.bands[lo_q] <= s.bands[hi_q])
    assert all(len(b) == 91 for b in s.bands.values())


def test_state_quantiles_and_mean():
    """Final state quantiles and mean come from the value histogram."""
    s = summarise(MODEL, aggregate(mixed(400)))
    (sid, quantiles, mean), = s.state
    assert sid == "s"
    assert quantiles == pytest.approx((0.0, 0.0, 1.0, 2.0, 2.0))
    assert mean == pytest.approx(1.0)


def test_no_warnings_with_many_runs_and_events():
    """1200 runs and at least FEW_EVENTS events everywhere: no warnings."""
    assert summarise(MODEL, aggregate(mixed(400))).warnings == ()


def test_warning_for_small_n():
    """Fewer than 1000 runs warns with the half-width near 50%."""
    s = summarise(MODEL, aggregate(mixed(100)))
    assert len(s.warnings) == 1
    half = wilson(150, 300).half_width * 100
    assert s.warnings[0].startswith("Only 300 runs")
    assert f"±{half:.1f} points" in s.warnings[0]


def test_warning_for_few_events():
    """A rung or outcome seen in 1..FEW_EVENTS-1 runs gets a warning naming it; 0 does not."""
    records = [rec(i, ((0.0, 0),)) for i in range(1000)]
    records += [rec(1000 + i, ((0.0, 0), (1.0, 1))) for i in range(FEW_EVENTS - 1)]
    s = summarise(MODEL, aggregate(records))
    names = [w for w in s.warnings if "happened in only" in w]
    assert len(names) == 2  # rung 'Tense' and outcome 'hot'
    assert any("'Tense' happened in only 9 of 1009 runs" in w for w in names)
    assert not any("War" in w for w in s.warnings)  # never reached: no warning
    records.append(rec(2000, ((0.0, 0), (1.0, 1))))
    assert summarise(MODEL, aggregate(records)).warnings == ()


def test_to_dict_is_json_and_matches_the_summary():
    """to_dict() dumps as strict JSON and holds the same counts and probabilities."""
    agg = aggregate(mixed(400))
    model = MODEL.with_levers({"dial": 3.0})
    s = summarise(model, agg, variant="loud")
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert (d["scenario"], d["variant"], d["runs"], d["horizon_days"]) == (
        "small", "loud", 1200, 10.0)
    assert d["levers"] == {"dial": 3.0}
    assert d["start"] == "2025-01-01"
    reach = {r["id"]: r["reach"] for r in d["rungs"]}
    assert reach["tense"]["count"] == 800 and reach["tense"]["runs"] == 1200
    assert reach["tense"]["p"] == pytest.approx(800 / 1200)
    assert reach["tense"]["ci95"] == pytest.approx([s.rung("tense").low, s.rung("tense").high])
    assert [r["peak_share"] for r in d["rungs"]] == pytest.approx([1 / 3] * 3)
    assert {o["id"]: o["count"] for o in d["outcomes"]} == {"hot": 800, "fought": 400}
    assert {t["reason"]: t["count"] for t in d["terminal"]} == {"horizon": 800, "fight": 400}
    assert d["state"][0]["quantiles"]["0.5"] == pytest.approx(1.0)
    assert len(d["rung_incidence"]) == 3 and len(d["rung_incidence"][1]["p"]) == 11
    assert d["rung_incidence"][1]["p"][-1] == pytest.approx(2 / 3, abs=1e-6)
    assert set(d["rung_bands"]) == {str(q) for q in BANDS}
    assert d["warnings"] == []


def test_to_dict_of_real_run_is_strict_json():
    """A summary of real teaching runs (with warnings) serialises without NaN or numpy types."""
    model = load(ROOT / "scenarios" / "teaching.yaml")
    agg = Aggregate.for_model(model)
    agg.add([Plan(model).run(2, i) for i in range(200)])
    d = summarise(model, agg).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["runs"] == 200
    assert d["warnings"] and d["events"] == agg.n_events > 0

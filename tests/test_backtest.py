"""Backtests: scores against hand computations, events-file checks, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from sim.analyses import backtest as bt
from sim.cli import main
from sim.errors import ScenarioError
from sim.results.stats import wilson
from sim.spec.events import Event, Events, Target, events_from_text

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2000, 1, 1)


def _forecast(item_id: str, k: int, n: int = 1000, horizon: int = 30,
              kind: str = "outcome") -> bt.Forecast:
    curve = np.linspace(0, k / n, horizon + 1)
    return bt.Forecast(item_id, kind, item_id, wilson(k, n), curve)


def _event(item_id: str, happened: bool, day: int | None = None) -> Event:
    return Event(item_id, "outcome", happened, day, "[src]", "")


def _forecasts(*items: bt.Forecast) -> bt.Forecasts:
    return bt.Forecasts("case", "A case", START, 30.0, 1000, 1, ("low", "mid", "high"),
                        ("Low", "Mid", "High"), items, {})


def _events(*items: Event) -> Events:
    return Events("case.events.yaml", "case", "", (), items, ())


def test_two_outcomes_match_hand_computation():
    """p = 0.8 happened, p = 0.3 did not: Brier 0.04 and 0.09, mean 0.065; base rate 0.5, so
    both references have Brier 0.25 and the skill is 1 - 0.065 / 0.25 = 0.74."""
    case = bt.score_case(_forecasts(_forecast("a", 800), _forecast("b", 300)),
                         _events(_event("a", True, 10), _event("b", False)))
    a, b = case.outcomes
    assert a.brier == pytest.approx(0.04)
    assert b.brier == pytest.approx(0.09)
    # Log scores use (k + 0.5) / (n + 1): ln(800.5 / 1001) and ln(1 - 300.5 / 1001).
    assert a.log_score == pytest.approx(-0.2235182469)
    assert b.log_score == pytest.approx(-0.3569604135)
    sk = case.skill
    assert sk.mean_brier == pytest.approx(0.065)
    assert sk.base_rate == 0.5
    assert sk.skill_half == pytest.approx(0.74)
    assert sk.skill_base == pytest.approx(0.74)
    assert sk.mean_log == pytest.approx((-0.2235182469 - 0.3569604135) / 2)
    # The Brier range follows the 95% interval of p: for a hit, (1 - high)^2 .. (1 - low)^2.
    est = a.forecast.estimate
    assert a.brier_low == pytest.approx((1 - est.high) ** 2)
    assert a.brier_high == pytest.approx((1 - est.low) ** 2)


def test_certain_outcomes_score_zero_and_the_base_rate_is_undefined():
    """Every run had it and it happened; no run had it and it did not: Brier 0 for both.
    With a base rate of 0.5 the skill is 1; with every outcome happening the base rate is a
    perfect forecast, so the skill against it is undefined."""
    case = bt.score_case(_forecasts(_forecast("a", 1000), _forecast("b", 0)),
                         _events(_event("a", True, 3), _event("b", False)))
    assert [s.brier for s in case.outcomes] == [0.0, 0.0]
    assert case.skill.skill_half == 1.0
    assert case.skill.skill_base == 1.0
    # The log score never reaches minus infinity or exactly 0: ln(1000.5 / 1001).
    assert case.outcomes[0].log_score == pytest.approx(math.log(1000.5 / 1001))
    both = bt.score_case(_forecasts(_forecast("a", 1000), _forecast("b", 1000)),
                         _events(_event("a", True, 3), _event("b", True, 4)))
    assert both.skill.base_rate == 1.0
    assert both.skill.skill_base is None
    # A certain miss: p = 1 and it did not happen costs the full Brier of 1.
    miss = bt.score_item(_forecast("a", 1000), _event("a", False))
    assert miss.brier == 1.0
    assert miss.log_score == pytest.approx(math.log(0.5 / 1001))


def test_timing_percentile_on_an_exponential_first_passage():
    """F(d) = 1 - exp(-0.1 d) over 30 days; a real day 10 lies between F(9)/F(30) = 0.6245
    and F(11)/F(30) = 0.7021, percentile 0.6633 (inside the central 90%)."""
    days = np.arange(31)
    cumulative = 1 - np.exp(-0.1 * days)
    t = bt.timing(cumulative, 10)
    assert t is not None
    assert t.low == pytest.approx(0.6245235363)
    assert t.high == pytest.approx(0.7020836005)
    assert t.percentile == pytest.approx(0.6633035684)
    assert t.flag == ""
    late = bt.timing(cumulative, 30)
    assert late is not None and late.percentile == pytest.approx(0.9972447482)
    assert late.flag == "late"
    early = bt.timing(cumulative, 0)
    assert early is not None and early.percentile == pytest.approx(0.0500743459)
    assert early.flag == ""  # just inside: 0.0501 > 0.05
    # A slow hazard (0.01 a day): day 0 is far earlier than the model expected.
    slow = bt.timing(1 - np.exp(-0.01 * days), 0)
    assert slow is not None and slow.percentile == pytest.approx(
        (1 - math.exp(-0.01)) / (1 - math.exp(-0.3)) / 2)
    assert slow.flag == "early"


def test_timing_of_a_certain_scheduled_event_is_central():
    """An event every run has on day 5 (an atom): the window is [F(4), F(6)] = [0, 1]."""
    cumulative = (np.arange(31) >= 5).astype(float)
    t = bt.timing(cumulative, 5)
    assert t is not None and (t.low, t.high, t.percentile, t.flag) == (0.0, 1.0, 0.5, "")
    assert bt.timing(np.zeros(31), 5) is None  # no run had it: no percentile


def test_reliability_bins_by_hand():
    """Five forecasts in 0.2-wide bins: the share that happened in each bin."""
    scored = [bt.score_item(_forecast(str(i), k), _event(str(i), h, 1 if h else None))
              for i, (k, h) in enumerate([(100, False), (150, True), (500, True),
                                          (900, True), (1000, True)])]
    bins = bt.reliability(scored)
    assert [b.n for b in bins] == [2, 0, 1, 0, 2]
    assert bins[0].mean_forecast == pytest.approx(0.125)
    assert bins[0].observed.p == 0.5
    assert bins[2].observed.p == 1.0
    assert bins[4].mean_forecast == pytest.approx(0.95)


def test_pooled_skill_counts_outcomes_of_every_case():
    one = bt.score_case(_forecasts(_forecast("a", 800)), _events(_event("a", True, 2)))
    two = bt.score_case(_forecasts(_forecast("a", 300)), _events(_event("a", False)))
    pooled = bt.pool([one, two])
    assert pooled.skill.n == 2
    assert pooled.skill.mean_brier == pytest.approx(0.065)
    assert pooled.timed == 1


# -- events files --------------------------------------------------------------------------
TARGET = Target("case", START, 30.0, ("war", "deal"), ("settled", "crisis", "war_rung"), 1,
                ("scen_src",))

GOOD = """\
scenario: case
sources:
  a: "A source, 2000."
outcomes:
  war: {happened: true, date: 2000-01-05, source: "[a]", note: "a judgement"}
  deal: {happened: false, source: "[scen_src]"}
rungs:
  war_rung: {happened: true, day: 4, source: "[a]"}
path:
  - {day: 4, rung: war_rung}
"""


def test_a_good_events_file_is_read():
    events = events_from_text(GOOD, TARGET, "good.yaml")
    war, deal, rung = events.items
    assert (war.kind, war.happened, war.day, war.note) == ("outcome", True, 4, "a judgement")
    assert (deal.happened, deal.day) == (False, None)
    assert (rung.kind, rung.day) == ("rung", 4)
    assert events.path[0].rung == "war_rung"


@pytest.mark.parametrize("text, line, fragment", [
    (GOOD.replace("scenario: case", "scenario: other"), 1, "judges scenario 'other'"),
    (GOOD.replace("  war: {", "  wor: {"), 5, "unknown outcome 'wor' (did you mean 'war'?)"),
    (GOOD.replace('source: "[scen_src]"', 'source: ""'), 6, "missing 'source'"),
    (GOOD.replace("[scen_src]", "[nope]"), 6, "cites [nope]"),
    (GOOD.replace("date: 2000-01-05", "date: 2000-03-01"), 5, "after the scenario's horizon"),
    (GOOD.replace("date: 2000-01-05", "date: 1999-12-01"), 5, "before the scenario's start"),
    (GOOD.replace("date: 2000-01-05, ", ""), 5, "needs the 'date'"),
    (GOOD.replace("happened: false,", "happened: false, day: 3,"), 6, "takes no 'date'"),
    (GOOD.replace("happened: false", "happened: maybe"), 6, "must be true or false"),
    (GOOD.replace("day: 4, source", "day: 6, source"), 8, "disagrees with 'path'"),
    (GOOD.replace("  war_rung: {", "  crisis: {"), 8, "is the starting rung"),
    (GOOD.replace("note: ", "notes: "), 5, "unknown key (did you mean 'note'?)"),
    (GOOD.replace("rung: war_rung}", "rung: peace}"), 10, "unknown rung 'peace'"),
])
def test_events_file_problems_are_located(text: str, line: int, fragment: str):
    with pytest.raises(ScenarioError) as info:
        events_from_text(text, TARGET, "bad.yaml")
    problems = info.value.problems
    assert any(p.line == line and fragment in p.message for p in problems), problems
    assert all(p.file == "bad.yaml" for p in problems)


def test_every_problem_is_reported_at_once():
    text = GOOD.replace("[scen_src]", "[nope]").replace("  war: {", "  wor: {")
    with pytest.raises(ScenarioError) as info:
        events_from_text(text, TARGET, "bad.yaml")
    assert len(info.value.problems) == 2


# -- the CLI on the shipped library ---------------------------------------------------------
LIBRARY = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").rglob("events/*.yaml"))


def _scenario_of(events: str) -> str:
    return events.replace("events/", "")


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios" / "history").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_history_scenarios_validate_without_warnings_and_have_events(path: Path):
    """Every number of a historical case is sourced and dated by its information cutoff."""
    from sim.spec.events import events_path
    from sim.spec.loader import check_file
    model, problems, warnings = check_file(path)
    assert problems == [] and warnings == []
    assert model is not None and model.information_cutoff == model.start
    assert {key for key, _ in model.sources} == {key for key, _ in model.source_dates}
    assert events_path(path).is_file()
    assert path.with_suffix(".md").is_file()


def test_flagship_sources_are_dated_by_its_cutoff():
    """The flagship's numbers rest only on sources published by its start (17 Nov 2024);
    later reports live in its events file as out-of-sample checks."""
    import datetime as dt

    from sim.spec.loader import load
    model = load(ROOT / "scenarios" / "atacms.yaml")
    assert model.information_cutoff == model.start == dt.date(2024, 11, 17)
    dates = dict(model.source_dates)
    assert set(dates) == {key for key, _ in model.sources}
    assert max(dates.values()) <= model.information_cutoff
    later = bt.events_for(model, ROOT / "scenarios" / "events" / "atacms.yaml")
    assert later is not None


@pytest.mark.parametrize("events", LIBRARY)
def test_every_shipped_events_file_is_valid(events: str):
    from sim.spec.loader import load
    model = load(ROOT / _scenario_of(events))
    checked = bt.events_for(model, ROOT / events)
    assert checked.of_kind("outcome")
    assert all(e.source for e in checked.items)


@pytest.mark.slow
def test_backtest_command_on_the_library(tmp_path, capsys, monkeypatch):
    """`sim backtest` on every shipped case prints a table per case and the pooled one, and
    writes the JSON, page and plots."""
    monkeypatch.chdir(ROOT)
    scenarios = [_scenario_of(e) for e in LIBRARY]
    out = tmp_path / "bt"
    code = main(["backtest", *scenarios, "--runs", "200", "--workers", "1", "--out", str(out),
                 "-q"])
    text = capsys.readouterr().out
    assert code == 0
    assert text.count("Mean Brier") >= len(scenarios) + 1
    assert "How far to trust this" in text
    data = json.loads((out / "backtest.json").read_text())
    assert [c["scenario"] for c in data["cases"]] == [Path(s).stem for s in scenarios]
    for case in data["cases"]:
        for item in case["outcomes"]:
            p, happened = item["p"], item["happened"]
            assert item["brier"] == pytest.approx((p - happened) ** 2)
    assert (out / "reliability.png").stat().st_size > 10_000
    assert (out / "manifest.json").is_file()


@pytest.mark.slow
def test_backtest_reads_a_results_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    run = tmp_path / "run"
    assert main(["run", "scenarios/atacms.yaml", "--runs", "200", "--workers", "1", "--out",
                 str(run), "--no-csv", "--no-plots", "-q"]) == 0
    capsys.readouterr()
    assert main(["backtest", str(run), "--out", str(tmp_path / "bt"), "--no-plots",
                 "-q"]) == 0
    data = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert data["cases"][0]["origin"] == str(run)
    assert data["cases"][0]["runs"] == 200


@pytest.mark.slow
def test_backtest_usage_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["backtest", "scenarios/teaching.yaml", "--out", str(tmp_path / "x")]) == 2
    assert "no events file" in capsys.readouterr().err
    assert main(["backtest", "scenarios/atacms.yaml", "scenarios/atacms.yaml", "--events",
                 "scenarios/events/atacms.yaml"]) == 2
    assert "one events file" in capsys.readouterr().err
    varied = tmp_path / "varied"
    assert main(["run", "scenarios/atacms.yaml", "--runs", "200", "--workers", "1",
                 "--variant", "no_atacms", "--out", str(varied), "--no-csv", "--no-plots",
                 "-q"]) == 0
    capsys.readouterr()
    assert main(["backtest", str(varied)]) == 2
    assert "as written" in capsys.readouterr().err


def test_an_events_file_is_checked_against_the_scenario_beside_its_folder(tmp_path):
    good = ROOT / "scenarios" / "history" / "events" / "cuba1962.yaml"
    events, problems = bt.check_events_file(good)
    assert problems == [] and events is not None and events.scenario == "cuba1962"
    stray = tmp_path / "cuba1962.yaml"
    stray.write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    _, problems = bt.check_events_file(stray)
    assert "must sit in a folder 'events'" in problems[0].message
    (tmp_path / "events").mkdir()
    bad = tmp_path / "events" / "cuba1962.yaml"
    text = good.read_text(encoding="utf-8")
    bad.write_text(text.replace("date: 1962-10-22", "date: 1963-01-01", 1), encoding="utf-8")
    scenario = ROOT / "scenarios" / "history" / "cuba1962.yaml"
    stray.write_text(scenario.read_text(encoding="utf-8"), encoding="utf-8")
    _, problems = bt.check_events_file(bad)
    assert len(problems) == 1 and "after the scenario's horizon" in problems[0].message


def test_validate_checks_events_files(tmp_path, capsys, monkeypatch):
    """`sim validate` on a file in an events folder checks it against its scenario."""
    monkeypatch.chdir(ROOT)
    assert main(["validate", "scenarios/history/events/kargil1999.yaml"]) == 0
    assert "OK (events file: 9 outcomes and 5 rungs of kargil1999 judged)" in \
        capsys.readouterr().out
    (tmp_path / "events").mkdir()
    scenario = ROOT / "scenarios" / "history" / "kargil1999.yaml"
    (tmp_path / "kargil1999.yaml").write_text(scenario.read_text(encoding="utf-8"),
                                              encoding="utf-8")
    bad = tmp_path / "events" / "kargil1999.yaml"
    text = (ROOT / "scenarios" / "history" / "events" / "kargil1999.yaml").read_text(
        encoding="utf-8")
    bad.write_text(text.replace("  india_crosses:\n", "  india_cross:\n"), encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    assert "unknown outcome 'india_cross' (did you mean 'india_crosses'?)" in \
        capsys.readouterr().err

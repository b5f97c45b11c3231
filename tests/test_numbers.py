"""How numbers are printed (sim.present.numbers) and the tables that use it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sim.analyses.compare import compare_variants, parse_grid, sweep
from sim.cli import main
from sim.present.numbers import (
    interval,
    interval_ends,
    is_clear,
    percent,
    points,
    points_decimals,
    share,
)
from sim.present.report import format_estimate
from sim.present.tables import comparison_table, sweep_table
from sim.results.stats import Difference, Estimate, wilson
from sim.spec.loader import load

TEACHING = Path(__file__).resolve().parent.parent / "scenarios" / "teaching.yaml"


def diff(low: float, high: float) -> Difference:
    return Difference((low + high) / 2, low, high, 4000, 0.5, 0.5)


def test_a_share_below_one_never_prints_as_certain():
    """3998 of 4000 is 99.95%, not 100.0%; 2 of 4000 is 0.05%, not 0.0%."""
    assert percent(wilson(3998, 4000)) == "99.95%"
    assert percent(wilson(2, 4000)) == "0.05%"
    assert percent(wilson(3999, 4000)) != "100.00%"
    assert percent(wilson(4000, 4000)) == "100%"  # every run: exact, nothing to round
    assert format_estimate(wilson(3998, 4000), "point") == "99.95%"
    # Even a wide interval (few runs) cannot round a near-certain share up to 100.
    assert not percent(wilson(999, 1000)).startswith("100")


def test_never_and_always_print_one_way_whatever_the_run_count():
    """0 of n is 0%, n of n is 100%, at 100 runs as at 4000 (was 0%, 0.0%, 0.00%);
    the interval keeps the decimals its width supports."""
    for n in (100, 200, 1000, 4000):
        assert percent(wilson(0, n)) == "0%" and percent(wilson(n, n)) == "100%"
        assert format_estimate(wilson(0, n), "point") == percent(wilson(0, n))
    assert interval(wilson(0, 200)) == "[0.0%, 1.9%]"
    assert format_estimate(wilson(4000, 4000)) == "100% [99.90%, 100.00%]"
    # A conditional (rare-event) estimate can be above zero with no run counted: not 0%.
    assert percent(Estimate(0, 4000, 0.00004, 0.00001, 0.00007)) == "0.004%"
    assert share(0.0) == "0%" and share(1.0) == "100%" and share(0.5, 0.05) == "50%"
    assert share(0.01234, 0.001) == "1.2%" and share(0.74) == "74.0%"  # no interval: 1
    assert share(float("nan")) == "n/a"


def test_a_column_of_stated_shares_has_fixed_decimals_but_never_says_certain():
    """share(p, places=0): whole percents for a column of forecasts people typed, with more
    decimals only where rounding would print 0% or 100%; exact 0 and 1 stay 0% and 100%."""
    assert [share(p, places=0) for p in (0.3, 0.004, 0.997, 0.0, 1.0, 0.126)] == [
        "30%", "0.4%", "99.7%", "0%", "100%", "13%"]
    assert share(0.3, 0.05, places=1) == "30.0%"  # places wins over the interval


def test_interval_ends_are_the_bracketed_intervals_ends():
    """A page that words an interval ("4.4% to 5.7%") prints the same ends as a table."""
    for est in (wilson(200, 4000), wilson(0, 200), wilson(4000, 4000), wilson(3998, 4000)):
        low, high = interval_ends(est)
        assert interval(est) == f"[{low}, {high}]"
    assert interval_ends(wilson(200, 4000)) == ("4.4%", "5.7%")


def test_compare_and_sweep_print_a_never_seen_outcome_alike(model):
    """The same zero in a comparison and in both sweep tables, at 200 runs (where the
    interval alone would give 0.0%) and at 100 (0%)."""
    for runs in (100, 200):
        comp = compare_variants(model, ["no_strikes"], runs, 3, workers=1)
        assert comparison_table(comp).split("General war  ")[1].split()[1] == "0%"
        one = sweep(model, [parse_grid(model, "strikes_authorised=false,true")],
                    "war", runs, 3, workers=1)
        assert sweep_table(one).splitlines()[2].split()[:2] == ["false", "0%"]
        two = sweep(model, [parse_grid(model, "red_resolve=0.2:0.6:2"),
                            parse_grid(model, "strikes_authorised=false,true")],
                    "war", runs, 3, workers=1)
        assert sweep_table(two).splitlines()[2].split()[1] == "0%"


def test_interval_has_the_point_estimates_precision():
    est = wilson(1480, 4000)
    assert percent(est) == "37%" and interval(est) == "[36%, 39%]"


def test_clear_follows_the_interval_as_printed():
    """[0.0, +1.9] as printed does not exclude zero, so it is not clear; [+0.1, ...] is."""
    assert not is_clear(diff(0.0004, 0.019), 1)
    assert points(0.0004, 1) == "0.0"
    assert is_clear(diff(0.0006, 0.019), 1)
    assert is_clear(diff(-0.021, -0.003), 1)
    assert not is_clear(diff(-0.021, -0.0004), 1)
    assert is_clear(diff(-0.021, -0.0004), 2)  # at two decimals it prints -0.04


def test_one_precision_for_every_difference_of_a_command():
    narrow = diff(-0.0005, 0.0005)
    assert points_decimals([diff(-0.03, 0.01), narrow, narrow]) == 2
    assert points_decimals([diff(-0.03, 0.01), diff(-0.02, 0.02), narrow]) == 1
    assert points_decimals([diff(-0.03, 0.01), diff(-0.02, 0.02)]) == 1
    assert points_decimals([]) == 1


@pytest.fixture(scope="module")
def model():
    return load(TEACHING)


def test_comparison_table_prints_each_value_one_way_and_marks_clear_as_printed(model):
    comp = compare_variants(model, ["no_strikes"], 400, 3, workers=1)
    text = comparison_table(comp)
    rows = [line for line in text.splitlines() if re.search(r"\[.*\]\s+(yes|no)$", line)]
    assert rows
    decimals = set()
    for row in rows:
        low, high = (float(x) for x in re.search(r"\[([-+0-9.]+), ([-+0-9.]+)\]", row).groups())
        marked = row.split()[-1] == "yes"
        assert marked == (low > 0 or high < 0), row
        decimals.add(len(re.search(r"([-+0-9.]+) pts", row).group(1).split(".")[1]))
        assert "100.0%" not in row or "100.00%" in row
    assert len(decimals) == 1  # one precision for the differences of the command


def test_sweep_table_json_and_plot_carry_the_paired_change(model, tmp_path):
    axis = parse_grid(model, "strikes_authorised")
    sw = sweep(model, [axis], "war", 300, 2, workers=1)
    text = sweep_table(sw)
    assert "change vs strikes_authorised=false" in text and "95% CI (paired)" in text
    last = text.splitlines()[3]
    d = sw.changes[1]
    assert points(d.diff, 1) in last and ("yes" if is_clear(d, 1) else "no") in last
    data = sw.to_dict()["change_vs_first"]
    assert data["difference"][0] == 0.0
    assert data["difference"][1] == pytest.approx(sw.p[1] - sw.p[0])
    from sim.present.plots import sweep_plot
    fig = sweep_plot(sw, model)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any("change vs first" in label for label in labels)


def test_cli_sweep_prints_and_writes_the_paired_change(tmp_path, capsys):
    out = tmp_path / "sw"
    assert main(["sweep", str(TEACHING), "--grid", "strikes_authorised", "--metric", "war",
                 "--runs", "200", "--seed", "2", "--out", str(out), "-q", "-w", "1"]) == 0
    printed = capsys.readouterr().out
    assert "change vs strikes_authorised=false (pts)" in printed
    assert "change vs strikes_authorised=false" in (out / "report.html").read_text()
    assert "change_vs_first" in json.loads((out / "sweep.json").read_text())
    assert (out / "sweep.png").stat().st_size > 10_000


@pytest.mark.slow
def test_compare_and_sweep_record_when_they_started(tmp_path, monkeypatch):
    """`started` is when the work began, not when the manifest was written."""
    import time

    from sim.run import runner
    real = runner.map_chunks

    def slow(*args, **kwargs):
        time.sleep(1.2)
        return real(*args, **kwargs)
    monkeypatch.setattr(runner, "map_chunks", slow)
    for cmd, extra in (("compare", []), ("sweep", ["--grid", "strikes_authorised",
                                                   "--metric", "war"])):
        out = tmp_path / cmd
        assert main([cmd, str(TEACHING), "--runs", "50", "--out", str(out), "-q", "-w", "1",
                     "--no-plots", *extra]) == 0
        info = json.loads((out / "manifest.json").read_text())
        assert info["started"] < info["finished"], (cmd, info["started"], info["finished"])

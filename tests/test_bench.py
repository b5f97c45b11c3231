"""The benchmark: paired rounds, medians, the report's figures and its CLI (no timing asserts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.analyses import bench
from sim.cli import main
from sim.run.engine import Plan
from sim.spec.loader import load

ROOT = Path(__file__).resolve().parent.parent
TEACHING = load(ROOT / "scenarios" / "teaching.yaml")


def _result(**changes: object) -> bench.BenchResult:
    """A BenchResult with round numbers, for checking arithmetic and formatting."""
    base = dict(scenario="atacms", machine="test box", bare_events_per_s=1_000_000.0,
                reps_per_s=500.0, events_per_s=250_000.0, workers=2, one_worker_s=8.0,
                many_workers_s=4.0, speed_runs=4000, memory=[(10_000, 0.1), (100_000, 0.1)],
                memory_scenario="teaching")
    base.update(changes)
    return bench.BenchResult(**base)  # type: ignore[arg-type]


def test_ratio_is_the_median_of_paired_rounds():
    """With paired rounds the ratio is their median, not the ratio of the medians."""
    r = _result(ratios=[0.31, 0.22, 0.29, 0.35, 0.18])
    assert r.ratio == pytest.approx(0.29)
    assert _result().ratio == pytest.approx(0.25)  # no rounds: events / bare
    assert r.speedup == pytest.approx(2.0)  # no pairs: one / many
    assert _result(speedups=[1.7, 1.9, 2.1]).speedup == pytest.approx(1.9)


def test_report_states_every_measure_and_the_round_spread():
    """The Markdown table names the ratio, the targets, the spread and each memory figure."""
    text = bench.format_report(_result(ratios=[0.31, 0.22, 0.29]))
    assert "| model events/s as share of bare SimPy | 29% (target >= 30%); 3 paired " \
           "rounds: 22% to 31% |" in text
    assert "| speed-up on 2 workers | 2.00x (target >= 1.8x) |" in text
    assert "| bare SimPy events/s (same run) (median of 3 rounds) | 1,000,000 |" in text
    assert text.count("peak memory of the collecting process") == 2
    assert text.startswith("Machine: test box")


def test_model_throughput_counts_the_replications_it_ran():
    """events/s over reps/s is the mean events of the replications actually run."""
    plan = Plan(TEACHING)
    reps, events, n = bench.model_throughput(TEACHING, seconds=0.05, plan=plan, first=3)
    assert reps > 0 and events > 0 and n >= 1
    mean_events = events / reps
    per_rep = [plan.run(1, 3 + k).n_events for k in range(n)]
    assert min(per_rep) <= mean_events <= max(per_rep)


def test_paired_throughput_reports_the_median_round():
    """Four rounds give four ratios; the rates shown are the lower-median round's own."""
    tp = bench.paired_throughput(TEACHING, seconds=0.4, rounds=4)
    assert len(tp.ratios) == 4 and all(r > 0 for r in tp.ratios)
    assert tp.ratio == sorted(tp.ratios)[1]
    assert tp.events_per_s / tp.bare_events_per_s == pytest.approx(tp.ratio)
    assert tp.reps_per_s > 0


def test_cli_bench_rejects_infinite_seconds(capsys):
    """--seconds inf would never end: a usage error (exit 2)."""
    assert main(["bench", "--seconds", "inf"]) == 2
    assert "--seconds" in capsys.readouterr().err


def test_bare_simpy_counts_events():
    """The bare SimPy loop processes events at a positive rate in a short run."""
    assert bench.bare_simpy(seconds=0.05) > 1000


def test_peak_memory_is_small_for_a_small_run():
    """The collecting process keeps aggregates only: well under 20 MiB for 400 runs."""
    assert 0 < bench.peak_memory(TEACHING, 400, workers=1) < 20


def test_cli_bench_writes_the_performance_page(tmp_path, capsys):
    """'sim bench --write' prints the table and writes a page naming its command."""
    out = tmp_path / "perf.md"
    code = main(["bench", "--scenario", str(ROOT / "scenarios" / "teaching.yaml"),
                 "--seconds", "0.2", "--rounds", "2", "--speed-runs", "200", "--repeats", "2",
                 "--memory-runs", "200", "--workers", "1", "--write", str(out)])
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("# Performance") and "python -m sim bench" in page
    out = capsys.readouterr().out
    assert "2 paired rounds" in page and "2 paired rounds" in out
    # one worker: its time, and plainly no speed-up (not a speed-up of 1 over itself)
    assert "| 200 runs on 1 worker |" in out and "on 1 workers" not in out
    assert "| speed-up on several workers | not measured: on one worker nothing runs in " \
           "parallel |" in page
    assert "paired timings" not in page


def test_report_on_one_worker_states_no_speed_up():
    """On one worker there is no parallel figure: its time, and why no speed-up."""
    r = _result(workers=1, one_worker_s=8.0, many_workers_s=None)
    assert r.speedup is None
    text = bench.format_report(r)
    assert "| 4000 runs on 1 worker | 8.00 s |" in text
    assert "| speed-up on several workers | not measured: on one worker nothing runs in " \
           "parallel |" in text
    assert "1 workers" not in text and "target >= 1.8x" not in text


def test_one_worker_bench_measures_no_speed_up():
    """run_bench on one worker times that worker and pairs nothing with it."""
    r = bench.run_bench(TEACHING, TEACHING, seconds=0.1, workers=1, speed_runs=50,
                        memory_runs=(50,), rounds=2, repeats=3)
    assert r.workers == 1 and r.many_workers_s is None and r.speedups == []
    assert r.speedup is None and r.one_worker_s > 0


def test_cli_bench_rejects_bad_memory_runs(capsys):
    """A malformed --memory-runs is a usage error (exit 2), not a traceback."""
    code = main(["bench", "--memory-runs", "ten,20"])
    assert code == 2
    assert "--memory-runs" in capsys.readouterr().err


def test_rare_figures_arithmetic_and_report():
    """Runs to ±10%: z^2 (1-p) / (0.01 p) by counting, that over the variance ratio with
    conditional Monte Carlo; the gain is the variance ratio over the cost per run."""
    fig = bench.RareFigure("nuclear_use", "Nuclear use", 0.02, 30.0, 4000, 0.002, 0.0025,
                           [1.2, 1.25, 1.3])
    crude = 1.959963984540054 ** 2 * 0.98 / (0.01 * 0.02)
    assert fig.runs_needed(False) == pytest.approx(crude)
    assert fig.runs_needed(True) == pytest.approx(crude / 30)
    assert fig.overhead == pytest.approx(1.25)
    assert fig.gain == pytest.approx(24.0)
    assert fig.seconds(False) / fig.seconds(True) == pytest.approx(30 / 1.25)
    text = bench.rare_report([fig])
    assert "| Nuclear use | 2.000% | 18,823 | 627 | 30.0x (4,000 runs) |" in text
    assert "24.0x (target >= 20x: met)" in text


def test_rare_cost_is_total_over_total_with_an_interval():
    """The cost per run is total conditional time over total plain time on the same runs:
    a round holding a costly re-run counts as it happens (a median of rounds would drop
    it), with a ratio estimator's 95% interval from the spread of the rounds."""
    rounds = [(0.20, 0.22), (0.20, 0.22), (0.20, 0.40)]  # (plain, conditional) seconds
    fig = bench.RareFigure("x", "X", 0.02, 30.0, 4000, 0.60 / 300, 0.84 / 300,
                           [r / c for c, r in rounds], rounds)
    assert fig.overhead == pytest.approx(1.4)  # the median round says 1.1
    # r - 1.4 c = (-0.06, -0.06, 0.12): variance 0.0108, standard error sqrt(0.0108 / 3) / 0.2
    assert fig.overhead_half_width == pytest.approx(1.959963984540054 * 0.3)
    assert "| 1.40x ± 0.59 (total over 3 rounds; rounds 1.10 to 2.00) |" in \
        bench.rare_report([fig])


@pytest.mark.slow
def test_rare_figures_measure_both_ways():
    """A short measurement on the flagship: a positive variance ratio and cost per run."""
    model = load(ROOT / "scenarios" / "atacms.yaml")
    (fig,) = bench.rare_figures(model, ["nuclear_use"], runs=200, workers=1, rounds=2,
                                per_round=5)
    assert fig.runs == 200 and fig.variance_ratio > 1 and len(fig.time_ratios) == 2
    assert len(fig.round_seconds) == 2
    assert fig.crude_s_per_run > 0 and fig.rare_s_per_run > 0

"""The terminal tables (sim.present.tables): every public function, with the values checked.

Small runs of the teaching and Markov scenarios at fixed seeds (the same seed gives the same
numbers, so the rows are exact); each table is also checked against the numbers it shows.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim.present import tables

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"
MARKOV = ROOT / "scenarios" / "markov.yaml"


@pytest.fixture(scope="module")
def markov_exact():
    """The Markov scenario's model and its exact solution."""
    return api.exact(MARKOV)


@pytest.fixture(scope="module")
def markov_runs():
    """400 runs of the Markov scenario, seed 1, with nuclear war also estimated rarely."""
    return api.simulate(MARKOV, runs=400, seed=1, rare=["nuclear"])


def row(table: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first`` (split on 2+ spaces)."""
    (line,) = [line for line in table.splitlines() if line.startswith(first + "  ")]
    return re.split(r"\s{2,}", line.strip())


def test_every_public_function_is_tested_here():
    source = Path(__file__).read_text(encoding="utf-8")
    public = [name for name, f in inspect.getmembers(tables, inspect.isfunction)
              if f.__module__ == tables.__name__ and not name.startswith("_")]
    assert len(public) >= 10
    assert [name for name in public if f"tables.{name}(" not in source] == []


def test_grid_aligns_text_left_and_numbers_right():
    assert tables.grid(["a", "bb"], [["x", "1"], ["yyy", "22"]]) == (
        "a    bb\n"
        "---  --\n"
        "x     1\n"
        "yyy  22")
    assert tables.grid(["n", "v"], [["1", "x"]], right=0) == "n  v\n-  -\n1  x"


def test_grid_lines_never_end_in_spaces():
    """An empty last column (Morris has no interval for sigma) leaves no trailing spaces,
    on the rule under the header either."""
    assert tables.grid(["a", "b", ""], [["x", "1", ""]]) == "a  b\n-  -\nx  1"


def test_comparison_table_rows_are_the_paired_differences():
    comp = api.compare(TEACHING, ["no_strikes"], runs=200, seed=3, workers=1).result
    text = tables.comparison_table(comp)
    assert text.startswith("no_strikes  (strikes_authorised=False)\n")
    war = comp.summaries[0].outcome("war")
    assert (war.k, war.n) == (148, 200)
    assert row(text, "General war") == ["General war", "74%", "0%", "-74.0 pts",
                                        "[-79.6, -67.2]", "yes"]
    assert row(text, "Settlement signed") == ["Settlement signed", "23%", "54%", "+31.0 pts",
                                              "[+24.4, +37.1]", "yes"]
    assert "Border skirmishes (rung)" not in text  # the starting rung is always reached
    assert text.endswith("200 paired runs (common random numbers), seed 3. "
                         + tables.CLEAR_NOTE)


def test_sweep_table_one_lever():
    sweep = api.sweep(TEACHING, ["red_resolve=0.2:0.6:3"], "war", runs=100, seed=1,
                      workers=1).result
    text = tables.sweep_table(sweep)
    assert (sweep.estimate(0).k, sweep.estimate(0).n) == (61, 100)
    assert row(text, "0.2") == ["0.2", "61%", "[51%, 70%]", "-", "-"]
    assert row(text, "0.4") == ["0.4", "75%", "[66%, 82%]", "+14.0", "[+7.2, +20.8]", "yes"]
    assert row(text, "0.6") == ["0.6", "78%", "[69%, 85%]", "+17.0", "[+9.6, +24.3]", "yes"]
    assert "change vs red_resolve=0.2 (pts)" in text


def test_sweep_table_two_levers_is_a_grid_of_levels_and_changes():
    sweep = api.sweep(TEACHING, ["red_resolve=0.2:0.6:2", "strikes_authorised=true,false"],
                      "war", runs=100, seed=1, workers=1).result
    levels, changes = tables.sweep_table(sweep).split("\n\n")
    assert levels.splitlines()[0].split() == ["red_resolve", "\\", "strikes_authorised",
                                              "false", "true"]
    assert row(levels, "0.2") == ["0.2", "0% ±1.8", "61% ±9.4"]
    assert row(levels, "0.6") == ["0.6", "0% ±1.8", "78% ±8.0"]
    assert row(changes, "0.2") == ["0.2", "-", "+61.0*"]
    assert row(changes, "0.6") == ["0.6", "0.0", "+78.0*"]
    assert "change vs red_resolve=0.2, strikes_authorised=false in points" in changes


def test_sensitivity_table_and_its_warning_when_too_uncertain():
    sens = api.sensitivity(TEACHING, "war", method="morris", samples=4, reps=5, seed=1,
                           workers=1).result
    text = tables.sensitivity_table(sens)
    assert row(text, "red_resolve") == ["red_resolve", "0.375", "0.122", "0.150"]
    assert [line for line in text.splitlines() if line != line.rstrip()] == []
    assert text.splitlines()[1] == "-----------  ---------------  -----  --------------------"
    assert "Morris on P(war) (mean 67.5%); 8 points x 5 runs each." in text
    note = tables.readability_note(sens)
    assert note and text.endswith(note)
    assert "about 43 samples instead of 4 would bring them to ±0.10 (430 runs" in note


def test_readability_note_is_empty_when_the_ranking_can_be_read():
    sens = api.sensitivity(TEACHING, "war", method="morris", samples=64, reps=5, seed=1,
                           workers=1).result
    assert tables.readability_note(sens) == ""
    assert row(tables.sensitivity_table(sens), "red_resolve")[:3] == ["red_resolve", "0.431",
                                                                      "0.035"]


def test_discovery_table():
    disc = api.discover(TEACHING, "war", runs=200, seed=1, workers=1).result
    text = tables.discovery_table(disc)
    assert row(text, "red_resolve") == ["red_resolve", "0.208", "4.6e-02", "0.311 / 0.24",
                                        "62.5%", "62.5%", "72.5%", "75.0%", "80.0%"]
    assert f"'war' happened in {disc.hits} of 200 runs" in text and disc.hits == 141
    assert tables.discovery_table(disc, top=0).count("\n") == 2  # header, rule, note


def test_exact_table_marks_values_outside_their_interval():
    text = tables.exact_table(["p", "q"], np.array([0.2, 0.9]),
                              [(0.21, 0.15, 0.27), (0.8, 0.7, 0.89)])
    assert row(text, "p") == ["p", "0.20000", "0.21000", "[0.15000, 0.27000]", "yes"]
    assert row(text, "q") == ["q", "0.90000", "0.80000", "[0.70000, 0.89000]", "NO"]


def test_exact_result_table(markov_exact):
    model, result = markov_exact
    text = tables.exact_result_table(model, result)
    assert text.splitlines()[0].split() == ["quantity", "day", "0", "day", "91", "day", "182",
                                            "day", "365"]
    assert row(text, "reach Nuclear war") == ["reach Nuclear war", "0.000000", "0.003246",
                                              "0.011982", "0.034088"]
    assert f"{result.outcome[1, -1]:.6f}" == "0.034088"
    assert "  ended by settle: 0.616691" in text
    assert text.endswith("Exact solution of a continuous-time Markov chain with 12 states.")


def test_exact_check_table_counts_the_values_inside(markov_exact, markov_runs):
    _, result = markov_exact
    text = tables.exact_check_table(markov_runs.model, markov_runs.summary, result)
    assert row(text, "reach Nuclear war") == ["reach Nuclear war", "0.03409", "0.02750",
                                              "[0.01542, 0.04857]", "yes"]
    lines = [*markov_runs.summary.rungs, *markov_runs.summary.outcomes]
    assert text.count("  yes") == 8 == len(lines)
    assert text.endswith("8 of 8 exact values inside their 95% Monte Carlo interval "
                         "(expect about 95%; see docs/verification.md).")


def test_rare_table_beside_plain_counting(markov_exact, markov_runs):
    _, result = markov_exact
    (estimate,) = markov_runs.rare
    text = tables.rare_table(markov_runs.rare, markov_runs.summary)
    assert row(text, "Nuclear war") == ["Nuclear war", "3.1%", "[2.4%, 3.8%]", "3% [2%, 5%]",
                                        "2,601", "6.5x"]
    assert estimate.low <= result.outcome[1, -1] <= estimate.high  # the exact answer
    assert markov_runs.summary.outcome("nuclear").k == 11

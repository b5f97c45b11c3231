"""Messages that say how to fix: other languages' operators, tabs, true/false arithmetic,
and probabilities (rates, weights) that can leave their range, caught at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.spec.bounds import expr_range, message, name_ranges, out_of_range
from sim.spec.expr import BOOL, NUM, ExprError, compile_expr
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
TEACHING = (ROOT / "scenarios" / "teaching.yaml").read_text(encoding="utf-8")
RATE = 'rate: "0.1 if strikes_authorised else 0"'
PROBABILITY = ('probability: "min(1, red_resolve * (1 + 0.1 * strikes) * '
               '(1.5 if red_mobilises else 1))"')


def problems(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_text(text)
    return "\n".join(str(p) for p in info.value.problems)


@pytest.mark.parametrize("written,fix", [
    ("0.1 if strikes_authorised && strikes < 5 else 0", "write 'and' instead of '&&'"),
    ("0.1 if strikes_authorised || strikes < 5 else 0", "write 'or' instead of '||'"),
    ("0.1 if !strikes_authorised else 0", "write 'not' instead of '!'"),
    ("0.1 if strikes = 2 else 0", "to compare, write '=='"),
    ("2 ^ strikes", "'^' is not allowed; write '**' for a power"),
])
def test_other_languages_operators_say_what_to_write(written, fix):
    assert fix in problems(TEACHING.replace(RATE, f'rate: "{written}"'))


def test_not_equal_is_not_mistaken_for_a_bang():
    expr = compile_expr("x != 1", BOOL, {"x": NUM})
    assert expr({"x": 2.0}) is True


def test_arithmetic_on_true_false_says_how_to_count_it():
    text = problems(TEACHING.replace(RATE, 'rate: "0.1 * strikes_authorised"'))
    assert "'strikes_authorised' is true/false, not a number" in text
    assert "write '(1 if strikes_authorised else 0)'" in text


def test_a_tab_says_to_use_spaces_with_its_line():
    text = problems(TEACHING.replace("  strike_campaign:\n    rate", "  strike_campaign:\n\trate"))
    line = TEACHING.splitlines().index("  strike_campaign:") + 2
    assert f":{line}:" in text and "YAML indents with spaces only" in text


def test_expression_ranges_follow_the_names_bounds():
    ranges = {"p": (0.1, 0.5), "n": (0.0, 10.0), "on": (0.0, 1.0)}
    cases = {"p * 3": (0.3, 1.5), "min(1, p * 3)": (0.3, 1.0), "1 - p": (0.5, 0.9),
             "p / (1 + n)": (0.1 / 11, 0.5), "0.2 if on else p": (0.1, 0.5),
             "clip(p * 4, 0, 1)": (0.4, 1.0), "p ** 2": (0.01, 0.25)}
    names = {"p": NUM, "n": NUM, "on": BOOL}
    for text, (lo, hi) in cases.items():
        got = expr_range(compile_expr(text, NUM, names), ranges)
        assert got == pytest.approx((lo, hi)), text
    unbounded = expr_range(compile_expr("p * x", NUM, {**names, "x": NUM}), ranges)
    assert unbounded[1] == float("inf")


def test_a_probability_that_can_exceed_one_is_refused_at_load_time():
    text = problems(TEACHING.replace(PROBABILITY, 'probability: "red_resolve * 3"'))
    assert "'rules.red_answers.probability' can be as low as 0.3 and as high as 1.5" in text
    assert "red_resolve in [0.1, 0.5]" in text and "min(1, ...)" in text
    line = next(i for i, s in enumerate(TEACHING.splitlines(), 1) if "probability:" in s)
    assert f":{line}:" in text


def test_a_negative_rate_from_bounded_names_is_refused():
    text = problems(TEACHING.replace(RATE, 'rate: "0.1 - red_resolve"'))
    assert "'processes.strike_campaign.rate' can be as low as -0.4" in text
    assert "max(0, ...)" in text


def test_unbounded_expressions_are_left_to_the_run():
    model = load_text(TEACHING.replace(PROBABILITY,
                                       'probability: "red_resolve * (1 + 0.1 * strikes)"'))
    assert out_of_range(model) == []


def test_shipped_scenarios_have_no_out_of_range_expression():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert [message(p) for p in out_of_range(load(path))] == [], path
    ranges = name_ranges(load(ROOT / "scenarios" / "teaching.yaml"))
    assert ranges["red_resolve"] == pytest.approx((0.1, 0.5)) and ranges["rung"] == (0.0, 3.0)


def test_expr_errors_remain_expr_errors():
    with pytest.raises(ExprError, match="instead of '&&'"):
        compile_expr("a && b", BOOL, {"a": BOOL, "b": BOOL})


@pytest.mark.parametrize("old,new,path", [
    ("start: 2025-01-01", 'start: "2025-01-01"', "scenario.start"),
    ("\nprocesses:", '\nschedule:\n  - {id: x, at: "2025-02-01", action: talks_succeed}\n'
                     "\nprocesses:", "schedule[0].at"),
])
def test_a_quoted_date_says_remove_the_quotes(old, new, path):
    text = problems(TEACHING.replace(old, new, 1))
    assert f"'{path}' must be a date written YYYY-MM-DD" in text
    assert "remove the quotes, write 2025-0" in text


def test_a_date_that_is_not_one_does_not_mention_quotes():
    text = problems(TEACHING.replace("start: 2025-01-01", "start: next tuesday"))
    assert "must be a date written YYYY-MM-DD (got 'next tuesday')" in text
    assert "quotes" not in text

"""Settings (sim.spec.settings): variants, --set name=value strings and lever values, with
the exact messages for what cannot be set."""

from __future__ import annotations

import pytest

from sim.errors import UsageError
from sim.spec import loader
from sim.spec.distributions import Distribution
from sim.spec.loader import load_text
from sim.spec.settings import apply_settings, apply_variant, parse_lever_value
from tests.test_loader import BASE, edit


def test_lever_values_are_read_here_not_in_the_loader():
    """A typed lever value is a setting: defined once, in settings (the loader compiles
    files and reads no command-line values)."""
    assert parse_lever_value.__module__ == "sim.spec.settings"
    assert not hasattr(loader, "parse_lever_value")


def test_apply_variant(teaching):
    """A variant replaces lever values and records them in ``applied``; the base is kept."""
    changed = apply_variant(teaching, "no_strikes")
    assert changed.lever("strikes_authorised").value is False
    assert changed.applied == (("strikes_authorised", False),)
    assert teaching.lever("strikes_authorised").value is True
    for none in (None, "", "base"):
        assert apply_variant(teaching, none) is teaching


def test_apply_variant_unknown(teaching):
    """An unknown variant is a UsageError with a suggestion and the list of variants."""
    with pytest.raises(UsageError) as info:
        apply_variant(teaching, "no_strike")
    assert str(info.value) == ("unknown variant 'no_strike' (did you mean 'no_strikes'?); "
                               "variants: no_strikes, talks_and_restraint")


def test_apply_variant_when_there_are_none(teaching):
    """With no variants defined the message says so."""
    bare = load_text(edit(("variants:\n  no_strikes: {set: {strikes_authorised: false}}\n",
                           "")))
    with pytest.raises(UsageError, match="^unknown variant 'x'; variants: none$"):
        apply_variant(bare, "x")


def test_apply_settings(base):
    """lever=value strings are parsed, checked and applied together."""
    changed = apply_settings(base, ["aid_level=0.25", " strikes_authorised = off"])
    assert changed.lever("aid_level").value == 0.25
    assert changed.lever("strikes_authorised").value is False
    assert dict(changed.applied) == {"aid_level": 0.25, "strikes_authorised": False}
    assert apply_settings(base, []) is base


def test_a_parameter_can_be_pinned_and_keeps_the_other_draws(base):
    """--set red_resolve=0.2 pins the parameter in every run; the draws of every other
    source are unchanged (the pinned parameter's own draw is still taken)."""
    from sim.run.engine import Plan
    pinned = apply_settings(base, ["red_resolve=0.2"])
    assert pinned.parameters[0].effective == Distribution("fixed", (("value", 0.2),))
    assert dict(pinned.applied) == {"red_resolve": "fixed(value=0.2)"}
    assert all(Plan(pinned).run(3, i).parameters == (0.2,) for i in range(20))
    three = load_text(BASE.replace(
        "  red_resolve: {dist: uniform, low: 0.1, high: 0.5, source: \"[toy]\"}",
        "  red_resolve: {dist: uniform, low: 0.1, high: 0.5, source: \"[toy]\"}\n"
        "  other: {dist: uniform, low: 0, high: 1, source: \"[toy]\"}"), "b.yaml")
    moved = apply_settings(three, ["red_resolve=0.3"])
    for i in range(10):
        assert Plan(moved).run(5, i).parameters[1] == Plan(three).run(5, i).parameters[1]


def test_variant_then_settings_accumulate(base):
    """Settings on top of a variant keep both in ``applied``; a later value wins."""
    changed = apply_settings(apply_variant(base, "no_strikes"),
                             ["aid_level=1", "strikes_authorised=true"])
    assert dict(changed.applied) == {"strikes_authorised": True, "aid_level": 1.0}


@pytest.mark.parametrize(("setting", "message"), [
    ("aid_level", "--set needs name=value (got 'aid_level'); levers: strikes_authorised, "
                  "aid_level; parameters (pin with a number, or in a variant give a "
                  "distribution): red_resolve"),
    ("aid_levl=0.5", "unknown lever or parameter 'aid_levl' (did you mean 'aid_level'?); "
                     "these can vary: levers: strikes_authorised, aid_level; parameters (pin "
                     "with a number, or in a variant give a distribution): red_resolve"),
    ("strikes=2", "'strikes' is a state variable: it changes during a run, so it cannot be "
                  "set; these can vary: levers: strikes_authorised, aid_level; parameters "
                  "(pin with a number, or in a variant give a distribution): red_resolve"),
    ("red_resolve=high", "parameter 'red_resolve' is pinned with a number, e.g. "
                         "red_resolve=0.3 (got 'high'); to give it another distribution, "
                         "write a variant in the scenario"),
    ("aid_level=lots", "lever 'aid_level' needs a number (got 'lots')"),
    ("aid_level=1.5", "lever 'aid_level' must be in [0, 1] (got 1.5)"),
    ("aid_level=-0.1", "lever 'aid_level' must be in [0, 1] (got -0.1)"),
    ("aid_level=nan", "lever 'aid_level' must be in [0, 1] (got nan)"),
    ("strikes_authorised=maybe", "lever 'strikes_authorised' is on/off: give true or false "
                                 "(got 'maybe')"),
    ("strikes_authorised=0.5", "lever 'strikes_authorised' is on/off: give true or false "
                               "(got '0.5')"),
])
def test_apply_settings_errors(base, setting, message):
    """Bad --set values raise UsageError with an exact message."""
    with pytest.raises(UsageError) as info:
        apply_settings(base, [setting])
    assert str(info.value) == message


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("True", True), ("YES", True), ("on", True), ("1", True), (" true ", True),
    ("false", False), ("no", False), ("Off", False), ("0", False),
])
def test_parse_lever_value_bool(teaching, text, value):
    """On/off levers accept the usual words, case-insensitively."""
    assert parse_lever_value(teaching, "strikes_authorised", text) is value


@pytest.mark.parametrize(("text", "value"), [("0", 0.0), ("1", 1.0), ("0.5", 0.5),
                                             (" 0.75 ", 0.75), ("1e-1", 0.1)])
def test_parse_lever_value_number(base, text, value):
    """Numeric levers accept numbers within their range, ends included."""
    assert parse_lever_value(base, "aid_level", text) == value


def test_parse_lever_value_unbounded():
    """A lever without a range is bounded only by the loader's magnitude limit."""
    model = load_text(edit(("{value: 0.5, range: [0, 1], source", "{value: 0.5, source")))
    assert parse_lever_value(model, "aid_level", "-1e6") == -1e6
    with pytest.raises(UsageError, match=r"must be in \[-1e\+12, 1e\+12\] \(got inf\)"):
        parse_lever_value(model, "aid_level", "inf")


def test_parse_lever_value_no_levers():
    """With no levers at all the unknown-lever message says 'none'."""
    model = load_text(edit(
        ("levers:\n  strikes_authorised: {value: true, source: \"[toy]\"}\n"
         "  aid_level: {value: 0.5, range: [0, 1], source: \"[toy]\"}\n", ""),
        ("(1 + aid_level)", "(1 + 0.5)"),
        ('"0.1 if strikes_authorised else 0"', "0.1"),
        ("variants:\n  no_strikes: {set: {strikes_authorised: false}}\n", "")))
    with pytest.raises(UsageError, match="^unknown lever 'x'; levers: none$"):
        parse_lever_value(model, "x", "1")

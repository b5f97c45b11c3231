"""The loader: the teaching scenario's compiled Model, variants, --set, errors and warnings."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.spec import expr as ex
from sim.spec.distributions import Distribution
from sim.spec.loader import (
    check_file,
    compile_source,
    load,
    load_text,
)
from sim.spec.model import Model
from sim.spec.settings import apply_variant
from sim.spec.yamlsrc import parse_text

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"
MANY = Path(__file__).resolve().parent / "corpus" / "bad" / "many_problems.yaml"

# The valid base that tests/corpus/bad/*.yaml are derived from (each bad file drops the two
# comment lines and adds a one-line comment of its own, so its lines are one lower).
BASE = """\
# Base for the bad-input corpus: a compact copy of scenarios/teaching.yaml plus a ranged
# lever, a schedule and a variant, so each bad file differs from it by one problem.
scenario:
  id: base
  title: Corpus base
  start: 2025-01-01
  horizon_days: 90
  sources:
    toy: "Teaching assumption."

ladder:
  initial: skirmishes
  rungs:
    - {id: settlement, name: Settlement}
    - {id: skirmishes, name: Border skirmishes}
    - {id: general_war, name: General war}

actors:
  blue: {name: Blue}
  red: {name: Red}

levers:
  strikes_authorised: {value: true, source: "[toy]"}
  aid_level: {value: 0.5, range: [0, 1], source: "[toy]"}

parameters:
  red_resolve: {dist: uniform, low: 0.1, high: 0.5, source: "[toy]"}

state:
  strikes: {initial: 0}

actions:
  deep_strike:
    actor: blue
    rung: skirmishes
    effects: {strikes: strikes + 1}
    narrative: "{actor} strikes (strike {strikes})."
  red_escalates:
    actor: red
    rung: general_war
    ends_run: true

schedule:
  - {id: first_strike, at: 2025-01-10, action: deep_strike}

processes:
  strike_campaign:
    rate: "0.1 if strikes_authorised else 0"
    action: deep_strike
    source: "[toy]"

rules:
  red_answers:
    on: deep_strike
    probability: "min(1, red_resolve * (1 + aid_level))"
    delay: {dist: exponential, mean: 5}
    action: red_escalates
    source: "[toy]"

outcomes:
  war: {when: "peak >= general_war"}

variants:
  no_strikes: {set: {strikes_authorised: false}}
"""


def edit(*pairs: tuple[str, str]) -> str:
    """BASE with each (old, new) replacement applied; each old text must occur once."""
    text = BASE
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def check_text(text: str) -> tuple[Model | None, list[str], list[str]]:
    """compile_source on text named t.yaml: (model, problem lines, warning lines)."""
    src, problems = parse_text(text, "t.yaml")
    assert src is not None and problems == []
    model, problems, warnings = compile_source(src)
    return model, [str(p) for p in problems], [str(w) for w in warnings]


# -- the teaching scenario ----------------------------------------------------------------

def test_teaching_metadata(teaching):
    """Id, title, dates, horizon, sources, path and digest come through."""
    assert teaching.id == "teaching"
    assert teaching.title == "Teaching example: a border crisis between Blue and Red"
    assert teaching.description.startswith("Blue can authorise long-range strikes.")
    assert teaching.start == dt.date(2025, 1, 1)
    assert teaching.horizon == 90.0
    assert [k for k, _ in teaching.sources] == ["toy"]
    assert teaching.path == str(TEACHING)
    assert teaching.digest == hashlib.sha256(TEACHING.read_bytes()).hexdigest()
    assert teaching.date_of(31) == dt.date(2025, 2, 1)
    assert teaching.applied == ()


def test_teaching_rungs(teaching):
    """Rungs are indexed lowest first and the initial rung is 'skirmishes' (1)."""
    assert [(r.id, r.index) for r in teaching.rungs] == [
        ("settlement", 0), ("skirmishes", 1), ("deep_strikes", 2), ("general_war", 3)]
    assert teaching.initial_rung == 1
    assert teaching.rung_index("general_war") == 3
    assert teaching.rungs[3].name == "General war"
    assert teaching.rungs[3].framework == "MID hostility level 5 (war)"


def test_teaching_actors_levers_parameters_state(teaching):
    """Actors, the on/off levers, the uniform parameter and the state variable are compiled."""
    assert [(a.id, a.name) for a in teaching.actors] == [("blue", "Blue"), ("red", "Red")]
    lever, talks, mobilises = teaching.levers
    assert (talks.id, talks.actor, talks.value) == ("blue_offers_talks", "blue", False)
    assert (mobilises.id, mobilises.actor, mobilises.value) == ("red_mobilises", "red", False)
    assert lever.id == "strikes_authorised"
    assert lever.value is True
    assert lever.is_bool
    assert (lever.low, lever.high) == (None, None)
    assert lever.source == "[toy]"
    (param,) = teaching.parameters
    assert param.id == "red_resolve"
    assert param.dist == Distribution("uniform", (("low", 0.1), ("high", 0.5)))
    assert param.dist.mean == pytest.approx(0.3)
    (var,) = teaching.state
    assert var.id == "strikes"
    assert var.initial.const == 0.0
    assert (var.low, var.high) == (None, None)


def test_teaching_actions(teaching):
    """Actions carry actor, rung index, rung mode, effects, end flag and narrative."""
    facts = [(a.id, a.index, a.actor, a.rung, a.rung_mode, a.ends_run) for a in teaching.actions]
    assert facts == [
        ("deep_strike", 0, "blue", 2, "raise", False),
        ("red_escalates", 1, "red", 3, "raise", True),
        ("talks_succeed", 2, "red", 0, "set", True),
    ]
    (effect,) = teaching.actions[0].effects
    assert effect.var == "strikes"
    assert effect.expr.names == frozenset({"strikes"})
    assert effect.expr({"strikes": 2.0}) == 3.0
    assert teaching.actions[0].narrative == ("{actor} strikes deep inside Red's territory "
                                             "(strike {strikes}).")
    assert teaching.actions[0].name == "deep strike"
    assert teaching.action_index("talks_succeed") == 2


def test_teaching_processes(teaching):
    """Process rates are compiled with the names they read; constant rates are folded."""
    campaign, talks = teaching.processes
    assert (campaign.id, campaign.index, campaign.choice.actions) == ("strike_campaign", 0, (0,))
    assert campaign.rate is not None
    assert campaign.rate.names == frozenset({"strikes_authorised"})
    assert campaign.rate.const is None
    assert campaign.rate({"strikes_authorised": True}) == 0.1
    assert campaign.rate({"strikes_authorised": False}) == 0.0
    assert campaign.every is None
    assert campaign.start == 0.0
    assert campaign.choice.single
    assert (talks.id, talks.choice.actions) == ("talks", (2,))
    assert talks.rate is not None
    assert talks.rate.names == frozenset({"blue_offers_talks"})
    assert talks.rate({"blue_offers_talks": False}) == 0.01
    assert talks.rate({"blue_offers_talks": True}) == 0.02


def test_teaching_rule(teaching):
    """The rule reacts to deep_strike with an exponential(5) delay and a state-driven p."""
    (rule,) = teaching.rules
    assert rule.id == "red_answers"
    assert rule.on == (0,)
    assert rule.choice.actions == (1,)
    assert rule.delay == Distribution("exponential", (("mean", 5.0),))
    assert rule.delay.mean == 5.0
    assert rule.probability.names == frozenset({"red_resolve", "strikes", "red_mobilises"})
    calm = {"red_resolve": 0.5, "red_mobilises": False}
    assert rule.probability({**calm, "strikes": 2.0}) == pytest.approx(0.6)
    assert rule.probability({**calm, "strikes": 2.0, "red_mobilises": True}) == \
        pytest.approx(0.9)
    assert rule.probability({**calm, "strikes": 20.0}) == 1.0
    assert rule.when is None


def test_teaching_outcomes_and_variants(teaching):
    """Outcomes by condition (rung ids folded to indices) and by action; one variant."""
    war, settled = teaching.outcomes
    assert war.id == "war"
    assert war.when is not None
    assert war.when.python == "peak >= 3.0"
    assert war.when.names == frozenset({"peak"})
    assert war.action is None
    assert (settled.id, settled.name, settled.action, settled.when) == (
        "settled", "Settlement signed", 2, None)
    variant, both = teaching.variants
    assert both.levers == (("strikes_authorised", False), ("blue_offers_talks", True))
    assert variant.id == "no_strikes"
    assert variant.levers == (("strikes_authorised", False),)
    assert variant.description == "Blue withholds authorisation."


def test_teaching_has_no_warnings():
    """The teaching scenario checks with no problems and no warnings."""
    model, problems, warnings = check_file(TEACHING)
    assert model is not None
    assert problems == []
    assert warnings == []


def test_base_is_valid_and_clean():
    """The corpus base compiles with no problems and no warnings."""
    model, problems, warnings = check_text(BASE)
    assert problems == []
    assert warnings == []
    assert model is not None
    assert model.lever("aid_level").low == 0.0
    assert model.lever("aid_level").high == 1.0
    assert model.schedule[0].day == 9.0


# -- errors -------------------------------------------------------------------------------

def test_load_raises_with_every_problem():
    """load() raises ScenarioError carrying every problem; its text lists them all."""
    with pytest.raises(ScenarioError) as info:
        load(MANY)
    problems = info.value.problems
    assert len(problems) == 9
    assert all(p.file == str(MANY) for p in problems)
    assert str(info.value).splitlines() == [str(p) for p in problems]
    assert problems[0].path == "scenario.horizon_days"
    assert problems[-1].path == "variants.no_strikes.set.strikes_authorized"


def test_load_raises_for_yaml_problems(tmp_path):
    """load() and load_text() raise ScenarioError for unreadable YAML and missing files."""
    with pytest.raises(ScenarioError) as info:
        load_text("a: [1\n", "x.yaml")
    assert [p.line for p in info.value.problems] == [2]
    with pytest.raises(ScenarioError) as info:
        load_text(edit(("  red: {name: Red}", "  red: {name: Red}\n  red: {name: Rouge}")),
                  "x.yaml")
    assert [str(p) for p in info.value.problems] == [
        "x.yaml:21: 'actors.red' duplicate key (first given on line 20)"]
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ScenarioError, match="cannot read file"):
        load(missing)


def test_load_text_compile_problems():
    """load_text() raises with located compile problems."""
    with pytest.raises(ScenarioError) as info:
        load_text(edit(("probability: \"min(1, red_resolve * (1 + aid_level))\"",
                        "probability: 2")), "x.yaml")
    assert [str(p) for p in info.value.problems] == [
        "x.yaml:55: 'rules.red_answers.probability' must be in [0, 1] (got 2)"]


def test_not_a_mapping():
    """A document that is not a mapping is one problem at the top."""
    _, problems, _ = check_text("- just\n- a list\n")
    assert problems == ["t.yaml:1: must be a scenario mapping with sections scenario, ladder, "
                        "actors, levers, parameters, state, actions, schedule, processes, rules, "
                        "outcomes, variants (got a list)"]


def test_missing_sections():
    """Each required section that is absent is reported."""
    _, problems, _ = check_text("scenario: {id: s, title: S, start: 2025-01-01, "
                                "horizon_days: 5}\n")
    assert problems == ["t.yaml:1: missing required key 'ladder'",
                        "t.yaml:1: missing required key 'actors'",
                        "t.yaml:1: missing required key 'actions'"]


@pytest.mark.parametrize(("pairs", "expected"), [
    ((("    ends_run: true\n", "    ends_run: true\n    rung_mode: set\n"),
      ("    rung: general_war\n", "")),
     ["t.yaml:41: 'actions.red_escalates.rung_mode' has no effect without 'rung'"]),
    ((("    rung: skirmishes\n", "    rung: skirmishes\n    rung_mode: lower\n"),),
     ["t.yaml:36: 'actions.deep_strike.rung_mode' must be 'raise' or 'set' (got 'lower')"]),
    ((("    ends_run: true\n", "    ends_run: yes please\n"),),
     ["t.yaml:41: 'actions.red_escalates.ends_run' must be true or false (got 'yes please')"]),
    ((("    rate: \"0.1 if strikes_authorised else 0\"\n", "    every: 0\n"),),
     ["t.yaml:48: 'processes.strike_campaign.every' must be >= 0.001 (got 0)"]),
    ((("    rate: \"0.1 if strikes_authorised else 0\"\n", "    rate: 1\n    every: 2\n"),),
     ["t.yaml:47: 'processes.strike_campaign' needs exactly one of 'rate' (events per day) or "
      "'every' (days between decisions)"]),
    ((("    action: deep_strike\n    source", "    choose: {deep_strike: 0}\n    source"),),
     ["t.yaml:49: 'processes.strike_campaign.choose' all weights are 0: nothing could ever be "
      "chosen"]),
    ((("    on: deep_strike\n", "    on: []\n"),),
     ["t.yaml:54: 'rules.red_answers.on' must name at least one action"]),
    ((("strikes: {initial: 0}", "strikes: {initial: 0, min: 5, max: 1}"),),
     ["t.yaml:30: 'state.strikes.max' must be greater than min (5) (got 1)"]),
    ((("range: [0, 1]", "range: [1, 0]"),),
     ["t.yaml:24: 'levers.aid_level.range' low must be below high (got [1, 0])"]),
    ((("{value: true, source", "{value: true, range: [0, 1], source"),),
     ["t.yaml:23: 'levers.strikes_authorised.range' an on/off lever has no range"]),
    ((("{dist: uniform, low: 0.1, high: 0.5,", "{dist: uniform, low: 0.5, high: 0.1,"),),
     ["t.yaml:27: 'parameters.red_resolve.high' must be greater than low (0.5) (got 0.1)"]),
    ((("{dist: uniform, low: 0.1, high: 0.5,", "{dist: beta, a: 0, b: 2,"),),
     ["t.yaml:27: 'parameters.red_resolve.a' must be > 0 (got 0)"]),
    ((("{dist: uniform, low: 0.1, high: 0.5,", "{dist: normal, mean: 0, sd: 1, low: 50,"),),
     ["t.yaml:27: 'parameters.red_resolve.low' the interval [low, high] holds almost none of "
      "the normal's mass"]),
    ((("{dist: uniform, low: 0.1, high: 0.5,", "{dist: uniform, low: 0.1,"),),
     ["t.yaml:27: 'parameters.red_resolve' missing required key 'high'"]),
    ((("{dist: uniform, low: 0.1, high: 0.5,", "{low: 0.1, high: 0.5,"),),
     ["t.yaml:27: 'parameters.red_resolve' missing required key 'dist'; one of: fixed, "
      "uniform, triangular, beta, lognormal, normal, exponential"]),
    ((("delay: {dist: exponential, mean: 5}", "delay: {dist: uniform, low: -1, high: 2}"),),
     ["t.yaml:56: 'rules.red_answers.delay' a delay cannot be negative: uniform(low=-1, "
      "high=2) allows values below 0 (give low >= 0)"]),
    ((("delay: {dist: exponential, mean: 5}", "delay: soon"),),
     ["t.yaml:56: 'rules.red_answers.delay' must be a distribution mapping such as "
      "{dist: triangular, low: 1, mode: 2, high: 5} (got 'soon')"]),
    ((("horizon_days: 90", "horizon_days: 100000"),),
     ["t.yaml:7: 'scenario.horizon_days' must be <= 36500 (got 100000)"]),
    ((("start: 2025-01-01", "start: soon"),),
     ["t.yaml:6: 'scenario.start' must be a date written YYYY-MM-DD (got 'soon')"]),
    ((("  - {id: first_strike, at: 2025-01-10, action: deep_strike}",
       "  - {id: first_strike, at: 2025-01-10, action: deep_strike}\n"
       "  - {id: first_strike, day: 3, action: deep_strike}"),),
     ["t.yaml:45: 'schedule[1].id' duplicate schedule id 'first_strike'"]),
    ((("{id: first_strike, at: 2025-01-10,", "{id: first_strike, at: 2025-01-10, day: 3,"),),
     ["t.yaml:44: 'schedule[0]' needs exactly one of 'at' (a date) or 'day' (days after the "
      "start)"]),
    ((('war: {when: "peak >= general_war"}',
       'war: {when: "peak >= general_war", action: red_escalates}'),),
     ["t.yaml:61: 'outcomes.war' needs exactly one of 'when' (a condition) or 'action' "
      "(it happened)"]),
])
def test_compile_problems(pairs, expected):
    """Shape, range and consistency problems not covered by the corpus give exact messages."""
    model, problems, _ = check_text(edit(*pairs))
    assert model is None
    assert problems == expected


# -- warnings -----------------------------------------------------------------------------

SOURCE_HINT = ("no 'source' given: say where this number comes from (an article, a "
               "publication, or 'Assumption: ...' with the reasoning)")


def test_missing_sources_are_warnings():
    """Levers, parameters, non-zero state, processes, rules and random events need a source."""
    model, problems, warnings = check_text(edit(
        ('{value: true, source: "[toy]"}', "{value: true}"),
        ('high: 0.5, source: "[toy]"}', "high: 0.5}"),
        ('    action: deep_strike\n    source: "[toy]"\n', "    action: deep_strike\n"),
        ('    action: red_escalates\n    source: "[toy]"\n', "    action: red_escalates\n"),
        ("strikes: {initial: 0}", "strikes: {initial: 2}"),
        ("{id: first_strike, at: 2025-01-10, action: deep_strike}",
         "{id: first_strike, day: 200, action: deep_strike, probability: 0.5}")))
    assert problems == []
    assert model is not None
    assert warnings == [
        f"t.yaml:23: 'levers.strikes_authorised' {SOURCE_HINT}",
        f"t.yaml:27: 'parameters.red_resolve' {SOURCE_HINT}",
        f"t.yaml:30: 'state.strikes' {SOURCE_HINT}",
        "t.yaml:44: 'schedule[0]' happens on day 200, after the horizon (90 days): it will "
        "never take effect",
        f"t.yaml:44: 'schedule[0]' {SOURCE_HINT}",
        f"t.yaml:47: 'processes.strike_campaign' {SOURCE_HINT}",
        f"t.yaml:52: 'rules.red_answers' {SOURCE_HINT}",
    ]


def test_zero_initial_state_and_certain_events_need_no_source():
    """A state starting at 0 and a schedule entry without probability give no warning."""
    _, problems, warnings = check_text(BASE)
    assert problems == []
    assert warnings == []


def test_warnings_do_not_stop_loading(tmp_path):
    """A file with only warnings loads; check_file returns them, load() succeeds."""
    path = tmp_path / "warn.yaml"
    path.write_text(edit(('{value: true, source: "[toy]"}', "{value: true}")), encoding="utf-8")
    model, problems, warnings = check_file(path)
    assert model is not None
    assert problems == []
    assert [str(w) for w in warnings] == [f"{path}:23: 'levers.strikes_authorised' {SOURCE_HINT}"]
    assert load(path).lever("strikes_authorised").value is True


def test_which_expressions_may_read_day(base):
    """Rule conditions may read 'day' (rung ids fold to indices); outcomes and rates may not."""
    model = load_text(edit(("    on: deep_strike\n",
                            "    on: deep_strike\n    when: day > 30 and rung == general_war\n")))
    when = model.rules[0].when
    assert when is not None
    assert when.kind == ex.BOOL
    assert when.names == frozenset({"day", "rung"})
    assert when.python == "day > 30.0 and rung == 2.0"
    assert when({"day": 31.0, "rung": 2.0}) is True
    _, problems, _ = check_text(edit(('war: {when: "peak >= general_war"}',
                                      'war: {when: "day > 30"}')))
    assert problems == ["t.yaml:61: 'outcomes.war.when' outcome conditions cannot read 'day': "
                        "they are checked when state changes; use a state variable set from "
                        "the schedule instead"]
    assert base.outcomes[0].when is not None
    assert base.outcomes[0].when.names == frozenset({"peak"})


# -- known bugs ---------------------------------------------------------------------------

def test_huge_integer_is_a_problem():
    """A 401-digit integer is reported as too large, not raised as OverflowError."""
    _, problems, _ = check_text(edit(("horizon_days: 90", "horizon_days: 1" + "0" * 400)))
    assert len(problems) == 1


def test_complex_constant_is_a_problem():
    """A probability that folds to a complex number is a problem, not a TypeError."""
    _, problems, _ = check_text(edit(('"min(1, red_resolve * (1 + aid_level))"',
                                      '"(-1) ** 0.5"')))
    assert len(problems) == 1


def test_invalid_horizon_gives_no_cascade_warning():
    """After 'horizon_days must be a whole number' no horizon-based warning follows."""
    _, problems, warnings = check_text(edit(("horizon_days: 90", "horizon_days: ninety")))
    assert problems == ["t.yaml:7: 'scenario.horizon_days' must be a whole number "
                        "(got 'ninety')"]
    assert warnings == []


def test_state_initial_reading_state_message():
    """An initial value reading a state variable explains why, not 'unknown name'."""
    _, problems, _ = check_text(edit(("strikes: {initial: 0}", "strikes: {initial: strikes}")))
    assert len(problems) == 1
    assert "unknown name" not in problems[0]


def test_narrative_width_is_bounded():
    """A narrative placeholder with an enormous width is rejected."""
    model, problems, _ = check_text(edit(("(strike {strikes})", "(strike {strikes:999999999})")))
    assert model is None
    assert len(problems) == 1


def test_a_variant_pins_or_replaces_a_parameter(base):
    """set: {red_resolve: 0.2} pins it; a distribution mapping replaces it; a state variable
    cannot be set, and the message says what can."""
    from sim.run.engine import Plan
    text = BASE.rstrip() + (
        "\n  pinned: {set: {red_resolve: 0.2}}"
        "\n  wider: {set: {red_resolve: {dist: uniform, low: 0.4, high: 0.5}}}\n")
    model = load_text(text, "v.yaml")
    pinned, wider = apply_variant(model, "pinned"), apply_variant(model, "wider")
    assert {Plan(pinned).run(1, i).parameters for i in range(10)} == {(0.2,)}
    assert all(0.4 <= Plan(wider).run(1, i).parameters[0] <= 0.5 for i in range(10))
    assert dict(wider.applied) == {"red_resolve": "uniform(low=0.4, high=0.5)"}
    bad = BASE.rstrip() + "\n  nope: {set: {strikes: 2, red_resolv: 0.1, red_resolve: true}}\n"
    _, problems, _ = check_text(bad)
    messages = "\n".join(str(p) for p in problems)
    assert "'variants.nope.set.strikes' 'strikes' is not a lever or parameter (it names the " \
           "state variable strikes); a variant sets levers (strikes_authorised, aid_level) " \
           "and parameters (red_resolve)" in messages
    assert "unknown lever or parameter 'red_resolv' (did you mean 'red_resolve'?)" in messages
    assert "'variants.nope.set.red_resolve' a parameter is pinned with a number" in messages

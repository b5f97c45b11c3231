"""Choice levers: a lever that picks one of several named options (`us_course: [engage,
hedge, withdraw]`) instead of a number that would accept 1.5 and silently do nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.analyses import play
from sim.analyses.compare import parse_grid, sweep
from sim.analyses.story import find
from sim.errors import ScenarioError, UsageError
from sim.spec.loader import load_text
from sim.spec.settings import apply_settings, apply_variant

TEACHING = (Path(__file__).resolve().parent.parent / "scenarios" / "teaching.yaml").read_text(
    encoding="utf-8")
CHOICE = TEACHING.replace("\nparameters:", """
  blue_posture:
    value: hold
    options: [hold, probe, push]
    actor: blue
    description: How hard Blue pushes for talks.
    source: "[toy]"

parameters:""").replace('rate: "0.02 if blue_offers_talks else 0.01"',
                        'rate: "0.03 if blue_posture == push else 0.01"').rstrip() + """
  pushing: {set: {blue_posture: push}}
"""


@pytest.fixture(scope="module")
def model():
    return load_text(CHOICE, "choice.yaml")


def test_a_choice_lever_loads_and_its_options_are_constants(model):
    lever = model.lever("blue_posture")
    assert (lever.value, lever.options, lever.number) == ("hold", ("hold", "probe", "push"), 0.0)
    talks = next(p for p in model.processes if p.id == "talks")
    assert talks.rate({"blue_posture": 2.0}) == 0.03 and talks.rate({"blue_posture": 0.0}) == 0.01


def test_set_variant_and_grid_take_option_names(model):
    pushed = apply_settings(model, ["blue_posture=push"])
    assert pushed.lever("blue_posture").number == 2.0
    with pytest.raises(UsageError, match=r"'blue_posture' is a choice: give one of hold, probe, "
                                         r"push \(got '1.5'\)"):
        apply_settings(model, ["blue_posture=1.5"])
    with pytest.raises(UsageError, match="did you mean 'push'"):
        apply_settings(model, ["blue_posture=puhs"])
    assert apply_variant(model, "pushing").lever("blue_posture").value == "push"
    axis = parse_grid(model, "blue_posture")
    assert axis.values == ("hold", "probe", "push")
    sw = sweep(model, [axis], "settled", 300, 1, workers=1)
    assert sw.p[2] > sw.p[0]  # pushing for talks settles more often, on the same dice


def test_bad_choice_levers_say_how_to_fix():
    def problems(text: str) -> str:
        with pytest.raises(ScenarioError) as info:
            load_text(text)
        return "\n".join(str(p) for p in info.value.problems)
    assert "must be one of the options hold, probe, push (got 'hodl') (did you mean 'hold'?)" \
        in problems(CHOICE.replace("value: hold", "value: hodl"))
    assert "lists at least two named options" in problems(
        CHOICE.replace("options: [hold, probe, push]", "options: [hold]"))
    assert "already used by rung general_war" in problems(
        CHOICE.replace("options: [hold, probe, push]", "options: [hold, general_war, push]")
        .replace("value: hold\n    options", "value: hold\n    options"))
    assert "lever 'blue_posture' is a choice: must be one of hold, probe, push (got 2)" in \
        problems(CHOICE.replace("{blue_posture: push}", "{blue_posture: 2}"))


def test_where_and_play_speak_option_names(model):
    assert next(find(model, 1, "blue_posture == hold")).replication == 0
    game = play.Game(model, "blue", 1, 0, 30)
    shown = {ls.lever.id: ls.value for ls in game.situation().levers}
    assert shown["blue_posture"] == "hold"
    game.play({"blue_posture": "push"})
    assert "blue_posture=push (hold / probe / push)" in play.decide_text(game, game.situation())

"""The library pieces the classroom uses: Brier scores, recommended policies, briefings."""

from __future__ import annotations

import pytest

from sim import api
from sim.analyses.compare import run_models
from sim.analyses.policies import Policy, compare_policies, distinct, lever_options, policy_of
from sim.errors import UsageError
from sim.present.briefing import briefing
from sim.results.scoring import brier, ranks
from sim.spec.loader import load

TEACHING = "scenarios/teaching.yaml"
ATACMS = "scenarios/atacms.yaml"


def test_brier_is_the_mean_squared_distance_to_the_truth():
    assert brier({"a": 0.2, "b": 0.9}, {"a": 0.5, "b": 0.5}) == pytest.approx(
        (0.09 + 0.16) / 2)
    assert brier({"a": 0.5, "extra": 1.0}, {"a": 0.5}) == 0.0
    with pytest.raises(KeyError):
        brier({"a": 0.5}, {"a": 0.5, "b": 0.1})
    with pytest.raises(ValueError, match="no outcomes"):
        brier({}, {})


def test_ranks_are_competition_ranks_with_float_noise_tied():
    assert ranks([0.3, 0.1, 0.3, 0.2]) == [3, 1, 3, 2]
    assert ranks([0.1 + 0.2, 0.3]) == [1, 1]
    assert ranks([]) == []


def test_lever_options_span_the_range_and_keep_the_base():
    model = load(ATACMS)
    assert lever_options(model.lever("atacms_authorised")) == (False, True)
    assert lever_options(model.lever("nk_troops")) == (0.0, 10000.0, 25000.0, 50000.0,
                                                       75000.0, 100000.0)
    assert lever_options(model.lever("new_admin_stance")) == (0.0, 0.25, 0.5, 0.75, 1.0)


def test_policy_of_drops_base_values_and_checks_the_rest():
    model = load(ATACMS)
    assert policy_of(model, {"atacms_authorised": True, "nk_troops": "10000"}) == Policy(())
    policy = policy_of(model, {"nk_troops": 20000, "atacms_authorised": "false"})
    assert policy.levers == (("atacms_authorised", False), ("nk_troops", 20000.0))
    assert policy.label == "atacms_authorised=false, nk_troops=20000"
    assert Policy(()).label == "base case"
    with pytest.raises(UsageError, match="must be in"):
        policy_of(model, {"nk_troops": -5})
    with pytest.raises(UsageError, match="unknown lever"):
        policy_of(model, {"nk_troopz": 5})


def test_distinct_counts_orders_and_caps():
    a, b, c = (Policy((("x", v),)) for v in (1.0, 2.0, 3.0))
    kept, left = distinct([b, a, Policy(()), b, c, a, b], limit=2)
    assert [(r.policy, r.votes) for r in kept] == [(b, 3), (a, 2)]
    assert [(r.policy, r.votes) for r in left] == [(c, 1)]


def test_compare_policies_is_run_models_and_matches_plain_runs():
    model = load(TEACHING)
    held = policy_of(model, {"strikes_authorised": False})
    comp = compare_policies(model, [held], runs=400, seed=11, workers=1)
    assert comp.names == ("base", "strikes_authorised=false")
    same = run_models([("base", model), ("strikes_authorised=false",
                                         model.with_levers({"strikes_authorised": False}))],
                      400, 11, 1)
    assert comp.differences == same.differences
    plain = api.simulate(TEACHING, runs=400, seed=11, settings=["strikes_authorised=false"])
    assert comp.summaries[1].outcome("war") == plain.summary.outcome("war")
    with pytest.raises(UsageError, match="distinct"):
        compare_policies(model, [held, held], runs=10, seed=1, workers=1)


def test_briefing_resolves_citations_and_marks_the_start():
    model = load(ATACMS)
    brief = briefing(model, ("nk_troops",))
    assert brief.title == model.title and brief.horizon_days == int(model.horizon)
    (lever,) = brief.levers
    assert lever.id == "nk_troops" and lever.actor == "North Korea (DPRK)"
    assert lever.span == "0 to 100,000" and lever.unit == "troops"
    assert [c.key for c in lever.cited] == ["pentagon_4nov", "wh_13nov"]
    assert [r.level for r in brief.ladder if r.is_start] == [model.initial_rung]
    assert "not a forecast" in brief.note


def test_reveal_strips_stack_equal_forecasts_and_count_the_overflow():
    from sim.web.store import Forecast
    from sim.web.views import STACK_ROWS, strips
    result = {"outcomes": [{"id": "war", "name": "War", "k": 50, "n": 100, "p": 0.5,
                            "low": 0.4, "high": 0.6}]}
    given = {i: Forecast(i, {"war": 0.7 if i < 8 else 0.2}, {}, "", 0.0) for i in range(10)}
    (strip,) = strips(result, given)
    assert strip.forecasts == 10 and strip.median == "70%"
    at_70 = [d for d in strip.dots if d.label == "70%"]
    assert len(at_70) == STACK_ROWS and len({d.y for d in at_70}) == STACK_ROWS
    assert [c.label for c in strip.crowds] == [f"+{8 - STACK_ROWS}"]
    assert strip.model_x == 500 and strip.band_width == pytest.approx(200)
    assert (strip.model, strip.interval) == ("50%", "40% to 60%")


def test_api_compare_policies_is_an_analysis_with_the_comparison_plot():
    import matplotlib.pyplot as plt
    model = load(TEACHING)
    held = policy_of(model, {"strikes_authorised": False})
    analysis = api.compare_policies(TEACHING, [held], runs=400, seed=11, workers=1)
    assert analysis.result.names == ("base", "strikes_authorised=false")
    assert analysis.stop is None and analysis.base is analysis.result.summaries[0]
    assert analysis.manifest["policies"] == ["strikes_authorised=false"]
    figures = analysis.figures()
    assert list(figures) == ["comparison"]
    plt.close(figures["comparison"])
    alone = api.compare_policies(TEACHING, [], runs=200, seed=11, workers=1)
    assert alone.result.names == ("base",) and alone.figures() == {}
    assert alone.base.outcome("war") == api.simulate(TEACHING, runs=200, seed=11
                                                     ).summary.outcome("war")

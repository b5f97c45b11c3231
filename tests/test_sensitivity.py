"""Global sensitivity analysis (sim.analyses.sensitivity) and inverse CDFs (Distribution.ppf)."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats as st

from sim.analyses.sensitivity import problem, run_sensitivity, sample
from sim.errors import UsageError
from sim.spec.distributions import Distribution
from sim.spec.loader import load_text

TWO_PARAMETERS = textwrap.dedent("""
    scenario: {id: s, title: S, start: 2025-01-01, horizon_days: 30}
    ladder: {rungs: [{id: calm, name: Calm}, {id: war, name: War}]}
    actors: {a: {name: A}}
    parameters:
      relevant: {dist: uniform, low: 0, high: 1, source: test}
      irrelevant: {dist: uniform, low: 0, high: 1, source: test}
      pinned: {dist: fixed, value: 3, source: test}
    actions:
      trigger: {actor: a}
      go: {actor: a, rung: war, ends_run: true}
    schedule:
      - {id: t, day: 1, action: trigger}
    rules:
      r: {on: trigger, probability: relevant, action: go, source: test}
    outcomes:
      war_started: {when: "peak >= war"}
""")


def d(kind: str, **args: float) -> Distribution:
    """A distribution from keyword arguments."""
    return Distribution(kind, tuple(args.items()))


def test_ppf_known_values():
    """Inverse CDFs agree with scipy.stats for every kind."""
    u = np.array([0.05, 0.3, 0.5, 0.9])
    cases = [
        (d("uniform", low=2, high=6), st.uniform(2, 4)),
        (d("triangular", low=0, mode=1, high=4), st.triang(0.25, 0, 4)),
        (d("beta", a=2, b=5, low=1, high=3), st.beta(2, 5, loc=1, scale=2)),
        (d("lognormal", median=5, sigma=0.5), st.lognorm(0.5, scale=5)),
        (d("exponential", mean=3), st.expon(scale=3)),
        (d("normal", mean=0, sd=1, low=-1, high=2), st.truncnorm(-1, 2)),
    ]
    for dist, ref in cases:
        assert_allclose([dist.ppf(float(x)) for x in u], ref.ppf(u), rtol=1e-7,
                        err_msg=dist.kind)
    assert d("fixed", value=7).ppf(0.3) == 7


def test_problem_and_sampling():
    """Only varying parameters enter the problem; Sobol rows are N*(D+2); fixed stay fixed."""
    m = load_text(TWO_PARAMETERS)
    prob = problem(m)
    assert prob["names"] == ["relevant", "irrelevant"]
    unit, points = sample(m, "sobol", 8, 1)
    assert unit.shape == (8 * 4, 2) and points.shape == (32, 3)
    assert np.all(points[:, 2] == 3.0)
    assert np.all((points[:, :2] >= 0) & (points[:, :2] <= 1))
    with pytest.raises(UsageError, match="power of 2"):
        sample(m, "sobol", 10, 1)
    with pytest.raises(UsageError, match="unknown method"):
        sample(m, "fast", 8, 1)


def test_no_uncertain_parameters_is_a_usage_error():
    """A scenario whose parameters are all fixed has nothing to analyse."""
    m = load_text(TWO_PARAMETERS.replace("dist: uniform, low: 0, high: 1", "dist: fixed, "
                                                                          "value: 0.5"))
    with pytest.raises(UsageError, match="no uncertain parameters"):
        problem(m)


def test_sobol_finds_the_parameter_that_matters():
    """P(war) = relevant: its total index is large, the unused parameter's is near 0."""
    m = load_text(TWO_PARAMETERS)
    sens = run_sensitivity(m, "war_started", "sobol", 32, 40, seed=3, workers=1)
    total = dict(zip(sens.names, sens.total, strict=True))
    assert total["relevant"] > 0.6
    assert abs(total["irrelevant"]) < 0.1
    assert sens.ranking()[0] == sens.names.index("relevant")
    assert math.isclose(sens.mean, 0.5, abs_tol=0.1)


def test_morris_ranks_the_same_way():
    """Morris mu* is larger for the parameter that matters."""
    m = load_text(TWO_PARAMETERS)
    sens = run_sensitivity(m, "war_started", "morris", 10, 40, seed=3, workers=1)
    mu = dict(zip(sens.names, sens.total, strict=True))
    assert mu["relevant"] > 0.5 > mu["irrelevant"]
    assert sens.to_dict()["parameters"][0]["id"] == "relevant"


def _sens(total_conf: float, first: float = 0.3, method: str = "sobol"):
    from sim.analyses.sensitivity import Sensitivity
    from sim.spec.metric import OUTCOME, Metric
    arr = np.array
    return Sensitivity(method, Metric(OUTCOME, "war", 0, "War"), ("a", "b"),
                       arr([first, 0.1]), arr([total_conf, 0.02]), arr([0.6, 0.2]),
                       arr([total_conf, 0.02]), 64 * 4, 40, 0.5)


def test_wide_intervals_are_flagged_with_the_size_that_would_do():
    """0.93 ± 1.36 cannot be read: say so, and suggest a power-of-2 sample size that brings
    the widest half-width to 0.1 (intervals shrink as 1/sqrt(samples))."""
    from sim.present.tables import sensitivity_table
    wide = _sens(1.36)
    r = wide.readability()
    assert not r.readable and r.samples == 64 and r.widest == pytest.approx(1.36)
    assert r.suggested >= 64 * (1.36 / 0.1) ** 2 and r.suggested & (r.suggested - 1) == 0
    text = sensitivity_table(wide)
    assert "WARNING: these indices are too uncertain" in text and f"{r.suggested} samples" in text
    assert "--" not in text.split("WARNING")[1]  # the library names no CLI flag
    narrow = _sens(0.05)
    assert narrow.readability().readable and "WARNING" not in sensitivity_table(narrow)
    negative = _sens(0.05, first=-0.4)
    assert negative.readability().negative == ("a",)

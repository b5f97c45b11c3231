"""Variants and sweeps with common random numbers (sim.analyses.compare)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.analyses.compare import compare_variants, parse_grid, run_models, sweep
from sim.errors import UsageError
from sim.results.summary import summarise
from sim.run import runner
from sim.spec.loader import load

TEACHING = Path(__file__).resolve().parent.parent / "scenarios" / "teaching.yaml"


@pytest.fixture(scope="module")
def model():
    """The teaching scenario."""
    return load(TEACHING)


def test_base_in_a_comparison_equals_a_plain_run(model):
    """The base column of a comparison is exactly what `run` gives for the same seed."""
    comp = compare_variants(model, ["no_strikes"], 600, 5, workers=1)
    plain = summarise(model, runner.run(model, 600, 5, 1).aggregate)
    assert comp.summaries[0].to_dict()["rungs"] == plain.to_dict()["rungs"]
    assert comp.runs == 600 and comp.names == ("base", "no_strikes")


def test_switching_strikes_off_removes_them_exactly(model):
    """Without authorisation no run reaches deep strikes: the difference is -p(base)."""
    comp = compare_variants(model, None, 800, 2, workers=1)
    d = comp.difference("no_strikes", "deep_strikes")
    base = comp.summaries[0].rung("deep_strikes")
    assert d.other == 0.0
    assert d.diff == pytest.approx(-base.p)
    assert d.low <= d.diff <= d.high and d.high < 0


def test_identical_models_give_a_zero_difference(model):
    """A 'variant' equal to the base has the same runs: difference 0 with a tight interval."""
    comp = run_models([("base", model), ("same", model)], 500, 3, workers=1)
    for d in comp.differences[1]:
        assert d.diff == 0.0
        assert d.low <= 0.0 <= d.high
        assert d.high - d.low < 0.02


def test_comparison_is_worker_independent(model):
    """The comparison is identical on 1 and 2 workers."""
    a = compare_variants(model, None, 600, 9, workers=1)
    b = compare_variants(model, None, 600, 9, workers=2)
    assert a.to_dict() == b.to_dict()


def test_unknown_variant_and_no_variants(model):
    """Unknown variants get a did-you-mean; a scenario without variants says so."""
    with pytest.raises(UsageError, match="did you mean 'no_strikes'"):
        compare_variants(model, ["no_strike"], 10, 1, workers=1)
    bare = model.__class__(**{**model.__dict__, "variants": ()})
    with pytest.raises(UsageError, match="defines no variants"):
        compare_variants(bare, None, 10, 1, workers=1)


def test_parse_grid_forms(model):
    """start:stop:n, a list, and a bare on/off lever all parse; bad input is a UsageError."""
    axis = parse_grid(model, "strikes_authorised")
    assert axis.values == (False, True)
    with pytest.raises(UsageError, match="is on/off"):
        parse_grid(model, "strikes_authorised=1:2:3")
    with pytest.raises(UsageError, match="unknown lever or parameter 'strike_authorised'"):
        parse_grid(model, "strike_authorised=0:1:2")
    with pytest.raises(UsageError, match="'strikes' is a state variable.*these can vary: "
                                         "levers: strikes_authorised"):
        parse_grid(model, "strikes=0:1:2")


def test_a_parameter_can_be_swept_and_compared_pinned(model):
    """--grid red_resolve=0.1:0.5:3 pins the parameter at each point; higher resolve, more
    war, on the same dice."""
    axis = parse_grid(model, "red_resolve=0.1:0.5:3")
    assert axis.values == (0.1, 0.3, 0.5)
    sw = sweep(model, [axis], "war", 400, 2, workers=1)
    assert sw.p[0] < sw.p[2]
    assert sw.changes[2].low > 0  # clearly more war at 0.5 than at 0.1
    with pytest.raises(UsageError, match="needs values"):
        parse_grid(model, "red_resolve")


def test_parse_grid_numeric(tmp_path):
    """A numeric lever sweeps linspace values within its range; n and range are checked."""
    text = TEACHING.read_text().replace(
        "levers:\n", "levers:\n  intensity:\n    value: 1\n    range: [0, 4]\n"
                     "    source: \"[toy]\"\n")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    m = load(path)
    assert parse_grid(m, "intensity=0:4:5").values == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert parse_grid(m, "intensity=1,3").values == (1.0, 3.0)
    assert parse_grid(m, "intensity").values == (0.0, 1.0, 2.0, 3.0, 4.0)
    with pytest.raises(UsageError, match="between 2 and 50"):
        parse_grid(m, "intensity=0:4:1")
    with pytest.raises(UsageError, match=r"must be in \[0, 4\]"):
        parse_grid(m, "intensity=0:9:2")


def test_sweep_one_lever(model):
    """A sweep over the on/off lever: no war without strikes, and the base value with them."""
    sw = sweep(model, [parse_grid(model, "strikes_authorised")], "war", 500, 4, workers=1)
    assert sw.p.shape == (2,)
    assert sw.p[0] == 0.0
    base = summarise(model, runner.run(model, 500, 4, 1).aggregate).outcome("war")
    assert sw.p[1] == pytest.approx(base.p)
    assert np.all(sw.low <= sw.p) and np.all(sw.p <= sw.high)


def test_sweep_names_its_metric(model):
    """A sweep takes a metric by its id and keeps it as a Metric; a misspelt one is refused
    before anything runs."""
    sw = sweep(model, [parse_grid(model, "strikes_authorised")], "general_war", 20, 4,
               workers=1)
    assert (sw.metric.kind, sw.metric.id) == ("rung", "general_war")
    assert sw.to_dict()["metric"] == "general_war"
    with pytest.raises(UsageError, match="did you mean 'war'"):
        sweep(model, [parse_grid(model, "strikes_authorised")], "wars", 20, 4, workers=1)

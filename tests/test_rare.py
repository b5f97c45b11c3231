"""Rare outcomes by conditional Monte Carlo (sim.run.rare): exact in expectation.

Two Markov scenarios with a rare top rung reached both through a rate process and through
a rule's delayed response (the two kinds of last step) are solved exactly; over many seeds
the conditional estimate must lie within its 99.9% interval of the exact answer, and its
95% intervals must cover the exact answer at their stated rate. The ordinary results must
not change, and the estimate must not depend on the number of workers.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pytest
from helpers import assert_same
from scipy import stats

from sim.analyses.exact import solve
from sim.errors import UsageError
from sim.run import runner
from sim.run.rare import RareTally, lattice, private_parameters, rare_target
from sim.spec.loader import load, load_text
from sim.spec.model import Model

Z999 = 3.29
FLAGSHIP = Path(__file__).resolve().parent.parent / "scenarios" / "atacms.yaml"

TEMPLATE = """
scenario: {{id: rare_{tag}, title: rare, start: 2025-01-01, horizon_days: 365}}
actors: {{red: {{name: Red}}, blue: {{name: Blue}}}}
ladder:
  initial: calm
  rungs:
    - {{id: calm, name: Calm}}
    - {{id: crisis, name: Crisis}}
    - {{id: war, name: War}}
    - {{id: nuclear, name: Nuclear use}}
state:
  alert: {{initial: 0, min: 0, max: 2}}
actions:
  provoke: {{actor: red, rung: crisis}}
  stand_down: {{actor: blue, rung: calm, rung_mode: set}}
  invade: {{actor: red, rung: war, effects: {{alert: alert + 1}}}}
  armistice: {{actor: blue, rung: crisis, rung_mode: set}}
  nuclear_strike: {{actor: red, rung: nuclear, ends_run: true}}
processes:
  provocations: {{rate: 0.03, when: "rung == calm", action: provoke, source: test}}
  calming: {{rate: 0.04, when: "rung == crisis", action: stand_down, source: test}}
  invasion: {{rate: 0.02, when: "rung == crisis", action: invade, source: test}}
  armistices: {{rate: 0.03, when: "rung == war", action: armistice, source: test}}
  nuclear_risk:
    {{rate: "{hazard} * (1 + alert)", when: "rung == war", action: nuclear_strike, source: test}}
rules:
  escalation:
    on: invade
    when: "alert == 1"
    probability: {p}
    delay: {{dist: exponential, mean: 20}}
    action: nuclear_strike
    source: test
outcomes:
  war: {{when: "peak >= war"}}
  nuclear: {{when: "peak >= nuclear"}}
"""

# tag: (hazard per day at war, probability of the delayed escalation): P near 1e-2, 1e-4.
LEVELS = {"percent": (0.00004, 0.004), "basis_point": (0.0000004, 0.00004)}


@cache
def scenario(tag: str) -> Model:
    hazard, p = LEVELS[tag]
    return load_text(TEMPLATE.format(tag=tag, hazard=hazard, p=p), f"{tag}.yaml")


@cache
def exact(tag: str) -> float:
    return float(solve(scenario(tag)).rung("nuclear")[-1])


def estimate(model: Model, metric: str, runs: int, seed: int, workers: int = 1):
    tally = RareTally([rare_target(model, metric)])
    result = runner.run(model, runs, seed, workers, rare=tally)
    return result, tally.estimates()[0]


def test_exact_answers_are_rare():
    assert 0.005 < exact("percent") < 0.02
    assert 0.00005 < exact("basis_point") < 0.0002


def test_last_steps_are_the_rate_process_and_the_rule():
    model = scenario("percent")
    target = rare_target(model, "nuclear")
    assert [model.processes[i].id for i in target.steps.processes] == ["nuclear_risk"]
    assert [model.rules[r].id for r in target.steps.rules] == ["escalation"]


@pytest.mark.slow
@pytest.mark.parametrize("tag", sorted(LEVELS))
def test_within_999_interval_and_covering_at_the_stated_rate(tag):
    """60 seeds x 300 runs. Every estimate lies within 3.29 standard errors of the exact
    answer, and the 95% intervals cover it about 95% of the time: the count must be a
    plausible Binomial(60, 0.95) draw at the 0.1% level, both ways (too few means the
    estimate or its interval is off, too many that the interval is too wide)."""
    truth = exact(tag)
    seeds = 60
    estimates = [estimate(scenario(tag), "nuclear", 300, seed)[1] for seed in range(seeds)]
    for seed, e in enumerate(estimates):
        assert abs(e.p - truth) <= Z999 * e.std_error, (seed, e, truth)
    covered = sum(e.low <= truth <= e.high for e in estimates)
    low, high = stats.binom.ppf([0.0005, 0.9995], seeds, 0.95)
    assert low <= covered <= high, covered


@pytest.mark.slow
def test_crude_counting_would_need_many_times_more_runs():
    """The same 4,000 runs: plain counting sees about 40 nuclear runs at 1e-2, almost none
    at 1e-4; the conditional estimates equal what 30+ and 1000+ times more runs give."""
    _, pct = estimate(scenario("percent"), "nuclear", 4000, 7)
    _, bp = estimate(scenario("basis_point"), "nuclear", 4000, 7)
    assert pct.variance_ratio > 30
    assert bp.variance_ratio > 1000


@pytest.mark.slow
def test_ordinary_results_unchanged_and_same_for_any_worker_count():
    model = load(FLAGSHIP)
    plain = runner.run(model, 400, 3, 1)
    one, e1 = estimate(model, "nuclear_use", 400, 3, workers=1)
    two, e2 = estimate(model, "nuclear_use", 400, 3, workers=2)
    assert_same(plain.aggregate, one.aggregate)
    assert_same(plain.aggregate, two.aggregate)
    assert e1 == e2


@pytest.mark.slow
def test_flagship_conditional_and_plain_estimates_agree():
    """2,000 runs of the flagship: the conditional estimate of nuclear use lies inside the
    plain count's 99.9% Wilson interval, and the counts are compatible with it."""
    from sim.results.stats import wilson
    model = load(FLAGSHIP)
    tally = RareTally([rare_target(model, m) for m in ("nuclear_use", "strategic_exchange")])
    result = runner.run(model, 2000, 11, 2, rare=tally)
    for e in tally.estimates():
        k = int(result.aggregate.outcome_counts[[o.id for o in model.outcomes].index(e.id)])
        plain = wilson(k, result.runs, Z999)
        assert plain.low <= e.p <= plain.high, (e, k)
        assert e.variance_ratio > 5


def test_private_parameters_are_averaged_exactly():
    """A parameter only the last step reads is averaged over a shifted lattice: each node
    is a draw from its distribution (node 0 the drawn value), so the mean is unbiased."""
    model = load(FLAGSHIP)
    target = rare_target(model, "nuclear_use")
    ids = [model.parameters[k].id for k in private_parameters(model, target.steps)]
    assert set(ids) == {"tac_hazard", "clash_multiplier", "china_weight", "p_strategic"}
    drawn = [p.dist.ppf(0.3) for p in model.parameters]
    nodes = lattice(model, target.private, drawn)
    k = [p.id for p in model.parameters].index("tac_hazard")
    assert nodes[0]["tac_hazard"] == pytest.approx(drawn[k])
    values = sorted(n["tac_hazard"] for n in nodes)
    dist = model.parameters[k].dist
    # One node in each of the 16 equal-probability strata of the distribution.
    assert [math.floor(dist.cdf(v) * len(nodes) + 1e-9) for v in values] == list(range(16))


@pytest.mark.parametrize("metric, message", [
    ("aid_cut", "neither marked by an action nor"),
    ("conventional_war", "not above the starting rung"),
    ("nukes", "unknown outcome or rung"),
])
def test_outcomes_it_cannot_help_with_are_refused(metric, message):
    with pytest.raises(UsageError, match=message):
        rare_target(load(FLAGSHIP), metric)


def test_cdf_matches_sampling():
    """Each delay kind's CDF against 20,000 draws (the score uses it for rule responses)."""
    import random
    model = load(FLAGSHIP)
    rng = random.Random(5)
    for rule in model.rules:
        if rule.delay.kind == "fixed":
            value = rule.delay.arg("value")
            assert (rule.delay.cdf(value - 1e-9), rule.delay.cdf(value)) == (0.0, 1.0)
            continue
        draws = sorted(rule.delay.sample(rng) for _ in range(20000))
        x = draws[len(draws) // 3]
        assert rule.delay.cdf(x) == pytest.approx(1 / 3, abs=0.015), rule.delay


def _cli(tmp_path, name, *extra):
    from sim.cli import main
    out = tmp_path / name
    code = main(["run", str(FLAGSHIP), "--seed", "5", "--out", str(out), "--no-plots",
                 "--quiet", *extra])
    return code, out


@pytest.mark.slow
def test_cli_rare_prints_the_table_and_records_it(tmp_path, capsys):
    import json
    code, out = _cli(tmp_path, "a", "--runs", "400", "--workers", "1",
                     "--rare", "nuclear_use", "--rare", "strategic_nuclear_exchange")
    assert code == 0
    text = capsys.readouterr().out
    assert "Rare outcome (conditional Monte Carlo)" in text
    assert "Strategic nuclear exchange (rung)" in text and "equivalent plain runs" in text
    rare = json.loads((out / "manifest.json").read_text())["rare"]
    assert [r["id"] for r in rare] == ["nuclear_use", "strategic_nuclear_exchange"]
    assert all(r["low"] <= r["p"] <= r["high"] and r["runs"] == 400 for r in rare)
    # --rare never changes the ordinary results: the same table as a run without it.
    code, plain = _cli(tmp_path, "b", "--runs", "400", "--workers", "2")
    assert (out / "replications.csv").read_bytes() == (plain / "replications.csv").read_bytes()
    assert (out / "summary.json").read_text() == (plain / "summary.json").read_text()


@pytest.mark.slow
def test_cli_relative_precision_stops_at_the_same_chunk_for_any_worker_count(tmp_path,
                                                                              capsys):
    import json
    counts = []
    for workers in ("1", "2"):
        code, out = _cli(tmp_path, f"w{workers}", "--precision", "20%", "--rare",
                         "nuclear_use", "--max-runs", "20000", "--workers", workers)
        assert code == 0
        info = json.loads((out / "manifest.json").read_text())
        assert info["precision_reached"] and info["stopped_at_precision"]
        assert info["rare"][0]["relative_half_width"] <= 0.20
        counts.append(info["runs_completed"])
    assert counts[0] == counts[1] and counts[0] % 200 == 0 and counts[0] >= 1000
    assert "of its estimate" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--precision", "10%"], "needs the outcomes it applies to"),
    (["--precision", "0.01", "--precision-for", "nuclear_use"], "go with a relative"),
    (["--precision", "ten"], "precision must be a half-width"),
    (["--precision", "150%"], "between 0% and 100%"),
    (["--rare", "aid_cut"], "neither marked by an action"),
])
def test_cli_bad_precision_and_rare_options_are_clear_errors(tmp_path, capsys, extra,
                                                             message):
    code, _ = _cli(tmp_path, "bad", "--runs", "10", *extra)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_api_gives_the_same_estimates_and_relative_precision(tmp_path):
    from sim import api
    res = api.simulate(FLAGSHIP, runs=400, seed=3, rare=["nuclear_use"])
    _, e = estimate(load(FLAGSHIP), "nuclear_use", 400, 3)
    assert res.rare == [e]
    report = api.run(FLAGSHIP, seed=3, rare=["nuclear_use"], precision="20%",
                     max_runs=20_000, out=tmp_path / "r", plots=False, csv=False)
    assert report.result.stopped_early and report.precision_reached
    assert report.rare[0].relative_half_width <= 0.2 and report.result.runs % 200 == 0

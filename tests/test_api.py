"""The notebook API: prepare and simulate agree with the runner and the CSV layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import api
from sim.errors import UsageError
from sim.present.output import csv_header, csv_row
from sim.results.summary import summarise
from sim.run import runner
from sim.spec.loader import load

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"


@pytest.fixture(scope="module")
def results() -> api.Results:
    """400 teaching runs, seed 3, one worker, records kept."""
    return api.simulate(TEACHING, runs=400, seed=3, workers=1, keep_records=True)


def test_simulate_matches_runner_and_summarise(results):
    """simulate() gives the same Summary as runner.run + summarise with the same seed."""
    model = load(TEACHING)
    direct = summarise(model, runner.run(model, 400, 3, 1).aggregate)
    assert results.summary.to_dict() == direct.to_dict()
    assert results.summary.n == results.run.runs == 400
    assert results.summary.variant == "base"


def test_simulate_result_does_not_depend_on_workers(results):
    """Two workers give the same summary as one."""
    two = api.simulate(TEACHING, runs=400, seed=3, workers=2)
    assert two.summary.to_dict() == results.summary.to_dict()
    assert two.records == []  # not kept unless asked


def test_rows_use_the_csv_header(results):
    """rows() has one dict per replication, keyed by the CSV header, in replication order."""
    rows = results.rows()
    header = csv_header(results.model)
    assert len(rows) == 400
    assert all(list(row) == header for row in rows)
    assert [row["replication"] for row in rows] == list(range(400))
    assert list(rows[17].values()) == csv_row(results.model, results.records[17])
    reached = sum(1 for row in rows if row["reach_day.general_war"] != "")
    assert reached == results.summary.rung("general_war").k


def test_rows_agree_with_summary_counts(results):
    """Counting terminals in the rows gives the summary's terminal counts."""
    rows = results.rows()
    for line in results.summary.terminal:
        assert sum(1 for row in rows if row["terminal"] == line.id) == line.estimate.k


def test_variant_and_settings_apply(results):
    """The no_strikes variant and the equivalent setting never strike."""
    for kwargs in ({"variant": "no_strikes"},
                   {"settings": ["strikes_authorised=false"]},
                   {"settings": {"strikes_authorised": False}}):
        res = api.simulate(TEACHING, runs=200, seed=3, workers=1, **kwargs)
        strikes = dict((a, e) for a, e, _ in res.summary.actions)["deep_strike"]
        assert strikes.k == 0
        assert res.summary.rung("deep_strikes").k == 0
        assert dict(res.model.applied) == {"strikes_authorised": False}
    assert results.summary.rung("deep_strikes").k > 0


def test_variant_name_is_recorded():
    """A variant run is labelled with the variant's name."""
    res = api.simulate(TEACHING, runs=50, seed=1, workers=1, variant="no_strikes")
    assert res.summary.variant == "no_strikes"
    assert res.summary.to_dict()["levers"] == {"strikes_authorised": False}


def test_prepare_accepts_a_model_and_leaves_it_unchanged():
    """prepare() takes a Model too; applying settings returns a new model."""
    model = load(TEACHING)
    same = api.prepare(model)
    assert same is model
    changed = api.prepare(model, settings=["strikes_authorised=off"])
    assert changed.lever("strikes_authorised").value is False
    assert model.lever("strikes_authorised").value is True


def test_prepare_unknown_variant_and_lever_suggest_names():
    """Unknown variant or lever names raise UsageError with a did-you-mean."""
    with pytest.raises(UsageError, match="did you mean 'no_strikes'"):
        api.prepare(TEACHING, variant="no_strike")
    with pytest.raises(UsageError, match="did you mean 'strikes_authorised'"):
        api.prepare(TEACHING, settings=["strike_authorised=true"])
    with pytest.raises(UsageError):
        api.prepare(TEACHING, settings=["strikes_authorised=maybe"])


def test_progress_callback_reaches_total():
    """The progress callback of simulate() ends at (runs, runs)."""
    calls = []
    api.simulate(TEACHING, runs=250, seed=1, workers=1,
                 progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (250, 250)


def test_table_mentions_rungs(results):
    """table() is text naming the ladder's rungs (needs sim.present.report)."""
    pytest.importorskip("sim.present.report")
    text = results.table()
    assert isinstance(text, str)
    assert "General war" in text

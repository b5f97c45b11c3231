"""The command line: validate and run, exit codes, messages and the results folder."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"

BAD = textwrap.dedent("""
scenario: {id: bad, title: Bad, start: 2025-01-01, horizon_days: 10}
ladder:
  initial: calm
  rungs:
    - {id: calm, name: Calm}
    - {id: war, name: War}
actors:
  a: {name: A}
actions:
  go: {actor: a, rung: wr}
""")

DIVIDES_BY_ZERO = textwrap.dedent("""
scenario: {id: boom, title: Boom, start: 2025-01-01, horizon_days: 10}
ladder:
  initial: calm
  rungs:
    - {id: calm, name: Calm}
    - {id: war, name: War}
actors:
  a: {name: A}
state:
  s: {initial: 0}
actions:
  go: {actor: a, effects: {s: "1 / s"}}
schedule:
  - {id: e, day: 3, action: go}
""")


def needs_report() -> None:
    """Skip when the colleague's report module is not there yet (cmd_run imports it)."""
    pytest.importorskip("sim.present.report")


def run_cli(*args: str) -> int:
    """main(['run', ...]) with quiet progress."""
    return main(["run", *args, "--quiet"])


# -- validate -----------------------------------------------------------------------------------

def test_validate_good_file(capsys):
    """A valid scenario: exit 0 and an OK line with the counts."""
    assert main(["validate", str(TEACHING)]) == 0
    out = capsys.readouterr().out
    assert f"{TEACHING}: OK (4 rungs, 2 actors, 3 levers" in out


def test_validate_bad_file(tmp_path, capsys):
    """An invalid scenario: exit 2, the located problem on stderr, no traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert f"{path}:11: 'actions.go.rung' unknown rung 'wr' (did you mean 'war'?)" in captured.err
    assert f"{path}: 1 problem(s)" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_validate_several_files_fails_if_any_is_bad(tmp_path, capsys):
    """With one good and one bad file the exit status is 2 and the good one is still OK."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    assert main(["validate", str(TEACHING), str(path)]) == 2
    captured = capsys.readouterr()
    assert f"{TEACHING}: OK" in captured.out
    assert "unknown rung 'wr'" in captured.err


def test_validate_missing_file(tmp_path, capsys):
    """A file that does not exist: exit 2 and a message naming it, no traceback."""
    path = tmp_path / "nope.yaml"
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml" in err and "Traceback" not in err


# -- run ----------------------------------------------------------------------------------------

def test_run_writes_consistent_results(tmp_path):
    """run --runs 400 writes manifest, summary and CSV that agree on the run count."""
    needs_report()
    out = tmp_path / "x"
    assert run_cli(str(TEACHING), "--runs", "400", "--workers", "1", "--seed", "5",
                   "--out", str(out), "--no-plots") == 0
    assert {"manifest.json", "summary.json", "replications.csv", "report.html"} <= {
        p.name for p in out.iterdir()}
    assert not list(out.glob("*.png"))
    info = json.loads((out / "manifest.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "replications.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert info["status"] == "complete"
    assert (info["runs_requested"], info["runs_completed"], info["seed"]) == (400, 400, 5)
    assert info["levers_changed"] == {} and info["variant"] == "base"
    assert summary["runs"] == 400 and len(rows) == 400
    assert [int(r["replication"]) for r in rows] == list(range(400))
    war = next(r for r in summary["rungs"] if r["id"] == "general_war")["reach"]["count"]
    assert war == sum(1 for r in rows if r["reach_day.general_war"])
    terminal = {t["reason"]: t["count"] for t in summary["terminal"]}
    assert terminal == {k: sum(1 for r in rows if r["terminal"] == k) for k in terminal}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # no stage left behind


def test_run_prints_table_and_folder_to_current_stdout(tmp_path):
    """The summary table and the results folder go to the stdout in effect at call time."""
    needs_report()
    out = tmp_path / "x"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert run_cli(str(TEACHING), "--runs", "50", "--workers", "1", "--out", str(out),
                       "--no-plots") == 0
    assert "General war" in buffer.getvalue()
    assert f"Results: {out}" in buffer.getvalue()


def test_run_is_reproducible_and_worker_independent(tmp_path):
    """The same seed gives the same summary.json with 1 and 2 workers."""
    needs_report()
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(str(TEACHING), "-n", "300", "-w", "1", "--out", str(a), "--no-plots") == 0
    assert run_cli(str(TEACHING), "-n", "300", "-w", "2", "--out", str(b), "--no-plots") == 0
    assert json.loads((a / "summary.json").read_text()) == json.loads(
        (b / "summary.json").read_text())
    assert (a / "replications.csv").read_text() == (b / "replications.csv").read_text()


def test_run_existing_out_needs_force(tmp_path, capsys):
    """An existing non-empty --out is refused (exit 2) and kept; --force replaces it."""
    out = tmp_path / "x"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    assert run_cli(str(TEACHING), "--runs", "50", "--workers", "1", "--out", str(out),
                   "--no-plots") == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert run_cli(str(TEACHING), "--runs", "50", "--workers", "1", "--out", str(out),
                   "--no-plots", "--force") == 2
    assert "not a results folder" in capsys.readouterr().err
    (out / "manifest.json").write_text("{}")  # now it is an earlier results folder
    needs_report()
    assert run_cli(str(TEACHING), "--runs", "50", "--workers", "1", "--out", str(out),
                   "--no-plots", "--force") == 0
    assert not (out / "keep.txt").exists() and (out / "manifest.json").exists()


def test_run_unknown_variant(tmp_path, capsys):
    """An unknown variant: exit 2 with a did-you-mean, nothing written."""
    out = tmp_path / "x"
    assert run_cli(str(TEACHING), "--variant", "no_strike", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert "unknown variant 'no_strike' (did you mean 'no_strikes'?)" in err
    assert not out.exists()


def test_run_unknown_lever(tmp_path, capsys):
    """An unknown lever in --set: exit 2 with a did-you-mean, nothing written."""
    out = tmp_path / "x"
    assert run_cli(str(TEACHING), "--set", "strikes_authorized=false", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert ("unknown lever or parameter 'strikes_authorized' (did you mean "
            "'strikes_authorised'?)") in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("setting", ["strikes_authorised=maybe", "strikes_authorised"])
def test_run_bad_set_value(tmp_path, capsys, setting):
    """A malformed --set is a usage error (exit 2)."""
    assert run_cli(str(TEACHING), "--set", setting, "--out", str(tmp_path / "x")) == 2
    assert "error:" in capsys.readouterr().err


def test_run_set_applies_and_is_recorded(tmp_path):
    """--set strikes_authorised=false is applied (no strikes) and in the manifest."""
    needs_report()
    out = tmp_path / "x"
    assert run_cli(str(TEACHING), "--runs", "200", "--workers", "1", "--out", str(out),
                   "--no-plots", "--set", "strikes_authorised=false") == 0
    info = json.loads((out / "manifest.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert info["levers_changed"] == {"strikes_authorised": False}
    assert info["command"].startswith("python -m sim run ")
    assert "--set strikes_authorised=false" in info["command"]
    assert summary["levers"] == {"strikes_authorised": False}
    strikes = next(a for a in summary["actions"] if a["id"] == "deep_strike")
    assert strikes["occurs"]["count"] == 0


def test_run_variant_is_recorded(tmp_path):
    """--variant no_strikes is named in manifest and summary."""
    needs_report()
    out = tmp_path / "x"
    assert run_cli(str(TEACHING), "--runs", "100", "--workers", "1", "--out", str(out),
                   "--no-plots", "--variant", "no_strikes") == 0
    info = json.loads((out / "manifest.json").read_text())
    assert info["variant"] == "no_strikes"
    assert info["levers_changed"] == {"strikes_authorised": False}
    assert json.loads((out / "summary.json").read_text())["variant"] == "no_strikes"


def test_run_no_csv(tmp_path):
    """--no-csv leaves out replications.csv but writes the rest."""
    needs_report()
    out = tmp_path / "x"
    assert run_cli(str(TEACHING), "--runs", "100", "--workers", "1", "--out", str(out),
                   "--no-plots", "--no-csv") == 0
    assert not (out / "replications.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["runs_completed"] == 100


def test_run_zero_runs_is_a_usage_error(tmp_path, capsys):
    """--runs 0: exit 2, nothing written."""
    assert run_cli(str(TEACHING), "--runs", "0", "--out", str(tmp_path / "x")) == 2
    assert "argument --runs/-n: must be at least 1 (got 0)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_run_invalid_scenario(tmp_path, capsys):
    """run on an invalid file: exit 2, problems on stderr, nothing was run or written."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    assert run_cli(str(path), "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert "unknown rung 'wr'" in err and "nothing was run" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_run_runtime_error_exits_1_and_writes_nothing(tmp_path, capsys):
    """A division by zero while running: exit 1, located message, no results folder."""
    path = tmp_path / "boom.yaml"
    path.write_text(DIVIDES_BY_ZERO)
    assert run_cli(str(path), "--runs", "10", "--workers", "1", "--out",
                   str(tmp_path / "x"), "--no-plots") == 1
    err = capsys.readouterr().err
    assert "Stopped: replication 0, day 3.00: expression '1 / s' (" in err
    assert f"{path}:" in err and "'actions.go.effects.s')" in err  # located in the file
    assert "state: rung=calm, s=0" in err and "Nothing was written" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["boom.yaml"]


def test_run_precision_stops_when_intervals_are_narrow(tmp_path, capsys):
    """--precision stops early once every half-width is small enough, and says so."""
    needs_report()
    out = tmp_path / "p"
    assert run_cli(str(TEACHING), "--precision", "0.03", "--max-runs", "20000", "-w", "1",
                   "--out", str(out), "--no-plots", "--quiet") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stopped_at_precision"] is True
    assert 1000 <= manifest["runs_completed"] < 20000
    assert "every probability's 95% half-width <= 0.03" in capsys.readouterr().out


def test_run_precision_cap_is_reported(tmp_path, capsys):
    """When --max-runs comes first, the run says the precision was not reached."""
    needs_report()
    out = tmp_path / "q"
    assert run_cli(str(TEACHING), "--precision", "0.001", "--max-runs", "400", "-w", "1",
                   "--out", str(out), "--no-plots", "--quiet") == 0
    assert "precision 0.001 NOT reached within --max-runs 400" in capsys.readouterr().out

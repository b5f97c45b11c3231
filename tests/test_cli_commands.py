"""Every command of ``python -m sim`` runs here at least once, with its output checked.

The commands come from the parser, so a new command fails
``test_every_command_has_a_case`` until it has a case below. Each case is small (the
teaching or Markov scenario, a few hundred runs, one worker); options and errors are tested
in depth elsewhere (test_cli, test_backtest, test_bench, test_play, test_story, test_web).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import subcommands

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEACHING = str(ROOT / "scenarios" / "teaching.yaml")
MARKOV = str(ROOT / "scenarios" / "markov.yaml")
CUBA = str(ROOT / "scenarios" / "history" / "cuba1962.yaml")
QUICK = ["--workers", "1", "--no-plots", "--quiet"]


def commands() -> set[str]:
    """The subcommands the parser knows."""
    return set(subcommands())


def lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


def validate(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", TEACHING, MARKOV]) == 0
    out = capsys.readouterr().out
    assert f"{TEACHING}: OK (4 rungs, 2 actors, 3 levers" in out
    assert lines(out, f"{MARKOV}: OK (")


def new(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", str(tmp / "mine")]) == 0
    written = tmp / "mine.yaml"
    assert str(written) in capsys.readouterr().out
    assert main(["validate", str(written)]) == 0  # the starter scenario is valid
    assert f"{written}: OK" in capsys.readouterr().out
    assert main(["new", str(tmp / "mine")]) == 2  # never overwritten without --force
    assert "--force" in capsys.readouterr().err


def schema(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--out", str(tmp / "s.json")]) == 0
    assert f"Wrote {tmp / 's.json'}" in capsys.readouterr().out
    doc = json.loads((tmp / "s.json").read_text(encoding="utf-8"))
    assert doc["$schema"].startswith("https://json-schema.org/")
    assert {"scenario", "ladder", "actions", "outcomes"} <= set(doc["properties"])
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == doc


def exact(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exact", MARKOV]) == 0
    out = capsys.readouterr().out
    assert lines(out, "reach Nuclear war")[0].split()[-1] == "0.034088"
    assert "continuous-time Markov chain with 12 states" in out
    assert main(["exact", TEACHING]) == 1  # not Markovian: a clear refusal, no traceback
    err = capsys.readouterr().err
    assert "cannot solve 'teaching' exactly" in err and "Traceback" not in err


def bench(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--scenario", TEACHING, "--memory-scenario", TEACHING, "--seconds",
                 "0.05", "--rounds", "1", "--speed-runs", "40", "--repeats", "1",
                 "--memory-runs", "20", "--workers", "1", "--rare", ""])
    assert code == 0
    out = capsys.readouterr().out
    assert "| `teaching` replications/s, 1 worker |" in out
    assert "| peak memory of the collecting process, 20 runs of `teaching` |" in out


def run(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp / "run"
    assert main(["run", TEACHING, "--runs", "200", "--seed", "3", "--out", str(out),
                 *QUICK]) == 0
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["runs"] == 200
    with (out / "replications.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 200
    war = next(o for o in summary["outcomes"] if o["id"] == "war")
    assert war["count"] == 148  # seed 3: the same runs as the compare case's base
    assert lines(text, "General war") and "74%" in lines(text, "General war")[-1]


def compare(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp / "cmp"
    assert main(["compare", TEACHING, "--variants", "no_strikes", "--runs", "200", "--seed",
                 "3", "--out", str(out), *QUICK]) == 0
    text = capsys.readouterr().out
    assert lines(text, "General war  ")[0].split()[2:5] == ["74%", "0%", "-74.0"]
    assert "200 paired runs (common random numbers), seed 3." in text
    assert json.loads((out / "compare.json").read_text(encoding="utf-8"))


def sweep(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp / "sweep"
    assert main(["sweep", TEACHING, "--metric", "war", "--grid", "red_resolve=0.2:0.6:3",
                 "--runs", "100", "--seed", "1", "--out", str(out), *QUICK]) == 0
    text = capsys.readouterr().out
    assert lines(text, "0.4 ")[0].split()[:3] == ["0.4", "75%", "[66%,"]
    assert json.loads((out / "sweep.json").read_text(encoding="utf-8"))


def sensitivity(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp / "sens"
    assert main(["sensitivity", TEACHING, "--metric", "war", "--method", "morris",
                 "--samples", "4", "--reps", "5", "--seed", "1", "--out", str(out),
                 *QUICK]) == 0
    text = capsys.readouterr().out
    assert lines(text, "red_resolve")[0].split() == ["red_resolve", "0.375", "0.122", "0.150"]
    assert "8 points x 5 runs each" in text and "WARNING" in text
    assert json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))


def discover(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp / "disc"
    assert main(["discover", TEACHING, "--metric", "war", "--runs", "200", "--seed", "1",
                 "--out", str(out), *QUICK]) == 0
    text = capsys.readouterr().out
    assert "'war' happened in 141 of 200 runs" in text
    assert lines(text, "red_resolve")[0].split()[1] == "0.208"
    assert json.loads((out / "discover.json").read_text(encoding="utf-8"))


def story(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["story", TEACHING, "--seed", "3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "| replication 0, seed 3" in text
    assert "Blue strikes deep inside Red's territory (strike 1)." in text
    assert "The run ends: red escalates." in text


def play(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    moves, transcript = tmp / "moves.yaml", tmp / "t.md"
    moves.write_text("0: {strikes_authorised: false}\n", encoding="utf-8")
    assert main(["play", TEACHING, "--as", "blue", "--moves", str(moves), "--transcript",
                 str(transcript), "--runs", "100", "--workers", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "== Decision 3 of 3: 2025-03-02 (day 60) ==" in text
    assert "Your peak rung: 'Border skirmishes'" in text
    md = transcript.read_text(encoding="utf-8")
    assert md.startswith("# Play transcript: Teaching example")
    assert "| strikes_authorised | true | false |" in md


def backtest(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp / "bt"
    assert main(["backtest", CUBA, "--runs", "200", "--out", str(out), *QUICK]) == 0
    text = capsys.readouterr().out
    data = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    (case,) = data["cases"]
    briers = [item["brier"] for item in case["outcomes"]]
    mean = sum(briers) / len(briers)
    assert lines(text, "cuba1962")[0].split()[1:3] == [str(len(briers)), f"{mean:.3f}"]


def serve(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Serving for real (a subprocess, a browser) is test_web.py's and test_web_e2e.py's;
    here the command checks its address before it starts anything."""
    assert main(["serve", "--host", "my-laptop", "--db", str(tmp / "c.sqlite")]) == 2
    assert "give an IP address" in capsys.readouterr().err
    assert not (tmp / "c.sqlite").exists()


CASES: dict[str, Callable[[Path, pytest.CaptureFixture[str]], None]] = {
    f.__name__: f for f in (validate, new, schema, exact, bench, run, compare, sweep,
                            sensitivity, discover, story, play, backtest, serve)}


def test_every_command_has_a_case():
    assert set(CASES) == commands()


@pytest.mark.parametrize("command", sorted(CASES))
def test_command(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    CASES[command](tmp_path, capsys)

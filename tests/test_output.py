"""The results folder: safe names, atomic staging, CSV rows and JSON without NaN."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import textwrap
from pathlib import Path

import pytest

from sim.errors import UsageError
from sim.present.output import (
    CsvSink,
    csv_header,
    csv_row,
    default_folder,
    inside,
    manifest,
    safe_name,
    staged_folder,
    write_json,
)
from sim.run.engine import Plan
from sim.run.record import Record
from sim.spec.loader import load_text

INF = math.inf

MODEL = load_text(textwrap.dedent("""
scenario: {id: small, title: Small, start: 2025-01-01, horizon_days: 10}
ladder:
  initial: calm
  rungs:
    - {id: calm, name: Calm}
    - {id: tense, name: Tense}
    - {id: war, name: War}
actors:
  a: {name: A}
levers:
  dial: {value: 2, range: [0, 5]}
parameters:
  resolve: {dist: uniform, low: 0, high: 1}
state:
  s: {initial: 0}
actions:
  push: {actor: a, rung: tense, effects: {s: s + 0.5}}
  fight: {actor: a, rung: war, ends_run: true}
schedule:
  - {id: e1, day: 2.25, action: push}
outcomes:
  hot: {when: "peak >= tense"}
  fought: {action: fight}
"""))


# -- names --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [
    ("teaching", "teaching"),
    ("../etc/passwd", "etc-passwd"),
    ("../../x", "x"),
    ("a/b\\c", "a-b-c"),
    ("hello world!", "hello-world"),
    ("v1.2_final-B", "v1.2_final-B"),
    (".hidden", "hidden"),
    ("-x-", "x"),
    ("", "run"),
    ("..", "run"),
    ("...", "run"),
    ("/", "run"),
    ("ä€", "run"),
])
def test_safe_name(text, name):
    """Unsafe characters become '-', leading/trailing dots and dashes go, empty -> fallback."""
    assert safe_name(text) == name


def test_safe_name_is_short_and_never_a_path():
    """Names are at most 80 characters and contain no separator or parent reference."""
    for text in ("x" * 500, "../" * 50 + "evil", "a/../../b", "C:\\Windows\\..\\x"):
        name = safe_name(text)
        assert len(name) <= 80
        assert "/" not in name and "\\" not in name and name not in ("", ".", "..")
        assert not name.startswith(".")
    assert safe_name("", fallback="base") == "base"


def test_inside_accepts_names_in_the_folder(tmp_path):
    """inside() returns the resolved path for plain names and subfolders."""
    assert inside(tmp_path, "a.csv") == (tmp_path / "a.csv").resolve()
    assert inside(tmp_path, "sub/b.png") == (tmp_path / "sub" / "b.png").resolve()


@pytest.mark.parametrize("name", ["../x", "sub/../../x", "/etc/passwd", ".", ""])
def test_inside_refuses_escapes(tmp_path, name):
    """Names resolving outside the folder (or to the folder itself) are refused."""
    with pytest.raises(UsageError):
        inside(tmp_path, name)


def test_inside_refuses_symlink_escape(tmp_path):
    """A symlink in the folder that points outside it does not let a write escape."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path)
    with pytest.raises(UsageError):
        inside(folder, "link/x.txt")


def test_default_folder_names_scenario_variant_and_time(tmp_path):
    """default_folder names scenario[-variant]-time (uniqueness comes from the rename)."""
    first = default_folder(tmp_path, MODEL, "base")
    assert first.parent == tmp_path and first.name.startswith("small-2")
    assert default_folder(tmp_path, MODEL, "no_strikes").name.startswith("small-no_strikes-")


def test_unique_stages_never_collide(tmp_path):
    """Two runs that picked the same default name both keep their folder: the second gets
    -2 at the rename (atomic), even though the name was free when both started."""
    target = tmp_path / "small-20250101-000000"
    with staged_folder(target, False, unique=True) as one, \
            staged_folder(target, False, unique=True) as two:
        (one.path / "manifest.json").write_text("1")
        (two.path / "manifest.json").write_text("2")
    # The inner block finishes first and takes the name; the outer one gets -2.
    assert two.target == target and one.target == target.with_name(target.name + "-2")
    assert (one.target / "manifest.json").read_text() == "1"
    assert (target / "manifest.json").read_text() == "2"
    assert sorted(os.listdir(tmp_path)) == [target.name, target.name + "-2"]


def test_a_target_taken_during_the_run_keeps_the_work(tmp_path):
    """An --out that another process created meanwhile is not overwritten, and the new
    results are not lost either: they go to a free variant of the name."""
    target = tmp_path / "out"
    with staged_folder(target, False) as stage:
        (stage.path / "a.txt").write_text("mine")
        target.mkdir()
        (target / "theirs.txt").write_text("theirs")
    assert stage.target == tmp_path / "out-2"
    assert (target / "theirs.txt").read_text() == "theirs"
    assert (tmp_path / "out-2" / "a.txt").read_text() == "mine"


# -- staged folders -----------------------------------------------------------------------------

def test_staged_folder_moves_into_place(tmp_path):
    """On success the files appear at the target and no temporary folder remains."""
    target = tmp_path / "run1"
    with staged_folder(target, force=False) as stage:
        assert stage.path != target.resolve() and stage.path.parent == tmp_path.resolve()
        assert not target.exists()  # nothing visible until complete
        (stage.path / "a.txt").write_text("hello")
    assert (target / "a.txt").read_text() == "hello"
    assert os.listdir(tmp_path) == ["run1"]


def test_staged_folder_leaves_nothing_when_the_body_raises(tmp_path):
    """An exception in the body removes the stage; no target appears."""
    target = tmp_path / "run1"
    with pytest.raises(RuntimeError), staged_folder(target, force=False) as stage:
        (stage.path / "a.txt").write_text("half")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_staged_folder_keyboard_interrupt_cleans_up(tmp_path):
    """Ctrl-C in the body also removes the stage."""
    with pytest.raises(KeyboardInterrupt), staged_folder(tmp_path / "r", False) as stage:
        (stage.path / "x").write_text("x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_staged_folder_refuses_existing_nonempty_target(tmp_path):
    """A non-empty target without force is refused before anything is written."""
    target = tmp_path / "run1"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(UsageError, match="already exists"), staged_folder(target, False):
        pytest.fail("the body must not run")
    assert os.listdir(tmp_path) == ["run1"]
    assert (target / "old.txt").read_text() == "old"


def test_staged_folder_accepts_existing_empty_target(tmp_path):
    """An existing empty folder may be used without force."""
    target = tmp_path / "run1"
    target.mkdir()
    with staged_folder(target, False) as stage:
        (stage.path / "new.txt").write_text("new")
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["run1"]


def test_staged_folder_force_replaces(tmp_path):
    """With force an existing folder is replaced whole, old files gone, no leftovers."""
    target = tmp_path / "run1"
    target.mkdir()
    (target / "old.txt").write_text("old")
    (target / "manifest.json").write_text("{}")  # an earlier results folder
    with staged_folder(target, True) as stage:
        assert (target / "old.txt").exists()  # still there while the new one is built
        (stage.path / "new.txt").write_text("new")
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["run1"]


def test_staged_folder_force_refuses_a_folder_that_is_not_results(tmp_path, monkeypatch):
    """--force never replaces a folder without a manifest, nor one holding the cwd."""
    target = tmp_path / "work"
    target.mkdir()
    (target / "notes.txt").write_text("precious")
    with pytest.raises(UsageError, match="not a results folder"), \
            staged_folder(target, True):
        pass
    (target / "manifest.json").write_text("{}")
    monkeypatch.chdir(target)
    with pytest.raises(UsageError, match="contains the current directory"), \
            staged_folder(target, True):
        pass
    assert (target / "notes.txt").read_text() == "precious"


def test_staged_folder_force_keeps_old_folder_if_body_fails(tmp_path):
    """With force, a failing body leaves the old folder untouched."""
    target = tmp_path / "run1"
    target.mkdir()
    (target / "old.txt").write_text("old")
    (target / "manifest.json").write_text("{}")
    with pytest.raises(ValueError), staged_folder(target, True) as stage:
        (stage.path / "new.txt").write_text("new")
        raise ValueError
    assert sorted(os.listdir(target)) == ["manifest.json", "old.txt"]
    assert os.listdir(tmp_path) == ["run1"]


@pytest.mark.parametrize("kind", ["file", "the scenario", "fifo", "device", "link-out",
                                  "link-results"])
def test_force_replaces_only_a_results_folder(tmp_path, kind):
    """--force never deletes what is not an earlier results folder: a file (the scenario
    being run), a FIFO, a device node, or a symbolic link (even to a results folder, whose
    target may lie anywhere). Each is refused and left untouched."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    target = tmp_path / "out"
    if kind in ("file", "the scenario"):
        target.write_text("scenario: {}")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/null")
    elif kind == "link-out":
        target.symlink_to(tmp_path / "elsewhere.txt")
        (tmp_path / "elsewhere.txt").write_text("precious")
    else:
        target.symlink_to(outside)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(UsageError, match="refusing to replace"), staged_folder(target, True):
        pytest.fail("the body must not run")
    assert sorted(os.listdir(tmp_path)) == before
    assert os.listdir(outside) == ["manifest.json"]
    if kind == "file":
        assert target.read_text() == "scenario: {}"


def test_staged_folder_partial_goes_to_a_free_partial_name(tmp_path):
    """stage.partial keeps the folder under <target>-partial, -partial-2, ... (an
    interrupted results folder); stage.target says where it went."""
    target = tmp_path / "run1"
    (tmp_path / "run1-partial").mkdir()
    (tmp_path / "run1-partial" / "manifest.json").write_text("{}")
    with staged_folder(target, False) as stage:
        (stage.path / "a.txt").write_text("a")
        stage.partial = True
    assert not target.exists()
    assert stage.target == tmp_path / "run1-partial-2"
    assert (stage.target / "a.txt").read_text() == "a"


def test_a_long_folder_name_works_and_a_too_long_one_is_refused(tmp_path):
    """A 245-byte name works (the stage's own name is short; it used to exceed 255), and
    its -partial and -2 variants are shortened to fit; a name over 255 bytes is refused
    before any work with a clear message instead of an OSError at the end."""
    name = "x" * 245
    for expected in (name, name + "-2"):
        with staged_folder(tmp_path / name, False, unique=True) as stage:
            (stage.path / "a.txt").write_text("a")
        assert stage.target == tmp_path / expected
    with staged_folder(tmp_path / ("z" * 250), False) as stage:
        stage.partial = True
    assert stage.target == tmp_path / ("z" * 247 + "-partial")
    with pytest.raises(UsageError, match="at most 255"), \
            staged_folder(tmp_path / ("y" * 256), False):
        pytest.fail("the body must not run")


def test_stale_stages_of_crashed_runs_are_removed_but_only_ours(tmp_path):
    """Stages left by a process that no longer exists are removed when the next results
    folder is staged there; a live process's stage and other hidden folders stay."""
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".sim-stage-{dead}-abc123"
    stale.mkdir()
    (stale / "replications.csv").write_text("half")
    live = tmp_path / f".sim-stage-{os.getppid()}-def456"
    live.mkdir()
    other = tmp_path / f".other-{dead}-abc"
    other.mkdir()
    with staged_folder(tmp_path / "run", False) as stage:
        (stage.path / "a").write_text("a")
    assert not stale.exists() and live.exists() and other.exists()


def test_staged_folder_creates_missing_parents(tmp_path):
    """The target's parent folders are created as needed."""
    target = tmp_path / "a" / "b" / "run"
    with staged_folder(target, False) as stage:
        (stage.path / "x").write_text("x")
    assert (target / "x").read_text() == "x"


# -- CSV ----------------------------------------------------------------------------------------

def test_csv_header():
    """The header names every rung, outcome, action, state variable and parameter."""
    assert csv_header(MODEL) == [
        "replication", "peak_rung", "final_rung", "end_day", "terminal",
        "reach_day.calm", "reach_day.tense", "reach_day.war",
        "outcome_day.hot", "outcome_day.fought",
        "count.push", "count.fight", "state.s", "param.resolve"]


def test_csv_row_known_values_and_censored_days_empty():
    """A hand-built record gives exact cells; never-reached days are empty strings."""
    rec = Record(replication=12, peak=1, final_rung=0, end_day=10.0, terminal="horizon",
                 first_reach=(0.0, 2.25, INF), outcome_days=(2.25, INF),
                 action_counts=(3, 0), final_state=(1.5,), parameters=(0.123456789,),
                 rung_path=((0.0, 0), (2.25, 1), (4.0, 0)))
    row = csv_row(MODEL, rec)
    assert row == [12, "tense", "calm", "10.0000", "horizon", "0.0000", "2.2500", "",
                   "2.2500", "", 3, 0, "1.5", "0.123457"]
    assert len(row) == len(csv_header(MODEL))


def test_csv_sink_streams_rows(tmp_path):
    """CsvSink writes the header once and one row per record, readable by csv."""
    stream = io.StringIO()
    sink = CsvSink(MODEL, stream)
    plan = Plan(MODEL)
    sink([plan.run(1, i) for i in range(3)])
    sink([plan.run(1, i) for i in range(3, 5)])
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert [int(r["replication"]) for r in rows] == [0, 1, 2, 3, 4]
    for r in rows:
        assert r["reach_day.tense"] == "2.2500" and r["reach_day.war"] == ""
        assert r["count.push"] == "1" and r["state.s"] == "0.5"
        assert 0 <= float(r["param.resolve"]) <= 1
    assert stream.getvalue().count("replication,") == 1


# -- JSON ---------------------------------------------------------------------------------------

def test_write_json_turns_inf_and_nan_into_null(tmp_path):
    """inf, -inf and NaN at any depth become null; the file is strict JSON."""
    path = tmp_path / "x.json"
    write_json(path, {"a": math.inf, "b": [1.5, -math.inf, {"c": math.nan}], "d": (1, 2),
                      3: "key", "ok": 0.25})
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data == {"a": None, "b": [1.5, None, {"c": None}], "d": [1, 2], "3": "key",
                    "ok": 0.25}
    assert text.endswith("\n")


def test_manifest_records_the_run():
    """The manifest holds seed, run counts, variant and the changed levers."""
    model = MODEL.with_levers({"dial": 4.0})
    info = manifest(model, seed=7, requested=500, completed=400, workers=2, variant="base",
                    elapsed=1.23456, status="interrupted", started="2025-01-01T00:00:00")
    assert info["levers_changed"] == {"dial": 4.0}
    assert (info["seed"], info["runs_requested"], info["runs_completed"]) == (7, 500, 400)
    assert (info["status"], info["variant"], info["workers"]) == ("interrupted", "base", 2)
    assert info["elapsed_seconds"] == 1.235
    assert info["scenario"]["id"] == "small" and len(info["scenario"]["sha256"]) == 64
    assert "numpy" in info["versions"]
    json.dumps(info, allow_nan=False)


def test_csv_rows_formatted_apart_are_the_same_bytes(tmp_path):
    """The rows the runner's workers format (CsvSink.rows, then write) are byte for byte
    what calling the sink with the records writes."""
    import io

    from sim.present.output import CsvSink
    from sim.run.engine import Plan
    from sim.spec.loader import load
    model = load(Path(__file__).resolve().parent.parent / "scenarios" / "atacms.yaml")
    records = [Plan(model).run(3, i) for i in range(20)]
    a, b = io.StringIO(), io.StringIO()
    CsvSink(model, a)(records)
    sink = CsvSink(model, b)
    sink.write(sink.rows(records[:7]))
    sink.write(sink.rows(records[7:]))
    assert a.getvalue() == b.getvalue() and a.getvalue().count("\r\n") == 21

"""Faults: a dead worker, model errors at run time, interrupts and drawing failures.

Each one stops the work cleanly and keeps what had finished (an interrupted results
folder); faults are injected in-process, or with a real process where that is the point.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

import pytest
from helpers import assert_same, time_limit

from sim.cli import main
from sim.faults import MODEL_ERROR, WORKER_LOST, Stop
from sim.run import runner
from sim.run.aggregate import Aggregate
from sim.run.engine import ModelRuntimeError, Plan
from sim.spec.loader import load, load_text

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"
MODEL = load(TEACHING)

# A probability that exceeds 1 in the replications that draw u > 1/1.002 (about 1 in 500).
SOMETIMES = textwrap.dedent("""
scenario: {id: sometimes, title: Sometimes, start: 2025-01-01, horizon_days: 10}
ladder:
  initial: calm
  rungs:
    - {id: calm, name: Calm}
    - {id: war, name: War}
actors:
  a: {name: A}
parameters:
  u: {dist: uniform, low: 0, high: 1}
state:
  s: {initial: 0}
actions:
  grow: {actor: a, effects: {s: s + 1}}
  strike: {actor: a, rung: war}
schedule:
  - {id: tick, day: 1, action: grow}
rules:
  answer: {on: grow, probability: "u * s * 0.6", action: strike, delay: 0}
""")


def _merge(agg: Aggregate):
    def take(part):
        agg.merge(part[0])
        return False
    return take


class DyingTask(runner.SimulateTask):
    """Kills its own worker process (SIGKILL, as the OOM killer does) on the chunk that
    starts at ``start``: once (a marker file remembers it), or every time."""

    def __init__(self, start: int, marker: Path, always: bool) -> None:
        super().__init__(MODEL, 5, False)
        self.start, self.marker, self.always = start, marker, always

    def __call__(self, start, stop):
        if start == self.start and (self.always or not self.marker.exists()):
            self.marker.write_text("died")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(start, stop)


def _direct(runs: int, seed: int = 5) -> Aggregate:
    agg = Aggregate.for_model(MODEL)
    plan = Plan(MODEL)
    agg.add([plan.run(seed, i) for i in range(runs)])
    return agg


# -- a dead worker -----------------------------------------------------------------------------

def test_a_killed_worker_is_replaced_and_its_chunk_rerun(tmp_path):
    """A worker killed once (SIGKILL) does not hang the run: its chunk runs again on a new
    worker and the result is exactly that of an undisturbed run."""
    agg = Aggregate.for_model(MODEL)
    with time_limit(60):
        stop = runner.map_chunks(DyingTask(400, tmp_path / "m", False), 1000, 2, _merge(agg))
    assert stop is None and (tmp_path / "m").exists()
    assert_same(agg, _direct(1000))


def test_a_chunk_that_keeps_killing_its_worker_stops_the_work_keeping_earlier_chunks(tmp_path):
    """A chunk whose worker dies every time ends the work with a clear reason; the chunks
    before it are kept (the same ones whatever the timing)."""
    agg = Aggregate.for_model(MODEL)
    with time_limit(60):
        stop = runner.map_chunks(DyingTask(600, tmp_path / "m", True), 1400, 2, _merge(agg))
    assert stop is not None and stop.kind == WORKER_LOST
    assert "replications 600-799" in stop.message and "SIGKILL" in stop.message
    assert_same(agg, _direct(600))


@pytest.mark.slow
def test_the_cli_survives_a_worker_killed_from_outside(tmp_path):
    """`sim run --workers 2` with one worker SIGKILLed from outside finishes with exit 0
    and the same numbers as an undisturbed run (a real process, a real kill)."""
    import subprocess
    import sys
    import time
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(TEACHING), "--runs",
                             "8000", "--seed", "3", "--workers", "2", "--out", str(out),
                             "--no-plots", "--quiet"], cwd=ROOT, stderr=subprocess.PIPE,
                            text=True)
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        children = _children(proc.pid)
        if children:
            time.sleep(0.3)
            os.kill(children[0], signal.SIGKILL)
            killed = children[0]
        time.sleep(0.05)
    _, err = proc.communicate(timeout=300)
    assert killed is not None, "no worker process was seen"
    assert proc.returncode == 0, err
    info = json.loads((out / "manifest.json").read_text())
    assert (info["status"], info["runs_completed"]) == ("complete", 8000)
    reference = runner.run(MODEL, 8000, 3, 1)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 8000
    assert [r["reach"]["count"] for r in summary["rungs"]] == \
        [int(c) for c in reference.aggregate.reached]


@pytest.mark.slow
def test_sigterm_keeps_finished_runs_like_ctrl_c(tmp_path):
    """SIGTERM (docker stop, timeout, systemd) to `sim run` keeps the finished runs as an
    interrupted results folder, exits 143, and leaves no hidden temporary folder."""
    import subprocess
    import sys
    import time
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(TEACHING), "--runs",
                             "200000", "--workers", "2", "--out", str(out), "--no-plots",
                             "--quiet"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        stages = list(tmp_path.glob(".sim-stage-*/replications.csv"))
        if stages and stages[0].stat().st_size > 50_000:  # some chunks are written
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert [p.name for p in tmp_path.iterdir()] == ["out-partial"]  # no stage left
    info = json.loads((tmp_path / "out-partial" / "manifest.json").read_text())
    assert (info["status"], info["stopped_by"]) == ("interrupted", "terminated")
    assert info["runs_completed"] > 0 and info["runs_completed"] % runner.CHUNK == 0
    assert "Stopped: terminated (SIGTERM)" in err and "Traceback" not in err


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc; scanned if /children is missing)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


# -- model errors at run time ------------------------------------------------------------------

def test_a_model_error_keeps_the_chunks_before_it_for_any_worker_count():
    """A probability above 1 at run time stops the run with the expression, its place in
    the file and the state; the finished chunks before the failing replication are kept,
    the same for 1 and 2 workers."""
    model = load_text(SOMETIMES.replace("u * s * 0.6", "u * s * 1.002"),
                      "sometimes.yaml")
    plan = Plan(model)
    first = next(i for i in range(5000) if _fails(plan, i))
    kept = first // runner.CHUNK * runner.CHUNK
    for workers in (1, 2):
        result = runner.run(model, 5000, 1, workers)
        assert result.stop is not None and result.stop.kind == MODEL_ERROR
        assert result.runs == kept
        assert f"replication {first}," in result.stop.message
        assert "sometimes.yaml:" in result.stop.message  # file:line of the expression
        assert "'rules.answer.probability'" in result.stop.message
        assert "state: rung=" in result.stop.message and "s=" in result.stop.message
        assert "outside [0, 1]" in result.stop.message


def _fails(plan: Plan, i: int) -> bool:
    try:
        plan.run(1, i)
    except ModelRuntimeError:
        return True
    return False


def test_a_model_error_mid_run_writes_an_interrupted_results_folder(tmp_path, capsys):
    """The CLI keeps the finished replications as an interrupted results folder
    (-partial, manifest status interrupted, stopped_by model-error), exit 1."""
    path = tmp_path / "sometimes.yaml"
    path.write_text(SOMETIMES.replace("u * s * 0.6", "u * s * 1.002"))
    out = tmp_path / "out"
    assert main(["run", str(path), "--runs", "5000", "--seed", "1", "--workers", "1",
                 "--out", str(out), "--no-plots", "--quiet"]) == 1
    err = capsys.readouterr().err
    partial = tmp_path / "out-partial"
    assert not out.exists() and partial.is_dir()
    info = json.loads((partial / "manifest.json").read_text())
    assert (info["status"], info["stopped_by"]) == ("interrupted", MODEL_ERROR)
    assert "outside [0, 1]" in info["reason"] and 0 < info["runs_completed"] < 5000
    rows = (partial / "replications.csv").read_text().splitlines()
    assert len(rows) == info["runs_completed"] + 1
    assert f"Kept {info['runs_completed']} of 5000 runs in {partial}" in err
    assert "Traceback" not in err


def test_constant_nan_and_infinite_numbers_are_refused_at_load():
    """A constant expression that is NaN or infinite (1e300 * 1e300 overflows to inf
    without an exception; inf - inf is NaN) is refused at load, located."""
    from sim.errors import ScenarioError
    nan = "1e300 * 1e300 - 1e300 * 1e300"
    for where, text in (("processes", f"  p: {{rate: '{nan}', action: grow}}\n"),
                        ("processes", "  p: {rate: '1e300 * 1e300', action: grow}\n")):
        with pytest.raises(ScenarioError) as info:
            load_text(SOMETIMES + f"{where}:\n{text}", "x.yaml")
        assert "not a finite number" in str(info.value) and "processes.p.rate" in str(
            info.value)
    bad_state = SOMETIMES.replace("s: {initial: 0}", f"s: {{initial: '{nan}'}}")
    with pytest.raises(ScenarioError, match="state.s.initial.*not a finite number"):
        load_text(bad_state, "x.yaml")


def test_an_initial_state_that_is_not_finite_at_run_time_is_located():
    """An initial value that overflows for a drawn parameter stops with its location."""
    model = load_text(SOMETIMES.replace("s: {initial: 0}",
                                        "s: {initial: 'u * 1e300 * 1e300'}"), "y.yaml")
    with pytest.raises(ModelRuntimeError, match=r"initial value 'u \* 1e300 \* 1e300' "
                                                r"\(y\.yaml:\d+ 'state\.s\.initial'\)"):
        Plan(model).run(1, 0)


# -- interrupts and drawing failures in every command -------------------------------------------

def _interrupt_after(monkeypatch, runs: int) -> None:
    """Ctrl-C once ``runs`` runs have been merged (the progress callback raises)."""
    from sim.cli import common

    def progress(args, label):
        def update(done, total):
            if done >= runs:
                raise KeyboardInterrupt
        return update, lambda: None
    monkeypatch.setattr(common, "progress_callback", progress)


@pytest.mark.parametrize("command", [
    ["run"], ["compare"], ["sweep", "--grid", "strikes_authorised", "--metric", "general_war"],
    ["discover", "--metric", "general_war"]])
def test_ctrl_c_keeps_finished_runs_in_every_command(tmp_path, capsys, monkeypatch, command):
    """Ctrl-C during the runs of run, compare, sweep and discover keeps what finished as an
    interrupted results folder and exits 130 (discover and sweep used to exit 0 and call
    partial results complete)."""
    _interrupt_after(monkeypatch, 400)
    out = tmp_path / "out"
    code = main([command[0], str(TEACHING), *command[1:], "--runs", "2000", "--workers",
                 "1", "--out", str(out), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 130, err
    info = json.loads((tmp_path / "out-partial" / "manifest.json").read_text())
    assert (info["status"], info["stopped_by"]) == ("interrupted", "interrupted")
    assert info["runs_completed"] == 400
    assert "Stopped: interrupted (Ctrl-C)" in err and "Kept 400 of 2000 runs" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["out-partial"]
    page = (tmp_path / "out-partial" / "report.html").read_text()
    assert "Interrupted: these results cover 400 of 2,000 runs." in page  # seen at the top


def test_sensitivity_interrupted_keeps_the_evaluated_points(tmp_path, capsys, monkeypatch):
    """Sensitivity stopped early has no indices (they need every point), but keeps the
    points evaluated so far in an interrupted results folder."""
    _interrupt_after(monkeypatch, 8)
    code = main(["sensitivity", str(TEACHING), "--metric", "general_war", "--samples", "8",
                 "--reps", "5", "--workers", "1", "--out", str(tmp_path / "s"),
                 "--no-plots"])
    assert code == 130
    data = json.loads((tmp_path / "s-partial" / "sensitivity.json").read_text())
    assert len(data["evaluated_points"]) == 8 and "Ctrl-C" in data["stopped"]
    page = (tmp_path / "s-partial" / "report.html").read_text()
    assert "Interrupted: these results cover 40 of " in page  # 8 of the points, 5 runs each
    info = json.loads((tmp_path / "s-partial" / "manifest.json").read_text())
    assert info["runs_completed"] == 40 and info["runs_requested"] > 40


@pytest.mark.parametrize("failure", [KeyboardInterrupt, ValueError])
def test_an_interrupt_or_failure_while_drawing_keeps_the_runs(tmp_path, capsys, monkeypatch,
                                                             failure):
    """Ctrl-C or an exception while the figures are drawn (after every run finished)
    keeps the runs: summary, CSV and manifest in an interrupted results folder."""
    import sim.present.render as render

    def broken(*args, **kwargs):
        raise failure("drawing broke")
    monkeypatch.setattr(render.FigureWorkers, "draw", broken)
    out = tmp_path / "out"
    code = main(["run", str(TEACHING), "--runs", "400", "--workers", "1", "--out", str(out),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == (130 if failure is KeyboardInterrupt else 1)
    partial = tmp_path / "out-partial"
    info = json.loads((partial / "manifest.json").read_text())
    assert info["status"] == "interrupted" and info["runs_completed"] == 400
    assert info["stopped_by"] == ("interrupted" if failure is KeyboardInterrupt
                                  else "plot-failed")
    assert (partial / "summary.json").exists()
    assert len((partial / "replications.csv").read_text().splitlines()) == 401
    assert "Traceback" not in err


def test_stop_is_a_plain_value():
    """A Stop is a (kind, message) pair; no stop is None (falsy)."""
    assert Stop("x", "y") == ("x", "y") and bool(Stop("x", "y"))


# -- file-system faults -------------------------------------------------------------------------

def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_out_under_a_regular_file_is_one_line(tmp_path, capsys):
    """--out below a regular file: one line naming the cause, exit 1, nothing written."""
    (tmp_path / "afile").write_text("x")
    code = main(["run", str(TEACHING), "--runs", "10", "--workers", "1", "--out",
                 str(tmp_path / "afile" / "out"), "--no-plots", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "afile: it already exists (a file where a folder was needed?)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _leftovers(tmp_path) == ["afile"]


@pytest.mark.parametrize(("number", "words"), [
    (28, "the disk is full"),   # ENOSPC
    (30, "the file system is read-only"),  # EROFS
    (27, "file-size limit"),    # EFBIG
])
def test_write_errors_are_one_line_and_leave_nothing(tmp_path, capsys, monkeypatch, number,
                                                      words):
    """Disk full, a read-only file system or a file-size limit while the results are
    written: one line, exit 1, no results folder and no hidden stage left behind."""
    import errno

    from sim.present import output
    assert (errno.ENOSPC, errno.EROFS, errno.EFBIG)[[28, 30, 27].index(number)] == number

    def fail(path, data):
        raise OSError(number, os.strerror(number), str(path))
    monkeypatch.setattr(output, "write_json", fail)
    code = main(["run", str(TEACHING), "--runs", "10", "--workers", "1", "--out",
                 str(tmp_path / "out"), "--no-plots", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and words in err and "summary.json" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_real_file_size_limit_is_one_line_and_leaves_nothing(tmp_path):
    """Under a real RLIMIT_FSIZE (ulimit -f) the CSV cannot grow: one line, exit 1, no
    folder or stage left (a real process, a real limit)."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(TEACHING), "--runs",
                           "3000", "--workers", "1", "--out", str(tmp_path / "out"),
                           "--no-plots", "--quiet"], cwd=ROOT, capture_output=True,
                          text=True, preexec_fn=limit, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "file-size limit" in proc.stderr and "replications.csv" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert _leftovers(tmp_path) == []


def test_stdout_to_a_full_device_is_one_line():
    """`sim validate ... > /dev/full`: one line on stderr, exit 1, no traceback."""
    import subprocess
    import sys
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "sim", "validate", str(TEACHING)],
                              cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("error: cannot write the output (stdout): the disk is "
                                   "full")


def test_workers_are_capped_and_the_cli_says_so(tmp_path, capsys):
    """--workers 1000 does not start 1000 processes: it is capped, with a note."""
    out = tmp_path / "out"
    assert main(["run", str(TEACHING), "--runs", "10", "--workers", "1000", "--out",
                 str(out), "--no-plots", "--quiet"]) == 0
    assert f"capped to {runner.max_workers()}" in capsys.readouterr().err
    assert json.loads((out / "manifest.json").read_text())["workers"] == runner.max_workers()
    assert runner.worker_count(1000) == runner.max_workers() and runner.worker_count(3) == 3


# -- guarded readers -----------------------------------------------------------------------------

def test_aliases_repeating_a_long_text_are_bounded():
    """A text reused through aliases is bounded by what it expands to, not only by the
    number of values (1.5 MB x 1,000 aliases gave a 1.5 GB report)."""
    from sim.spec.yamlsrc import MAX_EXPANDED_CHARS, parse_text
    long = "x" * 100_000
    text = f"a: &t {long}\nb: [" + ", ".join(["*t"] * 100) + "]\n"
    assert len(text) < 200_000 < MAX_EXPANDED_CHARS < 100 * len(long)
    src, problems = parse_text(text, "big.yaml")
    assert src is None and len(problems) == 1
    assert "expands to more than" in problems[0].message and problems[0].line == 1  # the text


@pytest.mark.parametrize(("yaml_text", "line", "path", "tag"), [
    ("a: 1\nb: !foo {x: 1}\n", 2, "b", "!foo"),
    ("a: !bar [1, 2]\n", 1, "a", "!bar"),
    ("a:\n  b: !!set {x: null}\n", 2, "a.b", "tag:yaml.org,2002:set"),
    ("a: !!omap [{x: 1}]\n", 1, "a", "tag:yaml.org,2002:omap"),
])
def test_tags_on_mappings_and_lists_are_refused_and_located(yaml_text, line, path, tag):
    """A tag on a mapping or a list is refused like one on a value, with its place
    (it used to be ignored silently)."""
    from sim.spec.yamlsrc import parse_text
    _, problems = parse_text(yaml_text, "t.yaml")
    assert [(p.line, p.path) for p in problems] == [(line, path)]
    assert f"YAML tags such as {tag!r} are not allowed" in problems[0].message


def _game():
    from sim.analyses import play
    return play.Game(MODEL, "blue", 1, 0, 30)


@pytest.mark.parametrize("kind", ["fifo", "device", "huge-key", "folder"])
def test_play_moves_uses_the_guarded_reader(tmp_path, kind):
    """play --moves refuses at once what the scenario reader refuses: a FIFO (it used to
    hang), a device such as /dev/zero (it used to exhaust memory), a folder; a 5,000-digit
    decision number is a clear error, not a traceback."""
    from sim.analyses import play
    from sim.errors import UsageError
    path = tmp_path / "moves.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "folder":
        path = tmp_path
    else:
        path.write_text("? " + "9" * 5000 + "\n: {strikes_authorised: false}\n")
    with time_limit(10), pytest.raises((UsageError, play.MoveError)) as info:
        play.load_moves(path, _game())
    message = str(info.value)
    assert str(path) in message
    assert ("not a regular file" in message or "a folder" in message
            or "does not exist" in message)


# -- story: streamed paths, bounded searches ----------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_paths_are_tallied_in_chunks_exactly_as_from_every_record(workers):
    """story --paths folds runs chunk by chunk (memory flat, parallel): the same paths and
    counts as from the full list of records."""
    from sim.analyses.story import common_paths, stood_on_before, tally_paths
    plan = Plan(MODEL)
    records = [plan.run(4, i) for i in range(700)]
    tally, stop = tally_paths(MODEL, 700, 4, workers)
    assert stop is None and tally.runs == 700
    for rung in MODEL.rungs:
        if rung.index != MODEL.initial_rung:
            assert tally.common(rung.id) == common_paths(MODEL, records, rung.id)
            assert tally.stood_on_before(rung.id) == stood_on_before(MODEL, records, rung.id)
    assert not hasattr(tally, "records")


def test_story_paths_ctrl_c_shows_what_was_read(capsys, monkeypatch):
    """Ctrl-C during story --paths prints the paths of the runs read so far, exit 130."""
    _interrupt_after(monkeypatch, 400)
    assert main(["story", str(TEACHING), "--paths", "5000", "--workers", "1"]) == 130
    captured = capsys.readouterr()
    assert "of 400 runs" in captured.out
    assert "Kept the paths of 400 of 5000 runs (shown)" in captured.err


def test_story_where_that_never_matches_is_bounded_and_shows_progress(capsys, monkeypatch):
    """A --where that never matches searches at most --search runs, with progress, and
    says how to search further."""
    from sim.cli import common
    seen = []

    def progress(args, label):
        return (lambda done, total: seen.append((done, total))), lambda: None
    monkeypatch.setattr(common, "progress_callback", progress)
    assert main(["story", str(TEACHING), "--where", "peak < settlement", "--search",
                 "1200"]) == 1
    err = capsys.readouterr().err
    assert "no replication among 0..1199 meets: peak < settlement" in err
    assert seen == [(0, 1200), (500, 1200), (1000, 1200)]


@pytest.mark.slow
def test_story_where_ctrl_c_keeps_the_stories_found(tmp_path, capsys, monkeypatch):
    """Ctrl-C during a --where search stops it (exit 130); stories found are kept."""
    from sim.cli import common

    def progress(args, label):
        def update(done, total):
            if done >= 1000:
                raise KeyboardInterrupt
        return update, lambda: None
    monkeypatch.setattr(common, "progress_callback", progress)
    page = tmp_path / "s.html"
    assert main(["story", str(TEACHING), "--where", "peak >= deep_strikes", "--count",
                 "100000", "--html", str(page)]) == 130
    captured = capsys.readouterr()
    assert "Stopped: interrupted (Ctrl-C)" in captured.err and "stories found" in captured.err
    assert captured.out.count("== ") > 0 and page.exists()


def test_story_paths_is_capped(capsys):
    """--paths beyond the cap is refused by the parser (exit 2)."""
    assert main(["story", str(TEACHING), "--paths", "3000000"]) == 2
    assert "must be at most 2,000,000" in capsys.readouterr().err


# -- figures and calendars ----------------------------------------------------------------------

@pytest.mark.slow
def test_a_very_long_title_is_cut_in_figures_not_fatal(tmp_path):
    """A 1,260-character title used to make the layout unsolvable after the runs (losing
    them): figures keep two lines of it, ending in an ellipsis."""
    from sim.api import simulate
    from sim.present.plots import figures, png_bytes
    long_title = ("A very long title " * 70).strip()
    text = TEACHING.read_text(encoding="utf-8").replace(
        'title: "Teaching example: a border crisis between Blue and Red"',
        f'title: "{long_title}"')
    path = tmp_path / "long.yaml"
    path.write_text(text)
    res = simulate(path, runs=200, seed=1)
    assert res.model.title == long_title
    for name, fig in figures(res.summary, res.model).items():
        assert png_bytes(fig).startswith(b"\x89PNG"), name
        header = [t.get_text() for t in fig.texts if "A very long" in t.get_text()]
        assert header and header[0].count("\n") == 1
        assert header[0].endswith("\N{HORIZONTAL ELLIPSIS}")


def test_a_horizon_past_the_last_calendar_date_is_refused_at_load():
    """A start near year 9999 whose horizon leaves the calendar is refused at load (it
    used to validate, run, then crash while plotting); ending on 9999-12-31 is fine."""
    from sim.errors import ScenarioError
    text = TEACHING.read_text(encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"'scenario.horizon_days' the horizon ends after "
                                            r"the last calendar date \(9999-12-31\): at "
                                            r"most 213 days from 9999-06-01 \(got 300\)"):
        load_text(text.replace("start: 2025-01-01", "start: 9999-06-01")
                  .replace("horizon_days: 90", "horizon_days: 300"), "late.yaml")
    assert load_text(text.replace("start: 2025-01-01", "start: 9999-01-01")
                     .replace("horizon_days: 90", "horizon_days: 364")).horizon == 364


def test_the_api_keeps_finished_runs_and_warns_on_a_model_error(tmp_path):
    """From Python a model error mid-run keeps the replications finished before it,
    with the reason in res.run.stop and a RuntimeWarning (no silent partial result)."""
    from sim import api
    model = load_text(SOMETIMES.replace("u * s * 0.6", "u * s * 1.002"), "sometimes.yaml")
    with pytest.warns(RuntimeWarning, match="outside \\[0, 1\\]"):
        res = api.simulate(model, runs=5000, seed=1)
    assert res.run.stop is not None and res.run.stop.kind == MODEL_ERROR
    assert 0 < res.summary.n == res.run.runs < 5000


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_numbers_are_written_is_held_then_kept(tmp_path, sig):
    """Ctrl-C or SIGTERM that arrives while the numbers are written is held until they
    are complete; the figures are skipped and the folder is an interrupted one."""
    from sim.faults import INTERRUPTED, TERMINATED
    from sim.present.output import Drawing, fill_stage, staged_folder
    drawn = []

    def data(folder):
        os.kill(os.getpid(), sig)  # delivered at once, held by the writer
        (folder / "summary.json").write_text("{}")

    def info(stop):
        return {"status": "interrupted" if stop else "complete",
                "stopped_by": stop.kind if stop else None}
    with staged_folder(tmp_path / "out", False) as stage:
        stop = fill_stage(stage, None, Drawing(data, drawn.append, info))
    assert stop is not None and stop.kind == (INTERRUPTED if sig == signal.SIGINT
                                              else TERMINATED)
    assert drawn == [] and stage.target == tmp_path / "out-partial"
    assert json.loads((stage.target / "manifest.json").read_text())["status"] == "interrupted"
    assert (stage.target / "summary.json").exists()


class HungryTask(runner.SimulateTask):
    """Runs out of memory on the chunk starting at ``start``."""

    def __init__(self, start: int) -> None:
        super().__init__(MODEL, 5, False)
        self.start = start

    def __call__(self, start, stop):
        if start == self.start:
            raise MemoryError
        return super().__call__(start, stop)


@pytest.mark.parametrize("workers", [1, 2])
def test_out_of_memory_in_a_chunk_stops_keeping_earlier_chunks(workers):
    """A MemoryError in a chunk (in a worker or in-process) is a stop, not a traceback;
    the chunks before it are kept."""
    agg = Aggregate.for_model(MODEL)
    with time_limit(60):
        stop = runner.map_chunks(HungryTask(400), 1000, workers, _merge(agg))
    assert stop is not None and stop.kind == WORKER_LOST and "out of memory" in stop.message
    assert_same(agg, _direct(400))


def test_work_that_needs_every_run_raises_stopped():
    """RunResult.complete() refuses a partial run (for a benchmark or a backtest), so a
    stop never passes for a complete result."""
    from sim.faults import Stopped
    model = load_text(SOMETIMES.replace("u * s * 0.6", "u * s * 1.002"), "sometimes.yaml")
    result = runner.run(model, 3000, 1, 1)
    with pytest.raises(Stopped, match="outside"):
        result.complete()
    whole = runner.run(MODEL, 300, 1, 1)
    assert whole.complete() is whole


def test_check_exact_on_a_non_markov_scenario_is_refused_before_running(tmp_path, capsys,
                                                                       monkeypatch):
    """--check-exact on a scenario that cannot be solved exactly is refused before any
    run (it used to fail after them, where it would now be an interrupted folder)."""
    ran = []
    monkeypatch.setattr(runner, "run", lambda *a, **k: ran.append(1))
    assert main(["run", str(TEACHING), "--check-exact", "--runs", "100", "--out",
                 str(tmp_path / "x")]) == 1
    assert "cannot solve 'teaching' exactly" in capsys.readouterr().err
    assert ran == [] and list(tmp_path.iterdir()) == []


def test_a_report_of_an_interrupted_folder_says_so_at_the_top():
    """The report of an interrupted results folder opens with how many runs it covers and
    why it stopped (the manifest at the bottom used to be the only place)."""
    from sim.api import simulate
    from sim.present.report import render_html, stopped_banner
    res = simulate(MODEL, runs=200, seed=1)
    info = {"status": "interrupted", "runs_completed": 200, "runs_requested": 5000,
            "reason": "interrupted (Ctrl-C)"}
    page = render_html(MODEL, res.summary, {}, info)
    banner = ('<div class="warnings" role="alert"><strong>Interrupted: these results '
              'cover 200 of 5,000 runs.</strong> interrupted (Ctrl-C)</div>')
    assert banner in page and page.index(banner) < page.index('id="results"')
    assert stopped_banner({"status": "complete"}) == ""


def test_require_markov_is_a_quick_check_before_solving():
    """exact.require_markov names what prevents an exact solution without solving."""
    from sim.analyses.exact import require_markov
    from sim.errors import NotMarkovianError
    with pytest.raises(NotMarkovianError, match="red_resolve is uniform"):
        require_markov(MODEL)
    require_markov(load(ROOT / "scenarios" / "markov.yaml"))

"""The figure workers: started before the run, they import matplotlib early, draw the same
bytes as drawing in-process, survive the loss of a worker, and leave nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.api import simulate
from sim.faults import sigterm_interrupts
from sim.present import render
from sim.present.render import FigureWorkers, figure_names

ROOT = Path(__file__).resolve().parents[1]
FORK = "fork" in __import__("multiprocessing").get_all_start_methods()
PROC = Path("/proc/self").exists()  # Linux: a process's children are listed there
needs_fork = pytest.mark.skipif(not FORK, reason="figure workers are forked")
needs_proc = pytest.mark.skipif(not (FORK and PROC), reason="reads /proc for child processes")


@pytest.fixture(scope="module")
def result():
    return simulate(ROOT / "scenarios" / "teaching.yaml", runs=200, seed=2)


@pytest.fixture(scope="module")
def drawn_here(result):
    """The figures drawn in this process: what the workers must reproduce byte for byte."""
    with FigureWorkers(1) as workers:
        assert workers.pid is None
        return workers.draw(result.summary, result.model)


def _children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task")
    return {int(c) for task in tasks.iterdir()
            for c in (task / "children").read_text().split()}


def _helpers(workers: FigureWorkers, count: int) -> set[int]:
    """The first worker's helpers, once it has forked them (it does so right after its
    import of the plotting code, before any drawing is asked for)."""
    assert workers.pid is not None
    deadline = time.monotonic() + 120
    while len(found := _children(workers.pid)) < count:
        assert time.monotonic() < deadline, "the helpers were never forked"
        time.sleep(0.02)
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in "ZX"  # a zombie is dead (its parent, init or a subreaper, reaps it)


@needs_proc
def test_workers_import_matplotlib_before_any_drawing_is_asked_for(result, drawn_here):
    """The helpers exist (so the first worker's import is done) before draw() is called;
    they draw the bytes drawn in-process, and all of them end afterwards."""
    with FigureWorkers(3) as workers:
        first = workers.pid
        assert first is not None
        helpers = _helpers(workers, 2)
        assert workers.draw(result.summary, result.model) == drawn_here
    assert all(_gone(pid) for pid in {first, *helpers})


@needs_proc
@pytest.mark.parametrize("where", ["before drawing", "while drawing"])
def test_a_failure_ends_every_worker(result, monkeypatch, where):
    """An exception in the run before the figures, or in drawing a figure (raised in the
    parent as it was raised in the worker), ends the first worker and its helpers."""
    if where == "while drawing":
        def broken(name, summary, model):
            raise ValueError(f"cannot draw {name}")
        monkeypatch.setattr(render, "draw_png", broken)  # the forked workers inherit it
    with pytest.raises(ValueError, match="cannot draw|run failed"), FigureWorkers(3) as workers:
        first = workers.pid
        assert first is not None
        helpers = _helpers(workers, 2)
        if where == "before drawing":
            raise ValueError("the run failed")
        workers.draw(result.summary, result.model)
    assert all(_gone(pid) for pid in {first, *helpers})


@needs_proc
@pytest.mark.parametrize("victim", ["first", "helper"])
def test_a_killed_worker_costs_no_figure(result, drawn_here, victim):
    """A worker killed (out of memory, kill -9) leaves its figures to the others (or to
    this process): the same bytes, and nothing left running."""
    with FigureWorkers(3) as workers:
        first = workers.pid
        assert first is not None
        helpers = _helpers(workers, 2)
        os.kill(first if victim == "first" else min(helpers), signal.SIGKILL)
        assert workers.draw(result.summary, result.model) == drawn_here
    deadline = time.monotonic() + 30
    while not all(_gone(pid) for pid in {first, *helpers}):
        assert time.monotonic() < deadline, "a worker outlived the drawing"
        time.sleep(0.02)


@needs_fork
def test_ctrl_c_is_left_to_the_parent(result, drawn_here):
    """Ctrl-C reaches every process of the terminal's group; the workers ignore it (the
    parent stops them), so a Ctrl-C they receive prints nothing and loses nothing."""
    with FigureWorkers(2) as workers:
        assert workers.pid is not None
        os.kill(workers.pid, signal.SIGINT)
        assert workers.draw(result.summary, result.model) == drawn_here


@needs_fork
def test_workers_ended_as_soon_as_started_end_quietly(capfd):
    """A run refused at once (a bad scenario) ends the workers just after forking them. The
    command line's SIGTERM handler raises an exception: a worker must never meet it (it
    printed a traceback, or ran on in the parent's code), nor leave anything behind."""
    with sigterm_interrupts():
        for _ in range(10):
            with FigureWorkers(3):
                pass
    assert capfd.readouterr().err == ""


def test_drawn_in_this_process_where_one_core_is_all(result, drawn_here):
    """With one process there are no workers: the figures are drawn here."""
    assert list(drawn_here) == figure_names(result.summary)
    assert all(png.startswith(b"\x89PNG") for png in drawn_here.values())


@pytest.mark.slow
def test_a_normal_run_with_figures_writes_nothing_to_stderr(tmp_path):
    """End to end through the command line (which installs its SIGTERM handler): figures
    are drawn by forked workers, nothing at all reaches stderr (it used to print a
    worker's traceback in most runs), and the command's process never imports matplotlib
    (its memory stays that of the simulation)."""
    code = ("import sys; from sim.cli.main import main; code = main(sys.argv[1:]); "
            "assert 'matplotlib' not in sys.modules, 'the parent imported matplotlib'; "
            "sys.exit(code)")
    for k in range(3):  # the old fault showed in about three runs of four
        out = tmp_path / f"r{k}"
        done = subprocess.run(
            [sys.executable, "-c", code, "run", "scenarios/teaching.yaml", "--runs", "300",
             "--workers", "2", "--quiet", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert (out / "rung_probabilities.png").stat().st_size > 10_000

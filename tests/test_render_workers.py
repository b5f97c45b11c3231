"""The figure-drawing workers end quietly: a normal run prints nothing on stderr."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sim.faults import sigterm_interrupts
from sim.present import render

ROOT = Path(__file__).resolve().parents[1]


def test_a_figure_worker_does_not_keep_the_command_lines_sigterm_handler():
    """The command line turns SIGTERM into an exception; a forked figure worker inherits
    that handler and, when the pool ends it, would print a traceback per worker."""
    previous = signal.getsignal(signal.SIGINT)
    try:
        with sigterm_interrupts():
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
            render._start_worker(None, None)  # type: ignore[arg-type]
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
        render._JOB = None


@pytest.mark.slow
def test_a_normal_run_with_figures_writes_nothing_to_stderr(tmp_path):
    """End to end through the command line (which installs its SIGTERM handler): figures
    are drawn by forked workers, and nothing at all reaches stderr (it used to print a
    worker's traceback in most runs)."""
    for k in range(3):  # the old fault showed in about three runs of four
        out = tmp_path / f"r{k}"
        done = subprocess.run(
            [sys.executable, "-m", "sim", "run", "scenarios/teaching.yaml", "--runs", "300",
             "--workers", "2", "--quiet", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert (out / "rung_probabilities.png").stat().st_size > 10_000

"""Shared test helpers: guards against hangs and runaway work, equality of aggregates, a fake
clock, the command line's subcommands.

No test asserts on wall-clock time: a shared machine or parallel test workers stretch it.
``cpu_limit`` bounds the CPU time work may take (a count the machine's load does not change);
``time_limit`` only turns a blocked wait (a lost process, a pipe) into a failure, with minutes
to spare."""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from sim.run.aggregate import Aggregate


@contextmanager
def time_limit(seconds: float = 10.0) -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM raises TimeoutError after ``seconds`` on the wall
    clock. A guard for blocked waits only, never a speed check (see ``cpu_limit``)."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Fail work that takes more than ``seconds`` of this process's CPU time.

    CPU time, not wall time: other jobs on the machine slow the wall clock but not the CPU
    work needs, so a generous bound cannot flake under load. An endless loop is stopped
    (SIGPROF raises TimeoutError) and work that finishes too slowly fails the check after.
    """
    def on_prof(signum: int, frame: Any) -> None:
        raise TimeoutError(f"more than {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, on_prof)
    began = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    used = time.process_time() - began
    assert used < seconds, f"took {used:.2f} s of CPU time (limit {seconds} s)"


def assert_same(a: Aggregate, b: Aggregate) -> None:
    """Every count, counter and state histogram of two aggregates is equal."""
    for name in ("reach_hist", "outcome_hist", "occupancy", "peak_counts", "action_any",
                 "action_total"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.terminal == b.terminal
    assert (a.n, a.n_events) == (b.n, b.n_events)
    for ha, hb in zip(a.state, b.state, strict=True):
        assert (ha.exponent, ha.n, dict(ha.bins)) == (hb.exponent, hb.n, dict(hb.bins))


class FakeClock:
    """Seconds (like time.time) that move only when a test moves ``now``."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The command line's subcommands, by name, as the parser knows them."""
    from sim.cli.parser import build_parser
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def images_load(page: Any, selector: str = "img") -> int:
    """Wait until every image matching ``selector`` on a Playwright page has loaded and
    decoded, as a reader scrolling past would see it; returns how many there are.

    Images load asynchronously, and ``loading="lazy"`` ones only once near the view, so a
    check of ``naturalWidth`` straight after a page loads races the browser. ``decode()``
    waits for the bytes and rejects (failing the test) when a PNG is broken."""
    images = page.locator(selector).all()
    for img in images:
        img.scroll_into_view_if_needed()
        img.evaluate("i => i.decode()")
        assert img.evaluate("i => i.naturalWidth") > 0, img.evaluate("i => i.src.slice(0, 80)")
    return len(images)


def fresh(page: Any) -> None:
    """Reload a Playwright page that may be refreshing itself (a waiting page reloads every
    few seconds, which can abort a reload that starts at the same moment: "Not attached
    to an active page")."""
    from playwright.sync_api import Error
    for attempt in range(5):
        try:
            page.reload()
            return
        except Error:
            if attempt == 4:
                raise

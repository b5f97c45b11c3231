"""Shared test helpers: a time limit for hangs, equality of aggregates, a fake clock."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from sim.run.aggregate import Aggregate


@contextmanager
def time_limit(seconds: float = 10.0) -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM raises TimeoutError after ``seconds``."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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

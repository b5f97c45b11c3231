"""Why long work stopped before its end, in one place for every workflow.

A run, comparison, sweep, sensitivity analysis, discovery or story search can stop early
for five reasons: Ctrl-C, SIGTERM (``docker stop``, ``timeout``, systemd), a worker process
that died (the OOM killer), a model error at run time (a probability above 1, a NaN rate),
or a failure while drawing the figures. Whatever the reason, the workflow keeps what had
finished and reports a :class:`Stop`; the front end then writes an *interrupted results
folder* (``...-partial``, manifest ``status: interrupted`` with the reason) instead of
losing the work.

Library code raises or returns these; only the command-line layer prints them or installs
the SIGTERM handler (:func:`sigterm_interrupts`).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NamedTuple

from .errors import SimError

INTERRUPTED = "interrupted"   # Ctrl-C
TERMINATED = "terminated"     # SIGTERM
WORKER_LOST = "worker-lost"   # a worker process died (killed, out of memory)
MODEL_ERROR = "model-error"   # an expression gave an impossible value at run time
PLOT_FAILED = "plot-failed"   # drawing a figure failed after the runs finished


class Stop(NamedTuple):
    """Why work stopped before its end: a ``kind`` above and a one-line ``message``."""

    kind: str
    message: str


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every interrupt path also handles it."""


class WorkerLost(SimError):
    """A worker process died (killed, out of memory) more often than retrying may mend."""


def stop_of(exc: BaseException) -> Stop:
    """The Stop describing an exception that ended work early."""
    if isinstance(exc, Terminated):
        return Stop(TERMINATED, "terminated (SIGTERM)")
    if isinstance(exc, KeyboardInterrupt):
        return Stop(INTERRUPTED, "interrupted (Ctrl-C)")
    if isinstance(exc, WorkerLost):
        return Stop(WORKER_LOST, str(exc))
    return Stop(MODEL_ERROR, str(exc))


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def leave_signals_to_parent() -> None:
    """In a worker process: ignore Ctrl-C and let SIGTERM end it quietly.

    Ctrl-C is the parent's business (it stops the workers and keeps what is done). A forked
    worker inherits the command line's SIGTERM handler, which raises :class:`Terminated`;
    when the parent ends the worker with SIGTERM that would print a traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While active, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main
    thread, so that it keeps finished work exactly as Ctrl-C does. For front ends only."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_deferred(reraise: bool = True) -> Iterator[list[Stop]]:
    """Hold Ctrl-C and SIGTERM until the block ends: for the few milliseconds in which
    finished results are written or renamed, so that an interrupt cannot leave them
    half-written. Yields the list of interrupts held (as Stops); at the end they are raised
    (``reraise``) or left to the caller. Only in the main thread; elsewhere a no-op."""
    held: list[Stop] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(stop_of(Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()))

    try:
        previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        yield held
        return
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if reraise and held:
        raise Terminated() if held[0].kind == TERMINATED else KeyboardInterrupt


class Stopped(SimError):
    """Work stopped before anything finished, so there is nothing to keep."""

    def __init__(self, stop: Stop) -> None:
        super().__init__(stop.message)
        self.stop = stop

"""The standard figures of a run as PNG bytes, drawn by worker processes started early.

Drawing five 1600x900 figures takes a few seconds of one core, and importing matplotlib
most of a second more, all after the simulation has finished. :class:`FigureWorkers`
takes the import off that path: made when a run begins, it forks one process that
imports the plotting code while the parent reads the scenario (the other core is idle
then) and then forks the other workers, which inherit the import. The workers wait on
their pipes, using no CPU, until :meth:`FigureWorkers.draw` hands them the summary; the
figures then go one at a time to whichever worker is free. The parent never imports
matplotlib. Where processes cannot be forked, or with one core, the figures are drawn in
the calling process instead; the bytes are the same either way.

Pure: no printing, no files.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import tracemalloc
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any, NamedTuple, NoReturn

from ..errors import SimError
from ..faults import leave_signals_to_parent
from ..results.summary import Summary
from ..spec.model import Model

BASE = ("rung_probabilities", "incidence", "fan_chart", "outcomes")
LOG_SCALE_BELOW = 0.05
MOST_FIGURES = len(BASE) + 1  # more workers than figures would only wait
# Ctrl-C and SIGTERM wait (blocked) while a worker is forked until it has its own handlers:
# with the parent's, which raise KeyboardInterrupt, it would run on in the parent's code.
_STOPS = {signal.SIGINT, signal.SIGTERM}


def figure_names(summary: Summary) -> list[str]:
    """Stems of the standard figures of ``summary``, in order.

    When some rung's probability is small (under 5%) yet not zero, an extra
    "incidence_log" figure shows the incidence curves on a log scale, because such curves
    vanish on a linear axis."""
    names = list(BASE)
    if any(0 < line.estimate.p < LOG_SCALE_BELOW for i, line in enumerate(summary.rungs)
           if i != summary.initial_rung):
        names.append("incidence_log")
    return names


def draw_png(name: str, summary: Summary, model: Model) -> bytes:
    """One standard figure as PNG bytes, drawn in this process."""
    from .plots import figure, png_bytes
    return png_bytes(figure(name, summary, model))


class _Failed(NamedTuple):
    """A figure whose drawing raised: re-raised in the parent."""

    error: BaseException


# -- in the worker processes ---------------------------------------------------------------
def _serve(conn: Connection) -> None:
    """A worker's loop: receive the (summary, model) once, then figure names until None;
    send back each figure's PNG bytes, or the exception that drawing it raised."""
    try:
        summary, model = pickle.loads(conn.recv_bytes())
        while (name := conn.recv()) is not None:
            try:
                result: Any = draw_png(name, summary, model)
            except Exception as exc:  # sent to the parent, which raises it
                result = _Failed(exc)
            try:
                conn.send((name, result))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                conn.send((name, _Failed(SimError(f"{type(exc).__name__}: {exc}"))))
    except (EOFError, OSError):
        return  # the parent closed the pipe (it is done, or stopped): end quietly


def _first_worker(conns: list[Connection], ours: list[Connection]) -> None:
    """The process forked when a run begins: import the plotting code, fork a worker for
    each further pipe (it inherits the import), serve the first pipe, reap the others.
    ``ours`` are the parent's ends of the pipes, inherited by the fork: closed at once, so
    that the workers see the end of their pipes when the parent closes or dies."""
    for conn in ours:
        conn.close()
    leave_signals_to_parent()
    helpers: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: _end(helpers))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)  # blocked by the parent: see _STOPS
    # Memory tracing is the parent's measurement (sim bench); inherited, it slows the
    # import and the drawing several times over.
    if tracemalloc.is_tracing():
        tracemalloc.stop()
    try:
        from . import plots  # noqa: F401 - the import this process exists to do early
        for k, conn in enumerate(conns[1:], start=1):
            # SIGTERM waits until the new helper is on the list (or, in the helper, until
            # it has the default action again), so that _end never misses one.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            pid = os.fork()
            if pid == 0:
                _helper(conn, conns[:k] + conns[k + 1:])
            helpers.append(pid)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            conn.close()
    except Exception:  # noqa: BLE001 - end quietly: the parent sees the closed pipes and
        _end(helpers)  # draws those figures itself, meeting the same error if it persists
    _serve(conns[0])
    for pid in helpers:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _helper(conn: Connection, others: list[Connection]) -> NoReturn:
    """A worker forked by the first one: keep only its own pipe, serve it, exit."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        for other in others:
            other.close()
        _serve(conn)
    finally:
        os._exit(0)


def _end(helpers: list[int]) -> NoReturn:
    """End the first worker and its helpers: the parent terminated it (a failure, Ctrl-C),
    or its own start failed."""
    for pid in helpers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in helpers:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    os._exit(0)


def _sent(conn: Connection, message: Any, raw: bool = False) -> bool:
    """Whether ``message`` reached the worker (False: the worker is gone)."""
    try:
        if raw:
            conn.send_bytes(message)
        else:
            conn.send(message)
    except OSError:  # BrokenPipeError
        return False
    return True


# -- in the parent -------------------------------------------------------------------------
class FigureWorkers:
    """Up to ``processes`` processes that draw a run's standard figures, started before
    the run so that their import of matplotlib overlaps reading the scenario.

    Use as a context manager around the whole run: leaving it ends the workers (at once
    after a failure or Ctrl-C; the workers themselves ignore Ctrl-C). With ``processes``
    at most 1, or where processes cannot be forked, nothing is started and :meth:`draw`
    draws in this process; so it does whatever a worker that died left undrawn."""

    def __init__(self, processes: int) -> None:
        self._conns: list[Connection] = []
        self._first: Any = None  # the first worker's multiprocessing.Process
        self._done = False  # the workers were told to end after drawing
        if processes <= 1 or "fork" not in mp.get_all_start_methods():
            return
        ctx: Any = mp.get_context("fork")
        pipes = [ctx.Pipe() for _ in range(min(processes, MOST_FIGURES))]
        first = ctx.Process(target=_first_worker, daemon=True,
                            args=([c for _p, c in pipes], [p for p, _c in pipes]))
        try:  # a Ctrl-C arriving when the signals are unblocked still ends the worker
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
            try:
                first.start()
                self._first = first
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            for ours, theirs in pipes:
                theirs.close()  # only the workers hold these: a worker's end shows as EOF
                self._conns.append(ours)
        except BaseException:
            for ours, _theirs in pipes:
                ours.close()
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """The first worker's process id (the others are its children); None when the
        figures are drawn in this process."""
        return None if self._first is None else int(self._first.pid)

    def __enter__(self) -> FigureWorkers:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def draw(self, summary: Summary, model: Model) -> dict[str, bytes]:
        """Every standard figure of ``summary`` as PNG bytes, keyed by stem, in order
        (once: the workers end afterwards). Raises what drawing a figure raised."""
        names = figure_names(summary)
        images = self._in_workers(names, summary, model) if self._conns else {}
        for name in names:
            if name not in images:
                images[name] = draw_png(name, summary, model)
        for conn in self._conns:
            _sent(conn, None)
        self._done = True
        return {name: images[name] for name in names}

    def _in_workers(self, names: list[str], summary: Summary, model: Model
                    ) -> dict[str, bytes]:
        """The figures the workers drew, each given to whichever worker is free; those of
        a worker that died are given to another (or left to the caller if none is left)."""
        try:
            job = pickle.dumps((summary, model), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return {}  # a model that does not pickle: drawn in this process
        idle = [conn for conn in self._conns if _sent(conn, job, raw=True)]
        todo = list(reversed(names))
        busy: dict[Connection, str] = {}
        images: dict[str, bytes] = {}
        while busy or (todo and idle):
            while todo and idle:
                conn, name = idle.pop(), todo.pop()
                if _sent(conn, name):
                    busy[conn] = name
                else:
                    todo.append(name)
            for ready in wait(list(busy)):
                assert isinstance(ready, Connection)
                name = busy.pop(ready)
                try:
                    _name, result = ready.recv()
                except (EOFError, OSError):  # killed while drawing (out of memory?)
                    todo.append(name)
                    continue
                if isinstance(result, _Failed):
                    raise result.error
                images[name] = result
                idle.append(ready)
        return images

    def close(self) -> None:
        """End the workers: they end on their own once told they are done; otherwise
        (drawing failed, was interrupted, or never happened) they are terminated."""
        for conn in self._conns:
            conn.close()
        self._conns = []
        if self._first is None:
            return
        if not self._done:
            self._first.terminate()
        self._first.join(5)
        if self._first.is_alive():
            self._first.kill()
            self._first.join()
        self._first = None


def standard_pngs(summary: Summary, model: Model, processes: int = 2) -> dict[str, bytes]:
    """Every standard figure as PNG bytes, keyed by stem, drawn by up to ``processes``
    forked processes started now (in this process where they cannot be forked)."""
    with FigureWorkers(min(processes, len(figure_names(summary)))) as workers:
        return workers.draw(summary, model)

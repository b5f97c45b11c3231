"""Worker processes for chunks of replications, that notice when one of them dies.

``multiprocessing.Pool`` waits forever for the result of a worker that was killed (by the
OOM killer, ``kill -9``, a crash in a C extension). Here each worker has its own pipe and
the parent waits on the pipes *and* the processes' sentinels, so a death is seen at once;
the lost chunk is handed to a fresh worker (chunks are deterministic, so the results are
unchanged), and a chunk that keeps killing its worker ends the work with
:class:`~sim.faults.WorkerLost`, keeping every chunk merged before it.

Results are handed to ``take`` in chunk order; at most ``2 * workers`` chunks are running
or waiting to be taken, so memory stays bounded whatever the run count.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple

from ..errors import SimError
from ..faults import WorkerLost, leave_signals_to_parent

RETRIES = 2  # a chunk may lose its worker this often and still be retried


class _Job(NamedTuple):
    number: int
    bounds: tuple[int, int]


class _Failed(NamedTuple):
    """A chunk whose task raised: re-raised in the parent when its turn comes."""

    error: BaseException


def _serve(task: Callable[[int, int], Any], conn: Connection) -> None:
    """A worker's loop: receive a job, send back its result or its exception."""
    leave_signals_to_parent()
    # Memory tracing is the parent's measurement (sim bench): a forked worker inherits it
    # and would run several times slower for nothing.
    if tracemalloc.is_tracing():
        tracemalloc.stop()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            result: Any = task(*job.bounds)
        except Exception as exc:  # sent to the parent, which raises it in chunk order
            result = _Failed(exc)
        try:
            conn.send((job.number, result))
        except Exception as exc:  # an exception that does not pickle: send its text
            conn.send((job.number, _Failed(SimError(f"{type(exc).__name__}: {exc}"))))


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exited with status {exitcode}"


class _Worker:
    def __init__(self, ctx: Any, task: Callable[[int, int], Any]) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(task, child), daemon=True)
        self.process.start()
        child.close()
        self.job: _Job | None = None

    def give(self, job: _Job) -> None:
        self.job = job  # set first: if the send fails, the death requeues the job
        self.conn.send(job)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        self.conn.close()


class _Jobs:
    """The chunks still to hand out: lost ones first (in order), then the rest."""

    def __init__(self, chunks: Iterable[tuple[int, int]]) -> None:
        self.fresh: Iterator[_Job] = (_Job(i, b) for i, b in enumerate(chunks))
        self.ahead: _Job | None = None
        self.retry: deque[_Job] = deque()

    def next(self, window: int) -> _Job | None:
        """The next job, if any whose index is below ``window``."""
        if self.retry:
            return self.retry.popleft()
        if self.ahead is None:
            self.ahead = next(self.fresh, None)
        job = self.ahead
        if job is None or job.number >= window:
            return None
        self.ahead = None
        return job


def run_pool(task: Callable[[int, int], Any], chunks: Iterable[tuple[int, int]],
             workers: int, take: Callable[[Any], bool]) -> None:
    """Run ``task(start, stop)`` for every chunk on ``workers`` processes; feed the results
    to ``take`` in chunk order until it returns True. Raises what a task raised (in chunk
    order) and WorkerLost when a chunk lost its worker more than RETRIES times."""
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    jobs = _Jobs(chunks)
    losses: dict[int, int] = {}
    finished: dict[int, Any] = {}
    pool: list[_Worker] = []
    nxt = 0  # the next chunk to take
    try:
        while True:
            pool[:] = [w for w in pool if w.job is not None or w.process.is_alive()]
            _dispatch(pool, workers, lambda: _Worker(ctx, task), jobs, nxt + 2 * workers)
            busy = [w for w in pool if w.job is not None]
            if not busy and nxt not in finished:
                return
            if busy:
                _collect(busy, finished, jobs.retry, losses)
            while nxt in finished:
                part = finished.pop(nxt)
                if isinstance(part, _Failed):
                    raise part.error
                nxt += 1
                if take(part):
                    return
    finally:
        for worker in pool:
            worker.stop()


def _dispatch(pool: list[_Worker], workers: int, spawn: Callable[[], _Worker], jobs: _Jobs,
              window: int) -> None:
    """Give a job to every idle worker (starting workers as needed) within the window."""
    while True:
        idle = next((w for w in pool if w.job is None), None)
        if idle is None and len(pool) >= workers:
            return
        job = jobs.next(window)
        if job is None:
            return
        if idle is None:
            idle = spawn()
            pool.append(idle)
        # If it died while idle, the send fails; _collect sees the death on its sentinel
        # and requeues the job.
        with contextlib.suppress(OSError):
            idle.give(job)


def _collect(busy: list[_Worker], finished: dict[int, Any], retry: deque[_Job],
             losses: dict[int, int]) -> None:
    """Wait for a result or a death; file results, requeue the chunks of dead workers."""
    ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
    for worker in busy:
        job = worker.job
        assert job is not None
        if worker.conn in ready or worker.conn.poll():
            try:
                index, result = worker.conn.recv()
            except (EOFError, OSError):
                pass  # died while sending: handled as a death below
            else:
                finished[index] = result
                worker.job = None
                continue
        if worker.process.sentinel not in ready:
            continue
        worker.process.join()
        worker.job = None
        losses[job.number] = losses.get(job.number, 0) + 1
        start, stop = job.bounds
        if losses[job.number] > RETRIES:  # raised when its turn comes, as a task's error
            finished[job.number] = _Failed(WorkerLost(
                f"a worker process died {losses[job.number]} times running replications "
                f"{start}-{stop - 1} (last {_death(worker.process.exitcode)}); stopped there"))
        else:
            retry.appendleft(job)

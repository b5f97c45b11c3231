"""Monte Carlo runner: replications in fixed chunks, across worker processes.

Replication i always uses the random streams of (seed, i), and chunks are fixed ranges of
replications merged in chunk order, so results are identical for any number of workers.
Only a bounded window of chunks is in flight, so memory does not grow with the run count.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..results.aggregate import Aggregate
from ..spec.model import Model
from .engine import Plan
from .record import Record

CHUNK = 200

Progress = Callable[[int, int], None]
Sink = Callable[[list[Record]], None]
StopRule = Callable[[Aggregate], bool]


@dataclass
class RunResult:
    """The merged aggregate of a run and how the run went."""

    model: Model
    aggregate: Aggregate
    seed: int
    requested: int
    elapsed: float
    workers: int
    interrupted: bool = False
    stopped_early: bool = False

    @property
    def runs(self) -> int:
        """Replications actually completed and merged."""
        return self.aggregate.n


def simulate_chunk(plan: Plan, seed: int, start: int, stop: int,
                   keep: bool) -> tuple[Aggregate, list[Record]]:
    """Run replications [start, stop) and fold them into a fresh aggregate."""
    records = [plan.run(seed, i) for i in range(start, stop)]
    agg = Aggregate.for_model(plan.model)
    agg.add(records)
    return agg, records if keep else []


class ChunkTask(Protocol):
    """Work on a range of replications; must pickle (it is sent to workers once)."""

    def __call__(self, start: int, stop: int) -> Any: ...


class SimulateTask:
    """The task of a plain run: simulate a chunk, aggregate it, maybe keep its records."""

    def __init__(self, model: Model, seed: int, keep: bool) -> None:
        self.model, self.seed, self.keep = model, seed, keep
        self._plan: Plan | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plan": None}

    def __call__(self, start: int, stop: int) -> tuple[Aggregate, list[Record]]:
        if self._plan is None:
            self._plan = Plan(self.model)
        return simulate_chunk(self._plan, self.seed, start, stop, self.keep)


_TASK: ChunkTask | None = None


def _init_worker(task: ChunkTask) -> None:
    # Ctrl-C is the parent's business: it stops the pool and keeps what is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _TASK
    _TASK = task


def _work(bounds: tuple[int, int]) -> Any:
    assert _TASK is not None
    return _TASK(*bounds)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _chunks(total: int, chunk: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, chunk):
        yield start, min(total, start + chunk)


def run(model: Model, runs: int, seed: int, workers: int | None = None, *,
        progress: Progress | None = None, sink: Sink | None = None,
        stop_when: StopRule | None = None, chunk: int = CHUNK,
        scheduler: str | None = None) -> RunResult:
    """Run up to ``runs`` replications; ``stop_when`` may end the run early (checked
    after each chunk, in order, so the stopping point is the same for any worker count)."""
    workers = default_workers() if workers is None else max(1, workers)
    agg = Aggregate.for_model(model)
    began = time.perf_counter()
    result = RunResult(model, agg, seed, runs, 0.0, workers)
    keep = sink is not None

    def take(part: tuple[Aggregate, list[Record]]) -> bool:
        part_agg, records = part
        agg.merge(part_agg)
        if sink is not None:
            sink(records)
        if progress is not None:
            progress(agg.n, runs)
        if stop_when is not None and agg.n < runs and stop_when(agg):
            result.stopped_early = True
            return True
        return False

    result.interrupted = map_chunks(SimulateTask(model, seed, keep), runs, workers, take,
                                    chunk, scheduler)
    result.elapsed = time.perf_counter() - began
    return result


def map_chunks(task: ChunkTask, runs: int, workers: int, take: Callable[[Any], bool],
               chunk: int = CHUNK, scheduler: str | None = None) -> bool:
    """Feed ``task``'s chunk results, in chunk order, to ``take`` until it returns True or
    the runs are done. Returns True if interrupted by Ctrl-C (what was taken is kept).

    With ``scheduler`` (a Dask distributed address) the chunks run on that cluster;
    the chunks and their merge order are the same, so the results are too.
    """
    try:
        if scheduler is not None:
            from .dask_backend import run_on_dask
            run_on_dask(task, _chunks(runs, chunk), scheduler, take)
        elif workers == 1:
            for start, stop in _chunks(runs, chunk):
                if take(task(start, stop)):
                    break
        else:
            _run_pool(task, runs, workers, chunk, take)
    except KeyboardInterrupt:
        return True
    return False


def _run_pool(task: ChunkTask, runs: int, workers: int, chunk: int,
              take: Callable[[Any], bool]) -> None:
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(task,))
    pending: deque[Any] = deque()
    todo = _chunks(runs, chunk)
    try:
        # A window of 2 chunks per worker keeps every core busy with bounded memory.
        for bounds in todo:
            pending.append(pool.apply_async(_work, (bounds,)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            if take(pending.popleft().get()):
                break
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.apply_async(_work, (nxt,)))
        pool.close()
    finally:
        pool.terminate()
        pool.join()

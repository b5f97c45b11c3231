"""Monte Carlo runner: replications in fixed chunks, across worker processes.

Replication i always uses the random streams of (seed, i), and chunks are fixed ranges of
replications merged in chunk order, so results are identical for any number of workers.
Only a bounded window of chunks is in flight, so memory does not grow with the run count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..faults import WORKER_LOST, Stop, Stopped, WorkerLost, stop_of
from ..spec.model import Model
from .aggregate import Aggregate
from .engine import ModelRuntimeError, Plan
from .pool import run_pool
from .rare import RareSums, RareTally, RareTarget
from .rare import simulate_chunk as simulate_rare_chunk
from .record import Record

CHUNK = 200

Progress = Callable[[int, int], None]
Sink = Callable[[Any], None]  # given a chunk's records, or what ``prepare`` made of them
Prepare = Callable[[list[Record]], Any]  # run in the worker (must pickle)
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
    stop: Stop | None = None
    stopped_early: bool = False

    @property
    def runs(self) -> int:
        """Replications actually completed and merged."""
        return self.aggregate.n

    @property
    def interrupted(self) -> bool:
        """True when the run stopped before its end (see ``stop`` for why)."""
        return self.stop is not None

    def complete(self) -> RunResult:
        """This result, or :class:`~sim.faults.Stopped` if the run stopped early: for work
        that needs every run and cannot use a part (a benchmark, a backtest's forecasts)."""
        if self.stop is not None:
            raise Stopped(self.stop)
        return self


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


class ChunkResult(NamedTuple):
    """What a worker sends back for one chunk."""

    aggregate: Aggregate
    records: Any  # the records if kept (or what ``prepare`` made of them), else []
    rare: list[RareSums]  # one per rare target (none without targets)


class SimulateTask:
    """The task of a plain run: simulate a chunk, aggregate it, maybe keep its records,
    and score the rare targets by conditional Monte Carlo (the records are the same)."""

    def __init__(self, model: Model, seed: int, keep: bool,
                 rare: Sequence[RareTarget] = (), prepare: Prepare | None = None) -> None:
        self.model, self.seed, self.keep, self.rare = model, seed, keep, list(rare)
        self.prepare = prepare
        self._plan: Plan | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plan": None}

    def __call__(self, start: int, stop: int) -> ChunkResult:
        if self._plan is None:
            self._plan = Plan(self.model)
        if not self.rare:
            agg, records = simulate_chunk(self._plan, self.seed, start, stop, self.keep)
            sums: list[RareSums] = []
        else:
            records, sums = simulate_rare_chunk(self._plan, self.seed, start, stop, self.rare)
            agg = Aggregate.for_model(self.model)
            agg.add(records)
        if not self.keep:
            return ChunkResult(agg, [], sums)
        return ChunkResult(agg, self.prepare(records) if self.prepare else records, sums)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def max_workers() -> int:
    """The most worker processes worth starting: two per core (at least 4). More only
    cost memory and start-up time, since replications are pure computation."""
    return max(4, 2 * default_workers())


def worker_count(requested: int | None) -> int:
    """``requested`` (default: all cores) within 1..max_workers()."""
    return default_workers() if requested is None else max(1, min(requested, max_workers()))


def _chunks(total: int, chunk: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, chunk):
        yield start, min(total, start + chunk)


def run(model: Model, runs: int, seed: int, workers: int | None = None, *,
        progress: Progress | None = None, sink: Sink | None = None,
        prepare: Prepare | None = None,
        stop_when: StopRule | None = None, chunk: int = CHUNK,
        scheduler: str | None = None, rare: RareTally | None = None) -> RunResult:
    """Run up to ``runs`` replications; ``stop_when`` may end the run early (checked
    after each chunk, in order, so the stopping point is the same for any worker count).

    ``sink`` receives each chunk's records in order, or, with ``prepare``, what
    ``prepare`` made of them in the worker (formatted rows: only they cross processes).
    With ``rare``, its targets are also scored by conditional Monte Carlo and merged into
    it chunk by chunk (before ``stop_when`` is asked); the ordinary results are unchanged.
    """
    workers = worker_count(workers)
    agg = Aggregate.for_model(model)
    began = time.perf_counter()
    result = RunResult(model, agg, seed, runs, 0.0, workers)
    keep = sink is not None

    def take(part: ChunkResult) -> bool:
        part_agg, records, sums = part
        agg.merge(part_agg)
        if rare is not None:
            rare.merge(sums)
        if sink is not None:
            sink(records)
        if progress is not None:
            progress(agg.n, runs)
        if stop_when is not None and agg.n < runs and stop_when(agg):
            result.stopped_early = True
            return True
        return False

    task = SimulateTask(model, seed, keep, rare.targets if rare is not None else (), prepare)
    result.stop = map_chunks(task, runs, workers, take, chunk, scheduler)
    result.elapsed = time.perf_counter() - began
    return result


def map_chunks(task: ChunkTask, runs: int, workers: int | None, take: Callable[[Any], bool],
               chunk: int = CHUNK, scheduler: str | None = None) -> Stop | None:
    """Feed ``task``'s chunk results, in chunk order, to ``take`` until it returns True or
    the runs are done. Returns None when all went well, else the :class:`~sim.faults.Stop`
    that ended the work early: Ctrl-C or SIGTERM, a worker that kept dying, or a model
    error at run time. What was taken is kept: every chunk before the one that failed,
    the same chunks for any number of workers.

    With ``scheduler`` (a Dask distributed address) the chunks run on that cluster;
    the chunks and their merge order are the same, so the results are too.
    """
    workers = worker_count(workers)
    try:
        if scheduler is not None:
            from .dask_backend import run_on_dask
            run_on_dask(task, _chunks(runs, chunk), scheduler, take)
        elif workers == 1 or runs <= chunk:
            for start, stop in _chunks(runs, chunk):
                if take(task(start, stop)):
                    break
        else:
            run_pool(task, _chunks(runs, chunk), min(workers, -(-runs // chunk)), take)
    except (KeyboardInterrupt, WorkerLost, ModelRuntimeError) as exc:
        return stop_of(exc)
    except MemoryError:  # here or in a worker: stop, keeping what was merged
        return Stop(WORKER_LOST, "out of memory (MemoryError) while running replications")
    return None

"""Benchmark: bare SimPy event throughput versus the model's, in the same process and run.

Reports replications/s and events/s of a scenario on one worker, the ratio to bare SimPy,
the speed-up on several workers, and the peak memory of the collecting process for
growing run counts (it must stay flat: the runner keeps only fixed-size aggregates).
Pure functions return numbers; ``format_report`` turns them into Markdown.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from . import runner
from .engine import Plan
from .model import Model


def bare_simpy(seconds: float = 1.5, processes: int = 10) -> float:
    """Events per second of a bare SimPy model: processes waiting on random timeouts.

    This is the floor cost of SimPy itself (one timeout event and one process resumption
    per event), with no model logic at all.
    """
    rng = random.Random(1)
    env = simpy.Environment()
    count = [0]

    def ticker() -> Generator[simpy.Event, Any, None]:
        expo = rng.expovariate
        while True:
            yield env.timeout(expo(1.0))
            count[0] += 1

    for _ in range(processes):
        env.process(ticker())
    began = time.perf_counter()
    horizon = 0.0
    while time.perf_counter() - began < seconds:
        horizon += 2000.0
        env.run(until=horizon)
    return count[0] / (time.perf_counter() - began)


def model_throughput(model: Model, seconds: float = 3.0, seed: int = 1,
                     plan: Plan | None = None, first: int = 0) -> tuple[float, float]:
    """(replications/s, events/s) of one worker running ``model``.

    Replications ``first``, ``first + 1``, ... are run (so successive rounds can go on
    where the last one stopped instead of repeating the same replications).
    """
    if plan is None:
        plan = Plan(model)
        plan.run(seed, 0)  # warm-up: imports, caches
    reps = events = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        rec = plan.run(seed, first + reps)
        reps += 1
        events += rec.n_events
    elapsed = time.perf_counter() - began
    return reps / elapsed, events / elapsed


@dataclass
class Throughput:
    """Bare SimPy and the model measured in alternating rounds; medians over the rounds.

    A shared virtual machine speeds up and slows down over seconds; alternating short
    rounds of each and taking the ratio within each round compares the two under the
    same conditions, and the median over rounds discards a round hit by a neighbour.
    """

    bare_events_per_s: float
    reps_per_s: float
    events_per_s: float
    ratios: list[float]

    @property
    def ratio(self) -> float:
        """Median over rounds of (model events/s) / (bare SimPy events/s)."""
        return statistics.median(self.ratios)


def paired_throughput(model: Model, seconds: float = 3.0, rounds: int = 10,
                      seed: int = 1) -> Throughput:
    """Alternate ``rounds`` rounds of bare SimPy and the model, ``seconds`` each in all."""
    plan = Plan(model)
    plan.run(seed, 0)  # warm-up: imports, caches
    share = seconds / rounds
    bare: list[float] = []
    reps: list[float] = []
    events: list[float] = []
    done = 0
    for _ in range(rounds):
        bare.append(bare_simpy(share))
        r, e = model_throughput(model, share, seed, plan, first=done)
        done += max(1, int(r * share))
        reps.append(r)
        events.append(e)
    return Throughput(statistics.median(bare), statistics.median(reps),
                      statistics.median(events), [e / b for e, b in zip(events, bare,
                                                                          strict=True)])


def speedup(model: Model, runs: int, workers: int, seed: int = 1) -> tuple[float, float]:
    """(seconds on 1 worker, seconds on ``workers``) for the same runs, results merged."""
    one = runner.run(model, runs, seed, 1)
    many = runner.run(model, runs, seed, workers)
    return one.elapsed, many.elapsed


def peak_memory(model: Model, runs: int, workers: int, seed: int = 1) -> float:
    """Peak traced memory (MiB) of the collecting process during a run of ``runs``."""
    tracemalloc.start()
    runner.run(model, runs, seed, workers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


@dataclass
class BenchResult:
    """Everything the benchmark measured."""

    scenario: str
    machine: str
    bare_events_per_s: float
    reps_per_s: float
    events_per_s: float
    workers: int
    one_worker_s: float
    many_workers_s: float
    speed_runs: int
    memory: list[tuple[int, float]] = field(default_factory=list)
    memory_scenario: str = ""
    ratios: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Model events/s as a share of bare SimPy events/s (median of paired rounds)."""
        if self.ratios:
            return statistics.median(self.ratios)
        return self.events_per_s / self.bare_events_per_s

    @property
    def speedup(self) -> float:
        """Wall-time speed-up of ``workers`` over one worker."""
        return self.one_worker_s / self.many_workers_s


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SimPy {simpy.__version__}")


def run_bench(model: Model, memory_model: Model, seconds: float = 3.0, workers: int = 2,
              speed_runs: int = 4000, memory_runs: tuple[int, ...] = (10_000, 100_000),
              rounds: int = 10) -> BenchResult:
    """Measure everything in one process, one after the other."""
    tp = paired_throughput(model, seconds, rounds)
    one, many = speedup(model, speed_runs, workers)
    memory = [(n, peak_memory(memory_model, n, workers)) for n in memory_runs]
    return BenchResult(model.id, machine(), tp.bare_events_per_s, tp.reps_per_s,
                       tp.events_per_s, workers, one, many, speed_runs, memory,
                       memory_model.id, tp.ratios)


def format_report(r: BenchResult) -> str:
    """Markdown report of a benchmark run."""
    spread = (f"; {len(r.ratios)} paired rounds: {min(r.ratios):.0%} to {max(r.ratios):.0%}"
              if len(r.ratios) > 1 else "")
    lines = [
        f"Machine: {r.machine}",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| bare SimPy events/s (same run) | {r.bare_events_per_s:,.0f} |",
        f"| `{r.scenario}` replications/s, 1 worker | {r.reps_per_s:,.0f} |",
        f"| `{r.scenario}` events/s, 1 worker | {r.events_per_s:,.0f} |",
        f"| model events/s as share of bare SimPy | {r.ratio:.0%} (target >= 30%){spread} |",
        f"| {r.speed_runs} runs: 1 worker / {r.workers} workers | {r.one_worker_s:.2f} s / "
        f"{r.many_workers_s:.2f} s |",
        f"| speed-up on {r.workers} workers | {r.speedup:.2f}x (target >= 1.8x) |",
    ]
    for n, mib in r.memory:
        lines.append(f"| peak memory of the collecting process, {n:,} runs of "
                     f"`{r.memory_scenario}` | {mib:.1f} MiB |")
    return "\n".join(lines)

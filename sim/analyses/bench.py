"""Benchmark: bare SimPy event throughput versus the model's, in the same process and run.

Reports replications/s and events/s of a scenario on one worker, the ratio to bare SimPy,
the speed-up on several workers, and the peak memory of the collecting process for
growing run counts (it must stay flat: the runner keeps only fixed-size aggregates).
Pure functions return numbers; ``format_report`` turns them into Markdown.
"""

from __future__ import annotations

import math
import os
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from ..results.stats import Z95
from ..run import runner
from ..run.engine import Plan
from ..run.rare import RareTally, RareTarget, Scoring, rare_target
from ..spec.model import Model

# The defaults of `sim bench` (here once; the API and the command line use them). Chosen
# so that the whole benchmark takes under a minute on an idle 2-core machine while each
# figure still rests on several paired rounds: the memory check needs only a tenfold
# growth of the run count to show that memory stays flat.
SECONDS = 3.0
ROUNDS = 10
WORKERS = 2
REPEATS = 3
SPEED_RUNS = 1200
MEMORY_RUNS = (2_000, 20_000)
RARE_RUNS = 4000
# The cost of a conditional run: rounds of replications timed plain and with each rare
# target (the same replications every way), 1,200 per way in all (about 11 s).
RARE_ROUNDS = 16
RARE_PER_ROUND = 75


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
                     plan: Plan | None = None, first: int = 0) -> tuple[float, float, int]:
    """(replications/s, events/s, replications run) of one worker running ``model``.

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
    return reps / elapsed, events / elapsed, reps


@dataclass
class Throughput:
    """Bare SimPy and the model measured in alternating rounds.

    A shared virtual machine speeds up and slows down over seconds; alternating short
    rounds of each and taking the ratio within each round compares the two under the
    same conditions, and the median round discards rounds hit by a neighbour. The rates
    reported are those of the median round, so that they agree with the ratio.
    """

    bare_events_per_s: float
    reps_per_s: float
    events_per_s: float
    ratios: list[float]

    @property
    def ratio(self) -> float:
        """(model events/s) / (bare SimPy events/s) in the median round."""
        return statistics.median_low(self.ratios)


def _median_index(values: list[float]) -> int:
    """Index of the (lower) median of ``values``: a real round, not an average of two."""
    return values.index(statistics.median_low(values))


def paired_throughput(model: Model, seconds: float = 3.0, rounds: int = 10,
                      seed: int = 1) -> Throughput:
    """Alternate ``rounds`` rounds of bare SimPy and the model, ``seconds`` each in all.

    The order within a round alternates too (bare first, then model first), so that
    neither always runs right after the other.
    """
    plan = Plan(model)
    plan.run(seed, 0)  # warm-up: imports, caches
    share = seconds / rounds
    bare: list[float] = []
    model_rates: list[tuple[float, float]] = []
    done = 1
    for k in range(rounds):
        if k % 2 == 0:
            bare.append(bare_simpy(share))
        r, e, n = model_throughput(model, share, seed, plan, first=done)
        done += n
        model_rates.append((r, e))
        if k % 2 == 1:
            bare.append(bare_simpy(share))
    ratios = [e / b for (_, e), b in zip(model_rates, bare, strict=True)]
    mid = _median_index(ratios)
    return Throughput(bare[mid], model_rates[mid][0], model_rates[mid][1], ratios)


def speedup(model: Model, runs: int, workers: int, seed: int = 1,
            repeats: int = 3) -> tuple[float, float, list[float]]:
    """(seconds on 1 worker, on ``workers``, every pair's speed-up) for ``runs``.

    The two are timed in ``repeats`` pairs, in alternating order, for the same reason as
    the throughput rounds; the seconds returned are those of the median pair.
    """
    pairs: list[tuple[float, float]] = []
    for k in range(repeats):
        if k % 2 == 0:
            one = runner.run(model, runs, seed, 1).complete().elapsed
            many = runner.run(model, runs, seed, workers).complete().elapsed
        else:
            many = runner.run(model, runs, seed, workers).complete().elapsed
            one = runner.run(model, runs, seed, 1).complete().elapsed
        pairs.append((one, many))
    ratios = [one / many for one, many in pairs]
    mid = _median_index(ratios)
    return pairs[mid][0], pairs[mid][1], ratios


def solo_seconds(model: Model, runs: int, seed: int = 1, repeats: int = 3) -> float:
    """Seconds for ``runs`` on one worker, the median of ``repeats`` timings.

    What is measured instead of :func:`speedup` on one worker: there is nothing running in
    parallel to compare with, and timing one worker against itself would only show noise.
    """
    times = [runner.run(model, runs, seed, 1).complete().elapsed for _ in range(repeats)]
    return statistics.median_low(times)


def peak_memory(model: Model, runs: int, workers: int, seed: int = 1) -> float:
    """Peak traced memory (MiB) of the collecting process during a run of ``runs``."""
    tracemalloc.start()
    runner.run(model, runs, seed, workers).complete()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


RELATIVE = 0.10  # the rare-event figures: time to a 95% half-width of 10% of the estimate
# Targets of the flagship's rare outcomes (conditional Monte Carlo over plain counting).
RARE_TARGETS = {"nuclear_use": 20.0, "strategic_exchange": 5.0}


@dataclass
class RareFigure:
    """Time to a relative precision for one rare outcome: plain counting vs conditional
    Monte Carlo, both from measurements of this run."""

    id: str
    name: str
    p: float  # the conditional estimate (the more precise one)
    variance_ratio: float  # p(1-p) over the conditional scores' variance
    runs: int  # replications the variance was estimated from
    crude_s_per_run: float  # one worker, total time over all rounds / replications
    rare_s_per_run: float
    time_ratios: list[float]  # rare/crude time of each round (their spread)
    # Each round's (plain, conditional) seconds, for the interval of the cost.
    round_seconds: list[tuple[float, float]] = field(default_factory=list)

    @property
    def overhead(self) -> float:
        """Conditional time per run over plain time per run: total over total (see
        :func:`rare_figures` for why not a median of rounds)."""
        return self.rare_s_per_run / self.crude_s_per_run

    @property
    def overhead_half_width(self) -> float:
        """Half-width of a 95% interval of :attr:`overhead` from the spread of the rounds
        (a ratio estimator's standard error); NaN with fewer than 2 rounds."""
        k = len(self.round_seconds)
        if k < 2:
            return math.nan
        cost = self.overhead
        plain = sum(c for c, _ in self.round_seconds) / k
        spread = sum((r - cost * c) ** 2 for c, r in self.round_seconds) / (k - 1)
        return Z95 * math.sqrt(spread / k) / plain

    def runs_needed(self, rare: bool) -> float:
        """Replications for a 95% half-width of RELATIVE x p."""
        crude = Z95 * Z95 * (1 - self.p) / (RELATIVE * RELATIVE * self.p)
        return crude / self.variance_ratio if rare else crude

    def seconds(self, rare: bool) -> float:
        """One worker's seconds to that precision."""
        per_run = self.rare_s_per_run if rare else self.crude_s_per_run
        return self.runs_needed(rare) * per_run

    @property
    def gain(self) -> float:
        """How many times faster conditional Monte Carlo gets there."""
        return self.variance_ratio / self.overhead


def rare_figures(model: Model, outcomes: Sequence[str], runs: int, workers: int,
                 rounds: int = RARE_ROUNDS, per_round: int = RARE_PER_ROUND,
                 seed: int = 1) -> list[RareFigure]:
    """Variance ratios from ``runs`` replications on ``workers`` workers, and the cost of
    a conditional replication against a plain one, timed on one worker in ``rounds``
    rounds of ``per_round`` fresh replications, each round running the same
    replications plainly and with each target's conditional Monte Carlo.

    The cost is total conditional time over total plain time: time to a precision is
    the runs needed times the *mean* time per run, and a conditional run's mean includes
    the costly re-runs (a replication where the outcome happened runs a second time,
    suppressed) as often as they happen. A median of per-round ratios, as measured before,
    dropped the rounds that held more re-runs, and swung by a fifth from run to run. The
    order of the ways rotates from round to round, so that a drift of the machine's speed
    falls on all of them alike."""
    targets = [rare_target(model, o) for o in outcomes]
    tally = RareTally(targets)
    runner.run(model, runs, seed, workers, rare=tally)
    plan = Plan(model)
    plan.run(seed, 0)  # warm-up
    ways = len(targets) + 1  # way 0 plain, way t + 1 target t
    seconds = [[0.0] * rounds for _ in range(ways)]
    for k in range(rounds):
        span = range(runs + k * per_round, runs + (k + 1) * per_round)  # fresh ones
        for way in [*range(k % ways, ways), *range(k % ways)]:
            seconds[way][k] = _time_plain(plan, seed, span) if way == 0 else \
                _time_rare(plan, seed, span, targets[way - 1])
    plain, n = seconds[0], rounds * per_round
    out = []
    for target, est, rare in zip(targets, tally.estimates(), seconds[1:], strict=True):
        out.append(RareFigure(target.id, target.name, est.p, est.variance_ratio, est.runs,
                              sum(plain) / n, sum(rare) / n,
                              [r / c for r, c in zip(rare, plain, strict=True)],
                              list(zip(plain, rare, strict=True))))
    return out


def _time_plain(plan: Plan, seed: int, span: range) -> float:
    began = time.perf_counter()
    for i in span:
        plan.run(seed, i)
    return time.perf_counter() - began


def _time_rare(plan: Plan, seed: int, span: range, target: RareTarget) -> float:
    began = time.perf_counter()
    scoring = Scoring(plan, [target])  # timed: the runner prepares one per chunk
    for i in span:
        scoring.replicate(seed, i)
    return time.perf_counter() - began


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
    many_workers_s: float | None  # None on one worker: nothing ran in parallel
    speed_runs: int
    memory: list[tuple[int, float]] = field(default_factory=list)
    memory_scenario: str = ""
    ratios: list[float] = field(default_factory=list)
    speedups: list[float] = field(default_factory=list)
    rare: list[RareFigure] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Model events/s as a share of bare SimPy events/s (the median paired round)."""
        if self.ratios:
            return statistics.median_low(self.ratios)
        return self.events_per_s / self.bare_events_per_s

    @property
    def speedup(self) -> float | None:
        """Wall-time speed-up of ``workers`` over one worker (the median paired timing);
        None on one worker, where there is no parallel speed-up to measure."""
        if self.many_workers_s is None:
            return None
        if self.speedups:
            return statistics.median_low(self.speedups)
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


def run_bench(model: Model, memory_model: Model, seconds: float = SECONDS,
              workers: int = WORKERS, speed_runs: int = SPEED_RUNS,
              memory_runs: tuple[int, ...] = MEMORY_RUNS, rounds: int = ROUNDS,
              repeats: int = REPEATS, rare: Sequence[str] = (),
              rare_runs: int = RARE_RUNS) -> BenchResult:
    """Measure everything in one process, one after the other."""
    tp = paired_throughput(model, seconds, rounds)
    many: float | None
    if workers > 1:
        one, many, speedups = speedup(model, speed_runs, workers, repeats=repeats)
    else:  # nothing runs in parallel: time the one worker, report no speed-up
        one, many, speedups = solo_seconds(model, speed_runs, repeats=repeats), None, []
    memory = [(n, peak_memory(memory_model, n, workers)) for n in memory_runs]
    figures = rare_figures(model, rare, rare_runs, workers) if rare else []
    return BenchResult(model.id, machine(), tp.bare_events_per_s, tp.reps_per_s,
                       tp.events_per_s, workers, one, many, speed_runs, memory,
                       memory_model.id, tp.ratios, speedups, figures)


def format_report(r: BenchResult) -> str:
    """Markdown report of a benchmark run."""
    spread = (f"; {len(r.ratios)} paired rounds: {min(r.ratios):.0%} to {max(r.ratios):.0%}"
              if len(r.ratios) > 1 else "")
    median_round = f" (median of {len(r.ratios)} rounds)" if len(r.ratios) > 1 else ""
    lines = [
        f"Machine: {r.machine}",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| bare SimPy events/s (same run){median_round} | {r.bare_events_per_s:,.0f} |",
        f"| `{r.scenario}` replications/s, 1 worker{median_round} | {r.reps_per_s:,.0f} |",
        f"| `{r.scenario}` events/s, 1 worker{median_round} | {r.events_per_s:,.0f} |",
        f"| model events/s as share of bare SimPy | {r.ratio:.0%} (target >= 30%){spread} |",
        *_speed_rows(r),
    ]
    for n, mib in r.memory:
        lines.append(f"| peak memory of the collecting process, {n:,} runs of "
                     f"`{r.memory_scenario}` | {mib:.1f} MiB |")
    if r.rare:
        lines += ["", rare_report(r.rare)]
    return "\n".join(lines)


def _speed_rows(r: BenchResult) -> list[str]:
    """The timing and speed-up rows; on one worker only its time, and why no speed-up."""
    if r.many_workers_s is None:
        return [f"| {r.speed_runs} runs on 1 worker | {r.one_worker_s:.2f} s |",
                "| speed-up on several workers | not measured: on one worker nothing runs "
                "in parallel |"]
    median = f" (median of {len(r.speedups)} pairs)" if len(r.speedups) > 1 else ""
    pairs = (f"; {len(r.speedups)} paired timings: {min(r.speedups):.2f}x to "
             f"{max(r.speedups):.2f}x" if len(r.speedups) > 1 else "")
    return [f"| {r.speed_runs} runs: 1 worker / {r.workers} workers{median} | "
            f"{r.one_worker_s:.2f} s / {r.many_workers_s:.2f} s |",
            f"| speed-up on {r.workers} workers | {r.speedup:.2f}x (target >= 1.8x){pairs} |"]


def rare_report(figures: Sequence[RareFigure]) -> str:
    """Markdown table: time to a 95% half-width of 10% of the estimate, both ways."""
    header = (f"| rare outcome (`--rare`) | P | plain runs to ±{RELATIVE:.0%} | conditional "
              f"runs to ±{RELATIVE:.0%} | variance ratio | cost per run | time, plain / "
              "conditional (1 worker) | faster |")
    lines = [header, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        target = RARE_TARGETS.get(f.id)
        verdict = "" if target is None else \
            f" (target >= {target:.0f}x: {'met' if f.gain >= target else 'NOT met'})"
        lines.append(
            f"| {f.name} | {f.p:.3%} | {f.runs_needed(False):,.0f} | "
            f"{f.runs_needed(True):,.0f} | {f.variance_ratio:.1f}x ({f.runs:,} runs) | "
            f"{_cost(f)} | {_duration(f.seconds(False))} / "
            f"{_duration(f.seconds(True))} | {f.gain:.1f}x{verdict} |")
    return "\n".join(lines)


def _cost(f: RareFigure) -> str:
    """The cost per run with its interval and the spread of the rounds."""
    rounds = len(f.time_ratios)
    interval = "" if math.isnan(f.overhead_half_width) else f" ± {f.overhead_half_width:.2f}"
    spread = f"; rounds {min(f.time_ratios):.2f} to {max(f.time_ratios):.2f}" \
        if rounds > 1 else ""
    return f"{f.overhead:.2f}x{interval} (total over {rounds} rounds{spread})"


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


PAGE = """# Performance

Produced by `{command}` on {stamp}. Rerun it to refresh this page; numbers
depend on the machine, so compare ratios, not raw rates.

{table}

How to read it:
- *bare SimPy events/s* is SimPy's own floor in its idiomatic form: generator processes
  waiting on random timeouts, with no model logic. (The engine's rate clocks and cadence
  ticks are timeouts with callbacks, which skip the process resumption bare SimPy pays.)
- *model events/s* counts the SimPy events the engine schedules (rate clocks, rule
  responses, cadence ticks, scheduled events); the ratio is the model's efficiency
  relative to SimPy itself. Bare SimPy and the model run in alternating short rounds and
  the ratio is the median of the rounds' ratios: this machine's speed drifts by a fifth or
  more over seconds (a shared virtual machine), and pairing the two measurements in time
  keeps that drift out of the ratio. The spread of the rounds is shown beside it.
- *speed-up* compares the same replications on 1 and N worker processes (results are
  identical by construction; see docs/design.md), timed in alternating pairs; the median
  pair is reported, the range beside it. It includes starting the worker processes.
- *peak memory* is the collecting process's traced peak (tracemalloc) for growing run
  counts: it stays flat because the runner merges fixed-size aggregates and never keeps
  records (the per-replication CSV is streamed to disk chunk by chunk). The workers do
  not inherit the tracing (it made them several times slower).

## Rare outcomes in seconds (`--rare`)

The second table answers: how long until the estimate of a rare outcome is within ±10% of
itself (95% interval), by counting runs ("plain") and with `sim run --rare` ("conditional")?

*The method, without jargon.* Counting asks every simulated year "did nuclear use happen?"
and almost always hears "no": at 2% only one run in fifty says anything, at 0.2% one in
five hundred, so the count jumps about and needs a huge number of runs to settle. The
nuclear step of the flagship is a small daily hazard that only exists while Russia is on
nuclear alert. Instead of waiting for that dice roll to come up, `--rare` runs the year
with the roll switched off and adds up, day by day, the chance that it *would* have come
up: each run then reports a probability (say 1.3%, or 0.02% in a calm run) instead of a
yes or a no. The average of those probabilities is exactly the probability of the outcome
(nothing is approximated: the switched-off roll draws from its own random numbers, so the
rest of the run is the run that would have happened), but it varies far less from run to
run. The same is done for a rule's delayed response (the strategic exchange follows a
tactical strike with probability `p_strategic`, within a delay), and uncertain numbers
that only the switched-off step reads (`tac_hazard`, `clash_multiplier`, `china_weight`,
`p_strategic`) are averaged over their whole range rather than taken at one drawn value.

*Reading the columns.* "plain runs" and "conditional runs" are the replications each
method needs for ±10%; their ratio is the *variance ratio*, measured on the runs shown.
A conditional run costs a little more than a plain one (it books the hazard's inputs, adds
up the probabilities, and re-runs the few replications where the outcome did happen):
"cost per run" is that factor, the total time of conditional runs over the total time of
plain runs of the same replications (1,200 each way on one worker, in 16 rounds whose order
rotates, so that the machine's drift falls on every way alike), with a 95% interval from
the spread of the rounds. Totals, not a typical round: the time to a precision is the runs
needed times their *mean* cost, which counts the re-runs as often as they happen; the
median round used before left out the rounds that held more of them and moved by a fifth
from one bench to the next. To keep the cost down, a run's probabilities are added up only
over the stretches when the hazard could fire at all (for nuclear use, while Russia is on
alert), and what is the same in every run is prepared once. "faster" is the variance ratio
over the cost: how many times sooner the conditional estimate reaches ±10%. What would
take it further is in docs/design.md ("Rare outcomes"): for the strategic exchange, forcing
the tactical strike (importance sampling) instead of waiting for it.

## Where the time goes

Profile with `pyinstrument -m sim run scenarios/atacms.yaml -n 2000 -w 1 --no-plots
--no-csv` (or `python -m cProfile -s tottime ...`). Per event, SimPy itself costs about
a microsecond (creating and scheduling a timeout, popping it, calling back); the model
adds the work that makes it a model: evaluating the compiled expressions an action touches
(its effects, the rates that read what it changed, rule probabilities, outcome
conditions), drawing from the source's own random stream, and redrawing the clocks whose
rate changed. In the flagship almost every action changes state that three or four rates
read, so an action costs about one effect evaluation, one rate evaluation and one new
clock on top of its own event.

Removed from the hot path (each change left every record bit-for-bit the same for the
same seed):
- one compiled code object per rate, its condition folded in (one `eval`, not two);
- a rate is recomputed only when a value it reads really changed, and all the rates
  reading the changed names are computed in **one** `eval` of a tuple, compiled once per
  combination of changed names on first use; all of an action's effects likewise;
- versioned clocks instead of process interrupts (one SimPy event per rate change, not
  two), and cadence ticks as callbacks instead of generator processes;
- per-action tables in one tuple (one lookup per action), rate readers by index (hashing
  frozen dataclasses cost a tenth of the run), the exponential draw inlined (the same
  arithmetic as `random.expovariate`), no `typing.cast` in callbacks (it built a generic
  alias on every event), distribution samplers resolved once per distribution;
- timeouts booked as light `Due` events through `env.schedule` (same time, priority and
  insertion order as `simpy.Timeout`, hence the same order of events), carrying what is
  due and its number (a clock's version, a tick's count) as two fields instead of a tuple;
- a triggered rule's condition and probability in **one** `eval` (`(p) if (when) else
  None`), and all the outcome conditions an action may make true likewise (a failure falls
  back to one by one, which names the expression and keeps the rule that an outcome
  already dated is never looked at again);
- the engine's tables typed as `NamedTuple`s (`Step`, `Effect`, `RuleStep`, `RateBatch`);
  effect bounds stored as finite numbers, so one chained comparison both clips
  and catches an infinite or NaN value;
- a `Replication` holds at most 29 attributes: CPython 3.11 keeps up to 29 in the compact
  shared-key layout its specialised attribute loads use, and a 30th made every `self.x`
  on the hot path slower (4% of a run, measured in instructions; a test keeps the limit);
- every expression tuple the hot path evaluates (effects, rates, rule probabilities,
  outcome conditions, choice weights, cadence conditions) is a `Program`: compiled once
  into a function that reads the variables as its globals, bound to the replication's
  namespace, and called instead of `eval` (half the cost of a call; the whitelisted
  functions are closure cells, and a check at compile time refuses any name that is not a
  variable, so nothing reaches builtins);
- `Plan.run` hands a finished run's namespace, with its programs bound, to the next run:
  the same dict with the same names, so nothing is bound again and the interpreter's
  cached lookups of the names stay valid (8% of the instructions of a run);
- each `Due` event shares a callbacks tuple its replication made once (no list and no
  bound method built per event), and a rate clock due after the horizon, which could
  never fire, is drawn but not booked (a fifth of the flagship's clocks);
- an action's effects are one generated function: it evaluates every effect first (their
  simultaneous meaning), then clips, stores and notes the names that changed, instead of a
  loop over the effects in the engine (5% of a run's instructions). A rate batch's
  function likewise returns only the rates that moved (2%), and an action's outcome
  conditions the outcomes that now hold (3%). Only checked expression texts, variable
  names, indices and float bounds are written into them; `docs/design.md` says where to
  read the generated code of a scenario;
- the hot path's zips take no `strict=` (a keyword argument makes every call to zip build
  a dict: 4%), clocks take the day from their caller instead of SimPy's `now` property
  (2%), and a cadence's tick days are tabulated once per plan instead of rounded at every
  tick (1%).

Around the simulation, the default `sim run` never imports `scipy.stats` (well over a
second at every start: the load-time range check's beta quantiles come from
`scipy.special.betaincinv`, the very function `scipy.stats.beta.ppf` calls, bit for bit),
formats `replications.csv` rows in the workers (only text crosses processes), and draws the
five figures in two forked processes. The per-replication set-up keeps its draws (one
`SeedSequence` and a Mersenne Twister seeded per random source; any other seeding would
change them, and `tests/test_pinned_results.py` pins them) but costs less: the
`SeedSequence` words of 64 consecutive replications are computed together with numpy
arrays (the same algorithm and constants, checked against numpy bit for bit; about 6
microseconds a replication instead of 40), and each stream is seeded by the C seeding
`random.Random` itself calls, without its Python-level wrapper.

## The 30% target, and the default run end to end

Counted in machine instructions (`valgrind --tool=cachegrind`, deterministic: 320
replications of `atacms` less 20, `PYTHONHASHSEED=0`, `OPENBLAS_NUM_THREADS=1`), a
replication took 9.90 million instructions at be9b211 (the code the speed issue was filed
against), 8.10 million at the start of 2 December's second session and takes 6.70 million
now: 32% fewer than be9b211. Counted in time the model now runs at about a third of bare
SimPy's event rate (the table above). What is left is SimPy's own calendar (about a sixth
of a run), seeding the Mersenne Twisters (7%; any other seeding would change the draws),
drawing the clocks and evaluating the scenario's own expressions.

The default command, `python -m sim run scenarios/atacms.yaml` (10,000 runs, 2 workers,
figures, CSV and report), is timed against be9b211 from a git worktree of that commit, on
the same scenario file, in alternating pairs on one machine. On 2 December 2026, on a
quiet machine, three pairs gave 1.82x, 1.75x and 1.85x (median 1.82x): about 12.4 s
against 22.9 s. The simulation is about 9.8 s of it. The figures cost less after the
simulation than they did: each figure keeps one renderer, so that a text is measured once
rather than at every layout pass, and the passes that measure run only the layout, not a
full draw (drawing the flagship's five figures takes 17% fewer instructions, 10.1 billion
against 12.1, and the PNGs are the same bytes). The figure processes are forked when the
run begins: the first imports matplotlib while the parent reads the scenario (on the core
the parent leaves idle), then forks the other, which inherits the import; after the
simulation only the drawing is left. What follows the simulation (figures, report, CSV
closed, folder renamed) took a median 1.85 s against 2.9 s before these two changes;
reading the scenario takes about 0.5 s. The table says whether the parallel speed-up and
the flat memory meet their targets on the machine and load of the run.
"""


def format_page(table: str, command: str, stamp: str) -> str:
    """The whole docs/performance.md page around a report table."""
    return PAGE.format(command=command, stamp=stamp, table=table)

"""Counterfactuals: variants and lever sweeps run with common random numbers.

Every model in a comparison runs replication i with the streams of (seed, i), in the same
worker, so each variant faces the same dice as the base, source by source. Differences are
then paired: the interval of a difference uses the replication-by-replication agreement
(Newcombe's paired score interval), which is much narrower than comparing two independent
runs when the lever changes only part of what happens.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError
from ..faults import Stop
from ..results.stats import Difference, Estimate, paired_difference
from ..results.summary import Summary, summarise
from ..run import runner
from ..run.aggregate import Aggregate
from ..run.engine import Plan
from ..spec.metric import Metric, happened, metrics, pick, resolve
from ..spec.model import Model
from ..spec.settings import apply_variant, parse_lever_value, parse_value, unknown


class CompareTask:
    """Runs the same replications under several models; returns aggregates and 2x2 tables."""

    def __init__(self, models: Sequence[Model], seed: int) -> None:
        self.models = list(models)
        self.seed = seed
        self.metrics = metrics(self.models[0])
        self._plans: list[Plan] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plans": None}

    def __call__(self, start: int, stop: int) -> tuple[list[Aggregate], np.ndarray]:
        if self._plans is None:
            self._plans = [Plan(m) for m in self.models]
        aggs, hits = [], []
        for plan in self._plans:
            records = [plan.run(self.seed, i) for i in range(start, stop)]
            agg = Aggregate.for_model(plan.model)
            agg.add(records)
            aggs.append(agg)
            hits.append(happened(self.metrics, records))
        base = hits[0]
        # tables[v, m] = (both, only base, only variant) over this chunk's replications.
        tables = np.zeros((len(hits), base.shape[1], 3), dtype=np.int64)
        for v, other in enumerate(hits):
            tables[v, :, 0] = (base & other).sum(axis=0)
            tables[v, :, 1] = (base & ~other).sum(axis=0)
            tables[v, :, 2] = (~base & other).sum(axis=0)
        return aggs, tables


@dataclass(frozen=True)
class Comparison:
    """Summaries of the base and each other model, and paired differences versus the base."""

    names: tuple[str, ...]
    summaries: tuple[Summary, ...]
    metrics: tuple[Metric, ...]  # rungs, then outcomes (see sim.spec.metric.metrics)
    differences: tuple[tuple[Difference, ...], ...]  # [model][metric], model 0 is the base
    runs: int
    seed: int
    elapsed: float
    stop: Stop | None = None

    @property
    def interrupted(self) -> bool:
        """True when the comparison stopped before its end (``stop`` says why)."""
        return self.stop is not None

    def difference(self, name: str, metric: str | Metric) -> Difference:
        """Paired difference (name minus base) for a metric or its id (an id naming both
        an outcome and a rung means the outcome: see sim.spec.metric.resolve)."""
        return self.differences[self.names.index(name)][self._position(metric)]

    def _position(self, metric: str | Metric) -> int:
        chosen = pick(self.metrics, metric) if isinstance(metric, str) else metric
        if chosen is None:
            raise KeyError(metric)
        return self.metrics.index(chosen)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "runs": self.runs, "seed": self.seed, "base": self.names[0],
            "models": [{
                "name": name,
                "levers": dict(s.levers),
                "differences": [{"kind": m.kind, "id": m.id, "base": d.base, "value": d.other,
                                 "difference": d.diff, "ci95": [d.low, d.high]}
                                for m, d in zip(self.metrics, diffs, strict=True)],
            } for name, s, diffs in zip(self.names, self.summaries, self.differences,
                                        strict=True)],
        }


def run_models(named: Sequence[tuple[str, Model]], runs: int, seed: int,
               workers: int | None = None, progress: runner.Progress | None = None
               ) -> Comparison:
    """Run every model on the same replications; the first one is the base."""
    names = tuple(n for n, _ in named)
    models = [m for _, m in named]
    aggs = [Aggregate.for_model(m) for m in models]
    tables = np.zeros((len(models), len(metrics(models[0])), 3), dtype=np.int64)
    began = time.perf_counter()

    def take(part: tuple[list[Aggregate], np.ndarray]) -> bool:
        part_aggs, part_tables = part
        for mine, theirs in zip(aggs, part_aggs, strict=True):
            mine.merge(theirs)
        tables[...] += part_tables
        if progress is not None:
            progress(aggs[0].n, runs)
        return False

    stop = runner.map_chunks(CompareTask(models, seed), runs, workers, take)
    n = aggs[0].n
    diffs = tuple(tuple(paired_difference(int(t[0]), int(t[1]), int(t[2]), n) for t in table)
                  for table in tables)
    return Comparison(names, tuple(summarise(m, a, name) for name, m, a
                                   in zip(names, models, aggs, strict=True)),
                      metrics(models[0]), diffs, n, seed,
                      time.perf_counter() - began, stop)


def compare_variants(model: Model, variants: Sequence[str] | None, runs: int, seed: int,
                     workers: int | None = None, progress: runner.Progress | None = None
                     ) -> Comparison:
    """The base against named variants (default: all variants of the scenario)."""
    chosen = list(variants) if variants else [v.id for v in model.variants]
    if not chosen:
        raise UsageError(f"scenario '{model.id}' defines no variants; add some under "
                         "'variants:' or sweep a lever instead")
    named = [("base", model)] + [(v, apply_variant(model, v)) for v in chosen]
    return run_models(named, runs, seed, workers, progress)


@dataclass(frozen=True)
class Axis:
    """One swept lever and its values."""

    lever: str
    values: tuple[float | bool | str, ...]


def parse_grid(model: Model, text: str) -> Axis:
    """'name=start:stop:n' (numbers), 'name=a,b,c' or 'name' alone for an on/off lever or a
    ranged lever. A parameter is pinned at each value (see Parameter.override)."""
    name, _, spec = text.partition("=")
    name = name.strip()
    if any(p.id == name for p in model.parameters):
        if not spec:
            raise UsageError(f"--grid {name} needs values: {name}=start:stop:n or "
                             f"{name}=a,b,c (each pins the parameter)")
        return Axis(name, tuple(parse_value(model, name, t).arg("value")  # type: ignore[union-attr]
                                for t in _grid_texts(name, spec)))
    try:
        lever = model.lever(name)
    except KeyError:
        raise unknown(model, name) from None
    if lever.is_choice and not spec:
        return Axis(name, lever.options)
    if lever.is_bool:
        if spec and spec.strip().lower() not in ("", "true,false", "false,true"):
            raise UsageError(f"'{name}' is on/off: give just '{name}' as its grid (sweeps "
                             "false,true)")
        return Axis(name, (False, True))
    if not spec:
        if lever.low is None or lever.high is None:
            raise UsageError(f"the grid of '{name}' needs start:stop:n (the lever has no range)")
        spec = f"{lever.low:g}:{lever.high:g}:5"
    return Axis(name, tuple(parse_lever_value(model, name, t)
                            for t in _grid_texts(name, spec)))


def _grid_texts(name: str, spec: str) -> list[str]:
    if ":" not in spec:
        return [t.strip() for t in spec.split(",") if t.strip()]
    parts = spec.split(":")
    if len(parts) != 3:
        raise UsageError(f"the grid '{name}=start:stop:n' needs three parts (got {spec!r})")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UsageError(f"the grid of '{name}': start and stop must be numbers and n a whole "
                         f"number (got {spec!r})") from None
    if not 2 <= count <= 50:
        raise UsageError(f"the grid of '{name}': n must be between 2 and 50 (got {count})")
    return [f"{v:.10g}" for v in np.linspace(start, stop, count)]


@dataclass(frozen=True)
class Sweep:
    """A metric over a grid of lever values (1 or 2 axes), with intervals."""

    axes: tuple[Axis, ...]
    metric: Metric
    p: np.ndarray
    low: np.ndarray
    high: np.ndarray
    comparison: Comparison

    def estimate(self, k: int) -> Estimate:
        """P(metric) at grid point ``k`` (row-major), as its Estimate."""
        return self.metric.line(self.comparison.summaries[k]).estimate

    @property
    def changes(self) -> tuple[Difference, ...]:
        """Paired change of the metric at each grid point against the first point, in grid
        order (row-major for two levers); the first is zero by construction."""
        m = self.comparison.metrics.index(self.metric)
        return tuple(diffs[m] for diffs in self.comparison.differences)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``change_vs_first`` holds the paired changes (same grid shape)."""
        shape = self.p.shape
        changes = self.changes
        return {"metric": self.metric.id,
                "axes": [{"lever": a.lever, "values": list(a.values)} for a in self.axes],
                "p": self.p.tolist(), "ci95_low": self.low.tolist(),
                "ci95_high": self.high.tolist(),
                "change_vs_first": {
                    "first": {a.lever: a.values[0] for a in self.axes},
                    "difference": np.reshape([d.diff for d in changes], shape).tolist(),
                    "ci95_low": np.reshape([d.low for d in changes], shape).tolist(),
                    "ci95_high": np.reshape([d.high for d in changes], shape).tolist()},
                "runs": self.comparison.runs, "seed": self.comparison.seed}


def sweep(model: Model, axes: Sequence[Axis], metric: str | Metric, runs: int, seed: int,
          workers: int | None = None, progress: runner.Progress | None = None) -> Sweep:
    """Run every grid point on the same replications and tabulate ``metric`` (a Metric or
    its id)."""
    if not 1 <= len(axes) <= 2:
        raise UsageError("a sweep takes one or two levers")
    chosen = resolve(model, metric)
    points = list(itertools.product(*[a.values for a in axes]))
    named = [(", ".join(f"{a.lever}={v}" for a, v in zip(axes, pt, strict=True)),
              model.with_values({a.lever: v for a, v in zip(axes, pt, strict=True)}))
             for pt in points]
    comp = run_models(named, runs, seed, workers, progress)
    shape = tuple(len(a.values) for a in axes)
    estimates = [chosen.line(s).estimate for s in comp.summaries]
    p = np.array([e.p for e in estimates]).reshape(shape)
    low = np.array([e.low for e in estimates]).reshape(shape)
    high = np.array([e.high for e in estimates]).reshape(shape)
    return Sweep(tuple(axes), chosen, p, low, high, comp)

"""Metrics: what an analysis measures of a run, named as objects.

A *metric* is a rung reached or an outcome that happened, by the horizon. Sweeps,
sensitivity, discovery, comparisons, rare-event estimates and precision targets all take
one by its id; this module is the one place that decides

* how an id resolves (an id naming both an outcome and a rung means the outcome),
* what the comparisons list (every rung, then every outcome),
* what "happened" means for a run (its first day is finite: the engine records the first
  day a rung was reached, see "The rung" in docs/design.md, and the first day an outcome
  held), and
* how a metric reads its value from a record, an aggregate's counts or a summary's lines.

Those objects belong to later stages; they are read here by the names they share, so this
module imports none of them. Pure: no printing, no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from ..errors import UsageError
from .expr import suggest

if TYPE_CHECKING:
    from .model import Model

RUNG = "rung"
OUTCOME = "outcome"
# How an unknown id is reported: a metric asked for as such lists every id it could be;
# an outcome named for a rare estimate or a precision target only suggests a spelling.
AS_METRIC = "metric"
AS_OUTCOME = "outcome or rung"


class Days(Protocol):
    """What a metric reads of one run (a Record, or a replication in progress): the first
    day each rung was reached and each outcome happened, ``inf`` when never."""

    @property
    def first_reach(self) -> Sequence[float]: ...

    @property
    def outcome_days(self) -> Sequence[float]: ...


class Counts(Protocol):
    """What a metric reads of many runs (an Aggregate): how many reached each rung and in
    how many each outcome happened."""

    @property
    def reached(self) -> np.ndarray: ...

    @property
    def outcome_counts(self) -> np.ndarray: ...


class Named(Protocol):
    """A rung or outcome of a model, or a line of a summary: an id and a name."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


LineT = TypeVar("LineT", bound=Named, covariant=True)


class Lines(Protocol[LineT]):
    """Rungs and outcomes in the model's order: a Model's, or a Summary's lines."""

    @property
    def rungs(self) -> Sequence[LineT]: ...

    @property
    def outcomes(self) -> Sequence[LineT]: ...


@dataclass(frozen=True, slots=True)
class Metric:
    """A rung reached (``kind`` "rung") or an outcome that happened ("outcome") by the
    horizon; ``index`` is its position in ``model.rungs`` or ``model.outcomes``, which is
    also its position in a record's days, an aggregate's counts and a summary's lines."""

    kind: str
    id: str
    index: int
    name: str

    @property
    def is_rung(self) -> bool:
        """True for a rung, False for an outcome."""
        return self.kind == RUNG

    @property
    def key(self) -> str:
        """``kind:id``: unique even where a rung and an outcome share an id."""
        return f"{self.kind}:{self.id}"

    @property
    def label(self) -> str:
        """Its name in a table of several metrics: a rung says so."""
        return self.name + (" (rung)" if self.is_rung else "")

    def day(self, run: Days) -> float:
        """The first day it happened in a run (time to first), ``inf`` when it did not."""
        return (run.first_reach if self.is_rung else run.outcome_days)[self.index]

    def happened(self, run: Days) -> bool:
        """Whether it happened in a run by the horizon."""
        return self.day(run) != float("inf")

    def count(self, counts: Counts) -> int:
        """In how many of an aggregate's runs it happened."""
        return int((counts.reached if self.is_rung else counts.outcome_counts)[self.index])

    def line(self, summary: Lines[LineT]) -> LineT:
        """Its line (id, name, estimate) in a Summary's rungs or outcomes (KeyError if the
        summary is of a scenario without it)."""
        for line in summary.rungs if self.is_rung else summary.outcomes:
            if line.id == self.id:
                return line
        raise KeyError(self.key)


def rungs(source: Lines[Named]) -> tuple[Metric, ...]:
    """The rungs of a Model (or of a Summary, whose lines follow the model's order), as
    metrics, lowest first."""
    return tuple(Metric(RUNG, r.id, i, r.name) for i, r in enumerate(source.rungs))


def outcomes(source: Lines[Named]) -> tuple[Metric, ...]:
    """The outcomes of a Model (or of a Summary), as metrics, in the file's order."""
    return tuple(Metric(OUTCOME, o.id, i, o.name) for i, o in enumerate(source.outcomes))


def metrics(source: Lines[Named]) -> tuple[Metric, ...]:
    """Every metric of a Model (or of a Summary), in the order comparisons list them: rungs,
    then outcomes."""
    return rungs(source) + outcomes(source)


def pick(among: Sequence[Metric], metric_id: str) -> Metric | None:
    """The metric called ``metric_id`` among ``among``, or None: an id naming both an
    outcome and a rung means the outcome (a rung is only ever asked for by its own id)."""
    named = [m for m in among if m.id == metric_id]
    return next((m for m in named if not m.is_rung), named[0] if named else None)


def find(source: Lines[Named], metric_id: str) -> Metric | None:
    """The metric of a Model (or Summary) called ``metric_id``, or None (see :func:`pick`)."""
    return pick(metrics(source), metric_id)


def resolve(model: Model, metric: str | Metric, asked: str = AS_METRIC) -> Metric:
    """A metric from its id (a Metric passes through), or UsageError naming the ids there
    are; ``asked`` is how the caller named it (AS_METRIC or AS_OUTCOME)."""
    if isinstance(metric, Metric):
        return metric
    found = find(model, metric)
    if found is not None:
        return found
    known = [m.id for m in metrics(model)]
    hint = suggest(metric, known)
    if asked == AS_METRIC:
        raise UsageError(f"unknown metric '{metric}'{hint}; use an outcome or rung id: "
                         f"{', '.join(known)}")
    raise UsageError(f"unknown {asked} '{metric}'{hint}")


def happened(chosen: Sequence[Metric], runs: Sequence[Days]) -> np.ndarray:
    """Which of ``chosen`` happened in each run: a runs x metrics array of booleans
    (vectorised: comparisons fold it over every replication of every variant)."""
    n = len(runs)
    if not n or not chosen:
        return np.zeros((n, len(chosen)), dtype=bool)
    first = np.array([r.first_reach for r in runs], dtype=float).reshape(n, -1)
    out = np.array([r.outcome_days for r in runs], dtype=float).reshape(n, -1)
    return np.isfinite(np.column_stack([(first if m.is_rung else out)[:, m.index]
                                        for m in chosen]))

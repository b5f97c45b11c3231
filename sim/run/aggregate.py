"""Streaming, mergeable aggregates of replication records.

An :class:`Aggregate` holds only counts on fixed grids (days x rungs, days x outcomes) and
bounded histograms, so its memory does not grow with the number of replications. Two
aggregates of disjoint replications merge into the aggregate of their union; counts are
integers, so the result does not depend on the order of merging.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..spec.model import Model
from .histogram import ValueHistogram
from .record import Record


def day_bins(days: np.ndarray, n_days: int) -> np.ndarray:
    """Grid index of each time: ceil(t), so that bin d counts times in (d-1, d]."""
    return np.minimum(np.ceil(days), n_days - 1).astype(np.int64)


@dataclass
class Aggregate:
    """Counts accumulated over replications of one model."""

    n_rungs: int
    n_outcomes: int
    n_actions: int
    n_state: int
    n_days: int
    n: int = 0
    n_events: int = 0
    reach_hist: np.ndarray = field(init=False)
    outcome_hist: np.ndarray = field(init=False)
    occupancy: np.ndarray = field(init=False)
    peak_counts: np.ndarray = field(init=False)
    action_any: np.ndarray = field(init=False)
    action_total: np.ndarray = field(init=False)
    terminal: Counter[str] = field(default_factory=Counter)
    state: list[ValueHistogram] = field(init=False)

    def __post_init__(self) -> None:
        self.reach_hist = np.zeros((self.n_rungs, self.n_days), dtype=np.int64)
        self.outcome_hist = np.zeros((self.n_outcomes, self.n_days), dtype=np.int64)
        self.occupancy = np.zeros((self.n_days, self.n_rungs), dtype=np.int64)
        self.peak_counts = np.zeros(self.n_rungs, dtype=np.int64)
        self.action_any = np.zeros(self.n_actions, dtype=np.int64)
        self.action_total = np.zeros(self.n_actions, dtype=np.int64)
        self.state = [ValueHistogram() for _ in range(self.n_state)]

    @classmethod
    def for_model(cls, model: Model) -> Aggregate:
        """An empty aggregate shaped for ``model`` (one grid point per whole day)."""
        return cls(len(model.rungs), len(model.outcomes), len(model.actions),
                   len(model.state), int(model.horizon) + 1)

    def add(self, records: Iterable[Record]) -> None:
        """Fold a batch of records in (vectorised over the batch)."""
        batch = list(records)
        if not batch:
            return
        days = np.arange(self.n_days, dtype=float)
        first = np.array([r.first_reach for r in batch], dtype=float).reshape(len(batch), -1)
        for r in range(self.n_rungs):
            hit = first[:, r][np.isfinite(first[:, r])]
            self.reach_hist[r] += np.bincount(day_bins(hit, self.n_days),
                                              minlength=self.n_days)
        if self.n_outcomes:
            od = np.array([r.outcome_days for r in batch], dtype=float)
            for o in range(self.n_outcomes):
                hit = od[:, o][np.isfinite(od[:, o])]
                self.outcome_hist[o] += np.bincount(day_bins(hit, self.n_days),
                                                    minlength=self.n_days)
        flat = np.zeros(self.n_days * self.n_rungs, dtype=np.int64)
        for rec in batch:
            times = np.array([t for t, _ in rec.rung_path])
            rungs = np.array([k for _, k in rec.rung_path])
            # Rung at the end of each whole day: the last change at or before it.
            at = rungs[np.searchsorted(times, days, side="right") - 1]
            flat += np.bincount(np.arange(self.n_days) * self.n_rungs + at,
                                minlength=flat.size)
        self.occupancy += flat.reshape(self.n_days, self.n_rungs)
        self.peak_counts += np.bincount([r.peak for r in batch], minlength=self.n_rungs)
        counts = np.array([r.action_counts for r in batch], dtype=np.int64).reshape(
            len(batch), -1)
        self.action_any += (counts > 0).sum(axis=0)
        self.action_total += counts.sum(axis=0)
        self.terminal.update(rec.terminal for rec in batch)
        columns = zip(*(r.final_state for r in batch), strict=True)  # one per state variable
        for hist, column in zip(self.state, columns, strict=True):
            hist.add_all(column)
        self.n += len(batch)
        self.n_events += sum(r.n_events for r in batch)

    def merge(self, other: Aggregate) -> None:
        """Add another aggregate of different replications of the same model."""
        self.reach_hist += other.reach_hist
        self.outcome_hist += other.outcome_hist
        self.occupancy += other.occupancy
        self.peak_counts += other.peak_counts
        self.action_any += other.action_any
        self.action_total += other.action_total
        self.terminal.update(other.terminal)
        for mine, theirs in zip(self.state, other.state, strict=True):
            mine.merge(theirs)
        self.n += other.n
        self.n_events += other.n_events

    @property
    def reached(self) -> np.ndarray:
        """Replications that reached each rung by the horizon."""
        return self.reach_hist.sum(axis=1)

    @property
    def outcome_counts(self) -> np.ndarray:
        """Replications in which each outcome occurred."""
        return self.outcome_hist.sum(axis=1)

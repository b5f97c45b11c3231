"""The basics every workflow shares: a prepared model, an in-memory simulation, the
default results root and the progress callback type."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..results.summary import Summary, summarise
from ..run import runner
from ..run.rare import RareEstimate
from ..run.record import Record
from ..spec.loader import load
from ..spec.model import Model
from ..spec.settings import apply_settings, apply_variant

RESULTS = Path("results")  # where results folders go unless an ``out`` is given
Progress = runner.Progress  # progress(done, total), called as chunks finish
Scenario = str | Path | Model  # a scenario file, or a model already loaded


def prepare(scenario: Scenario, variant: str | None = None,
            settings: Iterable[str] | dict[str, Any] = ()) -> Model:
    """A model from a path (or a model), with a variant and lever settings applied.

    ``settings`` are ``"lever=value"`` texts or a mapping lever -> value."""
    model = scenario if isinstance(scenario, Model) else load(scenario)
    model = apply_variant(model, variant)
    if isinstance(settings, dict):
        settings = [f"{k}={v}" for k, v in settings.items()]
    return apply_settings(model, settings)


@dataclass
class Results:
    """A finished run: the summary, optionally every record, and the run's facts."""

    model: Model
    summary: Summary
    run: runner.RunResult
    records: list[Record] = field(default_factory=list)
    # Conditional Monte Carlo estimates of the outcomes asked for with ``rare=``.
    rare: list[RareEstimate] = field(default_factory=list)

    def table(self) -> str:
        """The terminal table of rungs and outcomes."""
        from ..present.report import format_table
        return format_table(self.summary)

    def figures(self) -> dict[str, Any]:
        """The standard plots as matplotlib Figures, by name."""
        from ..present.plots import figures
        return figures(self.summary, self.model)

    def rows(self) -> list[dict[str, Any]]:
        """The per-replication table as dictionaries (needs keep_records=True)."""
        from ..present.output import csv_header, csv_row
        header = csv_header(self.model)
        return [dict(zip(header, csv_row(self.model, r), strict=True)) for r in self.records]


def simulate(scenario: Scenario, runs: int = 2000, seed: int = 1,
             workers: int | None = 1, variant: str | None = None,
             settings: Iterable[str] | dict[str, Any] = (), keep_records: bool = False,
             progress: Progress | None = None, rare: Sequence[str] = ()) -> Results:
    """Load (if needed) and run a scenario in memory (no files); ``keep_records`` keeps
    every replication. ``progress(done, total)`` is called as chunks finish.

    A run that stops early (Ctrl-C, a worker that died, a model error such as a probability
    above 1) keeps the replications finished before it: ``res.run.stop`` says why (None
    when complete), a RuntimeWarning repeats it, and the summary covers the runs kept.

    ``rare`` names outcomes (or rungs) also estimated by conditional Monte Carlo
    (``Results.rare``; the ordinary results are unchanged)."""
    from ..run.rare import RareTally, rare_target
    model = prepare(scenario, variant, settings)
    tally = RareTally([rare_target(model, m) for m in dict.fromkeys(rare)]) if rare else None
    kept: list[Record] = []
    result = runner.run(model, runs, seed, workers, progress=progress,
                        sink=kept.extend if keep_records else None, rare=tally)
    if result.stop is not None:
        warnings.warn(f"the run stopped after {result.runs} of {runs} replications: "
                      f"{result.stop.message}", RuntimeWarning, stacklevel=2)
    return Results(model, summarise(model, result.aggregate, variant or "base"), result, kept,
                   tally.estimates() if tally is not None else [])

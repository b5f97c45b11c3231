"""The ``run`` workflow: simulate a scenario and write its results folder.

Everything the command line's ``sim run`` does except parsing and printing: prepare the
model, the precision rule, progress, the per-replication CSV streamed as chunks finish,
the summary, plots, report, optional exact check and the manifest, all written atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..faults import Stop, Stopped
from ..present import output
from ..present.output import (
    CsvSink,
    Drawing,
    default_folder,
    fill_stage,
    manifest,
    naming,
    safe_name,
    staged_folder,
)
from ..present.render import FigureWorkers
from ..results.precision import (
    MINIMUM_RUNS,
    Precision,
    parse_precision,
    relative_half_widths,
    stop_rule,
    widest_half_width,
)
from ..results.summary import Summary, summarise
from ..run import runner
from ..run.aggregate import Aggregate
from ..run.rare import RareEstimate, RareTally, rare_target
from ..spec.model import Model
from .basics import RESULTS, Progress, Scenario, prepare

DEFAULT_RUNS = 10_000
MAX_RUNS = 200_000


@dataclass(frozen=True)
class RunReport:
    """A finished (or stopped) run and the folder it was written to."""

    model: Model
    summary: Summary
    result: runner.RunResult
    folder: Path
    seed: int
    requested: int
    precision: Precision | None  # the target half-width, if one was given
    # The widest 95% half-width among the reported probabilities (absolute), or among the
    # named outcomes' as a share of their estimates (relative precision).
    widest: float
    exact_text: str  # the Monte Carlo beside exact table ("" unless asked for)
    files: tuple[str, ...]  # what the folder holds, for the reader
    stop: Stop | None  # why the folder is an interrupted one (None: complete)
    rare: tuple[RareEstimate, ...] = ()  # conditional Monte Carlo estimates asked for

    @property
    def precision_reached(self) -> bool:
        """Whether a precision target was given and met."""
        return self.precision is not None and self.widest <= self.precision.value


def target_folder(out: str | Path | None, root: Path, model: Model, what: str
                  ) -> tuple[Path, bool]:
    """(results folder, whether its name may get -2, -3... when taken): ``out`` as given,
    else a default name under ``root``."""
    if out:
        return Path(out), False
    return default_folder(root, model, safe_name(what)), True


def _precision_setup(model: Model, precision: float | str | None, rare: Sequence[str],
                     precision_for: Sequence[str], max_runs: int, runs: int
                     ) -> tuple[int, Precision | None, Any, RareTally | None]:
    """(runs, the precision target, its stopping rule, the rare tally)."""
    tally = RareTally([rare_target(model, m) for m in dict.fromkeys(rare)]) if rare else None
    if precision is None:
        if precision_for:
            raise UsageError("outcomes for a relative precision were named, but no "
                             "relative precision (such as 10%) was given")
        return runs, None, None, tally
    target = parse_precision(str(precision))
    if precision_for and not target.relative:
        raise UsageError(f"outcomes for a relative precision go with a relative precision "
                         f"such as 10% (got {precision!r}, an absolute half-width)")
    rule = stop_rule(target, model, min(MINIMUM_RUNS, max_runs), tuple(precision_for), tally)
    return max_runs, target, rule, tally


def _widest(model: Model, agg: Aggregate, target: Precision | None,
            precision_for: Sequence[str], tally: RareTally | None) -> float:
    if target is None or not target.relative:
        return widest_half_width(agg)
    return max(relative_half_widths(model, agg, tuple(precision_for), tally).values())


def run(scenario: Scenario, *, runs: int = DEFAULT_RUNS, seed: int | None = None,
        workers: int | None = None, variant: str | None = None,
        settings: Iterable[str] | dict[str, Any] = (), out: str | Path | None = None,
        force: bool = False, precision: float | str | None = None, max_runs: int = MAX_RUNS,
        scheduler: str | None = None, check_exact: bool = False, plots: bool = True,
        csv: bool = True, progress: Progress | None = None, command: str = "",
        root: Path = RESULTS, rare: Sequence[str] = (),
        precision_for: Sequence[str] = ()) -> RunReport:
    """Run a scenario and write its results folder (``out``, else ``root/<scenario>-<time>``).

    With ``precision`` (a 95% half-width) the run goes on, chunk by chunk, until every
    reported probability is that precise or ``max_runs`` is reached; ``runs`` is then
    ignored. With ``scheduler`` (a Dask address) the chunks run on that cluster. A run
    that stops early (Ctrl-C, SIGTERM, a lost worker, a model error, a drawing failure)
    keeps what finished in an interrupted results folder (``...-partial``, the reason in
    ``stop``); a stop before any run finished raises Stopped and writes nothing.
    ``command`` is recorded in the manifest (the CLI passes its command line).

    ``rare`` names outcomes (or rungs) also estimated by conditional Monte Carlo (exact in
    expectation, far more precise for rare ones; the ordinary results are unchanged).
    ``precision`` may be relative, "10%": the ``rare`` and ``precision_for`` outcomes'
    half-widths at most that share of their estimates.
    """
    # The figure workers start first: they import matplotlib while the scenario is read.
    with FigureWorkers(runner.default_workers() if plots else 0) as figure_workers:
        model = prepare(scenario, variant, settings)
        variant = variant or "base"
        seed = model.seed if seed is None else seed
        runs, target_precision, stop_when, tally = _precision_setup(
            model, precision, rare, precision_for, max_runs, runs)
        if runs < 1:
            raise UsageError(f"the number of runs must be at least 1 (got {runs})")
        if check_exact:  # refused before the runs, not after them
            from ..analyses.exact import require_markov
            require_markov(model)
        target, unique = target_folder(out, root, model, variant)
        started = dt.datetime.now().isoformat(timespec="seconds")
        exact_text = ""
        with staged_folder(target, force, unique) as stage:
            csv_path = stage.path / "replications.csv"
            with naming(stage.target / csv_path.name), \
                    open(csv_path, "w", newline="", encoding="utf-8") as stream:
                sink = CsvSink(model, stream) if csv else None
                # The rows are formatted in the workers; only text comes back.
                result = runner.run(model, runs, seed, workers, progress=progress,
                                    sink=sink.write if sink else None,
                                    prepare=sink.rows if sink else None,
                                    stop_when=stop_when, scheduler=scheduler, rare=tally)
            if not csv:
                csv_path.unlink()
            if result.runs == 0 and result.stop is not None:
                raise Stopped(result.stop)  # nothing finished: the stage is discarded
            summary = summarise(model, result.aggregate, variant)
            widest = _widest(model, result.aggregate, target_precision, precision_for, tally)
            reached = target_precision is not None and widest <= target_precision.value
            estimates = tuple(tally.estimates()) if tally is not None else ()

            def info(stop: Stop | None) -> dict[str, Any]:
                return manifest(model, seed=seed, requested=runs, completed=result.runs,
                                workers=result.workers, variant=variant, elapsed=result.elapsed,
                                status="complete", started=started, command=command,
                                extra={"precision_target": precision,
                                       "precision_reached": reached,
                                       "widest_half_width": widest,
                                       "stopped_at_precision": result.stopped_early,
                                       "rare": [e.to_dict() for e in estimates]}, stop=stop)

            def visuals(folder: Path) -> None:
                nonlocal exact_text
                write_report(folder, model, summary, info(result.stop),
                             figure_workers if plots else None)
                exact_text = exact_check(model, summary) if check_exact else ""
                if exact_text:
                    (folder / "exact_check.txt").write_text(exact_text + "\n", encoding="utf-8")

            stop = fill_stage(stage, result.stop, Drawing(
                lambda folder: output.write_json(folder / "summary.json", summary.to_dict()),
                visuals, info))
        files = ("report.html", "summary.json", "manifest.json") + (
            ("replications.csv",) if csv else ()) + (("plots",) if plots else ())
        return RunReport(model, summary, result, stage.target, seed, runs, target_precision,
                         widest, exact_text, files, stop, estimates)


def write_report(folder: Path, model: Model, summary: Summary, info: dict[str, Any],
                 figure_workers: FigureWorkers | None) -> None:
    """The standard PNG plots (drawn by ``figure_workers``; none without them) and
    report.html into ``folder``."""
    from ..present.report import render_html
    images: dict[str, bytes] = {}
    if figure_workers is not None:
        images = figure_workers.draw(summary, model)
        for name, png in images.items():
            (folder / f"{name}.png").write_bytes(png)
    (folder / "report.html").write_text(render_html(model, summary, images, info),
                                        encoding="utf-8")


def exact_check(model: Model, summary: Summary) -> str:
    """The Monte Carlo estimates beside the exact answer (Markovian scenarios)."""
    from ..analyses.exact import solve
    from ..present.tables import exact_check_table
    return exact_check_table(model, summary, solve(model))

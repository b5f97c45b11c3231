"""The ``run`` workflow: simulate a scenario and write its results folder.

Everything the command line's ``sim run`` does except parsing and printing: prepare the
model, the precision rule, progress, the per-replication CSV streamed as chunks finish,
the summary, plots, report, optional exact check and the manifest, all written atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
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
from ..results.stats import wilson_arrays
from ..results.summary import Summary, summarise
from ..run import runner
from ..run.aggregate import Aggregate
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
    precision: float | None  # the target half-width, if one was given
    widest: float  # the widest 95% half-width among the reported probabilities
    exact_text: str  # the Monte Carlo beside exact table ("" unless asked for)
    files: tuple[str, ...]  # what the folder holds, for the reader
    stop: Stop | None  # why the folder is an interrupted one (None: complete)

    @property
    def precision_reached(self) -> bool:
        """Whether a precision target was given and met."""
        return self.precision is not None and self.widest <= self.precision


def target_folder(out: str | Path | None, root: Path, model: Model, what: str
                  ) -> tuple[Path, bool]:
    """(results folder, whether its name may get -2, -3... when taken): ``out`` as given,
    else a default name under ``root``."""
    if out:
        return Path(out), False
    return default_folder(root, model, safe_name(what)), True


def widest_half_width(agg: Aggregate) -> float:
    """The largest 95% half-width among the probabilities a run reports."""
    widest = 0.0
    for counts in (agg.reached, agg.outcome_counts):
        if len(counts):
            _, low, high = wilson_arrays(counts, agg.n)
            widest = max(widest, float(((high - low) / 2).max()))
    return widest


def precision_rule(target: float, minimum: int) -> Callable[[Aggregate], bool]:
    """Stop once ``minimum`` runs are done and every half-width is at most ``target``."""
    def done(agg: Aggregate) -> bool:
        return agg.n >= minimum and widest_half_width(agg) <= target
    return done


def run(scenario: Scenario, *, runs: int = DEFAULT_RUNS, seed: int | None = None,
        workers: int | None = None, variant: str | None = None,
        settings: Iterable[str] | dict[str, Any] = (), out: str | Path | None = None,
        force: bool = False, precision: float | None = None, max_runs: int = MAX_RUNS,
        scheduler: str | None = None, check_exact: bool = False, plots: bool = True,
        csv: bool = True, progress: Progress | None = None, command: str = "",
        root: Path = RESULTS) -> RunReport:
    """Run a scenario and write its results folder (``out``, else ``root/<scenario>-<time>``).

    With ``precision`` (a 95% half-width) the run goes on, chunk by chunk, until every
    reported probability is that precise or ``max_runs`` is reached; ``runs`` is then
    ignored. With ``scheduler`` (a Dask address) the chunks run on that cluster. A run
    that stops early (Ctrl-C, SIGTERM, a lost worker, a model error, a drawing failure)
    keeps what finished in an interrupted results folder (``...-partial``, the reason in
    ``stop``); a stop before any run finished raises Stopped and writes nothing.
    ``command`` is recorded in the manifest (the CLI passes its command line).
    """
    model = prepare(scenario, variant, settings)
    variant = variant or "base"
    seed = model.seed if seed is None else seed
    stop_when = None
    if precision is not None:
        if not 0 < precision < 0.5:
            raise UsageError(f"the precision (a 95% half-width) must be in (0, 0.5) "
                             f"(got {precision})")
        runs = max_runs
        stop_when = precision_rule(precision, min(1000, runs))
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
            result = runner.run(model, runs, seed, workers, progress=progress, sink=sink,
                                stop_when=stop_when, scheduler=scheduler)
        if not csv:
            csv_path.unlink()
        if result.runs == 0 and result.stop is not None:
            raise Stopped(result.stop)  # nothing finished: the stage is discarded
        summary = summarise(model, result.aggregate, variant)
        widest = widest_half_width(result.aggregate)

        def info(stop: Stop | None) -> dict[str, Any]:
            return manifest(model, seed=seed, requested=runs, completed=result.runs,
                            workers=result.workers, variant=variant, elapsed=result.elapsed,
                            status="complete", started=started, command=command,
                            extra={"precision_target": precision,
                                   "precision_reached": precision is not None
                                   and widest <= precision,
                                   "widest_half_width": widest,
                                   "stopped_at_precision": result.stopped_early}, stop=stop)

        def visuals(folder: Path) -> None:
            nonlocal exact_text
            write_report(folder, model, summary, info(result.stop), plots)
            exact_text = exact_check(model, summary) if check_exact else ""
            if exact_text:
                (folder / "exact_check.txt").write_text(exact_text + "\n", encoding="utf-8")

        stop = fill_stage(stage, result.stop, Drawing(
            lambda folder: output.write_json(folder / "summary.json", summary.to_dict()),
            visuals, info))
    files = ("report.html", "summary.json", "manifest.json") + (
        ("replications.csv",) if csv else ()) + (("plots",) if plots else ())
    return RunReport(model, summary, result, stage.target, seed, runs, precision, widest,
                     exact_text, files, stop)


def write_report(folder: Path, model: Model, summary: Summary, info: dict[str, Any],
                 plots: bool) -> None:
    """The standard PNG plots (unless ``plots`` is false) and report.html into ``folder``."""
    from ..present.report import render_html
    images: dict[str, bytes] = {}
    if plots:
        from ..present.plots import figures, png_bytes
        for name, fig in figures(summary, model).items():
            images[name] = png_bytes(fig)
            (folder / f"{name}.png").write_bytes(images[name])
    (folder / "report.html").write_text(render_html(model, summary, images, info),
                                        encoding="utf-8")


def exact_check(model: Model, summary: Summary) -> str:
    """The Monte Carlo estimates beside the exact answer (Markovian scenarios)."""
    from ..analyses.exact import solve
    from ..present.tables import exact_check_table
    return exact_check_table(model, summary, solve(model))

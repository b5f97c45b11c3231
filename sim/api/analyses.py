"""The analysis workflows: compare, sweep, sensitivity and discover.

All four have one shape, written once here: prepare the model, compute with progress,
make a terminal table and figures, describe the work in a manifest; :func:`save` writes
any of them to a results folder (JSON, PNGs, an HTML page, the manifest), keeping what
finished when the work stopped early. Nothing here prints; the CLI and the web app
present the :class:`Analysis` they get back.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..faults import Stop, Stopped
from ..present import output
from ..present.output import Drawing, fill_stage, manifest, safe_name, staged_folder
from ..results.summary import Summary
from ..run.runner import worker_count
from ..spec.metric import resolve
from ..spec.model import Model
from .basics import RESULTS, Progress, Scenario, prepare
from .running import target_folder

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..analyses.compare import Comparison
    from ..analyses.policies import Policy

Figures = Callable[[], "dict[str, Figure]"]


@dataclass(frozen=True)
class Analysis:
    """A finished (or stopped) analysis: its result, how to show it, what produced it."""

    kind: str  # compare, sweep, sensitivity or discover (also the JSON file's name)
    model: Model
    result: Any  # Comparison, Sweep, Sensitivity or Discovery
    title: str  # the page's title
    text: str  # the terminal table
    info: Callable[[Stop | None], dict[str, Any]] = field(repr=False)  # the manifest
    figures: Figures = field(repr=False)  # builds the figures when asked (matplotlib)
    kept: str = ""  # what a stopped analysis kept, e.g. "800 of 1000 runs per model"
    note: str = ""  # one more line for the reader, if any
    base: Summary | None = None  # with a base case, the page is its full report
    stop: Stop | None = None  # why it stopped early (None: complete)

    @property
    def interrupted(self) -> bool:
        """True when the analysis stopped before its end (``stop`` says why)."""
        return self.stop is not None

    def to_dict(self) -> dict[str, Any]:
        """The result, JSON-ready."""
        return dict(self.result.to_dict())

    @property
    def manifest(self) -> dict[str, Any]:
        """What produced it (as the results folder records it)."""
        return self.info(self.stop)


class _Job:
    """The common start of an analysis: model, seed, workers, timing, and the manifest."""

    def __init__(self, scenario: Scenario, seed: int | None, workers: int | None,
                 settings: Iterable[str] | dict[str, Any], command: str) -> None:
        self.model = prepare(scenario, None, settings)
        self.seed = self.model.seed if seed is None else seed
        self.workers = workers
        self.command = command
        self.started = dt.datetime.now().isoformat(timespec="seconds")
        self.began = time.perf_counter()

    def info(self, requested: int, completed: int, **extra: Any
             ) -> Callable[[Stop | None], dict[str, Any]]:
        elapsed = time.perf_counter() - self.began

        def info(stop: Stop | None) -> dict[str, Any]:
            return manifest(self.model, seed=self.seed, requested=requested,
                            completed=completed, workers=worker_count(self.workers),
                            variant="base", elapsed=elapsed, status="complete",
                            started=self.started, command=self.command, extra=extra,
                            stop=stop)
        return info


def compare(scenario: Scenario, variants: Sequence[str] | None = None, *, runs: int = 4000,
            seed: int | None = None, workers: int | None = None,
            settings: Iterable[str] | dict[str, Any] = (), progress: Progress | None = None,
            command: str = "") -> Analysis:
    """The base case against variants (default: all), paired on common random numbers."""
    from ..analyses.compare import compare_variants
    job = _Job(scenario, seed, workers, settings, command)
    comp = compare_variants(job.model, variants, runs, job.seed, workers, progress)
    return _comparison_analysis(job, comp, runs, "Variants compared", "variants")


def compare_policies(scenario: Scenario, policies: Sequence[Policy], *, runs: int = 4000,
                     seed: int | None = None, workers: int | None = None,
                     progress: Progress | None = None, command: str = "") -> Analysis:
    """The base case against recommended lever settings (``sim.analyses.policies``), paired
    on common random numbers: the classroom's run. With no policy, the base case alone."""
    from ..analyses.policies import compare_policies as run_policies
    job = _Job(scenario, seed, workers, (), command)
    comp = run_policies(job.model, policies, runs, job.seed, workers, progress)
    return _comparison_analysis(job, comp, runs, "Recommended policies compared", "policies")


def _comparison_analysis(job: _Job, comp: Comparison, runs: int, title: str,
                         others: str) -> Analysis:
    """The Analysis of a paired comparison (variants or policies): one shape for both."""
    from ..present.tables import comparison_table
    if comp.runs == 0 and comp.stop is not None:
        raise Stopped(comp.stop)
    return Analysis("compare", job.model, comp,
                    f"{title} (paired, common random numbers)",
                    comparison_table(comp),
                    job.info(runs, comp.runs, **{others: list(comp.names[1:])}),
                    _comparison_figures(comp), kept=f"{comp.runs} of {runs} runs per model",
                    base=comp.summaries[0], stop=comp.stop)


def _comparison_figures(comp: Comparison) -> Figures:
    """The comparison plot of the base against the other models (none without others)."""
    def figures() -> dict[str, Figure]:
        if len(comp.names) < 2:
            return {}
        from ..present.plots import comparison
        diffs = {name: [(m.key, d.diff, d.low, d.high) for m, d
                        in zip(comp.metrics, comp.differences[i], strict=True)]
                 for i, name in enumerate(comp.names) if i}
        return {"comparison": comparison(comp.summaries[0], dict(zip(
            comp.names[1:], comp.summaries[1:], strict=True)), diffs)}
    return figures


def sweep(scenario: Scenario, grid: Sequence[str], metric: str, *, runs: int = 1000,
          seed: int | None = None, workers: int | None = None,
          settings: Iterable[str] | dict[str, Any] = (), progress: Progress | None = None,
          command: str = "") -> Analysis:
    """A metric over one or two levers' grids (``"lever=start:stop:n"``, ``"lever=a,b"`` or
    ``"lever"`` for an on/off lever), every point on the same random numbers."""
    from ..analyses.compare import parse_grid
    from ..analyses.compare import sweep as run_sweep
    from ..present.tables import sweep_table
    job = _Job(scenario, seed, workers, settings, command)
    model = job.model
    axes = [parse_grid(model, g) for g in grid]
    chosen = resolve(model, metric)
    sw = run_sweep(model, axes, chosen, runs, job.seed, workers, progress)
    comp = sw.comparison
    if comp.runs == 0 and comp.stop is not None:
        raise Stopped(comp.stop)

    def figures() -> dict[str, Figure]:
        from ..present.plots import sweep_plot
        return {"sweep": sweep_plot(sw, model)}
    return Analysis("sweep", model, sw, f"{model.title}: sweep of P({chosen.id})",
                    sweep_table(sw), job.info(runs, comp.runs, grid=list(grid), metric=chosen.id),
                    figures, kept=f"{comp.runs} of {runs} runs per grid point",
                    note=f"{comp.runs} runs per grid point (common random numbers), seed "
                         f"{job.seed}.", stop=comp.stop)


def sensitivity(scenario: Scenario, metric: str, *, method: str = "sobol", samples: int = 64,
                reps: int = 40, seed: int | None = None, workers: int | None = None,
                settings: Iterable[str] | dict[str, Any] = (),
                progress: Progress | None = None, command: str = "") -> Analysis:
    """Sobol or Morris indices of the uncertain parameters for one metric (SALib):
    ``samples`` base samples, ``reps`` replications at each parameter point."""
    from ..analyses.sensitivity import run_sensitivity
    from ..present.tables import sensitivity_table
    job = _Job(scenario, seed, workers, settings, command)
    model = job.model
    chosen = resolve(model, metric)
    sens = run_sensitivity(model, chosen, method, samples, reps, job.seed, workers, progress)
    if sens.points == 0 and sens.stop is not None:
        raise Stopped(sens.stop)
    text = sensitivity_table(sens) if sens.stop is None else (
        f"{sens.points} parameter points evaluated before the stop: the indices need "
        "every point, so none are shown (the evaluated points are in sensitivity.json).")

    def figures() -> dict[str, Figure]:
        if sens.stop is not None:
            return {}
        from ..present.plots import sensitivity_plot
        return {"sensitivity": sensitivity_plot(sens, model)}
    runs = sens.points * sens.reps
    planned = (sens.planned or sens.points) * sens.reps  # more than runs if stopped early
    return Analysis("sensitivity", model, sens, f"{model.title}: what drives P({chosen.id})?",
                    text, job.info(planned, runs, method=method, metric=chosen.id, samples=samples,
                                   reps=reps),
                    figures, kept=f"{sens.points} evaluated parameter points", stop=sens.stop)


def discover(scenario: Scenario, metric: str, *, runs: int = 10_000, seed: int | None = None,
             workers: int | None = None, settings: Iterable[str] | dict[str, Any] = (),
             progress: Progress | None = None, command: str = "") -> Analysis:
    """Which values of the uncertain parameters lead to a metric (scenario discovery)."""
    from ..analyses.discovery import discover as run_discover
    from ..present.tables import discovery_table
    job = _Job(scenario, seed, workers, settings, command)
    model = job.model
    chosen = resolve(model, metric)
    disc = run_discover(model, chosen, runs, job.seed, workers, progress)
    if disc.runs == 0 and disc.stop is not None:
        raise Stopped(disc.stop)
    text = discovery_table(disc) if disc.findings else (
        f"'{chosen.id}' happened in {disc.hits} of the {disc.runs} runs kept: too few to "
        "compare runs with and without it.")

    def figures() -> dict[str, Figure]:
        if not disc.findings:
            return {}
        from ..present.plots import discovery_plot
        return {"discovery": discovery_plot(disc, model)}
    return Analysis("discover", model, disc, f"{model.title}: what leads to {chosen.id}?",
                    text, job.info(runs, disc.runs, metric=chosen.id), figures,
                    kept=f"{disc.runs} of {runs} runs", stop=disc.stop)


def save(analysis: Analysis, out: str | Path | None = None, *, force: bool = False,
         plots: bool = True, root: Path = RESULTS) -> tuple[Path, Stop | None]:
    """Write an analysis to a new results folder (``out``, else ``root/<id>-<kind>-<time>``):
    its JSON, PNGs, an HTML page and the manifest. Returns the folder and why it is an
    interrupted one (the analysis stopped early, or drawing failed), or None.

    With a base case (compare) the page is the base's full scenario report with the
    analysis as an extra section; otherwise a short page of its own."""
    from ..present.report import analysis_page, analysis_section, render_html
    model = analysis.model

    def visuals(folder: Path) -> None:
        images = []
        if plots:
            from ..present.plots import png_bytes
            for name, fig in analysis.figures().items():
                png = png_bytes(fig)
                (folder / f"{safe_name(name)}.png").write_bytes(png)
                images.append((name, png))
        info = analysis.info(analysis.stop)
        if analysis.base is None:
            page = analysis_page(analysis.title, analysis.text, images, info)
        else:
            page = render_html(model, analysis.base, {}, info,
                               [(analysis.title, analysis_section(analysis.text, images))])
        (folder / "report.html").write_text(page, encoding="utf-8")

    target, unique = target_folder(out, root, model, analysis.kind)
    with staged_folder(target, force, unique) as stage:
        stop = fill_stage(stage, analysis.stop, Drawing(
            lambda folder: output.write_json(folder / f"{analysis.kind}.json", analysis.to_dict()),
            visuals, analysis.info))
    return stage.target, stop

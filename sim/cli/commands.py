"""Command-line interface: ``python -m sim COMMAND``. Only this layer prints or writes."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from .. import __version__
from ..errors import ScenarioError, SimError, UsageError
from ..faults import Stop, Stopped, sigterm_interrupts, stop_of
from ..spec.loader import check_file
from .stops import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    cause,
    exit_code,
    os_error_line,
    silence_stdout,
    stop_lines,
)

DEFAULT_RUNS = 10_000
MAX_PATH_RUNS = 2_000_000
RESULTS = Path("results")


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _progress(enabled: bool, label: str) -> tuple[Callable[[int, int], None] | None,
                                                  Callable[[], None]]:
    """A tqdm progress callback on stderr (only on a terminal) and its closer."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit="run", file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()
    return update, close


def _with_progress(args: argparse.Namespace, label: str,
                   work: Callable[[Callable[[int, int], None] | None], Any]) -> Any:
    """Call ``work(progress)`` with a progress bar that is closed whatever happens."""
    update, close = _progress(not args.quiet, label)
    try:
        return work(update)
    finally:
        close()


def _count(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (got {value})")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (got {value:,})")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


POSITIVE, NON_NEGATIVE = _count(1), _count(0)


# -- validate ----------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files; print every problem; exit 2 if any file is invalid."""
    bad = 0
    for path in args.files:
        model, problems, warnings = check_file(path)
        for w in warnings:
            print(f"{w} [warning]", file=sys.stderr)
        if problems:
            bad += 1
            for p in problems:
                _err(str(p))
            _err(f"{path}: {len(problems)} problem(s)")
        elif model is not None:
            print(f"{path}: OK ({len(model.rungs)} rungs, {len(model.actors)} actors, "
                  f"{len(model.levers)} levers, {len(model.parameters)} parameters, "
                  f"{len(model.actions)} actions, {len(model.processes)} processes, "
                  f"{len(model.rules)} rules, {len(model.variants)} variants)")
    return EXIT_INPUT if bad else EXIT_OK


# -- schema, new ---------------------------------------------------------------------------
def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the scenario format, or write it to --out."""
    import json

    from ..spec.schema import scenario_schema
    text = json.dumps(scenario_schema(), indent=2) + "\n"
    if args.out is None:
        print(text, end="")
        return EXIT_OK
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}. To use it in an editor, see docs/scenario-format.md, "
          "section 12.")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    """Write a small, valid, commented scenario to start from (and the schema beside it)."""
    import json

    from ..spec.schema import scenario_schema
    from ..spec.template import SCHEMA_FILE, new_scenario
    text = new_scenario(Path(args.name).name)
    path = Path(args.name if args.name.endswith((".yaml", ".yml")) else f"{args.name}.yaml")
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists; choose another name or add --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    schema = path.parent / SCHEMA_FILE
    wrote = [str(path)]
    if not schema.exists():
        schema.write_text(json.dumps(scenario_schema(), indent=2) + "\n", encoding="utf-8")
        wrote.append(f"{schema} (for editor completion)")
    print(f"Wrote {' and '.join(wrote)}.\nNext: python -m sim validate {path}")
    return EXIT_OK


# -- run ---------------------------------------------------------------------------------
def _widest_half_width(agg: Any) -> float:
    """The largest 95% half-width among the probabilities a run reports."""
    from ..results.stats import wilson_arrays
    widest = 0.0
    for counts in (agg.reached, agg.outcome_counts):
        if len(counts):
            _, low, high = wilson_arrays(counts, agg.n)
            widest = max(widest, float(((high - low) / 2).max()))
    return widest


def _precision_rule(target: float, minimum: int) -> Callable[[Any], bool]:
    def done(agg: Any) -> bool:
        return agg.n >= minimum and _widest_half_width(agg) <= target
    return done


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario, print the summary table and write the results folder."""
    from ..api import prepare
    from ..present.output import (
        CsvSink,
        Drawing,
        fill_stage,
        manifest,
        naming,
        staged_folder,
        write_json,
    )
    from ..results.summary import summarise
    from ..run import runner

    model = prepare(args.scenario, args.variant, args.set or [])
    variant = args.variant or "base"
    seed = model.seed if args.seed is None else args.seed
    runs = args.runs
    stop_when = None
    if args.precision is not None:
        if not 0 < args.precision < 0.5:
            raise UsageError(f"--precision must be in (0, 0.5) (got {args.precision})")
        runs = args.max_runs
        stop_when = _precision_rule(args.precision, min(1000, runs))
    if runs < 1:
        raise UsageError(f"--runs must be at least 1 (got {runs})")
    if (args.backend == "dask") != (args.scheduler is not None):
        raise UsageError("--backend dask and --scheduler ADDRESS go together")
    target, unique = _target(args, model, variant)
    started = dt.datetime.now().isoformat(timespec="seconds")
    update, close = _progress(not args.quiet, model.id)
    exact_text = ""
    with staged_folder(target, args.force, unique) as stage:
        folder = stage.path
        csv_path = folder / "replications.csv"
        with naming(stage.target / csv_path.name), \
                open(csv_path, "w", newline="", encoding="utf-8") as stream:
            sink = CsvSink(model, stream) if not args.no_csv else None
            try:
                result = runner.run(model, runs, seed, args.workers, progress=update,
                                    sink=sink, stop_when=stop_when,
                                    scheduler=args.scheduler)
            finally:
                close()
        if args.no_csv:
            (folder / "replications.csv").unlink()
        if result.runs == 0 and result.stop is not None:
            raise Stopped(result.stop)  # nothing finished: the stage is discarded
        summary = summarise(model, result.aggregate, variant)
        widest = _widest_half_width(result.aggregate)
        reached = args.precision is not None and widest <= args.precision

        def info(stop: Stop | None) -> dict[str, Any]:
            return manifest(model, seed=seed, requested=runs, completed=result.runs,
                            workers=result.workers, variant=variant, elapsed=result.elapsed,
                            status="complete", started=started, command=args.command_line,
                            extra={"precision_target": args.precision,
                                   "precision_reached": reached,
                                   "widest_half_width": widest,
                                   "stopped_at_precision": result.stopped_early}, stop=stop)

        def visuals(folder: Path) -> None:
            nonlocal exact_text
            _write_visuals(folder, model, summary, info(result.stop), args.no_plots)
            exact_text = _check_exact(model, summary) if args.check_exact else ""
            if exact_text:
                (folder / "exact_check.txt").write_text(exact_text + "\n", encoding="utf-8")

        stop = fill_stage(stage, result.stop, Drawing(
            lambda folder: write_json(folder / "summary.json", summary.to_dict()),
            visuals, info))
    target = stage.target
    _print_run(summary, result, target, seed, args, exact_text, reached, widest)
    if stop is not None:
        _err(stop_lines(stop, f"{result.runs} of {runs} runs", target))
    return exit_code(stop)


def _target(args: argparse.Namespace, model: Any, what: str) -> tuple[Path, bool]:
    """(results folder, whether its name may get -2, -3... when taken): --out as given,
    else a default name under results/."""
    from ..present.output import default_folder, safe_name
    if args.out:
        return Path(args.out), False
    return default_folder(RESULTS, model, safe_name(what)), True


def _write_visuals(folder: Path, model: Any, summary: Any, info: dict[str, Any],
                   no_plots: bool) -> None:
    from ..present.report import render_html
    images: dict[str, bytes] = {}
    if not no_plots:
        from ..present.plots import figures, png_bytes
        for name, fig in figures(summary, model).items():
            images[name] = png_bytes(fig)
            (folder / f"{name}.png").write_bytes(images[name])
    (folder / "report.html").write_text(render_html(model, summary, images, info),
                                        encoding="utf-8")


def _check_exact(model: Any, summary: Any) -> str:
    from ..analyses.exact import solve
    from ..present.tables import exact_check_table
    return exact_check_table(model, summary, solve(model))


def cmd_exact(args: argparse.Namespace) -> int:
    """Solve a Markovian scenario exactly and print the probabilities."""
    from ..analyses.exact import solve
    from ..present.tables import exact_result_table
    model = _prepared(args)
    print(exact_result_table(model, solve(model)))
    return EXIT_OK


def _print_run(summary: Any, result: Any, target: Path, seed: int, args: argparse.Namespace,
               exact_text: str, reached: bool, widest: float,
               out: TextIO | None = None) -> None:
    from ..present.report import format_table
    out = out or sys.stdout  # looked up now: callers may have redirected stdout
    print(format_table(summary), file=out)
    if exact_text:
        print("\n" + exact_text, file=out)
    rate = result.runs / result.elapsed if result.elapsed > 0 else float("nan")
    note = ""
    if args.precision is not None:
        note = (f"; every probability's 95% half-width <= {args.precision:g}" if reached else
                f"; precision {args.precision:g} NOT reached within --max-runs "
                f"{args.max_runs} (widest half-width {widest:.4f})")
    print(f"\n{result.runs} runs, seed {seed}, {result.workers} worker(s), "
          f"{result.elapsed:.1f} s ({rate:,.0f} runs/s){note}", file=out)
    files = ["report.html", "summary.json", "manifest.json"]
    files += [] if args.no_csv else ["replications.csv"]
    files += [] if args.no_plots else ["plots"]
    print(f"Results: {target}  ({', '.join(files)})", file=out)


# -- shared output for compare, sweep, sensitivity, discover -------------------------------
class Outputs(NamedTuple):
    """What an analysis command writes: ``kind`` names the JSON file, ``figures`` draws
    the plots (called while writing, so that a failure there loses nothing), ``info``
    gives the manifest for a Stop (or None), ``base`` (a Summary) makes the page the full
    scenario report of the base case with this result as an extra section."""

    kind: str
    data: dict[str, Any]
    figures: Callable[[], dict[str, Any]]
    title: str
    body: str
    info: Callable[[Any], dict[str, Any]]
    base: Any = None


def _write_outputs(args: argparse.Namespace, model: Any, out: Outputs,
                   stop: Any = None) -> tuple[Path, Any]:
    """Write JSON, PNGs and an HTML page into a new results folder: (its path, the Stop
    that made it an interrupted results folder, or None)."""
    from ..present.output import Drawing, fill_stage, safe_name, staged_folder, write_json

    def visuals(folder: Path) -> None:
        images = []
        if not args.no_plots:
            from ..present.plots import png_bytes
            for name, fig in out.figures().items():
                png = png_bytes(fig)
                (folder / f"{safe_name(name)}.png").write_bytes(png)
                images.append((name, png))
        info = out.info(stop)
        if out.base is None:
            page = _simple_page(out.title, out.body, images, info)
        else:
            from ..present.report import render_html
            page = render_html(model, out.base, {}, info,
                               [(out.title, _result_html(out.body, images))])
        (folder / "report.html").write_text(page, encoding="utf-8")

    target, unique = _target(args, model, out.kind)
    with staged_folder(target, args.force, unique) as stage:
        stop = fill_stage(stage, stop, Drawing(
            lambda folder: write_json(folder / f"{out.kind}.json", out.data), visuals,
            out.info))
    return stage.target, stop


def _finish(text: str, target: Path, stop: Any, kept: str, note: str = "") -> int:
    """Print an analysis result and where it went; report a stop; the exit status."""
    print(text)
    print(f"\n{note}Results: {target}")
    if stop is not None:
        _err(stop_lines(stop, kept, target))
    return exit_code(stop)


def _result_html(body: str, images: list[tuple[str, bytes]]) -> str:
    """A preformatted table and embedded PNGs, every text escaped."""
    import base64
    import html
    imgs = "".join(f'<figure><img style="max-width:100%" alt="{html.escape(n)}" '
                   f'src="data:image/png;base64,{base64.b64encode(b).decode()}"></figure>'
                   for n, b in images)
    return f'<pre style="overflow:auto">{html.escape(body)}</pre>{imgs}'


def _simple_page(title: str, body: str, images: list[tuple[str, bytes]],
                 info: dict[str, Any]) -> str:
    import base64
    import html
    import json
    imgs = "".join(f'<figure><img alt="{html.escape(n)}" src="data:image/png;base64,'
                   f'{base64.b64encode(b).decode()}"></figure>' for n, b in images)
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}"
            "</title><style>body{font:20px/1.5 system-ui,sans-serif;max-width:1200px;"
            "margin:2em auto;padding:0 1em;color:#111}pre{font-size:16px;background:#f4f4f4;"
            "padding:1em;overflow:auto}img{max-width:100%}</style>"
            f"<h1>{html.escape(title)}</h1><p><strong>A teaching and exploration model, not a "
            "forecast: the numbers follow from the scenario's stated assumptions.</strong></p>"
            f"<pre>{html.escape(body)}</pre>{imgs}<h2>Manifest</h2>"
            f"<pre>{html.escape(json.dumps(info, indent=2, default=str))}</pre></html>")


def _prepared(args: argparse.Namespace) -> Any:
    """The model with --variant and --set applied; a missing --seed becomes the scenario's."""
    from ..api import prepare
    model = prepare(args.scenario, getattr(args, "variant", None), args.set or [])
    if getattr(args, "seed", 0) is None:
        args.seed = model.seed
    return model


def _info(model: Any, args: argparse.Namespace, runs: int, elapsed: float,
          **extra: Any) -> Callable[[Any], dict[str, Any]]:
    """The manifest of an analysis, as a function of the Stop that ended it (or None)."""
    from ..present.output import manifest
    from ..run.runner import worker_count
    started = (dt.datetime.now() - dt.timedelta(seconds=elapsed)).isoformat(timespec="seconds")

    def info(stop: Any) -> dict[str, Any]:
        return manifest(model, seed=args.seed, requested=getattr(args, "runs", runs),
                        completed=runs, workers=worker_count(args.workers),
                        variant=getattr(args, "variant", None) or "base", elapsed=elapsed,
                        status="complete", started=started,
                        command=getattr(args, "command_line", ""), extra=extra, stop=stop)
    return info


def cmd_compare(args: argparse.Namespace) -> int:
    """Base against variants with common random numbers and paired intervals."""
    from ..analyses.compare import compare_variants
    from ..present.tables import comparison_table
    model = _prepared(args)
    chosen = [v.strip() for v in args.variants.split(",")] if args.variants else None
    comp = _with_progress(args, f"{model.id} compare", lambda update: compare_variants(
        model, chosen, args.runs, args.seed, args.workers, update))
    if comp.runs == 0 and comp.stop is not None:
        raise Stopped(comp.stop)
    text = comparison_table(comp)

    def figures() -> dict[str, Any]:
        from ..present.plots import comparison
        diffs = {name: [(mid, d.diff, d.low, d.high) for (_, mid), d
                        in zip(comp.metrics, comp.differences[i], strict=True)]
                 for i, name in enumerate(comp.names) if i}
        return {"comparison": comparison(comp.summaries[0], dict(zip(
            comp.names[1:], comp.summaries[1:], strict=True)), diffs)}
    info = _info(model, args, comp.runs, comp.elapsed, variants=list(comp.names[1:]))
    target, stop = _write_outputs(args, model, Outputs(
        "compare", comp.to_dict(), figures,
        "Variants compared (paired, common random numbers)", text, info,
        comp.summaries[0]), comp.stop)
    return _finish(text, target, stop, f"{comp.runs} of {args.runs} runs per model")


def cmd_sweep(args: argparse.Namespace) -> int:
    """One- or two-lever sweeps of a metric with intervals."""
    import time

    from ..analyses.compare import metric_of, parse_grid, sweep
    from ..present.tables import sweep_table
    model = _prepared(args)
    axes = [parse_grid(model, g) for g in args.grid]
    metric = metric_of(model, args.metric)
    began = time.perf_counter()
    sw = _with_progress(args, f"{model.id} sweep", lambda update: sweep(
        model, axes, metric, args.runs, args.seed, args.workers, update))
    comp = sw.comparison
    if comp.runs == 0 and comp.stop is not None:
        raise Stopped(comp.stop)
    text = sweep_table(sw)

    def figures() -> dict[str, Any]:
        from ..present.plots import sweep_plot
        return {"sweep": sweep_plot(sw, model)}
    info = _info(model, args, comp.runs, time.perf_counter() - began, grid=args.grid,
                 metric=metric)
    target, stop = _write_outputs(args, model, Outputs(
        "sweep", sw.to_dict(), figures, f"{model.title}: sweep of P({metric})", text,
        info), comp.stop)
    return _finish(text, target, stop, f"{comp.runs} of {args.runs} runs per grid point",
                   f"{comp.runs} runs per grid point (common random numbers), seed "
                   f"{args.seed}.\n")


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Sobol or Morris indices of the uncertain parameters for one metric."""
    import time

    from ..analyses.compare import metric_of
    from ..analyses.sensitivity import run_sensitivity
    from ..present.tables import sensitivity_table
    model = _prepared(args)
    metric = metric_of(model, args.metric)
    began = time.perf_counter()
    sens = _with_progress(args, f"{model.id} {args.method}", lambda update: run_sensitivity(
        model, metric, args.method, args.samples, args.reps, args.seed, args.workers, update))
    if sens.points == 0 and sens.stop is not None:
        raise Stopped(sens.stop)
    text = sensitivity_table(sens) if sens.stop is None else (
        f"{sens.points} parameter points evaluated before the stop: the indices need "
        "every point, so none are shown (the evaluated points are in sensitivity.json).")

    def figures() -> dict[str, Any]:
        if sens.stop is not None:
            return {}
        from ..present.plots import sensitivity_plot
        return {"sensitivity": sensitivity_plot(sens, model)}
    info = _info(model, args, sens.points * sens.reps, time.perf_counter() - began,
                 method=args.method, metric=metric, samples=args.samples, reps=args.reps)
    target, stop = _write_outputs(args, model, Outputs(
        "sensitivity", sens.to_dict(), figures, f"{model.title}: what drives P({metric})?",
        text, info), sens.stop)
    return _finish(text, target, stop, f"{sens.points} evaluated parameter points")


def cmd_discover(args: argparse.Namespace) -> int:
    """Which parameter values lead to an outcome (scenario discovery)."""
    import time

    from ..analyses.compare import metric_of
    from ..analyses.discovery import discover
    from ..present.tables import discovery_table
    model = _prepared(args)
    metric = metric_of(model, args.metric)
    began = time.perf_counter()
    disc = _with_progress(args, f"{model.id} discover", lambda update: discover(
        model, metric, args.runs, args.seed, args.workers, update))
    if disc.runs == 0 and disc.stop is not None:
        raise Stopped(disc.stop)
    text = discovery_table(disc) if disc.findings else (
        f"'{metric}' happened in {disc.hits} of the {disc.runs} runs kept: too few to "
        "compare runs with and without it.")

    def figures() -> dict[str, Any]:
        if not disc.findings:
            return {}
        from ..present.plots import discovery_plot
        return {"discovery": discovery_plot(disc, model)}
    info = _info(model, args, disc.runs, time.perf_counter() - began, metric=metric)
    target, stop = _write_outputs(args, model, Outputs(
        "discover", disc.to_dict(), figures, f"{model.title}: what leads to {metric}?",
        text, info), disc.stop)
    return _finish(text, target, stop, f"{disc.runs} of {args.runs} runs")


def cmd_story(args: argparse.Namespace) -> int:
    """Dated timelines of replications, optionally those meeting a condition."""
    model = _prepared(args)
    if args.paths:
        return _story_paths(args, model)
    from ..analyses.story import MAX_SEARCH, find, timeline
    search = args.search or MAX_SEARCH
    shown: list[tuple[str, Any]] = []
    update, close = _progress(not args.quiet and args.where is not None, "searching")
    stop = None
    try:
        for record in find(model, args.seed, args.where, args.replication, args.count,
                           search, update):
            heading = (f"{model.title} | replication {record.replication}, seed {args.seed}"
                       + (f" | where {args.where}" if args.where else ""))
            print(("\n" if shown else "") + f"== {heading}")
            print("\n".join(timeline(model, record, args.short)))
            shown.append((f"Replication {record.replication}, seed {args.seed}", record))
    except KeyboardInterrupt as exc:  # keep (and write) the stories found so far
        stop = stop_of(exc)
    finally:
        close()
    if shown and args.html:
        from ..analyses.story import story_html
        from ..present.output import write_file
        title = model.title + (f": runs where {args.where}" if args.where else "")
        write_file(Path(args.html), story_html(model, shown, title, args.short))
        print(f"\nStories as a web page: {args.html}")
    if stop is not None:
        _err(stop_lines(stop, f"the {len(shown)} stories found", None))
        return exit_code(stop)
    if not shown:
        _err(f"no replication among {args.replication}..{args.replication + search - 1} "
             f"meets: {args.where} (search further with --search or --replication)")
        return EXIT_RUNTIME
    return EXIT_OK


def _story_paths(args: argparse.Namespace, model: Any) -> int:
    """story --paths: the common paths to each rung, read in chunks with progress."""
    from ..analyses.story import tally_paths
    tally, stop = _with_progress(args, f"{model.id} paths", lambda update: tally_paths(
        model, args.paths, args.seed, args.workers, update))
    if tally.runs == 0 and stop is not None:
        raise Stopped(stop)
    for rung in model.rungs:
        if rung.index <= model.initial_rung:
            continue
        n, paths = tally.common(rung.id)
        print(f"\nPaths to '{rung.name}': reached in {n} of {tally.runs} runs")
        for path in paths:
            steps = " -> ".join(model.rungs[model.rung_index(r)].name for r in path.rungs)
            print(f"  {path.count:5d} ({path.share:5.1%})  {steps}")
        before = [f"'{model.rungs[model.rung_index(r)].name}' {k}"
                  for r, k in tally.stood_on_before(rung.id)]
        if n and before:
            print(f"  Of those {n}, how many stood on each rung before: " + "; ".join(before))
    if stop is not None:
        _err(stop_lines(stop, f"the paths of {tally.runs} of {args.paths} runs (shown)", None))
    return exit_code(stop)


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure bare SimPy and the model in one run; optionally write docs/performance.md."""
    from ..analyses.bench import format_page, format_report, run_bench
    from ..spec.loader import load
    try:
        memory_runs = tuple(int(x) for x in args.memory_runs.split(",") if x.strip())
    except ValueError:
        memory_runs = ()
    if not memory_runs or min(memory_runs) < 1:
        raise UsageError(f"--memory-runs takes comma-separated whole numbers >= 1 "
                         f"(got {args.memory_runs!r})")
    if not 0 < args.seconds < math.inf:
        raise UsageError(f"--seconds must be > 0 (got {args.seconds})")
    model = load(args.scenario)
    memory_model = load(args.memory_scenario)
    result = run_bench(model, memory_model, args.seconds, args.workers, args.speed_runs,
                       memory_runs, args.rounds, args.repeats)
    text = format_report(result)
    print(text)
    if args.write:
        path = Path(args.write)
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        from ..present.output import write_file
        write_file(path, format_page(text, args.command_line, stamp))
        print(f"\nWrote {path}")
    return EXIT_OK




# -- play ----------------------------------------------------------------------------------
def cmd_play(args: argparse.Namespace) -> int:
    """Play one actor turn by turn against the model; save a Markdown transcript."""
    from ..analyses import play
    from ..api import prepare
    model = prepare(args.scenario)
    game = play.Game(model, args.actor, args.seed, args.replication, args.every)
    script = play.load_moves(args.moves, game) if args.moves is not None else None
    if args.runs < 1:
        raise UsageError(f"--runs must be at least 1 (got {args.runs})")
    path = Path(args.transcript) if args.transcript else play.default_transcript(RESULTS, game)
    overwrite = path.exists()

    def consent() -> bool:
        try:
            return input(f"{path} already exists. Overwrite it? [y/N] ").strip().lower() in (
                "y", "yes")
        except (EOFError, KeyboardInterrupt):
            return False
    if overwrite and (path.is_dir() or not sys.stdin.isatty() or not consent()):
        raise UsageError(f"transcript {path} already exists and was not overwritten; give "
                         "another --transcript or remove it")
    command = " ".join(["python -m sim play", shlex.quote(args.scenario), "--as", args.actor,
                        f"--seed {args.seed} --replication {args.replication} "
                        f"--every {args.every:g}"]
                       + (["--moves", shlex.quote(args.moves)] if args.moves else []))
    if game.all_levers:
        print(f"No lever in {args.scenario} names its actor: you control all of them.")

    def decide(situation: Any, problem: str | None) -> Any:
        if problem is None:
            print("\n" + play.situation_text(game, situation))
        if script is not None:  # checked in full before the game started
            if problem is not None:
                raise play.MoveError(problem)
            moves = script.get(situation.index, {})
            print("Moves from " + args.moves + ": " + (", ".join(
                f"{k}={play.fmt_value(v)}" for k, v in moves.items()) or "none"))
            return moves
        if problem is not None:
            print(f"  ! {problem}")
        while True:
            line = input(play.PROMPT)
            if line.strip() in ("?", "help"):
                print(play.levers_text(game, situation))
                continue
            try:
                return play.parse_line(line)
            except play.MoveError as exc:
                print(f"  ! {exc}")

    def save(text: str) -> None:
        from ..present.output import write_file
        write_file(path, text, overwrite)

    try:
        record = play.run(game, decide)
        print("\n== The end ==")
        print("\n".join(f"  {line}" for line in game.tail) or "  (nothing more happened)")
        update, close = _progress(not args.quiet, "default policy")
        try:
            standing = play.standing(model, record.peak, args.runs, args.seed, args.workers,
                                     update)
        finally:
            close()
        default = play.same_dice(model, args.seed, args.replication)
        print("\n".join(play.verdict(game, model, standing, default)))
        text = play.transcript(game, command, True, model, standing, default)
    except (KeyboardInterrupt, EOFError):
        print()
        if not game.turns:
            _err("Stopped before the first move; no transcript was saved.")
            return EXIT_INTERRUPTED
        save(play.transcript(game, command, game.over))
        _err(f"Stopped at decision {game.index + 1} of {len(game.days)}; the transcript so far "
             f"was saved to {path}")
        return EXIT_INTERRUPTED
    save(text)
    print(f"\nTranscript for the debrief: {path}")
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sim", description="Escalation-risk scenario simulator: run YAML crisis "
                                "scenarios as SimPy Monte Carlo and report probabilities "
                                "with 95% intervals.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("validate", help="check scenario files and report every problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("new", help="write a small, valid, commented scenario to start from")
    p.add_argument("name", metavar="NAME", help="file to write: NAME.yaml (or NAME if it "
                                                "ends in .yaml)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("schema", help="the JSON Schema of the scenario format (for editors)")
    p.add_argument("--out", "-o", metavar="FILE", help="write it here instead of printing it")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("run", help="run a scenario and write a results folder")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--runs", "-n", type=POSITIVE, default=DEFAULT_RUNS,
                   help=f"replications (default {DEFAULT_RUNS})")
    p.add_argument("--seed", type=NON_NEGATIVE, default=None,
                   help="random seed (default: the scenario's seed, else 1)")
    p.add_argument("--workers", "-w", type=POSITIVE, default=None,
                   help="worker processes (default: all cores); results do not depend on it")
    p.add_argument("--variant", "-v", help="a variant defined in the scenario")
    p.add_argument("--set", action="append", metavar="LEVER=VALUE",
                   help="set a lever (repeatable), e.g. --set nk_troops=20000")
    p.add_argument("--out", "-o", help="results folder (default results/<scenario>-<time>)")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--precision", type=float, metavar="HALF_WIDTH",
                   help="run until every probability's 95%% half-width is at most this "
                        "(e.g. 0.005), or --max-runs is reached")
    p.add_argument("--max-runs", type=POSITIVE, default=200_000,
                   help="cap for --precision (default 200000)")
    p.add_argument("--backend", choices=("local", "dask"), default="local",
                   help="where replications run: local processes or a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --backend dask)")
    p.add_argument("--check-exact", action="store_true",
                   help="also solve the scenario exactly (Markov scenarios) and compare")
    p.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    p.add_argument("--no-csv", action="store_true", help="skip the per-replication CSV")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    def common(p: argparse.ArgumentParser, runs: int | None) -> None:
        p.add_argument("scenario", metavar="SCENARIO")
        if runs is not None:
            p.add_argument("--runs", "-n", type=POSITIVE, default=runs,
                           help=f"replications per model (default {runs})")
        p.add_argument("--seed", type=NON_NEGATIVE, default=None,
                       help="random seed (default: the scenario's seed, else 1)")
        p.add_argument("--workers", "-w", type=POSITIVE, default=None,
                       help="worker processes (default: all cores)")
        p.add_argument("--set", action="append", metavar="LEVER=VALUE",
                       help="set a lever for every model (repeatable)")
        p.add_argument("--out", "-o", help="results folder (default results/...)")
        p.add_argument("--force", action="store_true", help="replace an existing --out")
        p.add_argument("--no-plots", action="store_true", help="skip PNG plots")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    p = sub.add_parser("compare", help="compare the base with variants (paired intervals)")
    common(p, 4000)
    p.add_argument("--variants", help="comma-separated variants (default: all)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="sweep one or two levers over a grid")
    common(p, 1000)
    p.add_argument("--grid", action="append", required=True, metavar="LEVER=START:STOP:N",
                   help="a lever and its values: start:stop:n, a,b,c, or just LEVER for "
                        "an on/off lever (give one or two)")
    p.add_argument("--metric", required=True, help="an outcome id or a rung id")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("sensitivity", help="which uncertain parameters drive an outcome")
    common(p, None)
    p.add_argument("--metric", required=True, help="an outcome id or a rung id")
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    p.add_argument("--samples", type=POSITIVE, default=64,
                   help="base samples (Sobol: a power of 2; Morris: trajectories)")
    p.add_argument("--reps", type=POSITIVE, default=40,
                   help="replications at each parameter point (default 40)")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("discover", help="which parameter values lead to an outcome")
    common(p, 10_000)
    p.add_argument("--metric", required=True, help="an outcome id or a rung id")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("story", help="read replications as dated stories")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--seed", type=NON_NEGATIVE, default=None,
                   help="random seed (default: the scenario's seed, else 1)")
    p.add_argument("--replication", "-r", type=NON_NEGATIVE, default=0,
                   help="first replication to show or search from (default 0)")
    p.add_argument("--where", help="only replications meeting this condition, e.g. "
                                   "\"peak >= tactical_nuclear_use\"")
    p.add_argument("--count", type=POSITIVE, default=1, help="how many stories (default 1)")
    p.add_argument("--paths", type=_count(0, MAX_PATH_RUNS), metavar="RUNS", default=0,
                   help="instead: the most common rung paths to each rung over RUNS runs "
                        f"(at most {MAX_PATH_RUNS:,}; read in chunks, memory stays flat)")
    p.add_argument("--search", type=POSITIVE, metavar="RUNS", default=None,
                   help="with --where: replications to search at most (default 200,000)")
    p.add_argument("--workers", "-w", type=POSITIVE, default=None,
                   help="worker processes for --paths (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--short", action="store_true",
                   help="key events only: changes of rung and the first of each kind of "
                        "event (repeats are counted at the end)")
    p.add_argument("--html", metavar="FILE",
                   help="also write the stories as a web page (e.g. story.html)")
    p.add_argument("--variant", "-v")
    p.add_argument("--set", action="append", metavar="LEVER=VALUE")
    p.set_defaults(func=cmd_story)

    p = sub.add_parser("exact", help="solve a Markovian scenario exactly (no simulation)")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--variant", "-v")
    p.add_argument("--set", action="append", metavar="LEVER=VALUE")
    p.set_defaults(func=cmd_exact)

    p = sub.add_parser(
        "bench", help="benchmark the engine against bare SimPy",
        description="Measure, in one run: bare SimPy's event rate and the model's (in "
                    "alternating paired rounds), the speed-up on several workers, and the "
                    "collecting process's peak memory for growing run counts.")
    p.add_argument("--scenario", default="scenarios/atacms.yaml",
                   help="scenario whose speed is measured (default: %(default)s)")
    p.add_argument("--memory-scenario", default="scenarios/teaching.yaml",
                   help="scenario for the memory check, a fast one (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=3.0,
                   help="seconds of model and of bare SimPy each, split over the rounds "
                        "(default: %(default)s)")
    p.add_argument("--rounds", type=POSITIVE, default=10,
                   help="alternating rounds of bare SimPy and the model; the ratio is the "
                        "median of the rounds' ratios (default: %(default)s)")
    p.add_argument("--workers", type=POSITIVE, default=2,
                   help="workers for the speed-up and memory checks (default: %(default)s)")
    p.add_argument("--repeats", type=POSITIVE, default=3,
                   help="alternating timings of 1 worker and --workers workers; the speed-up "
                        "is the median of the pairs' (default: %(default)s)")
    p.add_argument("--speed-runs", type=POSITIVE, default=4000,
                   help="replications timed on 1 and on --workers workers "
                        "(default: %(default)s)")
    p.add_argument("--memory-runs", default="10000,100000",
                   help="comma-separated run counts for the memory check "
                        "(default: %(default)s)")
    p.add_argument("--write", metavar="FILE", help="also write the Markdown report here "
                                                   "(e.g. docs/performance.md)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("play", help="play one actor turn by turn against the model")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--as", dest="actor", required=True, metavar="ACTOR",
                   help="the actor you play (you set the levers tagged with it)")
    p.add_argument("--seed", type=NON_NEGATIVE, default=1, help="random seed (default 1)")
    p.add_argument("--replication", "-r", type=NON_NEGATIVE, default=0,
                   help="which replication's dice to play (default 0)")
    p.add_argument("--every", type=float, default=30.0, metavar="DAYS",
                   help="days between decisions, from day 0 (default 30)")
    p.add_argument("--moves", metavar="FILE", help="take the moves from a YAML file instead "
                                                   "of the keyboard (replayable)")
    p.add_argument("--transcript", metavar="FILE",
                   help="Markdown transcript (default results/play-...md; never overwritten "
                        "without asking)")
    p.add_argument("--runs", "-n", type=POSITIVE, default=2000,
                   help="default-policy replications to compare with (default 2000)")
    p.add_argument("--workers", "-w", type=POSITIVE, default=None,
                   help="worker processes for that comparison (default: all cores)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_play)

    from .backtest import add_parser as add_backtest
    add_backtest(sub, POSITIVE, NON_NEGATIVE)

    from .serve import add_parser as add_serve
    add_serve(sub, POSITIVE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status instead of raising."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message (or the help)
        return int(exc.code or 0)
    # Recorded in manifests and generated pages, so that anyone can rerun what ran.
    args.command_line = "python -m sim " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    if getattr(args, "workers", None) is not None:
        from ..run.runner import max_workers
        if args.workers > max_workers():
            _err(f"note: --workers {args.workers} capped to {max_workers()} (two per core; "
                 "more processes only cost memory)")
            args.workers = max_workers()
    code = _dispatch(args)
    try:
        sys.stdout.flush()
    except OSError as exc:  # stdout is a closed pipe or a full device (/dev/full)
        silence_stdout()
        if not isinstance(exc, BrokenPipeError):
            _err(f"error: cannot write the output (stdout): {cause(exc)}")
            return code or EXIT_RUNTIME
    return code


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; every failure becomes one message and an exit status."""
    try:
        with sigterm_interrupts():
            return int(args.func(args))
    except ScenarioError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err(f"{len(exc.problems)} problem(s); nothing was run.")
        return EXIT_INPUT
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except Stopped as exc:
        _err(f"Stopped: {exc.stop.message}\nNothing was written.")
        return exit_code(exc.stop)
    except SimError as exc:
        _err(f"error: {exc}")
        return EXIT_RUNTIME
    except KeyboardInterrupt as exc:
        stop = stop_of(exc)
        _err(f"Stopped: {stop.message} before anything finished; nothing was written.")
        return exit_code(stop)
    except MemoryError:
        _err("error: out of memory")
        return EXIT_RUNTIME
    except BrokenPipeError:
        silence_stdout()
        return EXIT_OK
    except OSError as exc:  # disk full, read-only, file-size limit, name too long, ...
        if exc.filename is None and not _stdout_works():
            _err(f"error: cannot write the output (stdout): {cause(exc)}")
        else:
            _err(os_error_line(exc))
        return EXIT_RUNTIME


def _stdout_works() -> bool:
    """False (and stdout silenced, so that the exit cannot fail again) if stdout fails.
    Tried with a real write: after a failed write the buffer may be empty."""
    try:
        sys.stdout.write("\n")
        sys.stdout.flush()
    except OSError:
        silence_stdout()
        return False
    return True

"""``run``: simulate a scenario, print the table, write the results folder."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from .. import api
from ..errors import UsageError
from . import options as opt
from .common import err, progress_bar, scenario_label
from .run_options import add_options, precision_note
from .stops import exit_code, stop_lines


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario, print the summary table and write the results folder."""
    if (args.backend == "dask") != (args.scheduler is not None):
        raise UsageError("--backend dask and --scheduler ADDRESS go together")
    with progress_bar(args, scenario_label(args, "run")) as update:
        report = api.run(args.scenario, runs=args.runs, seed=args.seed, workers=args.workers,
                         variant=args.variant, settings=args.set or [], out=args.out,
                         force=args.force, precision=args.precision, max_runs=args.max_runs,
                         scheduler=args.scheduler, check_exact=args.check_exact,
                         rare=args.rare, precision_for=args.precision_for,
                         plots=not args.no_plots, csv=not args.no_csv, progress=update,
                         command=args.command_line)
    print_run(report, args)
    if report.stop is not None:
        err(stop_lines(report.stop, f"{report.result.runs} of {report.requested} runs",
                       report.folder))
    return exit_code(report.stop)


def print_run(report: api.RunReport, args: argparse.Namespace,
              out: TextIO | None = None) -> None:
    """The table, the exact check if any, the run's facts and the folder."""
    from ..present.report import format_table
    out = out or sys.stdout  # looked up now: callers may have redirected stdout
    print(format_table(report.summary), file=out)
    if report.rare:
        from ..present.tables import rare_table
        print("\n" + rare_table(report.rare, report.summary), file=out)
    if report.exact_text:
        print("\n" + report.exact_text, file=out)
    result = report.result
    rate = result.runs / result.elapsed if result.elapsed > 0 else float("nan")
    note = precision_note(report, args.max_runs)
    print(f"\n{result.runs} runs, seed {report.seed}, {result.workers} worker(s), "
          f"{result.elapsed:.1f} s ({rate:,.0f} runs/s){note}", file=out)
    print(f"Results: {report.folder}  ({', '.join(report.files)})", file=out)


def add(sub: Any) -> None:
    """Register ``run``."""
    p = sub.add_parser("run", help="run a scenario and write a results folder",
                       parents=[opt.scenario(), opt.runs(api.DEFAULT_RUNS), opt.seed(),
                                opt.workers(), opt.variant(), opt.settings(), opt.output(),
                                opt.quiet()])
    add_options(p, opt.POSITIVE, api.MAX_RUNS)
    p.add_argument("--backend", choices=("local", "dask"), default="local",
                   help="where replications run: local processes or a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --backend dask)")
    p.add_argument("--check-exact", action="store_true",
                   help="also solve the scenario exactly (Markov scenarios) and compare")
    p.add_argument("--no-csv", action="store_true", help="skip the per-replication CSV")
    p.set_defaults(func=cmd_run)

"""``sim backtest``: score scenarios against what really happened (their events files)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import api
from ..errors import UsageError
from . import options as opt
from .common import err
from .stops import EXIT_OK


def add(sub: Any) -> None:
    """Register the ``backtest`` subcommand."""
    p = sub.add_parser(
        "backtest", help="score scenarios against history (their events files)",
        parents=[opt.runs(api.BACKTEST_RUNS, "replications per scenario"),
                 opt.seed(), opt.workers(), opt.output(), opt.quiet()],
        description="Run each scenario as written (or read a results folder of a base run), "
                    "compare its probabilities and timing with its events file "
                    "(events/NAME.yaml beside the scenario, see docs/backtest.md) and "
                    "print Brier and log scores, skill against 50% and the base rate, "
                    "timing percentiles and, for several cases, a pooled reliability "
                    "table. Writes PNGs, backtest.json and report.html into a "
                    "results folder.")
    p.add_argument("inputs", nargs="+", metavar="SCENARIO_OR_RESULTS",
                   help="scenario files (e.g. scenarios/history/*.yaml) or results folders "
                        "of base runs")
    p.add_argument("--events", metavar="FILE",
                   help="the events file (only with one input; default events/NAME.yaml "
                        "beside the scenario)")
    p.set_defaults(func=cmd_backtest)


def cmd_backtest(args: argparse.Namespace) -> int:
    """Score every input, print the tables, write the results folder."""
    def announce(scenario: str, runs: int, seed: int) -> None:
        if not args.quiet:
            err(f"backtest: running {scenario} ({runs:,} runs, seed {seed})...")
    if args.events and len(args.inputs) > 1:
        raise UsageError("--events names one events file: give one scenario with it, or "
                         "leave it out to use each scenario's events/NAME.yaml")
    result = api.backtest(args.inputs, events=args.events, runs=args.runs, seed=args.seed,
                          workers=args.workers, announce=announce)
    target = api.save_backtest(result, args.out, force=args.force, plots=not args.no_plots,
                               command=args.command_line)
    rule = "\n" + "=" * 92 + "\n"
    print(rule.join(result.texts))
    print(f"\nResults: {target}  (backtest.json, report.html"
          f"{'' if args.no_plots else ', plots'})")
    return EXIT_OK

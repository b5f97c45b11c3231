"""``compare``, ``sweep``, ``sensitivity``, ``discover``: one shape (see
:func:`.common.analysis_command`), four sets of options."""

from __future__ import annotations

import argparse
from typing import Any

from .. import api
from . import options as opt
from .common import analysis_command, scenario_label


def _shared(runs: int | None) -> list[argparse.ArgumentParser]:
    """The parents of every analysis command; ``runs`` None: no --runs."""
    parents = [opt.scenario()] + ([opt.runs(runs, "replications per model")] if runs else [])
    return parents + [opt.seed(), opt.workers(), opt.settings(), opt.output(), opt.quiet()]


def _common(args: argparse.Namespace) -> dict[str, Any]:
    return {"seed": args.seed, "workers": args.workers, "settings": args.set or [],
            "command": args.command_line}


def cmd_compare(args: argparse.Namespace) -> int:
    """Base against variants with common random numbers and paired intervals."""
    chosen = [v.strip() for v in args.variants.split(",")] if args.variants else None
    return analysis_command(args, scenario_label(args, "compare"), lambda progress: api.compare(
        args.scenario, chosen, runs=args.runs, progress=progress, **_common(args)))


def cmd_sweep(args: argparse.Namespace) -> int:
    """One- or two-lever sweeps of a metric with intervals."""
    return analysis_command(args, scenario_label(args, "sweep"), lambda progress: api.sweep(
        args.scenario, args.grid, args.metric, runs=args.runs, progress=progress,
        **_common(args)))


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Sobol or Morris indices of the uncertain parameters for one metric."""
    return analysis_command(args, scenario_label(args, args.method), lambda progress: (
        api.sensitivity(args.scenario, args.metric, method=args.method, samples=args.samples,
                        reps=args.reps, progress=progress, **_common(args))))


def cmd_discover(args: argparse.Namespace) -> int:
    """Which parameter values lead to an outcome (scenario discovery)."""
    return analysis_command(args, scenario_label(args, "discover"), lambda progress: (
        api.discover(args.scenario, args.metric, runs=args.runs, progress=progress,
                     **_common(args))))


def add(sub: Any) -> None:
    """Register the four analysis commands."""
    p = sub.add_parser("compare", parents=_shared(4000),
                       help="compare the base with variants (paired intervals)")
    p.add_argument("--variants", help="comma-separated variants (default: all)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", parents=_shared(1000) + [opt.metric()],
                       help="sweep one or two levers over a grid")
    p.add_argument("--grid", action="append", required=True, metavar="LEVER=START:STOP:N",
                   help="a lever and its values: start:stop:n, a,b,c, or just LEVER for "
                        "an on/off lever (give one or two)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("sensitivity", parents=_shared(None) + [opt.metric()],
                       help="which uncertain parameters drive an outcome")
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    p.add_argument("--samples", type=opt.POSITIVE, default=64,
                   help="base samples (Sobol: a power of 2; Morris: trajectories)")
    p.add_argument("--reps", type=opt.POSITIVE, default=40,
                   help="replications at each parameter point (default 40)")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("discover", parents=_shared(10_000) + [opt.metric()],
                       help="which parameter values lead to an outcome")
    p.set_defaults(func=cmd_discover)

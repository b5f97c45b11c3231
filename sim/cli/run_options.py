"""`sim run` options for precision and rare outcomes, and what is printed about them.
Kept apart from run.py so that the run command stays short."""

from __future__ import annotations

import argparse
from typing import Any


def add_options(p: argparse.ArgumentParser, positive: Any, max_runs: int) -> None:
    """The precision and rare-outcome options of ``sim run``."""
    p.add_argument("--precision", metavar="HALF_WIDTH",
                   help="run until every probability's 95%% half-width is at most this "
                        "(e.g. 0.005), or, written as a percentage (e.g. 10%%), until the "
                        "outcomes named by --rare and --precision-for are within that share "
                        "of their estimate; stops at a chunk boundary, or at --max-runs")
    p.add_argument("--precision-for", action="append", metavar="OUTCOME", default=[],
                   help="an outcome (or rung) a relative --precision applies to, estimated "
                        "by plain counting (repeatable)")
    p.add_argument("--max-runs", type=positive, default=max_runs,
                   help=f"cap for --precision (default {max_runs})")
    p.add_argument("--rare", action="append", metavar="OUTCOME", default=[],
                   help="also estimate this outcome (or rung) by conditional Monte Carlo, "
                        "exact in expectation and far more precise for rare ones; prints "
                        "the estimate, its 95%% interval and the equivalent number of plain "
                        "runs (repeatable; the ordinary results are unchanged)")


def precision_note(report: Any, max_runs: int) -> str:
    """The clause printed after the run count."""
    p = report.precision
    if p is None:
        return ""
    if p.relative:
        return (f"; every named outcome's 95% half-width <= {p.value:.0%} of its estimate"
                if report.precision_reached else
                f"; relative precision {p.value:.0%} NOT reached within --max-runs "
                f"{max_runs} (widest {report.widest:.1%} of its estimate)")
    return (f"; every probability's 95% half-width <= {p.value:g}"
            if report.precision_reached else
            f"; precision {p.value:g} NOT reached within --max-runs {max_runs} "
            f"(widest half-width {report.widest:.4f})")

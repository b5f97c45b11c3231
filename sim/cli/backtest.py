"""``sim backtest``: score scenarios against what really happened (their events files)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError

DEFAULT_RUNS = 4000
RESULTS = Path("results")


def add_parser(sub: Any, positive: Any, non_negative: Any) -> None:
    """Register the ``backtest`` subcommand (``positive``/``non_negative``: count types)."""
    p = sub.add_parser(
        "backtest", help="score scenarios against history (their events files)",
        description="Run each scenario as written (or read a results folder of a base run), "
                    "compare its probabilities and timing with its events file "
                    "(events/NAME.yaml beside the scenario, see docs/backtest.md) and "
                    "print Brier and log scores, skill against 50%% and the base rate, "
                    "timing percentiles and, for several cases, a pooled reliability "
                    "table. Writes PNGs, "
                    "backtest.json and report.html into a results folder.")
    p.add_argument("inputs", nargs="+", metavar="SCENARIO_OR_RESULTS",
                   help="scenario files (e.g. scenarios/history/*.yaml) or results folders "
                        "of base runs")
    p.add_argument("--events", metavar="FILE",
                   help="the events file (only with one input; default events/NAME.yaml "
                        "beside the scenario)")
    p.add_argument("--runs", "-n", type=positive, default=DEFAULT_RUNS,
                   help=f"replications per scenario (default {DEFAULT_RUNS})")
    p.add_argument("--seed", type=non_negative, default=None,
                   help="random seed (default: each scenario's seed)")
    p.add_argument("--workers", "-w", type=positive, default=None,
                   help="worker processes (default: all cores); results do not depend on it")
    p.add_argument("--out", "-o", help="results folder (default results/backtest-<time>)")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_backtest)


def _inputs(args: argparse.Namespace) -> list[tuple[Any, Any, Any]]:
    """Load every input and check its events file before anything runs."""
    from ..analyses import backtest as bt
    from ..spec.loader import load
    out: list[tuple[Any, Any, Any]] = []
    for item in args.inputs:
        path = Path(item)
        if path.is_dir():
            forecasts, model, info = bt.folder_forecasts(path)
            out.append((model, bt.events_for(model, args.events), (forecasts, info)))
        else:
            model = load(path)
            out.append((model, bt.events_for(model, args.events), None))
    return out


def _case(model: Any, events: Any, read: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """Score one input (running it unless it was read from a folder): (Case, Judged)."""
    from ..analyses import backtest as bt
    if read is not None:
        forecasts, info = read
        seed, origin = int(info.get("seed", 0)), str(info.get("folder", "results folder"))
    else:
        seed = model.seed if args.seed is None else args.seed
        if not args.quiet:
            print(f"backtest: running {model.id} ({args.runs:,} runs, seed {seed})...",
                  file=sys.stderr)
        forecasts = bt.run_forecasts(model, args.runs, seed, args.workers)
        origin = "run"
    judged = bt.Judged(model.path, model.digest, events.file, seed, forecasts.runs, origin)
    return bt.score_case(forecasts, events), judged


def cmd_backtest(args: argparse.Namespace) -> int:
    """Score every input, print the tables, write the results folder."""
    from ..analyses import backtest as bt
    from ..present.backtest_tables import case_table, pooled_table
    from ..present.output import staged_folder, versions, write_json
    if args.events and len(args.inputs) > 1:
        raise UsageError("--events names one events file: give one scenario with it, or "
                         "leave it out to use each scenario's events/NAME.yaml")
    scored = [_case(model, events, read, args) for model, events, read in _inputs(args)]
    cases = [case for case, _ in scored]
    pooled = bt.pool(cases)
    texts = [case_table(case) for case in cases] + [pooled_table(pooled)]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target, unique = ((Path(args.out), False) if args.out
                      else (RESULTS / f"backtest-{stamp}", True))
    with staged_folder(target, args.force, unique) as stage:
        write_json(stage.path / "backtest.json",
                   {"command": args.command_line,
                    "cases": [bt.case_dict(c, j) for c, j in scored],
                    "pooled": bt.pooled_dict(pooled)})
        images = [] if args.no_plots else _write_plots(stage.path, cases, pooled)
        from ..present.backtest_tables import backtest_page
        (stage.path / "report.html").write_text(backtest_page(texts, images),
                                                encoding="utf-8")
        write_json(stage.path / "manifest.json",  # last: its presence means "complete"
                   {"status": "complete", "kind": "backtest", "command": args.command_line,
                    "cases": [j._asdict() for _, j in scored], "versions": versions(),
                    "finished": dt.datetime.now().isoformat(timespec="seconds")})
    target = stage.target
    rule = "\n" + "=" * 92 + "\n"
    print(rule.join(texts))
    print(f"\nResults: {target}  (backtest.json, report.html"
          f"{'' if args.no_plots else ', plots'})")
    return 0


def _write_plots(folder: Path, cases: list[Any], pooled: Any) -> list[tuple[str, bytes]]:
    from ..present.backtest_plots import case_figure, reliability_figure
    from ..present.output import safe_name
    from ..present.plots import png_bytes
    images = []
    figures = [(f"backtest_{safe_name(c.forecasts.scenario)}", case_figure(c)) for c in cases]
    figures.append(("reliability", reliability_figure(pooled)))
    for name, fig in figures:
        png = png_bytes(fig)
        (folder / f"{name}.png").write_bytes(png)
        images.append((name, png))
    return images

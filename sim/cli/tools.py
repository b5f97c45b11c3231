"""``validate``, ``exact`` and ``bench``."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import api
from ..analyses import bench
from ..errors import UsageError
from ..present.output import write_file
from . import options as opt
from .common import err
from .stops import EXIT_INPUT, EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario files; print every problem; exit 2 if any file is invalid."""
    checks = api.validate(args.files)
    for check in checks:
        for w in check.warnings:
            err(f"{w} [warning]")
        if check.problems:
            for p in check.problems:
                err(str(p))
            err(f"{check.path}: {len(check.problems)} problem(s)")
        elif check.events is not None:
            ev = check.events
            print(f"{check.path}: OK (events file: {len(ev.of_kind('outcome'))} outcomes and "
                  f"{len(ev.of_kind('rung'))} rungs of {ev.scenario} judged)")
        elif check.model is not None:
            m = check.model
            print(f"{check.path}: OK ({len(m.rungs)} rungs, {len(m.actors)} actors, "
                  f"{len(m.levers)} levers, {len(m.parameters)} parameters, "
                  f"{len(m.actions)} actions, {len(m.processes)} processes, "
                  f"{len(m.rules)} rules, {len(m.variants)} variants)")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_INPUT


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the scenario format, or write it to --out."""
    if args.out is None:
        print(api.schema_text(), end="")
        return EXIT_OK
    api.write_schema(args.out)
    print(f"Wrote {args.out}. To use it in an editor, see docs/scenario-format.md, "
          "section 12.")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    """Write a small, valid, commented scenario to start from (and the schema beside it)."""
    try:
        made = api.new_scenario(args.name, force=args.force)
    except FileExistsError as exc:
        raise UsageError(f"{exc.filename} already exists; choose another name or add "
                         "--force") from None
    wrote = [str(made.path)] + ([f"{made.schema} (for editor completion)"]
                                if made.schema else [])
    print(f"Wrote {' and '.join(wrote)}.\nNext: python -m sim validate {made.path}")
    return EXIT_OK


def cmd_exact(args: argparse.Namespace) -> int:
    """Solve a Markovian scenario exactly and print the probabilities."""
    from ..present.tables import exact_result_table
    model, result = api.exact(args.scenario, variant=args.variant, settings=args.set or [])
    print(exact_result_table(model, result))
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure bare SimPy and the model in one run; optionally write docs/performance.md."""
    from ..analyses.bench import format_page, format_report
    result = api.bench(args.scenario, args.memory_scenario, seconds=args.seconds,
                       workers=args.workers, speed_runs=args.speed_runs,
                       memory_runs=args.memory_runs, rounds=args.rounds, repeats=args.repeats,
                       rare=None if args.rare is None else
                       [o.strip() for o in args.rare.split(",") if o.strip()],
                       rare_runs=args.rare_runs)
    text = format_report(result)
    print(text)
    if args.write:
        path = Path(args.write)
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        write_file(path, format_page(text, args.command_line, stamp))
        print(f"\nWrote {path}")
    return EXIT_OK


# bench's numeric options: (flag, type, default, help), declared in one table.
_BENCH_NUMBERS: tuple[tuple[str, Callable[[str], Any], Any, str], ...] = (
    ("--seconds", opt.positive_finite, bench.SECONDS,
     "seconds of model and of bare SimPy each, split over the rounds (default: %(default)s)"),
    ("--rounds", opt.POSITIVE, bench.ROUNDS,
     "alternating rounds of bare SimPy and the model; the ratio is the median of the "
     "rounds' ratios (default: %(default)s)"),
    ("--workers", opt.POSITIVE, bench.WORKERS,
     "workers for the speed-up and memory checks; with 1 no speed-up is measured "
     "(default: %(default)s)"),
    ("--repeats", opt.POSITIVE, bench.REPEATS,
     "alternating timings of 1 worker and --workers workers; the speed-up is the median of "
     "the pairs' (default: %(default)s)"),
    ("--speed-runs", opt.POSITIVE, bench.SPEED_RUNS,
     "replications timed on 1 and on --workers workers (default: %(default)s)"),
    ("--memory-runs", opt.counts, bench.MEMORY_RUNS,
     "comma-separated run counts for the memory check (default: "
     f"{','.join(map(str, bench.MEMORY_RUNS))})"),
)


def add(sub: Any) -> None:
    """Register ``validate``, ``exact`` and ``bench``."""
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

    p = sub.add_parser("exact", help="solve a Markovian scenario exactly (no simulation)",
                       parents=[opt.scenario(), opt.variant(), opt.settings()])
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
    for flag, kind, default, text in _BENCH_NUMBERS:
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument("--rare", default=None,
                   help="comma-separated outcomes for the rare-event figures: time to a 95%% "
                        "half-width of 10%% of the estimate, plain counting vs --rare "
                        "(default: nuclear_use,strategic_exchange when the scenario has "
                        "them; an empty string skips them)")
    p.add_argument("--rare-runs", type=opt.POSITIVE, default=bench.RARE_RUNS,
                   help="replications (on --workers) that estimate the rare figures' "
                        "variance ratios (default: %(default)s)")
    p.add_argument("--write", metavar="FILE", help="also write the Markdown report here "
                                                   "(e.g. docs/performance.md)")
    p.set_defaults(func=cmd_bench)

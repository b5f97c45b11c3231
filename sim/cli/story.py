"""``story``: replications as dated stories, or the common paths to each rung."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import api
from ..faults import stop_of
from ..present.output import write_file
from . import options as opt
from .common import err, progress_bar, scenario_label
from .stops import EXIT_OK, EXIT_RUNTIME, exit_code, stop_lines

MAX_PATH_RUNS = 2_000_000


def cmd_story(args: argparse.Namespace) -> int:
    """Dated timelines of replications, optionally those meeting a condition."""
    if args.paths:
        return _story_paths(args)
    search = args.search or api.MAX_SEARCH
    shown: list[api.Story] = []
    stop = None
    with progress_bar(args, "searching", enabled=args.where is not None) as update:
        found = api.stories(args.scenario, seed=args.seed, where=args.where,
                            start=args.replication, count=args.count, search=search,
                            short=args.short, variant=args.variant, settings=args.set or [],
                            progress=update)
        try:
            for story in found:
                print(("\n" if shown else "") + f"== {found.heading(story)}")
                print("\n".join(story.lines))
                shown.append(story)
        except KeyboardInterrupt as exc:  # keep (and write) the stories found so far
            stop = stop_of(exc)
    if shown and args.html:
        write_file(Path(args.html), found.html(shown))
        print(f"\nStories as a web page: {args.html}")
    if stop is not None:
        err(stop_lines(stop, f"the {len(shown)} stories found", None))
        return exit_code(stop)
    if not shown:
        err(f"no replication among {args.replication}..{args.replication + search - 1} "
            f"meets: {args.where} (search further with --search or --replication)")
        return EXIT_RUNTIME
    return EXIT_OK


def _story_paths(args: argparse.Namespace) -> int:
    """story --paths: the common paths to each rung, read in chunks with progress."""
    with progress_bar(args, scenario_label(args, "paths")) as update:
        result = api.paths(args.scenario, args.paths, seed=args.seed, workers=args.workers,
                           variant=args.variant, settings=args.set or [], progress=update)
    for found in result.rungs:
        print(f"\nPaths to '{found.rung.name}': reached in {found.reached} of "
              f"{result.runs} runs")
        for path in found.paths:
            steps = " -> ".join(result.name(r) for r in path.rungs)
            print(f"  {path.count:5d} ({path.share:5.1%})  {steps}")
        before = [f"'{result.name(r)}' {k}" for r, k in found.before]
        if found.reached and before:
            print(f"  Of those {found.reached}, how many stood on each rung before: "
                  + "; ".join(before))
    if result.stop is not None:
        err(stop_lines(result.stop, f"the paths of {result.runs} of {args.paths} runs "
                                    "(shown)", None))
    return exit_code(result.stop)


def add(sub: Any) -> None:
    """Register ``story``."""
    p = sub.add_parser("story", help="read replications as dated stories",
                       parents=[opt.scenario(), opt.seed(), opt.variant(), opt.settings(),
                                opt.workers(), opt.quiet()])
    p.add_argument("--replication", "-r", type=opt.NON_NEGATIVE, default=0,
                   help="first replication to show or search from (default 0)")
    p.add_argument("--where", help="only replications meeting this condition, e.g. "
                                   "\"peak >= tactical_nuclear_use\"")
    p.add_argument("--count", type=opt.POSITIVE, default=1, help="how many stories (default 1)")
    p.add_argument("--paths", type=opt.count(0, MAX_PATH_RUNS), metavar="RUNS", default=0,
                   help="instead: the most common rung paths to each rung over RUNS runs "
                        f"(at most {MAX_PATH_RUNS:,}; read in chunks, memory stays flat)")
    p.add_argument("--search", type=opt.POSITIVE, metavar="RUNS", default=None,
                   help="with --where: replications to search at most (default 200,000)")
    p.add_argument("--short", action="store_true",
                   help="key events only: changes of rung and the first of each kind of "
                        "event (repeats are counted at the end)")
    p.add_argument("--html", metavar="FILE",
                   help="also write the stories as a web page (e.g. story.html)")
    p.set_defaults(func=cmd_story)

"""``play``: one actor turn by turn at the keyboard (or from a moves file)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from .. import api
from ..analyses import play
from ..errors import UsageError
from ..present.output import write_file
from . import options as opt
from .common import err, progress_bar
from .stops import EXIT_INTERRUPTED, EXIT_OK


def _transcript_path(args: argparse.Namespace, game: play.Game) -> tuple[Path, bool]:
    """Where the transcript goes and whether the person agreed to overwrite it."""
    path = Path(args.transcript) if args.transcript else api.transcript_path(game)
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
    return path, overwrite


def _decider(args: argparse.Namespace, game: play.Game,
             script: dict[int, dict[str, Any]] | None) -> play.Decide:
    """The moves: from the moves file (checked in full before the game) or the keyboard."""
    def decide(situation: play.Situation, problem: str | None) -> Any:
        if problem is None:
            print("\n" + play.situation_text(game, situation))
        if script is not None:
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
    return decide


def cmd_play(args: argparse.Namespace) -> int:
    """Play one actor turn by turn against the model; save a Markdown transcript."""
    game = api.new_game(args.scenario, args.actor, seed=args.seed,
                        replication=args.replication, every=args.every)
    script = play.load_moves(args.moves, game) if args.moves is not None else None
    path, overwrite = _transcript_path(args, game)
    command = " ".join(["python -m sim play", shlex.quote(args.scenario), "--as", args.actor,
                        f"--seed {args.seed} --replication {args.replication} "
                        f"--every {args.every:g}"]
                       + (["--moves", shlex.quote(args.moves)] if args.moves else []))
    if game.all_levers:
        print(f"No lever in {args.scenario} names its actor: you control all of them.")

    def save(text: str) -> None:
        write_file(path, text, overwrite)

    try:
        play.run(game, _decider(args, game, script))
        print("\n== The end ==")
        print("\n".join(f"  {line}" for line in game.tail) or "  (nothing more happened)")
        with progress_bar(args, "default policy") as update:
            end = api.debrief(game, args.scenario, runs=args.runs, workers=args.workers,
                              progress=update, command=command)
        print("\n".join(end.verdict))
    except (KeyboardInterrupt, EOFError):
        print()
        if not game.turns:
            err("Stopped before the first move; no transcript was saved.")
            return EXIT_INTERRUPTED
        save(api.unfinished_transcript(game, command))
        err(f"Stopped at decision {game.index + 1} of {len(game.days)}; the transcript so far "
            f"was saved to {path}")
        return EXIT_INTERRUPTED
    save(end.transcript)
    print(f"\nTranscript for the debrief: {path}")
    return EXIT_OK


def add(sub: Any) -> None:
    """Register ``play``."""
    p = sub.add_parser("play", help="play one actor turn by turn against the model",
                       parents=[opt.scenario(), opt.seed(1), opt.runs(
                           api.PLAY_RUNS, "default-policy replications to compare with"),
                           opt.workers(), opt.quiet()])
    p.add_argument("--as", dest="actor", required=True, metavar="ACTOR",
                   help="the actor you play (you set the levers tagged with it)")
    p.add_argument("--replication", "-r", type=opt.NON_NEGATIVE, default=0,
                   help="which replication's dice to play (default 0)")
    p.add_argument("--every", type=float, default=30.0, metavar="DAYS",
                   help="days between decisions, from day 0 (default 30)")
    p.add_argument("--moves", metavar="FILE", help="take the moves from a YAML file instead "
                                                   "of the keyboard (replayable)")
    p.add_argument("--transcript", metavar="FILE",
                   help="Markdown transcript (default results/play-...md; never overwritten "
                        "without asking)")
    p.set_defaults(func=cmd_play)

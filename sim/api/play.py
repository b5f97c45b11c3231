"""The ``play`` workflow: one actor's levers in a person's hands, turn by turn.

A front end (the terminal, the web game) asks :func:`new_game` for a
:class:`~sim.analyses.play.Game`, shows each :class:`~sim.analyses.play.Situation`, passes
the person's moves to ``Game.play`` (or the whole loop to :func:`sim.analyses.play.run`
with a ``decide`` callback), and at the end asks :func:`debrief` for the verdict and the
Markdown transcript. Nothing here reads input, prints or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analyses import play as _play
from ..analyses.play import Game, Standing
from ..present.output import safe_name, unused_path
from ..run.record import Record
from .basics import RESULTS, Progress, Scenario, prepare

DEFAULT_RUNS = 2000


def new_game(scenario: Scenario, actor: str, *, seed: int = 1, replication: int = 0,
             every: float = 30.0) -> Game:
    """A game of ``scenario`` with ``actor``'s levers played by a person: the dice of
    (``seed``, ``replication``), a decision every ``every`` days from day 0."""
    return Game(prepare(scenario), actor, seed, replication, every)


def transcript_path(game: Game, root: Path = RESULTS) -> Path:
    """``root/play-<scenario>-<actor>-s<seed>-r<replication>.md``, never an existing file."""
    stem = safe_name(f"play-{game.model.id}-{game.actor.id}-s{game.seed}-r{game.replication}")
    return unused_path(root, stem, ".md")


@dataclass(frozen=True)
class Debrief:
    """After a finished game: where the player's peak stands, the same dice under the
    default policy, the verdict sentences and the transcript."""

    standing: Standing
    default: Record
    verdict: tuple[str, ...]
    transcript: str


def debrief(game: Game, base: Scenario, *, runs: int = DEFAULT_RUNS,
            workers: int | None = None, progress: Progress | None = None,
            command: str = "") -> Debrief:
    """Place a finished game among ``runs`` default-policy replications of ``base`` (the
    scenario as loaded, before the player's moves) and write the transcript;
    ``command`` is how to replay it, shown in the transcript."""
    model = prepare(base)
    record = game.record()
    standing = _play.standing(model, record.peak, runs, game.seed, workers, progress)
    default = _play.same_dice(model, game.seed, game.replication)
    verdict = tuple(_play.verdict(game, model, standing, default))
    text = _play.transcript(game, command, True, model, standing, default)
    return Debrief(standing, default, verdict, text)


def unfinished_transcript(game: Game, command: str = "") -> str:
    """The transcript of a game stopped before its end (what was played so far)."""
    return _play.transcript(game, command, game.over)

"""After a crisis game: where it falls among simulated crises, and its turning points.

*Where it falls*: the scenario under the default policy is run ``runs`` times (the same
runner as ``sim run``, same seed rule), and the game's peak is placed in that distribution
(:class:`~sim.analyses.play.Standing`); the dates the game first reached each rung are
placed on the first-passage (cumulative incidence) curves.

*Turning points*: at each turn the model's conditional risk of the top rungs (reaching
``rung`` or higher by the horizon) is estimated twice by re-running from the game's state:
just before the turn's moves and just after them. Each estimate replays the game to that
point (same seed, same moves: the same state), then continues ``continuations`` times on
fresh dice (:meth:`~sim.run.engine.Replication.branch`: new streams from the game's seed,
replication, turn and continuation number; every running clock redrawn, which is exact
because clocks are memoryless) with nobody moving any more. Before and after share their
continuation dice, so their difference measures the moves alone, with a paired (Newcombe)
95% interval. The turning points are the turns whose moves changed that risk most.
Continuations keep the parameter values this game drew: the risk is the model's, in the
world this game was played in.

Pure: no printing, no files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import UsageError
from ..results.stats import Difference, Estimate, paired_difference, wilson
from ..results.summary import Summary, summarise
from ..run import runner
from ..run.record import Record
from ..spec.metric import rungs
from ..spec.model import Model
from .game import Board, CrisisGame, Setup, Turn
from .play import Standing, standing_of

Progress = Callable[[int, int], None]
CONTINUATIONS = 200
MAX_CONTINUATIONS = 20_000
TOP_TURNING_POINTS = 3


class Risk(NamedTuple):
    """The conditional risk of the top rungs around one turn's moves."""

    turn: int
    day: float
    before: Estimate
    after: Estimate
    change: Difference  # after minus before, paired


@dataclass(frozen=True)
class Debrief:
    """Everything the debrief page shows besides the transcript."""

    rung: int  # the threshold: "the top rungs" are this rung and above
    runs: int
    seed: int
    summary: Summary  # the default policy, ``runs`` replications
    standing: Standing
    first_reach: tuple[tuple[int, float, Estimate], ...]  # rung, game's day, share by then
    risks: tuple[Risk, ...]
    turning: tuple[int, ...]  # turn numbers, biggest change first
    continuations: int


def top_rung(model: Model) -> int:
    """The default threshold of "the top rungs": the top two rungs when at least three
    lie above the start, else the top rung."""
    above = len(model.rungs) - 1 - model.initial_rung
    return len(model.rungs) - (2 if above >= 3 else 1)


def conditional_risk(model: Model, setup: Setup, turns: Sequence[Turn], rung: int,
                     continuations: int, progress: Progress | None = None) -> list[Risk]:
    """Before/after risks of reaching ``rung`` for each played turn (see the module)."""
    if not 1 <= continuations <= MAX_CONTINUATIONS:
        raise UsageError(f"continuations must be 1 to {MAX_CONTINUATIONS} (got "
                         f"{continuations})")
    risks: list[Risk] = []
    target = rungs(model)[rung]
    total, done = len(turns) * continuations, 0
    for k, turn in enumerate(turns):
        counts = [0, 0, 0]  # both, only before, only after
        for j in range(continuations):
            hits = []
            for apply in (False, True):
                board = _board_at(model, setup, turns[:k])
                if apply:
                    board.apply(turn, setup.teams)
                board.rep.branch(setup.seed, (1 + k, j))
                board.rep.advance(model.horizon)
                hits.append(target.happened(board.record()))
            if hits[0] and hits[1]:
                counts[0] += 1
            elif hits[0]:
                counts[1] += 1
            elif hits[1]:
                counts[2] += 1
            done += 1
            if progress is not None:
                progress(done, total)
        n = continuations
        before, after = wilson(counts[0] + counts[1], n), wilson(counts[0] + counts[2], n)
        risks.append(Risk(k, turn.day, before, after,
                          paired_difference(counts[0], counts[1], counts[2], n)))
    return risks


def _board_at(model: Model, setup: Setup, turns: Sequence[Turn]) -> Board:
    board = Board(model, setup.seed, setup.replication, setup.every)
    for turn in turns:
        board.play(turn, setup.teams)
    return board


def turning_points(risks: Sequence[Risk], top: int = TOP_TURNING_POINTS) -> tuple[int, ...]:
    """The turns whose moves changed the risk most (largest absolute change first; turns
    whose moves changed nothing are never turning points)."""
    moved = [r for r in risks if r.change.diff != 0]
    moved.sort(key=lambda r: (-abs(r.change.diff), r.turn))
    return tuple(r.turn for r in moved[:top])


def reached_rungs(summary: Summary, model: Model, record: Record
                  ) -> list[tuple[int, float, float]]:
    """For each rung a run reached (other than the start): its index, the day, and the
    share of the summary's runs that had reached that rung by then (its incidence curve)."""
    out = []
    for rung in rungs(model):
        if rung.index == model.initial_rung or not rung.happened(record):
            continue
        day = rung.day(record)
        curve = summary.rung_curves[rung.index]
        out.append((rung.index, day, float(curve.p[min(int(day), len(curve.p) - 1)])))
    return out


def first_reach(summary: Summary, model: Model, record: Record
                ) -> tuple[tuple[int, float, Estimate], ...]:
    """For each rung the game reached (other than the start): its day, and the share of
    default-policy runs that had reached that rung by then (with its interval)."""
    return tuple((index, day, wilson(round(share * summary.n), summary.n))
                 for index, day, share in reached_rungs(summary, model, record))


def debrief(game: CrisisGame, runs: int = 10_000, continuations: int = CONTINUATIONS,
            rung: int | None = None, workers: int | None = 1,
            progress: Progress | None = None) -> Debrief:
    """The debrief of a finished (or stopped) game: ``runs`` default-policy replications
    of the scenario and ``continuations`` per turn for the turning points."""
    model, setup = game.base, game.setup
    rung = top_rung(model) if rung is None else rung
    if not 0 <= rung < len(model.rungs):
        raise UsageError(f"rung {rung} is not on the ladder (0 to {len(model.rungs) - 1})")
    if runs < 1:
        raise UsageError(f"runs must be at least 1 (got {runs})")
    result = runner.run(model, runs, setup.seed, workers).complete()
    summary = summarise(model, result.aggregate)
    record = game.record()
    standing = standing_of(result, record.peak)
    risks = conditional_risk(model, setup, game.turns, rung, continuations, progress)
    return Debrief(rung, int(result.aggregate.n), setup.seed, summary, standing,
                   first_reach(summary, model, record), tuple(risks), turning_points(risks),
                   continuations)

"""A crisis game: teams play actors turn by turn, against each other and the model.

A lecturer sets up a :class:`CrisisGame` for a scenario: which actors are played by teams
of people (every other actor is played by the model's default policy: its processes and
rules, levers untouched), how many simulated days a turn covers and how many real seconds
a turn lasts. Each turn every team reads its :class:`Briefing` (the date, the dated
narrative lines since its last turn, filtered by the actions' ``seen_by``, its levers and
the decisions open to it, each with its source) and submits a :class:`Move`: lever changes
and at most one decision (an action of its actor). A facilitator can inject any action or
lever change with a one-line note, extend the deadline, pause and resume, or end a turn.
The turn resolves when every team has submitted, when the facilitator ends it, or at the
first :meth:`CrisisGame.tick` after the deadline; a team that did not submit gets the
default policy for that turn (its levers stay, it takes no decision) and its next briefing
says so.

The game runs on the scenario's dice, through the same step as `sim play`
(:func:`~sim.analyses.moves.apply_decision`): the same seed and the same moves replay the
same game, and :func:`moves_yaml` exports a moves file that ``sim play --moves`` replays
exactly. :meth:`CrisisGame.state` is plain JSON data from which :meth:`CrisisGame.restore`
rebuilds the game (by replaying its turns), so a server can persist a game and survive a
restart mid-turn.

Real time comes from an injectable ``clock`` (seconds, like :func:`time.time`), so tests use
a fake one. Pure: no printing, no files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import UsageError
from ..run.engine import Plan, Replication
from ..run.record import Record
from ..spec.model import RUNG, Action, Model
from .moves import (
    FACILITATOR,
    Injection,
    Value,
    actor_name,
    apply_decision,
    check_injection,
    check_levers,
    clean_note,
    decisions,
    fmt_value,
    levers_of,
    outcomes_so_far,
    start_only,
)
from .play import MAX_DECISIONS, LeverState
from .story import dated, event_lines

Clock = Callable[[], float]
STATE_VERSION = 1
MIN_TURN_SECONDS, MAX_TURN_SECONDS = 10.0, 7 * 86400.0


class GameError(UsageError):
    """A request the game refuses (bad set-up, wrong moment, wrong team); nothing changed."""


class Move(NamedTuple):
    """What a team submits for one turn: lever changes and at most one decision."""

    levers: tuple[tuple[str, Value], ...] = ()
    action: str = ""

    def words(self, model: Model) -> str:
        """The move in words, e.g. "sets atacms_authorised=false; takes 'Nuclear signal'"."""
        parts = []
        if self.levers:
            parts.append("sets " + ", ".join(f"{k}={fmt_value(v)}" for k, v in self.levers))
        if self.action:
            parts.append(f"takes '{model.actions[model.action_index(self.action)].name}'")
        return "; ".join(parts) or "keeps its levers and takes no decision"


class Inject(NamedTuple):
    """A facilitator's injection: an action, lever changes, or both, with a note."""

    action: str
    levers: tuple[tuple[str, Value], ...]
    note: str


class Turn(NamedTuple):
    """One resolved turn: each team's move (None: it did not submit, the default policy
    played it) and the facilitator's injections, all applied at the turn's day."""

    number: int  # 0-based
    day: float
    moves: tuple[tuple[str, Move | None], ...]
    injects: tuple[Inject, ...]


class Note(NamedTuple):
    """A facilitator's note in the narrative of turn ``turn``, shown before trace event
    ``position`` (the injected action it comes with, or what follows a lever change)."""

    turn: int
    position: int
    day: float
    text: str


@dataclass(frozen=True)
class Setup:
    """How a game is played: the teams (actor ids), the dice, the turn in days and seconds."""

    teams: tuple[str, ...]
    seed: int = 1
    replication: int = 0
    every: float = 30.0
    turn_seconds: float = 600.0


@dataclass(frozen=True)
class Briefing:
    """What one team sees at the start of a turn."""

    team: str
    name: str
    index: int
    count: int
    day: float
    date: dt.date
    rung: str
    peak: str
    lines: tuple[str, ...]
    outcomes: tuple[str, ...]
    levers: tuple[LeverState, ...]
    decisions: tuple[tuple[Action, str], ...]
    submitted: Move | None
    missed: bool  # the previous turn was played by the default policy


def check_setup(model: Model, setup: Setup) -> None:
    """Refuse a set-up that cannot be played, with one clear message."""
    known = {a.id: a for a in model.actors}
    if not setup.teams:
        raise GameError("a game needs at least one team (an actor played by people)")
    for team in setup.teams:
        if team not in known:
            raise GameError(f"unknown actor '{team}'; actors: {', '.join(known)}")
    if len(set(setup.teams)) != len(setup.teams):
        raise GameError("each actor can be played by one team only")
    if setup.seed < 0 or setup.replication < 0:
        raise GameError("the seed and the replication must be 0 or more")
    if not (math.isfinite(setup.every) and setup.every >= 1):
        raise GameError(f"a turn must cover at least 1 simulated day (got {setup.every:g})")
    turns = math.ceil(model.horizon / setup.every)
    if turns > MAX_DECISIONS:
        raise GameError(f"{setup.every:g} days a turn gives {turns} turns; at most "
                        f"{MAX_DECISIONS} (use longer turns)")
    if not MIN_TURN_SECONDS <= setup.turn_seconds <= MAX_TURN_SECONDS:
        raise GameError(f"a turn lasts {MIN_TURN_SECONDS:g} seconds to 7 days in real time "
                        f"(got {setup.turn_seconds:g} seconds)")


class Board:
    """The replication under play: decision days, the current model (levers applied at
    the first decision), the steppable replication, the notes. No real time here: the
    same turns replayed on a new board give the same game, and continuations start here."""

    def __init__(self, model: Model, seed: int, replication: int, every: float) -> None:
        self.model = model
        self.seed = seed
        self.replication = replication
        self.days = tuple(k * every for k in range(math.ceil(model.horizon / every)))
        self.index = 0
        self.rep: Replication = Plan(model).start(seed, replication)
        self.notes: list[Note] = []
        self.marks = [0]  # trace events seen when each turn opened

    @property
    def over(self) -> bool:
        """True once the run has ended."""
        return self.index >= len(self.days) or self.rep.done

    def apply(self, turn: Turn, teams: Sequence[str]) -> None:
        """Apply a turn's moves and injections at the current decision (no advancing).

        Lever changes: the teams' in team order, then the facilitator's; then the teams'
        decisions in team order and the facilitator's actions, in that order."""
        moves = dict(turn.moves)
        levers: dict[str, Value] = {}
        injections: list[Injection] = []
        for team in teams:
            move = moves.get(team)
            if move is not None:
                levers.update(move.levers)
                if move.action:
                    injections.append(Injection(move.action, team))
        for inject in turn.injects:
            levers.update(inject.levers)
        base = len(injections)
        injections += [Injection(i.action, FACILITATOR, i.note) for i in turn.injects if i.action]
        # Nothing happens while a turn is open, so the injected actions are the next trace
        # events, one each, in order (a restart at the first decision starts from none).
        start = len(self.rep.events) if self.index else 0
        self.model, self.rep = apply_decision(self.model, self.rep, self.seed, self.replication,
                                              self.index == 0, levers, injections)
        day = self.days[self.index]
        for inject in turn.injects:
            text = f"Facilitator: {inject.note}" + (
                f" (sets {', '.join(f'{n}={fmt_value(v)}' for n, v in inject.levers)})"
                if inject.levers else "")
            self.notes.append(Note(self.index, start + base, day, text))
            base += bool(inject.action)

    def advance(self) -> None:
        """Simulate to the next decision day, or to the end."""
        self.index += 1
        if self.index < len(self.days):
            self.rep.advance(self.days[self.index])
        if self.over and not self.rep.done:
            self.rep.advance(self.model.horizon)
        self.marks.append(len(self.rep.events))

    def play(self, turn: Turn, teams: Sequence[str]) -> None:
        """Apply a turn and advance."""
        self.apply(turn, teams)
        self.advance()

    def narrative(self, first: int, stop: int, viewer: str | None = None) -> tuple[str, ...]:
        """Dated lines of turns ``first`` to ``stop - 1`` (each from its decision to the
        next), with the facilitator's notes, as `sim story` writes them; only what
        ``viewer`` (an actor) learns, or everything."""
        model, events = self.model, self.rep.events
        lo, hi = self.marks[first], self.marks[min(stop, len(self.marks) - 1)]
        items: list[tuple[int, int, str]] = [(n.position, 0, dated(model, n.day, n.text))
                                             for n in self.notes if first <= n.turn < stop]
        rung = int(events[lo - 1].values[RUNG]) if lo else model.initial_rung
        for position in range(lo, hi):
            event = events[position]
            if viewer is None or model.actions[event.action].seen(viewer):
                items += [(position, 1, line) for line in event_lines(model, event, rung)]
            rung = int(event.values[RUNG])
        return tuple(line for _, _, line in sorted(items, key=lambda item: item[:2]))

    def outcomes(self) -> tuple[str, ...]:
        """Outcomes that have occurred, with their dates."""
        return outcomes_so_far(self.model, self.rep)

    def record(self) -> Record:
        """The played replication's record (complete once the game is over)."""
        return self.rep.record()


def start_line(model: Model) -> str:
    """The narrative's first line: the start date and rung."""
    return dated(model, 0.0, f"Start: {model.rungs[model.initial_rung].name}.")


def replay(model: Model, setup: Setup, turns: Sequence[Turn]) -> Board:
    """A board with ``turns`` played: the same game, whatever real time it took."""
    board = Board(model, setup.seed, setup.replication, setup.every)
    for turn in turns:
        board.play(turn, setup.teams)
    return board


class CrisisGame:
    """A game in real time: turns with deadlines, submissions, a facilitator."""

    def __init__(self, model: Model, setup: Setup, clock: Clock = time.time) -> None:
        check_setup(model, setup)
        self.base = model
        self.setup = setup
        self.clock = clock
        self.board = Board(model, setup.seed, setup.replication, setup.every)
        self.turns: list[Turn] = []
        self.pending: dict[str, Move] = {}
        self.injects: list[Inject] = []
        self.started = False
        self.deadline: float | None = None  # epoch seconds while running
        self.paused_left: float | None = None  # seconds left while paused

    # -- facts ----------------------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The model now (levers set at the first decision applied)."""
        return self.board.model

    @property
    def over(self) -> bool:
        """True once the run has ended (no more turns)."""
        return self.board.over

    @property
    def index(self) -> int:
        """The current turn (0-based); the number of turns once over."""
        return self.board.index

    @property
    def count(self) -> int:
        """How many turns the game has at most."""
        return len(self.board.days)

    @property
    def status(self) -> str:
        """'waiting' (not started), 'open', 'paused' or 'over'."""
        if self.over:
            return "over"
        if not self.started:
            return "waiting"
        return "paused" if self.paused_left is not None else "open"

    def remaining(self) -> float | None:
        """Real seconds left in this turn (None before the start and once over)."""
        if self.status == "paused":
            return self.paused_left
        if self.status != "open" or self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock())

    def name(self, team: str) -> str:
        """A team's name: its actor's."""
        return actor_name(self.base, team)

    def model_played(self) -> tuple[str, ...]:
        """The actors no team plays: the model's default policy plays them."""
        return tuple(a.id for a in self.base.actors if a.id not in self.setup.teams)

    # -- the turn cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Open the first turn; its deadline runs from now."""
        if self.started:
            raise GameError("the game has already started")
        self.started = True
        self.deadline = self.clock() + self.setup.turn_seconds

    def tick(self) -> bool:
        """Resolve the turn if its deadline has passed; True if it did."""
        if self.status == "open" and self.deadline is not None and \
                self.clock() > self.deadline:
            self._resolve()
            return True
        return False

    def end_turn(self) -> None:
        """The facilitator ends the turn now; teams that did not submit get the default."""
        self._need("end a turn", "open", "paused")
        self.paused_left = None
        self._resolve()

    def extend(self, seconds: float) -> None:
        """Give the current turn ``seconds`` more (also while paused)."""
        self._need("extend a deadline", "open", "paused")
        if not (math.isfinite(seconds) and 0 < seconds <= MAX_TURN_SECONDS):
            raise GameError(f"extend by 1 second to 7 days (got {seconds:g} seconds)")
        if self.paused_left is not None:
            self.paused_left += seconds
        else:
            assert self.deadline is not None
            self.deadline = max(self.deadline, self.clock()) + seconds

    def pause(self) -> None:
        """Stop the clock: no submissions until resume(), the time left is kept."""
        self._need("pause", "open")
        self.paused_left = self.remaining()

    def resume(self) -> None:
        """Restart the clock with the time that was left."""
        self._need("resume", "paused")
        assert self.paused_left is not None
        self.deadline = self.clock() + self.paused_left
        self.paused_left = None

    def _need(self, what: str, *statuses: str) -> None:
        status = self.status
        if status not in statuses:
            why = {"over": "the game is over", "waiting": "the game has not started yet",
                   "paused": "the game is paused", "open": "the game is running"}[status]
            raise GameError(f"cannot {what}: {why}")

    # -- teams ----------------------------------------------------------------------------
    def submit(self, team: str, levers: Mapping[str, Any] | None = None, action: str = "",
               sender: str | None = None, turn: int | None = None) -> Move:
        """A team's move for this turn, checked; resolves the turn once every team is in.

        ``sender`` is the team the request comes from, when it is known (a web page): a
        team can only move for itself. ``turn`` (0-based) is the turn the move was made
        for, when known: a move for a turn that has ended is refused, not carried over.
        Raises GameError or MoveError and changes nothing when the move is refused."""
        if team not in self.setup.teams:
            raise GameError(f"no team plays '{team}'; teams: {', '.join(self.setup.teams)}")
        if sender is not None and sender != team:
            raise GameError(f"you are in team {self.name(sender)}; you cannot move for "
                            f"{self.name(team)}")
        late = self.tick()
        if turn is not None and turn != self.index:
            why = "its deadline passed" if late or turn < self.index else "it is not open"
            raise GameError(f"turn {turn + 1} is over ({why}; the default policy played "
                            f"{self.name(team)} where it had not moved); read the briefing of "
                            f"turn {self.index + 1}" if turn < self.index else
                            f"turn {turn + 1} has not begun; this is turn {self.index + 1}")
        self._need("submit moves", "open")
        if team in self.pending:
            raise GameError(f"{self.name(team)} has already submitted its moves for turn "
                            f"{self.index + 1}; a move cannot be changed once submitted")
        who = self.name(team)
        changes = check_levers(self.model, levers_of(self.model, team), levers or {},
                               current=self.board.rep.values(), first=self.index == 0,
                               who=who)
        if action:
            check_injection(self.model, action, team)
        move = Move(tuple(changes.items()), str(action or ""))
        self.pending[team] = move
        if len(self.pending) == len(self.setup.teams):
            self._resolve()
        return move

    # -- facilitator ----------------------------------------------------------------------
    def inject(self, note: str, action: str = "", levers: Mapping[str, Any] | None = None
               ) -> Inject:
        """Queue an injection for the end of this turn: an action of the scenario and/or
        lever changes, with a one-line note for the narrative. Nothing changes on error."""
        if self.over:
            raise GameError("cannot inject: the game is over")
        if not action and not levers:
            raise GameError("an injection needs an action or a lever change")
        note = clean_note(note, required=True)
        if action:
            check_injection(self.model, action, FACILITATOR, note)
        changes = check_levers(self.model, self.model.levers, levers or {},
                               current=self.board.rep.values(), first=self.index == 0,
                               who="the facilitator")
        inject = Inject(str(action or ""), tuple(changes.items()), note)
        self.injects.append(inject)
        return inject

    def _resolve(self) -> None:
        moves = tuple((team, self.pending.get(team)) for team in self.setup.teams)
        turn = Turn(self.index, self.board.days[self.index], moves, tuple(self.injects))
        self.board.play(turn, self.setup.teams)
        self.turns.append(turn)
        self.pending = {}
        self.injects = []
        self.paused_left = None
        self.deadline = None if self.over else self.clock() + self.setup.turn_seconds

    # -- what people see ------------------------------------------------------------------
    def briefing(self, team: str) -> Briefing:
        """What ``team`` sees now: the current turn (or the end, once over)."""
        if team not in self.setup.teams:
            raise GameError(f"no team plays '{team}'; teams: {', '.join(self.setup.teams)}")
        board, model = self.board, self.model
        k = self.index
        if k == 0:
            lines: tuple[str, ...] = (start_line(model),)
        else:
            lines = board.narrative(k - 1, k, team)
        values = board.rep.values()
        fixed = start_only(model)
        levers = tuple(LeverState(lv, lv.shown(values[lv.id]), not (lv.id in fixed and k > 0),
                                  "only sets the starting state" if lv.id in fixed else "")
                       for lv in levers_of(model, team))
        missed = bool(self.turns) and dict(self.turns[-1].moves).get(team) is None
        day = board.days[min(k, len(board.days) - 1)] if not self.over else board.rep.day
        rep = board.rep
        return Briefing(team, self.name(team), k, self.count, day, model.date_of(day),
                        model.rungs[rep.rung].name, model.rungs[rep.peak].name, lines,
                        board.outcomes(), levers, decisions(model, team),
                        self.pending.get(team), missed)

    def submitted(self) -> dict[str, bool]:
        """Which teams have submitted this turn."""
        return {team: team in self.pending for team in self.setup.teams}

    def narrative(self) -> tuple[str, ...]:
        """The whole game's narrative so far, everything (for the facilitator, the debrief)."""
        return (start_line(self.model), *self.board.narrative(0, len(self.turns)))

    def record(self) -> Record:
        """The played replication's record (complete once the game is over)."""
        return self.board.record()

    # -- persistence ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild this game, as JSON-ready data."""
        return {"version": STATE_VERSION, "scenario": self.base.digest,
                "setup": {"teams": list(self.setup.teams), "seed": self.setup.seed,
                          "replication": self.setup.replication, "every": self.setup.every,
                          "turn_seconds": self.setup.turn_seconds},
                "turns": [_turn_data(t) for t in self.turns],
                "pending": {team: _move_data(m) for team, m in self.pending.items()},
                "injects": [_inject_data(i) for i in self.injects],
                "started": self.started, "deadline": self.deadline,
                "paused_left": self.paused_left}

    @classmethod
    def restore(cls, model: Model, data: Mapping[str, Any], clock: Clock = time.time
                ) -> CrisisGame:
        """The game saved by :meth:`state`, rebuilt by replaying its turns."""
        if data.get("version") != STATE_VERSION:
            raise GameError(f"saved game has version {data.get('version')!r}; this program "
                            f"reads version {STATE_VERSION}")
        if data.get("scenario") != model.digest:
            raise GameError("the saved game was played on a different version of the scenario")
        s = data["setup"]
        setup = Setup(tuple(s["teams"]), int(s["seed"]), int(s["replication"]),
                      float(s["every"]), float(s["turn_seconds"]))
        game = cls(model, setup, clock)
        for raw in data["turns"]:
            turn = _turn_from(raw)
            game.board.play(turn, setup.teams)
            game.turns.append(turn)
        game.pending = {team: Move(_pairs(m["levers"]), str(m["action"]))
                        for team, m in data["pending"].items()}
        game.injects = [_inject_from(i) for i in data["injects"]]
        game.started = bool(data["started"])
        game.deadline = data["deadline"]
        game.paused_left = data["paused_left"]
        return game


def _pairs(mapping: Mapping[str, Any]) -> tuple[tuple[str, Value], ...]:
    return tuple((str(k), v if isinstance(v, bool) else float(v)) for k, v in mapping.items())


def _move_data(move: Move | None) -> dict[str, Any] | None:
    return None if move is None else {"levers": dict(move.levers), "action": move.action}


def _move_from(data: Mapping[str, Any] | None) -> Move | None:
    return None if data is None else Move(_pairs(data["levers"]), str(data["action"]))


def _inject_data(inject: Inject) -> dict[str, Any]:
    return {"action": inject.action, "levers": dict(inject.levers), "note": inject.note}


def _inject_from(data: Mapping[str, Any]) -> Inject:
    return Inject(str(data["action"]), _pairs(data["levers"]), str(data["note"]))


def _turn_data(turn: Turn) -> dict[str, Any]:
    return {"number": turn.number, "day": turn.day,
            "moves": [[team, _move_data(m)] for team, m in turn.moves],
            "injects": [_inject_data(i) for i in turn.injects]}


def _turn_from(data: Mapping[str, Any]) -> Turn:
    return Turn(int(data["number"]), float(data["day"]),
                tuple((str(team), _move_from(m)) for team, m in data["moves"]),
                tuple(_inject_from(i) for i in data["injects"]))


# -- export ---------------------------------------------------------------------------------
def replay_actor(model: Model, setup: Setup) -> str:
    """The actor `sim play --as` takes to replay a game: the first team with levers, else
    any actor with levers (every other move is scripted in the moves file)."""
    if not any(lv.actor for lv in model.levers):
        return setup.teams[0]
    owners = [lv.actor for lv in model.levers]
    return next((t for t in setup.teams if t in owners), owners[0])


def replay_command(model: Model, setup: Setup, moves_file: str = "MOVES.yaml") -> str:
    """The `sim play` command line that replays a game from its exported moves file."""
    return (f"python -m sim play {model.path or model.id + '.yaml'} --as "
            f"{replay_actor(model, setup)} --seed {setup.seed} --replication "
            f"{setup.replication} --every {setup.every:g} --moves {moves_file}")


def moves_yaml(game: CrisisGame, moves_file: str = "MOVES.yaml") -> str:
    """The game's moves as a `sim play` moves file that replays it exactly."""
    model, setup = game.base, game.setup
    rows = [f"# Crisis game on '{model.title}': {len(game.turns)} turns, teams "
            f"{', '.join(setup.teams)}; every other actor played by the model.",
            f"# Replay: {replay_command(model, setup, moves_file)}"]
    for turn in game.turns:
        day = f"{turn.day:g}"
        sets, injects = [], []
        for team, move in turn.moves:
            if move is not None and move.levers:
                sets.append(f"- {{day: {day}, by: {team}, set: {_flow(move.levers)}}}")
            if move is not None and move.action:
                injects.append(f"- {{day: {day}, by: {team}, inject: {move.action}}}")
        for inject in turn.injects:
            note = json.dumps(inject.note, ensure_ascii=False)
            if inject.levers:
                sets.append(f"- {{day: {day}, by: {FACILITATOR}, set: {_flow(inject.levers)}, "
                            f"note: {note}}}")
            if inject.action:
                injects.append(f"- {{day: {day}, by: {FACILITATOR}, inject: {inject.action}, "
                               f"note: {note}}}")
        rows += sets + injects
    if len(rows) == 2:
        rows.append("[]  # nobody moved")
    return "\n".join(rows) + "\n"


def _flow(levers: Sequence[tuple[str, Value]]) -> str:
    return "{" + ", ".join(f"{k}: {fmt_value(v) if isinstance(v, bool) else repr(float(v))}"
                           for k, v in levers) + "}"

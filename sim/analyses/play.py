"""Play one actor turn by turn against the model (classroom mode).

A :class:`Game` drives one replication step by step: at each decision point (every
``every`` days from day 0) it describes the situation and takes the player's lever
settings; the model plays every other actor with the same dice (seed, replication) that
``sim run`` would use. :func:`run` plays a whole game through a ``decide`` callback, so the
same logic serves a keyboard, a moves file and tests. Afterwards :func:`standing` places the
player's peak rung in the Monte Carlo distribution under the default policy, and
:func:`transcript` writes the Markdown record for the debrief.

Pure: nothing here prints, reads input or writes files; the CLI does.

Timing: settings made at the first decision (day 0) are applied before anything happens,
so levers that only set the starting state (such as a missile stock) take effect. Such
levers cannot be changed later in the run, and the game says so. Later settings take
effect from their decision day on; rates that read a changed lever are redrawn at once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import UsageError
from ..results.stats import Estimate, wilson
from ..run import runner
from ..run.engine import Plan
from ..run.record import Record
from ..spec import expr as ex
from ..spec.model import Lever, Model
from ..spec.yamlsrc import EMPTY, read_file
from .moves import (
    FACILITATOR,
    Injection,
    MoveError,
    Value,
    apply_decision,
    check_injection,
    check_levers,
    fmt_value,
    levers_of,
    outcomes_so_far,
    start_only,
)
from .story import render

MAX_DECISIONS = 400
__all__ = ["MoveError", "fmt_value"]  # re-exported: callers of play use them from here


def _day(day: float) -> str:
    return f"{day:g}"


@dataclass(frozen=True)
class LeverState:
    """A lever the player controls, its current value and whether it can move now."""

    lever: Lever
    value: Value
    settable: bool
    note: str = ""


@dataclass(frozen=True)
class Situation:
    """What the player sees at a decision point."""

    index: int
    count: int
    day: float
    date: dt.date
    rung: str
    peak: str
    state: tuple[tuple[str, float, float], ...]  # id, value, change since last decision
    events: tuple[str, ...]
    outcomes: tuple[str, ...]
    levers: tuple[LeverState, ...]


@dataclass(frozen=True)
class Turn:
    """One decision: the situation shown and the lever changes the player made."""

    situation: Situation
    changes: tuple[tuple[str, Value], ...]
    others: tuple[str, ...] = ()  # other actors' and the facilitator's scripted moves


class Scripted(NamedTuple):
    """Other actors' and the facilitator's moves at one decision, from a moves file."""

    levers: tuple[tuple[str, Value], ...]
    injections: tuple[Injection, ...]
    said: tuple[str, ...] = ()  # one line per move, for the transcript

    def lines(self, _model: Model) -> tuple[str, ...]:
        """The moves in words."""
        return self.said


@dataclass(frozen=True)
class Standing:
    """Where the player's peak falls among default-policy replications."""

    runs: int
    seed: int
    peak: int
    at_least: Estimate  # P(peak >= the player's peak) under the default policy
    above: Estimate  # P(peak > the player's peak)
    peak_share: tuple[float, ...]
    interrupted: bool = False  # stopped early (Ctrl-C, a lost worker, a model error)


class Game:
    """One replication played turn by turn, one actor's levers in the player's hands."""

    def __init__(self, model: Model, actor: str, seed: int = 1, replication: int = 0,
                 every: float = 30.0) -> None:
        known = {a.id: a for a in model.actors}
        if actor not in known:
            raise UsageError(f"unknown actor '{actor}'{ex.suggest(actor, known)}; actors: "
                             f"{', '.join(known)}")
        if seed < 0 or replication < 0:
            raise UsageError("the seed and the replication must be 0 or more")
        if not (math.isfinite(every) and every >= 1):
            raise UsageError(f"decisions must be at least 1 day apart (got {every:g})")
        if not model.levers:
            raise UsageError(f"scenario '{model.id}' has no levers to play")
        self.model = model
        self.actor = known[actor]
        self.seed = seed
        self.replication = replication
        self.every = every
        self.all_levers = not any(lv.actor for lv in model.levers)
        self.levers = tuple(lv for lv in model.levers if self.all_levers or lv.actor == actor)
        if not self.levers:
            owners = sorted({lv.actor for lv in model.levers})
            raise UsageError(f"{self.actor.name} ({actor}) controls no levers in scenario "
                             f"'{model.id}'; actors with levers: {', '.join(owners)}")
        self.days = tuple(k * every for k in range(math.ceil(model.horizon / every)))
        if len(self.days) > MAX_DECISIONS:
            raise UsageError(f"a decision every {every:g} days gives {len(self.days)} "
                             f"decisions; at most "
                             f"{MAX_DECISIONS} (use a longer interval)")
        self.start_only = start_only(model) & {lv.id for lv in self.levers}
        # Other actors' and the facilitator's moves from a moves file, by decision index.
        self.scripted: dict[int, Scripted] = {}
        self.turns: list[Turn] = []
        self.index = 0
        self.rep = Plan(model).start(seed, replication)
        self._seen = 0
        self.tail: tuple[str, ...] = ()  # events after the last decision, once over
        self._last_state = {s.id: float(self.rep.values()[s.id]) for s in model.state}
        self._situation: Situation | None = self._observe()

    # -- what the player sees -------------------------------------------------------------
    @property
    def over(self) -> bool:
        """True once the run has ended (no more decisions)."""
        return self._situation is None

    def situation(self) -> Situation | None:
        """The current decision point, or None when the game is over."""
        return self._situation

    def new_events(self) -> tuple[str, ...]:
        """Dated lines for the actions since the last look, with rung changes marked.

        Routine repeats are folded: an action already shown since the last look is counted
        in a closing "(and again: ...)" line unless it moved the rung."""
        model, rep = self.model, self.rep
        lines = []
        rung = int(rep.events[self._seen - 1].values["rung"]) if self._seen else \
            model.initial_rung
        shown: set[int] = set()
        again: Counter[str] = Counter()
        for event in rep.events[self._seen:]:
            action = model.actions[event.action]
            if event.action in shown and int(event.values["rung"]) == rung:
                again[action.name] += 1
                continue
            shown.add(event.action)
            text = render(action.narrative, event.values, model, event.action) \
                if action.narrative else f"{self._actor_name(action.actor)}: {action.name}."
            date = model.date_of(event.day).isoformat()
            text = text[len(date) + 2:] if text.startswith(date + ": ") else text
            lines.append(f"{date} (day {int(event.day)}): {text}")
            new = int(event.values["rung"])
            if new != rung:
                arrow = "UP" if new > rung else "DOWN"
                lines.append(f"    [{arrow}] the crisis is now at '{model.rungs[new].name}'")
                rung = new
        if again:
            lines.append("(and again: " + ", ".join(f"{name} x{n}" for name, n in
                                                    again.most_common()) + ")")
        self._seen = len(rep.events)
        return tuple(lines)

    def _actor_name(self, actor_id: str) -> str:
        return next((a.name for a in self.model.actors if a.id == actor_id), actor_id)

    def outcomes_seen(self, index: int) -> tuple[str, ...]:
        """Outcomes already shown at the decision before ``index``."""
        earlier = [turn.situation for turn in self.turns if turn.situation.index == index - 1]
        return earlier[0].outcomes if earlier else ()

    def outcomes_so_far(self) -> tuple[str, ...]:
        """Outcomes that have occurred, with their dates."""
        return outcomes_so_far(self.model, self.rep)

    def _observe(self) -> Situation:
        model, rep = self.model, self.rep
        day = self.days[self.index]
        state = []
        for s in model.state:
            value = float(rep.values()[s.id])
            state.append((s.id, value, value - self._last_state[s.id]))
            self._last_state[s.id] = value
        levers = []
        for lv in self.levers:
            fixed = lv.id in self.start_only and self.index > 0
            levers.append(LeverState(lv, lv.shown(rep.values()[lv.id]), not fixed,
                                     "only sets the starting state" if lv.id in
                                     self.start_only else ""))
        return Situation(self.index, len(self.days), day, model.date_of(day),
                         model.rungs[rep.rung].name, model.rungs[rep.peak].name, tuple(state),
                         self.new_events(), self.outcomes_so_far(), tuple(levers))

    # -- what the player does -------------------------------------------------------------
    def check(self, moves: Mapping[str, Any], index: int | None = None) -> dict[str, Value]:
        """Validate moves (lever -> value or text) for decision ``index`` (default: now);
        return the levers whose value changes. Raises MoveError with a clear message."""
        index = self.index if index is None else index
        current = self.rep.values() if index == self.index else None
        return check_levers(self.model, self.levers, moves, current=current,
                            first=index == 0, who=self.you())

    def you(self) -> str:
        """The played actor's name."""
        return self.actor.name

    def play(self, moves: Mapping[str, Any]) -> Situation | None:
        """Apply the moves, simulate to the next decision (or the end); return it or None."""
        if self._situation is None:
            raise UsageError("the game is over")
        changes = self.check(moves)
        extra = self.scripted.get(self.index, Scripted((), ()))
        self.turns.append(Turn(self._situation, tuple(changes.items()), extra.lines(self.model)))
        rep = self.rep
        self.model, self.rep = apply_decision(self.model, rep, self.seed, self.replication,
                                              self.index == 0, {**changes, **dict(extra.levers)},
                                              extra.injections)
        if self.rep is not rep:  # restarted at the first decision with the new levers
            self._last_state = {s.id: float(self.rep.values()[s.id]) for s in self.model.state}
        self.index += 1
        if self.index < len(self.days):
            self.rep.advance(self.days[self.index])
        if self.index >= len(self.days) or self.rep.done:
            if not self.rep.done:
                self.rep.advance(self.model.horizon)
            self._situation = None
            self.tail = self.new_events()
        else:
            self._situation = self._observe()
        return self._situation

    def record(self) -> Record:
        """The played replication's record (complete once the game is over)."""
        return self.rep.record()


Decide = Callable[[Situation, str | None], Mapping[str, Any]]


def run(game: Game, decide: Decide) -> Record:
    """Play to the end. ``decide(situation, problem)`` returns moves; after a bad move it
    is called again with the problem's message (raise from it to give up instead)."""
    situation = game.situation()
    while situation is not None:
        problem: str | None = None
        while True:
            moves = decide(situation, problem)
            try:
                game.check(moves)
                break
            except MoveError as exc:
                problem = str(exc)
        situation = game.play(moves)
    return game.record()


# -- input: typed lines and moves files -------------------------------------------------------
def parse_line(text: str) -> dict[str, str]:
    """'lever=value, lever=value' (commas or spaces) as typed at the prompt."""
    text = re.sub(r"\s*=\s*", "=", text.strip())
    moves: dict[str, str] = {}
    for token in filter(None, re.split(r"[,;\s]+", text)):
        name, sep, value = token.partition("=")
        if not sep or not name or not value:
            raise MoveError(f"write moves as lever=value (got {token!r})")
        moves[name] = value
    return moves


def load_moves(path: str | Path, game: Game) -> dict[int, dict[str, Value]]:
    """Read and check a moves file; return decision index -> the played actor's changes.

    Two forms: a list of ``{day: 30, set: {lever: value}}`` (days must be decision days),
    or a mapping decision-index -> ``{lever: value}``. List entries may also name who moves,
    as an exported crisis game does: ``{day: 30, by: ACTOR, set: {...}}`` for another
    actor's levers, ``{day: 30, by: ACTOR, inject: ACTION}`` for an actor's decision, and
    ``by: facilitator`` (with a ``note``) for any lever or action. Those moves are stored
    in ``game.scripted`` and played at their decision, in file order. Every move is checked
    now, so a bad file fails before the game starts."""
    name = str(path)
    # The scenario reader's guards: regular files only (a FIFO would hang, /dev/zero
    # exhaust memory), a bounded read, the size and alias limits.
    src, problems = read_file(path)
    if src is None and [p.message for p in problems] == [EMPTY]:
        return {}
    if problems or src is None:
        raise UsageError("; ".join(str(p) for p in problems) or f"{name}: unreadable")
    data = src.data

    def fail(where: str, message: str) -> MoveError:
        line = src.line(where)
        return MoveError(f"{name}:{line}: {message}" if line else f"{name}: {message}")

    entries: list[tuple[str, int, Any]] = []  # (yaml path, decision index, settings)
    if isinstance(data, list):
        scripted: dict[int, list[tuple[str, dict[str, Any]]]] = {}
        for i, item in enumerate(data):
            where, index = f"[{i}]", _entry_index(game, item, f"[{i}]", fail)
            if item.get("by", game.actor.id) == game.actor.id and "set" in item:
                entries.append((f"{where}.set", index, item["set"]))
            else:
                scripted.setdefault(index, []).append((where, item))
        game.scripted = {index: _scripted(game, items, fail)
                         for index, items in scripted.items()}
    elif isinstance(data, dict):
        for key, settings in data.items():
            if not re.fullmatch(r"\d{1,9}", key) or int(key) >= len(game.days):
                raise fail(key, f"decision '{key}' does not exist (decisions are numbered "
                                f"0 to {len(game.days) - 1})")
            entries.append((key, int(key), settings))
    else:
        raise fail("", "a moves file is a list of {day: D, set: {lever: value}} or a "
                       "mapping decision-number -> {lever: value}")
    script: dict[int, dict[str, Value]] = {}
    for where, index, settings in entries:
        if index in script:
            raise fail(where, f"decision {index} (day {_day(game.days[index])}) is given twice")
        if not isinstance(settings, dict):
            raise fail(where, "settings must be a mapping {lever: value}")
        try:
            script[index] = game.check(settings, index)
        except MoveError as exc:
            raise fail(where, f"day {_day(game.days[index])}: {exc}") from None
    return script


ENTRY_KEYS = ({"day", "set"}, {"day", "by", "set"}, {"day", "by", "inject"})


def _entry_index(game: Game, item: Any, where: str, fail: Callable[[str, str], MoveError]
                 ) -> int:
    """The decision index of a moves-file list entry, whose keys are checked."""
    keys = set(item) - {"note"} if isinstance(item, dict) else set()
    if keys not in ENTRY_KEYS:
        raise fail(where, "each entry needs 'day' and 'set' (e.g. {day: 30, set: {lever: "
                          "value}}), optionally 'by' (an actor or facilitator), or 'day', "
                          "'by' and 'inject' (an action); a 'note' may go with either")
    day = item["day"]
    if isinstance(day, bool) or not isinstance(day, (int, float)) or day not in game.days:
        raise fail(f"{where}.day", f"day {fmt_value(day)} is not a decision day "
                                   f"(decisions every {game.every:g} days: "
                                   f"{_days_list(game)})")
    return game.days.index(day)


def _scripted(game: Game, items: list[tuple[str, dict[str, Any]]],
              fail: Callable[[str, str], MoveError]) -> Scripted:
    """Other actors' and the facilitator's moves at one decision, checked."""
    model = game.model
    levers: dict[str, Value] = {}
    injections: list[Injection] = []
    said: list[str] = []
    actors = {a.id for a in model.actors} | {FACILITATOR}
    for where, item in items:
        by, note = str(item.get("by", game.actor.id)), str(item.get("note") or "")
        index = game.days.index(item["day"])
        if by not in actors:
            raise fail(f"{where}.by", f"unknown actor '{by}'{ex.suggest(by, actors)}")
        suffix = f" ({note})" if note else ""
        try:
            if "inject" in item:
                injections.append(check_injection(model, item["inject"], by, note))
                said.append(f"{_who(game, by)} takes '{item['inject']}'{suffix}")
                continue
            if not isinstance(item["set"], dict):
                raise MoveError("settings must be a mapping {lever: value}")
            changes = check_levers(model, levers_of(model, by), item["set"], current=None,
                                   first=index == 0, who=_who(game, by))
        except MoveError as exc:
            raise fail(where, f"day {_day(game.days[index])}: {exc}") from None
        levers.update(changes)
        said.append(f"{_who(game, by)} sets " + ", ".join(
            f"{k}={fmt_value(v)}" for k, v in changes.items()) + suffix)
    return Scripted(tuple(levers.items()), tuple(injections), tuple(said))


def _who(game: Game, by: str) -> str:
    if by == FACILITATOR:
        return "The facilitator"
    return next((a.name for a in game.model.actors if a.id == by), by)


def _days_list(game: Game) -> str:
    shown = ", ".join(_day(d) for d in game.days[:4])
    return shown + (f", ... {_day(game.days[-1])}" if len(game.days) > 4 else "")


# -- after the game -------------------------------------------------------------------------
def standing(model: Model, peak: int, runs: int, seed: int, workers: int | None = None,
             progress: runner.Progress | None = None) -> Standing:
    """P(peak >= ``peak``) over ``runs`` default-policy replications (Wilson interval)."""
    if runs < 1:
        raise UsageError(f"the number of runs must be at least 1 (got {runs})")
    return standing_of(runner.run(model, runs, seed, workers, progress=progress), peak)


def standing_of(result: runner.RunResult, peak: int) -> Standing:
    """Where ``peak`` falls among the replications of a finished run."""
    counts = result.aggregate.peak_counts
    n = int(result.aggregate.n)
    k = int(counts[peak:].sum())
    share = tuple(float(c) / n if n else math.nan for c in counts)
    return Standing(n, result.seed, peak, wilson(k, n), wilson(int(counts[peak + 1:].sum()), n),
                    share, result.interrupted)


def same_dice(model: Model, seed: int, replication: int) -> Record:
    """The same replication under the default policy (nobody moves a lever)."""
    return Plan(model).run(seed, replication, trace=True)


def ending(model: Model, record: Record) -> str:
    """How a replication ended, in one sentence."""
    if record.terminal == "horizon":
        return (f"the horizon ({model.date_of(record.end_day).isoformat()}) was reached with "
                f"the crisis at '{model.rungs[record.final_rung].name}'")
    action = model.actions[model.action_index(record.terminal)]
    return f"the run ended on {model.date_of(record.end_day).isoformat()}: {action.name}"


def _outcome_names(model: Model, record: Record) -> list[str]:
    return [o.name for o, day in zip(model.outcomes, record.outcome_days, strict=True)
            if day != math.inf]


def verdict(game: Game, base: Model, standing_: Standing | None,
            default: Record | None) -> list[str]:
    """The debrief sentences: outcome, peak, place in the distribution, same dice."""
    rec = game.record()
    model = game.model
    peak_name = model.rungs[rec.peak].name
    lines = [f"Outcome: {ending(model, rec)}.",
             f"Your peak rung: '{peak_name}' (rung {rec.peak} of {len(model.rungs) - 1})."]
    got = _outcome_names(model, rec)
    lines.append("Outcomes that occurred: " + ("; ".join(got) if got else "none") + ".")
    if standing_ is not None and standing_.runs:
        e, above = standing_.at_least, standing_.above
        note = f" (interrupted after {standing_.runs} runs)" if standing_.interrupted else ""
        lines.append(
            f"Under the default policy, the crisis peaks at '{peak_name}' or higher in "
            f"{e.p:.1%} of {standing_.runs} runs (95% interval {e.low:.1%} to {e.high:.1%}, "
            f"seed {standing_.seed}){note}, and higher than yours in {above.p:.1%} "
            f"[{above.low:.1%}, {above.high:.1%}]: " + _rarity(e.p, above.p))
    if default is not None:
        d_peak = default.peak
        gap = abs(d_peak - rec.peak)
        compared = ("the same peak as yours" if gap == 0 else
                    f"{gap} rung{'s' if gap > 1 else ''} "
                    f"{'higher' if d_peak > rec.peak else 'lower'} than yours")
        lines.append(
            f"With the default policy and the same dice (seed {game.seed}, replication "
            f"{game.replication}) the crisis would have peaked at "
            f"'{base.rungs[d_peak].name}' ({compared}), and {ending(base, default)}.")
        mine, theirs = set(got), set(_outcome_names(base, default))
        if mine != theirs:
            if theirs - mine:
                lines.append("Only with the default policy: " +
                             "; ".join(sorted(theirs - mine)) + ".")
            if mine - theirs:
                lines.append("Only with your moves: " + "; ".join(sorted(mine - theirs)) + ".")
    return lines


def _rarity(at_least: float, above: float) -> str:
    if at_least < 0.05:
        return "your crisis went unusually high."
    if above > 0.5:
        return "most default-policy runs go higher than yours did."
    return "a peak like yours is within the usual range."


# -- presentation (text only; the CLI prints it) -----------------------------------------------
def situation_text(game: Game, s: Situation) -> str:
    """The situation at a decision point, for the terminal: what changed since the last
    decision and what the player can decide now. The first decision also explains each
    lever; later ones list them on one line (``?`` at the prompt explains them again)."""
    out = [f"== Decision {s.index + 1} of {s.count}: {s.date.isoformat()} (day {_day(s.day)}) ==",
           f"Rung now: {s.rung}" + (f"    Peak so far: {s.peak}" if s.peak != s.rung else "")]
    if s.events:
        out.append("Since the last decision:" if s.index else "At the start:")
        out += [f"  {line}" for line in s.events]
    elif s.index:
        out.append("Since the last decision: nothing happened.")
    new = [o for o in s.outcomes if o not in game.outcomes_seen(s.index)]
    if new:
        out.append("New outcomes: " + "; ".join(new))
    changed = [(sid, v, d) for sid, v, d in s.state if d]
    if changed and s.index:
        out.append("Changed: " + ", ".join(
            f"{sid} {fmt_state(v - d)} -> {fmt_state(v)}" for sid, v, d in changed))
    out.append(levers_text(game, s) if s.index == 0 else decide_text(game, s))
    return "\n".join(out)


def decide_text(game: Game, s: Situation) -> str:
    """One line: the levers the player can move now, with their values."""
    now = [f"{ls.lever.id}={fmt_value(ls.value)}" + _range_hint(ls.lever)
           for ls in s.levers if ls.settable]
    fixed = [ls.lever.id for ls in s.levers if not ls.settable]
    return (f"You decide ({game.you()}): " + ", ".join(now)
            + (f"  [fixed now: {', '.join(fixed)}]" if fixed else ""))


def _range_hint(lv: Lever) -> str:
    if lv.is_choice:
        return f" ({' / '.join(lv.options)})"
    if lv.is_bool:
        return " (on/off)"
    if lv.low is not None and lv.high is not None:
        return f" ({lv.low:g}..{lv.high:g})"
    return ""


def fmt_state(value: float) -> str:
    """A state value, short."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def levers_text(game: Game, s: Situation) -> str:
    """The player's levers with their current values and what each does."""
    head = f"Your levers ({game.you()})"
    if game.all_levers:
        head += " - no lever in this scenario names its actor, so you control all of them"
    out = [head + ":"]
    for ls in s.levers:
        lv = ls.lever
        kind = "on/off" if lv.is_bool else "one of " + " / ".join(lv.options) \
            if lv.is_choice else (f"[{lv.low:g}, {lv.high:g}]" if lv.low is not None
                                  and lv.high is not None else "number")
        unit = f" {lv.unit}" if lv.unit and not lv.is_bool else ""
        fixed = "" if ls.settable else "  (fixed: it only sets the starting state)"
        desc = f"  {lv.description.strip()}" if lv.description else ""
        out.append(f"  {lv.id} = {fmt_value(ls.value)}{unit}  {kind}{fixed}{desc}")
    return "\n".join(out)


PROMPT = "Your moves (lever=value, separated by spaces; Enter keeps everything; ? for help): "


def transcript(game: Game, command: str, finished: bool, base: Model | None = None,
               standing_: Standing | None = None, default: Record | None = None) -> str:
    """The Markdown transcript of a (possibly unfinished) game for the debrief."""
    model = game.model
    out = [f"# Play transcript: {model.title}", "",
           f"- Scenario: `{model.path or model.id}` (id `{model.id}`, sha256 "
           f"`{model.digest[:12]}`)",
           f"- You played: {game.actor.name} (`{game.actor.id}`); your levers: "
           + ", ".join(f"`{lv.id}`" for lv in game.levers)
           + (" (no lever names its actor, so all of them)" if game.all_levers else ""),
           f"- Dice: seed {game.seed}, replication {game.replication}; a decision every "
           f"{game.every:g} days from {model.start.isoformat()}",
           f"- Command: `{command}`", ""]
    if not finished:
        out += [f"**Unfinished:** stopped at decision {game.index + 1} of {len(game.days)}.",
                ""]
    out += ["This is a teaching model, not a forecast: every number in it is a stated "
            "assumption or a cited figure, and the point is to argue about them.", ""]
    for turn in game.turns:
        out += _turn_md(turn)
    if finished:
        rec = game.record()
        out += ["## The end", ""]
        if game.tail:
            out += ["What happened after your last decision:", ""]
            out += [_bullet(line) for line in game.tail] + [""]
        if base is not None:
            out += [f"- {line}" for line in verdict(game, base, standing_, default)] + [""]
        if standing_ is not None and standing_.runs:
            out += ["Peak rung under the default policy "
                    f"({standing_.runs} runs, seed {standing_.seed}):", "",
                    "| Rung | Share of runs peaking here | |", "|---|---:|---|"]
            for rung, share in zip(model.rungs, standing_.peak_share, strict=True):
                mark = "<- your peak" if rung.index == rec.peak else ""
                out.append(f"| {rung.name} | {share:.1%} | {mark} |")
            out.append("")
    out += ["## Your moves (replayable)", "",
            "Save this block as a file and pass it with `--moves` (same `--seed`, "
            "`--replication` and `--every`) to replay the game with the same dice:", "",
            "```yaml", moves_yaml(game), "```", "",
            "## Debrief questions", "",
            "1. Which of your moves changed what the other actors did, and how soon?",
            "2. Compare your crisis with the default policy on the same dice: what did your "
            "moves buy, and what did they cost?",
            "3. Was your peak unusual for this scenario (see the distribution above)? Would "
            "you make the same moves again if the dice were different?",
            "4. Which assumption in the scenario drove the result most? Where is it sourced?",
            ""]
    return "\n".join(out)


def moves_yaml(game: Game) -> str:
    """The player's lever changes as a moves file (a YAML list)."""
    rows = [f"- {{day: {_day(t.situation.day)}, set: {{"
            + ", ".join(f"{k}: {fmt_value(v)}" for k, v in t.changes) + "}}"
            for t in game.turns if t.changes]
    return "\n".join(rows) if rows else "[]  # no lever was moved"


def _bullet(line: str) -> str:
    return f"  - {line.strip()}" if line.startswith("    ") else f"- {line}"


def _turn_md(turn: Turn) -> list[str]:
    s = turn.situation
    out = [f"## Decision {s.index + 1} of {s.count}: {s.date.isoformat()} (day {_day(s.day)})",
           "", f"Rung now: **{s.rung}**; peak so far: **{s.peak}**.", ""]
    if s.events:
        out += ["Since the last decision:" if s.index else "At the start:", ""]
        out += [_bullet(line) for line in s.events] + [""]
    if s.outcomes:
        out += ["Outcomes so far: " + "; ".join(s.outcomes) + ".", ""]
    rows = [(sid, v, d) for sid, v, d in s.state if d or s.index == 0]
    if rows:  # the first decision shows the whole state, later ones what changed
        out += ["| State | Value | Change |", "|---|---:|---:|"]
        out += [f"| {sid} | {fmt_state(v)} | {fmt_state(d) if d else ''} |"
                for sid, v, d in rows]
    out += ["", "| Your lever | Before | After |", "|---|---:|---:|"]
    changed = dict(turn.changes)
    for ls in s.levers:
        after = fmt_value(changed[ls.lever.id]) if ls.lever.id in changed else "(kept)"
        out.append(f"| {ls.lever.id} | {fmt_value(ls.value)} | {after} |")
    if turn.others:
        out += ["", "Other moves at this decision (from the moves file):", ""]
        out += [f"- {line}" for line in turn.others]
    return out + [""]


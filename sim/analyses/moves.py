"""Moves at a decision point, shared by `sim play` and the crisis game.

A *move* is what someone does at a decision point: set levers, or take an action. Who may
do what:

- an **actor** sets the levers that name it (when no lever in the scenario names an actor,
  the single player of `sim play` sets all of them) and takes its *decisions*: the actions
  of that actor which its processes or rules can produce (schedule-only actions such as an
  inauguration are not decisions);
- the **facilitator** of a game sets any lever and injects any action, always with a note.

:func:`apply_decision` is the one place where moves change a running replication, so a
game and its replay by `sim play --moves` take exactly the same steps: first every lever
change at once (at the first decision the replication restarts with the new levers, so
that levers which only set the starting state take effect), then the injected actions in
order, each at the decision's instant as if a process had chosen it.

Pure: no printing, no files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..errors import UsageError
from ..run.engine import Plan, Replication
from ..spec import expr as ex
from ..spec.model import Action, Lever, Model
from ..spec.settings import parse_lever_value

Value = float | bool | str
FACILITATOR = "facilitator"
MAX_NOTE = 200


class MoveError(UsageError):
    """A move that cannot be played: unknown lever, bad value, another actor's lever."""


class Injection(NamedTuple):
    """An action taken at a decision point by an actor (its decision) or the facilitator."""

    action: str
    by: str
    note: str = ""


def fmt_value(value: Any) -> str:
    """A lever or state value as a player types it: true/false, or a short number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return str(value)


def as_text(raw: Any) -> str:
    """A typed value (from YAML or a form) as parse_lever_value reads it, without rounding."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return repr(raw)
    return str(raw)


def actor_name(model: Model, actor_id: str) -> str:
    """An actor's display name (the id itself for the facilitator or an unknown id)."""
    if actor_id == FACILITATOR:
        return "the facilitator"
    return next((a.name for a in model.actors if a.id == actor_id), actor_id)


def levers_of(model: Model, actor: str) -> tuple[Lever, ...]:
    """The levers ``actor`` controls (every lever for the facilitator)."""
    if actor == FACILITATOR:
        return model.levers
    return tuple(lv for lv in model.levers if lv.actor == actor)


def runtime_names(model: Model) -> set[str]:
    """Every name read while a replication runs (not only when it starts)."""
    names: set[str] = set()

    def add(*exprs: Any) -> None:
        for e in exprs:
            if e is not None:
                names.update(e.names)
    for process in model.processes:
        add(process.rate, process.when, *process.choice.weights)
    for rule in model.rules:
        add(rule.probability, rule.when, *rule.choice.weights)
    for item in model.schedule:
        add(item.when, item.probability, *item.choice.weights)
    for action in model.actions:
        add(*(effect.expr for effect in action.effects))
    for outcome in model.outcomes:
        add(outcome.when)
    return names


def start_only(model: Model) -> frozenset[str]:
    """Levers read only when a replication starts: they can be set at the first decision."""
    live = runtime_names(model)
    return frozenset(lv.id for lv in model.levers if lv.id not in live)


def check_levers(model: Model, allowed: Sequence[Lever], moves: Mapping[str, Any], *,
                 current: Mapping[str, Any] | None, first: bool, who: str) -> dict[str, Value]:
    """Validate lever moves (lever -> value or text) by ``who``, who may set ``allowed``.

    Returns the levers whose value changes (restating ``current`` is not a move; pass None
    when checking ahead, as for a moves file). Raises MoveError with a clear message."""
    mine = [lv.id for lv in allowed]
    fixed = start_only(model)
    changes: dict[str, Value] = {}
    for name, raw in moves.items():
        name = str(name)
        try:
            lever = model.lever(name)
        except KeyError:
            raise MoveError(f"unknown lever '{name}'{ex.suggest(name, mine)}; "
                            f"{who} can set: {', '.join(mine) or 'no lever'}") from None
        if lever.id not in mine:
            raise MoveError(f"lever '{name}' belongs to {actor_name(model, lever.actor)} "
                            f"({lever.actor or 'nobody'}), not to {who}; you can set: "
                            f"{', '.join(mine) or 'no lever'}")
        if isinstance(raw, (dict, list)) or raw is None:
            raise MoveError(f"lever '{name}' needs a single value (got "
                            f"{'nothing' if raw is None else type(raw).__name__})")
        try:
            value = parse_lever_value(model, name, as_text(raw))
        except UsageError as exc:
            raise MoveError(str(exc)) from None
        old = current[name] if current is not None else None
        if old is not None and value == old and isinstance(value, bool) == isinstance(
                old, bool):
            continue  # restating the current value is not a move
        if name in fixed and not first:
            raise MoveError(f"lever '{name}' only sets the starting state, so it can be "
                            f"changed only at the first decision (day 0)")
        changes[name] = value
    return changes


def decisions(model: Model, actor: str) -> tuple[tuple[Action, str], ...]:
    """The actions ``actor`` may take as a decision, each with the sources of the
    processes and rules that produce it (the facilitator may inject any action)."""
    sources: dict[int, list[str]] = {}
    producers = [(p.choice, p.source) for p in model.processes] + \
        [(r.choice, r.source) for r in model.rules]
    for choice, source in producers:
        for index in choice.actions:
            sources.setdefault(index, [])
            if source and source not in sources[index]:
                sources[index].append(source)
    return tuple((a, "; ".join(sources.get(a.index, ()))) for a in model.actions
                 if (actor == FACILITATOR or a.actor == actor) and
                 (actor == FACILITATOR or a.index in sources))


def check_injection(model: Model, action_id: str, by: str, note: str = "") -> Injection:
    """An action ``by`` an actor (one of its decisions) or the facilitator (any action,
    with a one-line note), checked."""
    note = clean_note(note, required=by == FACILITATOR)
    open_ = [a.id for a, _ in decisions(model, by)]
    action_id = str(action_id)
    if action_id not in open_:
        try:
            action = model.actions[model.action_index(action_id)]
        except KeyError:
            raise MoveError(f"unknown action '{action_id}'{ex.suggest(action_id, open_)}; "
                            f"{actor_name(model, by)} can take: "
                            f"{', '.join(open_) or 'no action'}") from None
        why = (f"it is {actor_name(model, action.actor)}'s" if action.actor != by else
               "only the schedule takes it")
        raise MoveError(f"action '{action_id}' is not open to {actor_name(model, by)} "
                        f"({why}); open: {', '.join(open_) or 'no action'}")
    return Injection(action_id, by, note)


def clean_note(note: str, required: bool) -> str:
    """A facilitator's note as one line (whitespace collapsed), checked."""
    note = " ".join(str(note or "").split())
    if required and not note:
        raise MoveError("an injection needs a one-line note for the narrative")
    if len(note) > MAX_NOTE:
        raise MoveError(f"the note is {len(note)} characters; at most {MAX_NOTE} (one line)")
    return note


def outcomes_so_far(model: Model, rep: Replication) -> tuple[str, ...]:
    """The outcomes that have occurred in a stepped replication, with their dates."""
    return tuple(f"{o.name} ({model.date_of(day).isoformat()})"
                 for o, day in zip(model.outcomes, rep.outcome_days, strict=True)
                 if day != math.inf)


def apply_decision(model: Model, rep: Replication, seed: int, replication: int, first: bool,
                   changes: Mapping[str, Value], injections: Sequence[Injection]
                   ) -> tuple[Model, Replication]:
    """Apply lever ``changes`` and then ``injections`` at the current decision point.

    At the first decision (nothing has happened yet) lever changes restart the replication
    on the same dice with the new levers, so that they also shape the starting state;
    later, rates that read a changed lever are redrawn at once. Returns the (possibly new)
    model and replication; the caller then advances to the next decision."""
    if changes:
        if first:
            model = model.with_levers(dict(changes))
            rep = Plan(model).start(seed, replication)
        else:
            rep.set_levers(dict(changes))
    for injection in injections:
        rep.inject(model.action_index(injection.action))
    return model, rep

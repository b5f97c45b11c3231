"""Histories as stories: dated timelines of single replications, and the common paths.

Pure: functions return text or data; the CLI prints.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..run.engine import Plan
from ..run.record import Record
from ..spec import expr as ex
from ..spec.model import DAY, PEAK, RUNG, Model

MAX_SEARCH = 200_000


def render(template: str, values: dict[str, Any], model: Model, action_index: int) -> str:
    """Fill a narrative template. Only plain {name} fields exist (the loader checked),
    so no attribute or index lookup can ever run."""
    action = model.actions[action_index]
    actor = next((a.name for a in model.actors if a.id == action.actor), action.actor)
    fields: dict[str, Any] = {"actor": actor, "action": action.name,
                              "date": model.date_of(values.get(DAY, 0.0)).isoformat()}
    for rung in model.rungs:
        fields[rung.id] = rung.name
    for key, value in values.items():
        if key in (RUNG, PEAK):
            fields[key] = model.rungs[int(value)].name
        elif isinstance(value, float) and value.is_integer():
            fields[key] = int(value)
        elif isinstance(value, float):
            fields[key] = round(value, 2)
        else:
            fields[key] = value
    out = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            value = fields.get(name, "?")
            try:
                out.append(format(value, spec) if spec else str(value))
            except (ValueError, TypeError):
                out.append(str(value))
    return "".join(out)


def timeline(model: Model, record: Record) -> list[str]:
    """Dated lines of one traced replication, with rung changes marked."""
    lines = []
    rung = model.initial_rung
    lines.append(f"{model.start.isoformat()}  (day   0.0)  Start: {model.rungs[rung].name}.")
    for event in record.events:
        action = model.actions[event.action]
        text = render(action.narrative, event.values, model, event.action) if \
            action.narrative else f"{_actor(model, action.actor)}: {action.name}."
        date = model.date_of(event.day).isoformat()
        lines.append(f"{date}  (day {event.day:5.1f})  {text}")
        new_rung = int(event.values[RUNG])
        if new_rung != rung:
            arrow = "UP" if new_rung > rung else "DOWN"
            lines.append(f"{'':12}{'':13}  [{arrow}] the crisis is now at "
                         f"'{model.rungs[new_rung].name}'")
            rung = new_rung
    end = model.date_of(record.end_day).isoformat()
    if record.terminal == "horizon":
        lines.append(f"{end}  (day {record.end_day:5.1f})  Horizon reached; the crisis stands "
                     f"at '{model.rungs[record.final_rung].name}'.")
    else:
        lines.append(f"{end}  (day {record.end_day:5.1f})  The run ends: "
                     f"{model.actions[model.action_index(record.terminal)].name}.")
    return lines


def _actor(model: Model, actor_id: str) -> str:
    return next((a.name for a in model.actors if a.id == actor_id), actor_id)


def compile_where(model: Model, text: str) -> ex.Expr:
    """A --where condition over final values, peak, rung and outcome ids (true/false)."""
    names: dict[str, str] = {lv.id: (ex.BOOL if lv.is_bool else ex.NUM) for lv in model.levers}
    names.update({p.id: ex.NUM for p in model.parameters})
    names.update({s.id: ex.NUM for s in model.state})
    names.update({RUNG: ex.NUM, PEAK: ex.NUM, DAY: ex.NUM})
    for outcome in model.outcomes:
        names.setdefault(outcome.id, ex.BOOL)
    constants = {r.id: float(r.index) for r in model.rungs}
    try:
        return ex.compile_expr(text, ex.BOOL, names, constants)
    except ex.ExprError as exc:
        raise UsageError(f"--where: {exc}") from None


def final_values(model: Model, record: Record) -> dict[str, Any]:
    """The names a --where condition can read, at the end of a replication."""
    values: dict[str, Any] = {lv.id: lv.value for lv in model.levers}
    values.update({p.id: v for p, v in zip(model.parameters, record.parameters, strict=True)})
    values.update({s.id: v for s, v in zip(model.state, record.final_state, strict=True)})
    values.update({RUNG: float(record.final_rung), PEAK: float(record.peak),
                   DAY: record.end_day})
    for outcome, day in zip(model.outcomes, record.outcome_days, strict=True):
        values.setdefault(outcome.id, day != float("inf"))
    return values


def find(model: Model, seed: int, where: str | None = None, start: int = 0,
         count: int = 1, limit: int = MAX_SEARCH) -> Iterator[Record]:
    """Traced replications start, start+1, ... that meet ``where`` (all if None)."""
    plan = Plan(model)
    condition = compile_where(model, where) if where else None
    found = 0
    for i in range(start, start + limit):
        if condition is None:
            yield plan.run(seed, i, trace=True)
            found += 1
        else:
            rec = plan.run(seed, i)  # untraced search is faster; trace only the hits
            if condition(final_values(model, rec)):
                yield plan.run(seed, i, trace=True)
                found += 1
        if found >= count:
            return


@dataclass(frozen=True)
class Path:
    """A sequence of rungs a replication moved through, and how often it occurred."""

    rungs: tuple[str, ...]
    count: int
    share: float


def common_paths(model: Model, records: list[Record], rung_id: str, top: int = 5
                 ) -> tuple[int, list[Path]]:
    """Most common rung sequences among replications that reached ``rung_id``."""
    target = model.rung_index(rung_id)
    hits = [r for r in records if r.first_reach[target] != float("inf")]
    counter: Counter[tuple[str, ...]] = Counter()
    for rec in hits:
        seq: list[str] = []
        for _, rung in rec.rung_path:
            name = model.rungs[rung].id
            if not seq or seq[-1] != name:
                seq.append(name)
            if (rung >= target) if target > model.initial_rung else (rung <= target):
                break
        counter[tuple(seq)] += 1
    n = len(hits)
    return n, [Path(p, c, c / n) for p, c in counter.most_common(top)]

"""A briefing for people about to forecast a scenario: the situation, who is involved, the
levers with their sources, the ladder, and the note that this is a teaching model.

Pure data (no HTML): a web page, a handout or a terminal can render it. Citations such as
``[reuters_atacms]`` in a lever's source are resolved to the scenario's source texts.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from ..spec.model import Model
from .report import CITATION, NOT_A_FORECAST


class Cited(NamedTuple):
    """A source a piece of text cites: its key and the scenario's text for it."""

    key: str
    text: str


class LeverBrief(NamedTuple):
    """One lever as a briefing shows it."""

    id: str
    description: str
    value: str
    unit: str
    span: str
    actor: str
    source: str
    cited: tuple[Cited, ...]


class RungBrief(NamedTuple):
    """One rung of the ladder, lowest first."""

    level: int
    name: str
    description: str
    framework: str
    is_start: bool


class ActorBrief(NamedTuple):
    """One actor."""

    name: str
    description: str


class Briefing(NamedTuple):
    """Everything a student reads before forecasting."""

    title: str
    situation: str
    start: str
    end: str
    horizon_days: int
    actors: tuple[ActorBrief, ...]
    levers: tuple[LeverBrief, ...]
    ladder: tuple[RungBrief, ...]
    note: str


def _value(value: float | bool | str) -> str:
    if isinstance(value, str):  # a choice lever's option
        return value
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:,.10g}"


def _range(low: float | None, high: float | None, is_bool: bool) -> str:
    if is_bool:
        return "on / off"
    if low is None and high is None:
        return ""
    return f"{_value(low) if low is not None else '...'} to " \
           f"{_value(high) if high is not None else '...'}"


def cited(text: str, sources: dict[str, str]) -> tuple[Cited, ...]:
    """The scenario sources a text cites with ``[key]``, in order, each once."""
    keys = dict.fromkeys(m.group(1) for m in CITATION.finditer(text))
    return tuple(Cited(k, sources[k]) for k in keys if k in sources)


def briefing(model: Model, levers: tuple[str, ...] | None = None) -> Briefing:
    """The briefing of a scenario; ``levers`` limits (and orders) the levers shown."""
    sources = dict(model.sources)
    actors = {a.id: a.name for a in model.actors}
    chosen = [model.lever(i) for i in levers] if levers is not None else list(model.levers)
    end = model.start + dt.timedelta(days=int(model.horizon))
    return Briefing(
        title=model.title,
        situation=model.description.strip(),
        start=model.start.isoformat(),
        end=end.isoformat(),
        horizon_days=int(model.horizon),
        actors=tuple(ActorBrief(a.name, a.description) for a in model.actors),
        levers=tuple(LeverBrief(lv.id, lv.description.strip(), _value(lv.value), lv.unit,
                                _range(lv.low, lv.high, lv.is_bool),
                                actors.get(lv.actor, lv.actor), lv.source,
                                cited(lv.source, sources)) for lv in chosen),
        ladder=tuple(RungBrief(r.index, r.name, r.description, r.framework,
                               r.index == model.initial_rung) for r in model.rungs),
        note=NOT_A_FORECAST)

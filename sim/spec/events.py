"""Events files: what really happened within a scenario's horizon, for backtests.

An events file sits in the folder ``events`` beside its scenario, under the same name
(``history/cuba1962.yaml`` -> ``history/events/cuba1962.yaml``), so that a glob of scenarios
(``scenarios/history/*.yaml``) never picks it up. It says, for outcomes and rungs of that
scenario, whether each happened by the horizon, the day or date it first happened, a source
for each, and a note for judgement calls::

    scenario: cuba1962
    sources:
      kennedy_22oct: "J. F. Kennedy, radio and television address, 22 Oct 1962."
    outcomes:
      quarantine:
        happened: true
        date: 1962-10-22
        source: "[kennedy_22oct]"
        note: "Announced on the 22nd, in force on the 24th: the outcome is the decision."
    rungs:
      strategic_alert: {happened: true, date: 1962-10-24, source: "..."}
    path:                       # optional: the real rung path drawn on the fan chart
      - {date: 1962-10-28, rung: settlement, note: "Khrushchev's radio message"}

It is read only through :mod:`yamlsrc` and checked with the same located problems as a
scenario. Pure: no printing, no files written.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import Problem, ScenarioError
from .expr import suggest
from .yamlsrc import Source, given, is_date, join, not_a_date, parse_text, read_file

TOP_KEYS = ("scenario", "sources", "outcomes", "rungs", "path", "description")
ITEM_KEYS = ("happened", "date", "day", "source", "note")
STEP_KEYS = ("date", "day", "rung", "note")
_CITE = re.compile(r"\[([A-Za-z0-9_\-]+)\]")


class Target(NamedTuple):
    """What an events file is checked against: the judged scenario's names and calendar."""

    scenario: str
    start: dt.date
    horizon: float
    outcomes: tuple[str, ...]
    rungs: tuple[str, ...]
    initial_rung: int
    sources: tuple[str, ...] = ()


class Event(NamedTuple):
    """One judged outcome or rung: whether it happened by the horizon, and when."""

    id: str
    kind: str  # "outcome" or "rung"
    happened: bool
    day: int | None  # whole days after the scenario's start (the start date is day 0)
    source: str
    note: str


class Step(NamedTuple):
    """One step of the real rung path: from ``day`` on, the crisis stood on ``rung``."""

    day: int
    rung: str
    note: str


class Events(NamedTuple):
    """A checked events file."""

    file: str
    scenario: str
    description: str
    sources: tuple[tuple[str, str], ...]
    items: tuple[Event, ...]
    path: tuple[Step, ...]

    def of_kind(self, kind: str) -> tuple[Event, ...]:
        """The judged outcomes ("outcome") or rungs ("rung"), in file order."""
        return tuple(e for e in self.items if e.kind == kind)


class _Reader:
    """Walks an events file, collecting every problem with its location."""

    def __init__(self, src: Source, target: Target) -> None:
        self.src = src
        self.target = target
        self.problems: list[Problem] = []
        self.sources: dict[str, str] = {}

    def err(self, path: str, message: str) -> None:
        self.problems.append(self.src.problem(path, message))

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...],
                what: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.err(path, f"must be {what} (got {given(value)})")
            return None
        for key in value:
            if key not in allowed:
                self.err(join(path, key), f"unknown key{suggest(key, allowed)}; expected "
                                          f"one of: {', '.join(allowed)}")
        return value

    def text(self, value: Any, path: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.err(path, f"must be text (got {given(value)})")
            return ""
        return value

    def day(self, item: dict[str, Any], path: str) -> int | None:
        """The whole day after the start given by ``date`` or ``day`` (None if neither)."""
        if "date" in item and "day" in item:
            self.err(path, "give 'date' or 'day', not both")
            return None
        if "date" in item:
            value = item["date"]
            if not is_date(value):
                self.err(join(path, "date"), not_a_date(value))
                return None
            day, where = (value - self.target.start).days, join(path, "date")
        elif "day" in item:
            value, where = item["day"], join(path, "day")
            if isinstance(value, bool) or not isinstance(value, int):
                self.err(where, f"must be a whole number of days after the start "
                                f"(got {given(value)})")
                return None
            day = value
        else:
            return None
        if day < 0:
            self.err(where, f"is before the scenario's start {self.target.start} "
                            f"(got day {day})")
            return None
        if day > self.target.horizon:
            end = self.target.start + dt.timedelta(days=int(self.target.horizon))
            self.err(where, f"is after the scenario's horizon ({end}, day "
                            f"{self.target.horizon:g}); within the horizon it did not "
                            "happen: write 'happened: false' and give the later date in "
                            "'note'")
            return None
        return day

    def source(self, value: Any, path: str) -> str:
        text = self.text(value, path).strip()
        if not text:
            self.err(path, "missing 'source': say where the fact comes from (a citation "
                           "[key] of 'sources', or the publication itself)")
        known = {*self.sources, *self.target.sources}
        for key in _CITE.findall(text):
            if key not in known:
                self.err(path, f"cites [{key}], which is neither in this file's sources "
                               f"nor in the scenario's{suggest(key, known)}")
        return text

    def item(self, key: str, raw: Any, path: str, kind: str) -> Event | None:
        item = self.mapping(raw, path, ITEM_KEYS,
                            "a mapping with happened, date (or day), source and note")
        if item is None:
            return None
        happened = item.get("happened")
        if "happened" not in item:
            self.err(path, "missing required key 'happened' (true or false)")
        elif not isinstance(happened, bool):
            self.err(join(path, "happened"), f"must be true or false (got {given(happened)})")
        day = self.day(item, path)
        if happened is True and day is None and "date" not in item and "day" not in item:
            self.err(path, "happened, so it needs the 'date' (or 'day') it first happened")
        if happened is False and ("date" in item or "day" in item):
            self.err(path, "did not happen, so it takes no 'date' or 'day'; put a later "
                           "date or a near miss in 'note'")
        source = self.source(item.get("source"), join(path, "source"))
        note = self.text(item.get("note"), join(path, "note"))
        if not isinstance(happened, bool):
            return None
        return Event(key, kind, happened, day if happened else None, source, note)

    def section(self, value: Any, path: str, kind: str, known: tuple[str, ...]) -> list[Event]:
        if value is None:
            return []
        if not isinstance(value, dict):
            self.err(path, f"must be a mapping of {kind} id to what happened "
                           f"(got {given(value)})")
            return []
        out = []
        for key, raw in value.items():
            where = join(path, key)
            if key not in known:
                self.err(where, f"unknown {kind} '{key}'{suggest(key, known)}; the "
                                f"scenario's {kind}s: {', '.join(known) or 'none'}")
                continue
            if kind == "rung" and known.index(key) == self.target.initial_rung:
                self.err(where, f"'{key}' is the starting rung: every run is on it at the "
                                "start, so there is nothing to judge")
                continue
            event = self.item(key, raw, where, kind)
            if event is not None:
                out.append(event)
        return out

    def path(self, value: Any) -> list[Step]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.err("path", f"must be a list of {{date, rung, note}} steps "
                             f"(got {given(value)})")
            return []
        steps: list[Step] = []
        for i, raw in enumerate(value):
            where = join("path", i)
            item = self.mapping(raw, where, STEP_KEYS, "a mapping with date (or day), rung "
                                                       "and note")
            if item is None:
                continue
            day = self.day(item, where)
            if day is None and "date" not in item and "day" not in item:
                self.err(where, "missing 'date' (or 'day')")
            rung = item.get("rung")
            if rung not in self.target.rungs:
                self.err(join(where, "rung"), f"unknown rung {given(rung)}"
                                              f"{suggest(str(rung), self.target.rungs)}")
                continue
            if day is not None:
                if steps and day < steps[-1].day:
                    self.err(where, f"steps must be in date order (day {day} comes after "
                                    f"day {steps[-1].day})")
                steps.append(Step(day, str(rung), self.text(item.get("note"),
                                                            join(where, "note"))))
        return steps


def path_reach(steps: tuple[Step, ...] | list[Step], rungs: tuple[str, ...],
               initial: int) -> dict[str, int]:
    """First day the real path stood on or beyond each rung, counted as the model counts:
    above the start, at or above the rung; below the start, at or below it."""
    index = {rid: i for i, rid in enumerate(rungs)}
    first: dict[str, int] = {}
    for step in steps:
        at = index[step.rung]
        for i, rid in enumerate(rungs):
            beyond = at >= i if i > initial else at <= i if i < initial else False
            if beyond and rid not in first:
                first[rid] = step.day
    return first


def _agree(rd: _Reader, items: list[Event], steps: list[Step]) -> None:
    """The judged rungs must tell the same story as the path."""
    first = path_reach(steps, rd.target.rungs, rd.target.initial_rung)
    for event in items:
        if event.kind != "rung":
            continue
        day = first.get(event.id)
        where = join("rungs", event.id)
        if event.happened != (day is not None) or (day is not None and event.day != day):
            said = f"day {event.day}" if event.happened else "not reached"
            path = f"first at or beyond it on day {day}" if day is not None else "never " \
                "at or beyond it"
            rd.err(where, f"disagrees with 'path', which is {path} (this entry says "
                          f"{said}); a rung counts as reached when the crisis stands at "
                          "or above it (below the start: at or below it), as in the model")


def check_source(src: Source, target: Target) -> tuple[Events | None, list[Problem]]:
    """Check a parsed events file against the scenario it judges: (events or None, problems)."""
    rd = _Reader(src, target)
    top = rd.mapping(src.data, "", TOP_KEYS, "a mapping with scenario, sources, outcomes, "
                                             "rungs and path") or {}
    name = top.get("scenario")
    if "scenario" not in top:
        rd.err("", f"missing required key 'scenario' (the id of the scenario judged, "
                   f"'{target.scenario}')")
    elif name != target.scenario:
        rd.err("scenario", f"judges scenario {given(name)}, but the scenario given is "
                           f"'{target.scenario}'; pair each scenario with its own events file")
    raw_sources = top.get("sources")
    if raw_sources is not None and not isinstance(raw_sources, dict):
        rd.err("sources", f"must be a mapping of key to citation (got {given(raw_sources)})")
    for key, value in (raw_sources or {}).items() if isinstance(raw_sources, dict) else ():
        rd.sources[key] = rd.text(value, join("sources", key))
    items = [*rd.section(top.get("outcomes"), "outcomes", "outcome", target.outcomes),
             *rd.section(top.get("rungs"), "rungs", "rung", target.rungs)]
    if not items and not rd.problems:
        rd.err("", "judges nothing: give at least one outcome under 'outcomes' (or a rung "
                   "under 'rungs')")
    steps = rd.path(top.get("path"))
    if steps and not rd.problems:
        _agree(rd, items, steps)
    description = rd.text(top.get("description"), "description")
    if rd.problems:
        return None, rd.problems
    return Events(src.file, str(name), description, tuple(rd.sources.items()), tuple(items),
                  tuple(steps)), []


def _checked(parsed: tuple[Source | None, list[Problem]], target: Target) -> Events:
    src, problems = parsed
    if src is None or problems:
        raise ScenarioError(problems)
    events, problems = check_source(src, target)
    if events is None:
        raise ScenarioError(problems)
    return events


def load_events(path: str | Path, target: Target) -> Events:
    """Read and check an events file; raise ScenarioError listing every problem."""
    return _checked(read_file(path), target)


def events_from_text(text: str, target: Target, name: str = "<events>") -> Events:
    """Read and check an events file from YAML text (tests, notebooks)."""
    return _checked(parse_text(text, name), target)


def events_path(scenario: str | Path) -> Path:
    """Where a scenario's events file is expected: ``events/NAME.yaml`` beside it."""
    path = Path(scenario)
    return path.parent / "events" / path.name

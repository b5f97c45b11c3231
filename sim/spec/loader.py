"""Validate a parsed scenario in one place and compile it into an immutable Model.

Every problem is collected (never stop at the first), each located by file, line and YAML
path, saying what was expected and what was given. Provenance gaps are warnings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import keyword
import math
import re
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import Problem, ScenarioError, UsageError
from . import expr as ex
from .distributions import KINDS, Distribution
from .model import (
    DAY,
    PEAK,
    RUNG,
    Action,
    Actor,
    Choice,
    Effect,
    Lever,
    Model,
    Outcome,
    Parameter,
    Process,
    Rule,
    Rung,
    ScheduledEvent,
    StateVar,
    Variant,
)
from .yamlsrc import Source, is_date, join, not_a_date, parse_text, read_file
from .yamlsrc import given as _given

SECTIONS = ("scenario", "ladder", "actors", "levers", "parameters", "state", "actions",
            "schedule", "processes", "rules", "outcomes", "variants")
REQUIRED_SECTIONS = ("scenario", "ladder", "actors", "actions")
RESERVED = {RUNG, PEAK, DAY, "actor", "date", "action", "true", "false", "True", "False",
            *ex.FUNCTIONS}
# Number formats only, width at most 2 digits: a template must not build huge strings.
_SPEC = re.compile(r"[<>^]?[+-]?\d{0,2},?(\.\d{1,2})?[dfge%]?")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_NUMBER = 1e12
MAX_HORIZON = 36_500
MAX_GRID_CELLS = 2_000_000  # (rungs + outcomes) x days: the aggregates' fixed size
MIN_EVERY = 0.001  # days (about 1.4 minutes): finer cadences are runaways, not models
_DAY_IN_RATE = ("rates cannot read 'day': a rate is re-evaluated only when state changes; "
                "change a state variable from the schedule instead")
_DAY_IN_OUTCOME = ("outcome conditions cannot read 'day': they are checked when state changes; "
                   "use a state variable set from the schedule instead")


class _Checker:
    """Collects problems while walking the parsed YAML."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def err(self, path: str, message: str) -> None:
        self.problems.append(self.src.problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(self.src.problem(path, message))

    # -- shapes -------------------------------------------------------------------------
    def mapping(self, value: Any, path: str, required: Iterable[str] = (),
                optional: Iterable[str] = (), what: str = "a mapping") -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.err(path, f"must be {what} (got {_given(value)})")
            return None
        required, optional = tuple(required), tuple(optional)
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed:
                self.err(join(path, key), f"unknown key{ex.suggest(key, allowed)}; "
                                          f"expected one of: {', '.join(allowed)}")
        for key in required:
            if key not in value:
                self.err(path, f"missing required key '{key}'")
        return value

    def ident(self, key: Any, path: str, taken: dict[str, str] | None = None,
              what: str = "") -> bool:
        if not isinstance(key, str) or not _ID.match(key) or keyword.iskeyword(key):
            self.err(path, "must be an identifier: a letter or '_' then letters, digits or "
                           f"'_', at most 64 characters, not a Python keyword (got {_given(key)})")
            return False
        if key in RESERVED:
            self.err(path, f"'{key}' is a reserved name; choose another id")
            return False
        if taken is not None:
            if key in taken:
                self.err(path, f"'{key}' is already used by {taken[key]}; names of rungs, "
                               "levers, parameters and state variables must all differ")
                return False
            taken[key] = what
        return True

    def text(self, value: Any, path: str, default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str):
            self.err(path, f"must be text (got {_given(value)})")
            return default
        return value

    def number(self, value: Any, path: str, low: float | None = None,
               high: float | None = None, *, integer: bool = False, strict_low: bool = False,
               default: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.err(path, f"must be {'a whole number' if integer else 'a number'} "
                           f"(got {_given(value)})")
            return default
        if isinstance(value, int) and abs(value) > MAX_NUMBER:
            self.err(path, f"must be a finite number of magnitude at most {MAX_NUMBER:g} "
                           f"(got a {len(str(abs(value)))}-digit number)")
            return default
        if not math.isfinite(float(value)) or abs(value) > MAX_NUMBER:
            self.err(path, f"must be a finite number of magnitude at most {MAX_NUMBER:g} "
                           f"(got {_given(float(value))})")
            return default
        if integer and float(value) != int(value):
            self.err(path, f"must be a whole number (got {_given(value)})")
            return default
        if low is not None and (value <= low if strict_low else value < low):
            bound = f"> {low:g}" if strict_low else f">= {low:g}"
            self.err(path, f"must be {bound} (got {_given(value)})")
            return default
        if high is not None and value > high:
            self.err(path, f"must be <= {high:g} (got {_given(value)})")
            return default
        return float(value)

    def expr(self, value: Any, path: str, kind: str, names: dict[str, str],
             constants: dict[str, float], forbidden: dict[str, str] | None = None
             ) -> ex.Expr | None:
        try:
            compiled = ex.compile_expr(value, kind, names, constants, forbidden)
        except ex.ExprError as exc:
            self.err(path, str(exc))
            return None
        at = self.src.problem(path, "")  # located, for errors while the model runs
        where = f"{at.file}:{at.line}" if at.line else at.file
        return dataclasses.replace(compiled, where=f"{where} '{path}'")

    def ref(self, value: Any, path: str, known: dict[str, int], what: str) -> int | None:
        if not isinstance(value, str):
            self.err(path, f"must name {what} (got {_given(value)})")
            return None
        if value not in known:
            listed = ", ".join(list(known)[:12])
            self.err(path, f"unknown {what} '{value}'{ex.suggest(value, known)}; "
                           f"known: {listed or 'none'}")
            return None
        return known[value]

    def source(self, value: Any, path: str, sources: dict[str, str], needed: bool) -> str:
        text = self.text(value, path)
        if not text and needed:
            self.warn(path.rsplit(".source", 1)[0],
                      "no 'source' given: say where this number comes from "
                      "(an article, a publication, or 'Assumption: ...' with the reasoning)")
        for key in re.findall(r"\[([A-Za-z0-9_\-]+)\]", text):
            if key not in sources:
                self.err(path, f"cites [{key}], which is not in scenario.sources"
                               f"{ex.suggest(key, sources)}")
        return text


def _items(ck: _Checker, value: Any, path: str) -> list[tuple[str, Any]]:
    """(key, value) pairs of a keyed section; reports a non-mapping."""
    if value is None:
        return []
    if not isinstance(value, dict):
        ck.err(path, f"must be a mapping of id to definition (got {_given(value)})")
        return []
    return list(value.items())


def _check_template(ck: _Checker, template: str, path: str, names: Iterable[str]) -> None:
    allowed = set(names) | {"actor", "date", "action"}
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        ck.err(path, f"bad narrative template: {exc} (write '{{{{' for a literal brace)")
        return
    for _, field_name, spec, conv in parts:
        if field_name is None:
            continue
        if field_name not in allowed:
            ck.err(path, f"narrative placeholder {{{field_name}}} is not a known name"
                         f"{ex.suggest(field_name, allowed)}; use {{name}} with a lever, "
                         "parameter, state variable, rung, peak, day, actor, date or action")
        elif conv or (spec and not _SPEC.fullmatch(spec)):
            shown = f"{{{field_name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
            ck.err(path, f"narrative placeholder {shown} has an unsupported format; use "
                         f"{{{field_name}}} or a short number format such as "
                         f"{{{field_name}:.1f}} or {{{field_name}:.0%}}")


def _provenance(ck: _Checker, meta: dict[str, Any], start: dt.date
                ) -> tuple[dict[str, str], dict[str, dt.date], dt.date]:
    """scenario.sources (each text, or {text, date}) and information_cutoff (default: the
    start); a source dated after the cutoff is a warning: later knowledge belongs in
    comments as an out-of-sample check, never in a number."""
    cutoff = meta.get("information_cutoff", start)
    if not is_date(cutoff):
        ck.err("scenario.information_cutoff", not_a_date(cutoff))
        cutoff = start
    texts: dict[str, str] = {}
    dates: dict[str, dt.date] = {}
    for key, value in _items(ck, meta.get("sources"), "scenario.sources"):
        path = join("scenario.sources", key)
        if not isinstance(value, dict):
            texts[key] = ck.text(value, path)
            continue
        item = ck.mapping(value, path, ("text",), ("date",)) or {}
        texts[key] = ck.text(item.get("text"), join(path, "text"))
        when = item.get("date")
        if "date" in item and not is_date(when):
            ck.err(join(path, "date"), not_a_date(when, "the day it was published; "))
        elif isinstance(when, dt.date):
            dates[key] = when
            if when > cutoff:
                ck.warn(join(path, "date"), f"dated {when}, after the information cutoff "
                                            f"{cutoff}: a number may not rest on it (cite "
                                            "it in a comment as an out-of-sample check, or "
                                            "move the cutoff if it was known by then)")
    return texts, dates, cutoff


def _lever_value(ck: _Checker, value: Any, path: str, lever: Lever
                 ) -> float | bool | str | None:
    if lever.is_choice:
        if value not in lever.options:
            ck.err(path, f"lever '{lever.id}' is a choice: must be one of "
                         f"{', '.join(lever.options)} (got {_given(value)})"
                         f"{ex.suggest(str(value), lever.options)}")
            return None
        return str(value)
    if lever.is_bool:
        if not isinstance(value, bool):
            ck.err(path, f"lever '{lever.id}' is on/off: must be true or false "
                         f"(got {_given(value)})")
            return None
        return value
    low = lever.low if lever.low is not None else -MAX_NUMBER
    high = lever.high if lever.high is not None else MAX_NUMBER
    before = len(ck.problems)
    number = ck.number(value, path)
    if len(ck.problems) > before:
        return None
    if not low <= number <= high:
        ck.err(path, f"must be in [{low:g}, {high:g}], the range of lever '{lever.id}' "
                     f"(got {_given(value)})")
        return None
    return number


# Complexity 92 and 430 lines: the split into one function per section (issue 15) is pending.
def compile_source(  # noqa: C901
        src: Source, digest: str = "") -> tuple[Model | None, list[Problem], list[Problem]]:
    """Check a parsed scenario; return (model or None, problems, warnings)."""
    ck = _Checker(src)
    optional_sections = tuple(s for s in SECTIONS if s not in REQUIRED_SECTIONS)
    top = ck.mapping(src.data, "", REQUIRED_SECTIONS, optional_sections,
                     what="a scenario mapping with sections " + ", ".join(SECTIONS)) or {}
    taken: dict[str, str] = {}

    # -- scenario -----------------------------------------------------------------------
    meta = ck.mapping(top.get("scenario"), "scenario",
                      ("id", "title", "start", "horizon_days"),
                      ("description", "sources", "seed", "information_cutoff")) \
        if "scenario" in top else {}
    meta = meta or {}
    sid = meta.get("id", "scenario")
    if "id" in meta:
        ck.ident(sid, "scenario.id")
    start = meta.get("start")
    if "start" in meta and not is_date(start):
        ck.err("scenario.start", not_a_date(start))
    start_date: dt.date = start if isinstance(start, dt.date) else dt.date(2000, 1, 1)
    before = len(ck.problems)
    horizon = ck.number(meta.get("horizon_days", 1), "scenario.horizon_days", 0,
                        MAX_HORIZON, integer=True, strict_low=True, default=math.inf)
    horizon_ok = len(ck.problems) == before
    if horizon_ok and is_date(start) and (dt.date.max - start_date).days < horizon:
        ck.err("scenario.horizon_days", f"the horizon ends after the last calendar date "
                                        f"({dt.date.max}): at most "
                                        f"{(dt.date.max - start_date).days} days from "
                                        f"{start_date} (got {horizon:g})")
        horizon_ok = False
    seed = 1
    if "seed" in meta:
        seed = int(ck.number(meta["seed"], "scenario.seed", 0, 2**63, integer=True,
                             default=1.0))
    title = ck.text(meta.get("title"), "scenario.title", str(sid))
    description = ck.text(meta.get("description"), "scenario.description")
    sources, source_dates, cutoff = _provenance(ck, meta, start_date)

    # -- ladder -------------------------------------------------------------------------
    rungs: list[Rung] = []
    rung_ids: dict[str, int] = {}
    ladder = ck.mapping(top.get("ladder"), "ladder", ("rungs",), ("initial",)) \
        if "ladder" in top else None
    raw_rungs = (ladder or {}).get("rungs")
    if ladder is not None and "rungs" in ladder:
        if not isinstance(raw_rungs, list) or len(raw_rungs) < 2:
            ck.err("ladder.rungs", f"must be a list of at least 2 rungs, lowest first "
                                   f"(got {_given(raw_rungs)})")
        else:
            for i, raw in enumerate(raw_rungs):
                path = f"ladder.rungs[{i}]"
                item = ck.mapping(raw, path, ("id", "name"), ("description", "framework"))
                if item is None:
                    continue
                rid = str(item.get("id"))
                if "id" in item and ck.ident(item["id"], join(path, "id"), taken,
                                             f"rung {rid}"):
                    rung_ids[rid] = len(rungs)
                    rungs.append(Rung(rid, len(rungs), ck.text(item.get("name"), f"{path}.name",
                                                              rid),
                                      ck.text(item.get("description"), f"{path}.description"),
                                      ck.text(item.get("framework"), f"{path}.framework")))
    initial_rung = 0
    if ladder and "initial" in ladder:
        found = ck.ref(ladder["initial"], "ladder.initial", rung_ids, "rung")
        initial_rung = found if found is not None else 0
    constants = {rid: float(i) for rid, i in rung_ids.items()}

    # -- actors -------------------------------------------------------------------------
    actors: list[Actor] = []
    actor_ids: dict[str, int] = {}
    for key, raw in _items(ck, top.get("actors"), "actors"):
        path = join("actors", key)
        item = ck.mapping(raw, path, ("name",), ("description",))
        if ck.ident(key, path) and item is not None:
            actor_ids[key] = len(actors)
            actors.append(Actor(key, ck.text(item.get("name"), f"{path}.name", key),
                                ck.text(item.get("description"), f"{path}.description")))
    if "actors" in top and not actors:
        ck.err("actors", "must define at least one actor")

    # -- levers -------------------------------------------------------------------------
    names: dict[str, str] = {}
    levers: list[Lever] = []
    for key, raw in _items(ck, top.get("levers"), "levers"):
        path = join("levers", key)
        item = ck.mapping(raw, path, ("value",), ("unit", "range", "options", "actor",
                                                  "description", "source"))
        if not ck.ident(key, path, taken, f"lever {key}") or item is None or "value" not in item:
            continue
        value = item["value"]
        low = high = None
        options: tuple[str, ...] = ()
        if "options" in item:
            options = _options(ck, item, path, key, taken, constants)
            names[key] = ex.NUM
        elif isinstance(value, str) and _is_name(value):
            ck.err(f"{path}.value", f"must be a number or true/false (got {_given(value)}); "
                                    "for a choice among named options, list them: "
                                    f"options: [{value}, ...]")
            names[key] = ex.NUM  # still a name, so expressions reading it say nothing more
            continue
        elif isinstance(value, bool):
            if "range" in item:
                ck.err(f"{path}.range", "an on/off lever has no range")
            names[key] = ex.BOOL
        else:
            before = len(ck.problems)
            value = ck.number(value, f"{path}.value")
            value_ok = len(ck.problems) == before
            names[key] = ex.NUM
            rng = item.get("range")
            if rng is not None:
                if (not isinstance(rng, list) or len(rng) != 2):
                    ck.err(f"{path}.range", f"must be [low, high] (got {_given(rng)})")
                else:
                    low = ck.number(rng[0], f"{path}.range[0]")
                    high = ck.number(rng[1], f"{path}.range[1]")
                    if low >= high:
                        ck.err(f"{path}.range", f"low must be below high (got [{low:g}, "
                                                f"{high:g}])")
                    elif value_ok and not low <= value <= high:
                        ck.err(f"{path}.value", f"must be in the lever's range [{low:g}, "
                                                f"{high:g}] (got {value:g})")
        source = ck.source(item.get("source"), f"{path}.source", sources, True)
        owner = item.get("actor")
        if owner is not None:
            ck.ref(owner, f"{path}.actor", actor_ids, "actor")
        levers.append(Lever(key, value, ck.text(item.get("unit"), f"{path}.unit"), low, high,
                            ck.text(item.get("description"), f"{path}.description"), source,
                            owner if isinstance(owner, str) else "", options))

    # -- parameters ---------------------------------------------------------------------
    parameters: list[Parameter] = []
    for key, raw in _items(ck, top.get("parameters"), "parameters"):
        path = join("parameters", key)
        dist = _distribution(ck, raw, path, extra=("description", "source"))
        if not ck.ident(key, path, taken, f"parameter {key}"):
            continue
        names[key] = ex.NUM
        if dist is not None and isinstance(raw, dict):
            parameters.append(Parameter(key, dist,
                                        ck.text(raw.get("description"), f"{path}.description"),
                                        ck.source(raw.get("source"), f"{path}.source", sources,
                                                  True)))

    # -- state --------------------------------------------------------------------------
    init_names = dict(names)
    raw_state = top.get("state")
    init_forbidden = {
        key: f"initial values can read levers and parameters, not the state variable '{key}'"
        for key in (raw_state if isinstance(raw_state, dict) else {})}
    state: list[StateVar] = []
    state_ids: dict[str, int] = {}
    for key, raw in _items(ck, top.get("state"), "state"):
        path = join("state", key)
        item = ck.mapping(raw, path, (), ("initial", "min", "max", "description", "source"))
        if not ck.ident(key, path, taken, f"state variable {key}") or item is None:
            continue
        names[key] = ex.NUM
        state_ids[key] = len(state)
        init = ck.expr(item.get("initial", 0), f"{path}.initial", ex.NUM, init_names, constants,
                       init_forbidden)
        low = ck.number(item["min"], f"{path}.min") if "min" in item else None
        high = ck.number(item["max"], f"{path}.max") if "max" in item else None
        if low is not None and high is not None and low >= high:
            ck.err(f"{path}.max", f"must be greater than min ({low:g}) (got {high:g})")
        needs_source = init is not None and init.const not in (None, 0.0)
        state.append(StateVar(key, init or ex.constant(0.0), low, high,
                              ck.text(item.get("description"), f"{path}.description"),
                              ck.source(item.get("source"), f"{path}.source", sources,
                                        needs_source)))

    names[RUNG] = ex.NUM
    names[PEAK] = ex.NUM
    names[DAY] = ex.NUM
    rate_forbidden = {DAY: _DAY_IN_RATE}
    rate_names = {k: v for k, v in names.items() if k != DAY}

    # -- actions ------------------------------------------------------------------------
    actions: list[Action] = []
    action_ids: dict[str, int] = {}
    raw_actions = _items(ck, top.get("actions"), "actions")
    for key, _ in raw_actions:
        if isinstance(key, str) and _ID.match(key):
            action_ids[key] = len(action_ids)
    for key, raw in raw_actions:
        path = join("actions", key)
        item = ck.mapping(raw, path, ("actor",), ("name", "description", "rung", "rung_mode",
                                                  "effects", "ends_run", "narrative", "seen_by"))
        if not ck.ident(key, path) or item is None:
            continue
        actor = item.get("actor")
        if "actor" in item:
            ck.ref(actor, f"{path}.actor", actor_ids, "actor")
        rung = ck.ref(item["rung"], f"{path}.rung", rung_ids, "rung") if "rung" in item else None
        mode = item.get("rung_mode", "raise")
        if mode not in ("raise", "set"):
            ck.err(f"{path}.rung_mode", f"must be 'raise' or 'set' (got {_given(mode)})")
        elif "rung_mode" in item and "rung" not in item:
            ck.err(f"{path}.rung_mode", "has no effect without 'rung'")
        effects: list[Effect] = []
        for var, value in _items(ck, item.get("effects"), f"{path}.effects"):
            epath = join(f"{path}.effects", var)
            if var not in state_ids:
                why = (" (levers and parameters are fixed within a run; use a state variable)"
                       if var in names else ex.suggest(var, state_ids))
                ck.err(epath, f"effects can only change state variables; '{var}' is not one"
                              f"{why}")
                continue
            compiled = ck.expr(value, epath, ex.NUM, names, constants)
            if compiled is not None:
                effects.append(Effect(var, compiled))
        ends = item.get("ends_run", False)
        if not isinstance(ends, bool):
            ck.err(f"{path}.ends_run", f"must be true or false (got {_given(ends)})")
            ends = False
        narrative = ck.text(item.get("narrative"), f"{path}.narrative")
        if narrative:
            _check_template(ck, narrative, f"{path}.narrative", [*names, *constants])
        actions.append(Action(key, action_ids.get(key, len(actions)),
                              actor if isinstance(actor, str) else "",
                              ck.text(item.get("name"), f"{path}.name", key.replace("_", " ")),
                              rung, mode if mode in ("raise", "set") else "raise",
                              tuple(effects), ends, narrative,
                              ck.text(item.get("description"), f"{path}.description"),
                              _seen_by(ck, item, path, actor_ids)))
    if "actions" in top and not actions and not ck.problems:
        ck.err("actions", "must define at least one action")

    def choice(item: dict[str, Any], path: str) -> Choice | None:
        has_action, has_choose = "action" in item, "choose" in item
        if has_action == has_choose:
            ck.err(path, "needs exactly one of 'action' (one action) or 'choose' "
                         "(actions with weights)")
            return None
        if has_action:
            idx = ck.ref(item["action"], f"{path}.action", action_ids, "action")
            return None if idx is None else Choice((idx,), (ex.constant(1.0),))
        chosen, weights = [], []
        entries = _items(ck, item["choose"], f"{path}.choose")
        if not entries and isinstance(item["choose"], dict):
            ck.err(f"{path}.choose", "must list at least one action")
        for act, weight in entries:
            wpath = join(f"{path}.choose", act)
            idx = ck.ref(act, wpath, action_ids, "action")
            w = ck.expr(weight, wpath, ex.NUM, names, constants)
            if w is not None and w.const is not None and float(w.const) < 0:
                ck.err(wpath, f"weight must be >= 0 (got {w.const:g})")
            if idx is not None and w is not None:
                chosen.append(idx)
                weights.append(w)
        if not chosen:
            return None
        if all(w.const is not None and float(w.const) == 0 for w in weights):
            ck.err(f"{path}.choose", "all weights are 0: nothing could ever be chosen")
        return Choice(tuple(chosen), tuple(weights))

    def probability(item: dict[str, Any], path: str) -> ex.Expr | None:
        p = ck.expr(item.get("probability", 1.0), path, ex.NUM, names, constants)
        if p is not None and p.const is not None and not 0 <= float(p.const) <= 1:
            ck.err(path, f"must be in [0, 1] (got {float(p.const):g})")
        return p

    def day_of(item: dict[str, Any], path: str) -> float | None:
        if ("at" in item) == ("day" in item):
            ck.err(path, "needs exactly one of 'at' (a date) or 'day' (days after the start)")
            return None
        if "day" in item:
            return ck.number(item["day"], f"{path}.day", 0)
        at = item["at"]
        if not is_date(at):
            ck.err(f"{path}.at", not_a_date(at))
            return None
        day = (at - start_date).days
        if day < 0:
            ck.err(f"{path}.at", f"is before the scenario start {start_date} (got {at})")
            return None
        return float(day)

    # -- schedule -----------------------------------------------------------------------
    schedule: list[ScheduledEvent] = []
    raw_schedule = top.get("schedule")
    if raw_schedule is not None and not isinstance(raw_schedule, list):
        ck.err("schedule", f"must be a list of dated events (got {_given(raw_schedule)})")
        raw_schedule = []
    seen_events: set[str] = set()
    for i, raw in enumerate(raw_schedule or []):
        path = f"schedule[{i}]"
        item = ck.mapping(raw, path, ("id",), ("at", "day", "action", "choose", "when",
                                               "probability", "description", "source"))
        if item is None:
            continue
        eid = item.get("id", f"event{i}")
        if "id" in item and ck.ident(eid, f"{path}.id"):
            if eid in seen_events:
                ck.err(f"{path}.id", f"duplicate schedule id '{eid}'")
            seen_events.add(eid)
        day = day_of(item, path)
        if day is not None and horizon_ok and day > horizon:
            ck.warn(path, f"happens on day {day:g}, after the horizon ({horizon:g} days): "
                          "it will never take effect")
        ch = choice(item, path)
        when = ck.expr(item["when"], f"{path}.when", ex.BOOL, names, constants) \
            if "when" in item else None
        prob = probability(item, f"{path}.probability") if "probability" in item else None
        source = ck.source(item.get("source"), f"{path}.source", sources, "probability" in item)
        if day is not None and ch is not None:
            schedule.append(ScheduledEvent(str(eid), day, ch, when, prob,
                                           ck.text(item.get("description"),
                                                   f"{path}.description"), source))

    # -- processes ----------------------------------------------------------------------
    processes: list[Process] = []
    for key, raw in _items(ck, top.get("processes"), "processes"):
        path = join("processes", key)
        item = ck.mapping(raw, path, (), ("rate", "every", "start", "when", "action", "choose",
                                          "description", "source"))
        if not ck.ident(key, path) or item is None:
            continue
        ch = choice(item, path)
        rate = every = None
        if ("rate" in item) == ("every" in item):
            ck.err(path, "needs exactly one of 'rate' (events per day) or 'every' (days "
                         "between decisions)")
        elif "rate" in item:
            rate = ck.expr(item["rate"], f"{path}.rate", ex.NUM, rate_names, constants,
                           rate_forbidden)
            if rate is not None and rate.const is not None and float(rate.const) < 0:
                ck.err(f"{path}.rate", f"must be >= 0 events per day (got {rate.const:g})")
        else:
            every = ck.number(item["every"], f"{path}.every", MIN_EVERY, default=1.0)
        when = None
        if "when" in item:
            when = ck.expr(item["when"], f"{path}.when", ex.BOOL,
                           rate_names if rate is not None else names, constants,
                           rate_forbidden if rate is not None else None)
        default_start = every if every is not None else 0.0
        start_day = ck.number(item.get("start", default_start), f"{path}.start", 0)
        if ch is not None and (rate is not None or every is not None):
            processes.append(Process(key, len(processes), ch, rate, every, start_day, when,
                                     ck.text(item.get("description"), f"{path}.description"),
                                     ck.source(item.get("source"), f"{path}.source", sources,
                                               True)))

    # -- rules --------------------------------------------------------------------------
    rules: list[Rule] = []
    for key, raw in _items(ck, top.get("rules"), "rules"):
        path = join("rules", key)
        item = ck.mapping(raw, path, ("on",), ("probability", "delay", "when", "action",
                                               "choose", "description", "source"))
        if not ck.ident(key, path) or item is None:
            continue
        on_raw = item.get("on")
        on_list = on_raw if isinstance(on_raw, list) else [on_raw]
        if isinstance(on_raw, list) and not on_raw:
            ck.err(f"{path}.on", "must name at least one action")
        on: list[int] = []
        for j, name in enumerate(on_list):
            ppath = f"{path}.on[{j}]" if isinstance(on_raw, list) else f"{path}.on"
            idx = ck.ref(name, ppath, action_ids, "action")
            if idx is not None:
                on.append(idx)
        ch = choice(item, path)
        prob = probability(item, f"{path}.probability")
        delay: Distribution | None = Distribution("fixed", (("value", 0.0),))
        if "delay" in item:
            raw_delay = item["delay"]
            if isinstance(raw_delay, (int, float)) and not isinstance(raw_delay, bool):
                days = ck.number(raw_delay, f"{path}.delay", 0)
                delay = Distribution("fixed", (("value", days),))
            else:
                delay = _distribution(ck, raw_delay, f"{path}.delay", nonnegative=True)
        when = ck.expr(item["when"], f"{path}.when", ex.BOOL, names, constants) \
            if "when" in item else None
        source = ck.source(item.get("source"), f"{path}.source", sources, True)
        if on and ch is not None and prob is not None and delay is not None:
            rules.append(Rule(key, len(rules), tuple(on), ch, prob, delay, when,
                              ck.text(item.get("description"), f"{path}.description"), source))

    # -- outcomes -----------------------------------------------------------------------
    outcomes: list[Outcome] = []
    for key, raw in _items(ck, top.get("outcomes"), "outcomes"):
        path = join("outcomes", key)
        item = ck.mapping(raw, path, (), ("name", "when", "action", "description"))
        if not ck.ident(key, path) or item is None:
            continue
        if ("when" in item) == ("action" in item):
            ck.err(path, "needs exactly one of 'when' (a condition) or 'action' (it happened)")
            continue
        when = ck.expr(item["when"], f"{path}.when", ex.BOOL, rate_names, constants,
                       {DAY: _DAY_IN_OUTCOME}) if "when" in item else None
        act = ck.ref(item["action"], f"{path}.action", action_ids, "action") \
            if "action" in item else None
        if when is not None or act is not None:
            outcomes.append(Outcome(key, len(outcomes),
                                    ck.text(item.get("name"), f"{path}.name",
                                            key.replace("_", " ")),
                                    when, act, ck.text(item.get("description"),
                                                       f"{path}.description")))

    # -- variants -----------------------------------------------------------------------
    lever_map = {lv.id: lv for lv in levers}
    param_map = {p.id: p for p in parameters}
    variants: list[Variant] = []
    for key, raw in _items(ck, top.get("variants"), "variants"):
        path = join("variants", key)
        item = ck.mapping(raw, path, ("set",), ("description",))
        if key == "base":
            ck.err(path, "'base' names the unchanged scenario; choose another variant id")
            continue
        if not ck.ident(key, path) or item is None:
            continue
        changes: list[tuple[str, float | bool | str]] = []
        pinned: list[tuple[str, Distribution]] = []
        for name, value in _items(ck, item.get("set"), f"{path}.set"):
            lpath = join(f"{path}.set", name)
            if name in param_map:
                dist = _variant_parameter(ck, value, lpath)
                if dist is not None:
                    pinned.append((name, dist))
                continue
            if name not in lever_map:
                ck.err(lpath, _not_settable(name, lever_map, param_map, taken))
                continue
            checked = _lever_value(ck, value, lpath, lever_map[name])
            if checked is not None:
                changes.append((name, checked))
        variants.append(Variant(key, tuple(changes),
                                ck.text(item.get("description"), f"{path}.description"),
                                tuple(pinned)))

    cells = (len(rungs) + len(outcomes)) * (int(horizon) + 1 if horizon_ok else 1)
    if cells > MAX_GRID_CELLS:
        ck.err("scenario.horizon_days", f"{len(rungs)} rungs and {len(outcomes)} outcomes over "
                                        f"{horizon:g} days need {cells:,} daily counters; "
                                        f"the limit is {MAX_GRID_CELLS:,} (shorten the "
                                        "horizon or the ladder)")
    if ck.problems:
        return None, ck.problems, ck.warnings
    model = Model(
        id=str(sid), title=title, description=description, seed=seed,
        start=start_date, horizon=horizon, sources=tuple(sources.items()),
        rungs=tuple(rungs), initial_rung=initial_rung, actors=tuple(actors),
        levers=tuple(levers), parameters=tuple(parameters), state=tuple(state),
        actions=tuple(actions), schedule=tuple(sorted(schedule, key=lambda e: e.day)),
        processes=tuple(processes), rules=tuple(rules), outcomes=tuple(outcomes),
        variants=tuple(variants), path=src.file, digest=digest,
        information_cutoff=cutoff, source_dates=tuple(source_dates.items()))
    ranged = _range_problems(src, model)
    return (None, ranged, ck.warnings) if ranged else (model, [], ck.warnings)


def _range_problems(src: Source, model: Model) -> list[Problem]:
    """Probabilities, rates and weights that bounded names can push out of range."""
    from .bounds import message, out_of_range
    items = src.data.get("schedule") if isinstance(src.data, dict) else None
    order = {e.get("id"): k for k, e in enumerate(items or []) if isinstance(e, dict)}
    out = []
    for found in out_of_range(model):
        path = found.path
        if path.startswith("schedule."):
            _, sid, rest = path.split(".", 2)
            path = f"schedule[{order.get(sid, 0)}].{rest}"
        out.append(src.problem(path, message(found)))
    return out


def _distribution(ck: _Checker, raw: Any, path: str, extra: tuple[str, ...] = (),
                  nonnegative: bool = False) -> Distribution | None:
    if not isinstance(raw, dict):
        ck.err(path, f"must be a distribution mapping such as "
                     f"{{dist: triangular, low: 1, mode: 2, high: 5}} (got {_given(raw)})")
        return None
    kind = raw.get("dist")
    if not isinstance(kind, str) or kind not in KINDS:
        if "dist" not in raw:
            ck.err(path, f"missing required key 'dist'; one of: {', '.join(KINDS)}")
        else:
            ck.err(f"{path}.dist", f"unknown distribution {_given(kind)}"
                                   f"{ex.suggest(str(kind), KINDS)}; one of: "
                                   f"{', '.join(KINDS)}")
        return None
    spec = KINDS[kind]
    ck.mapping(raw, path, ("dist", *spec.required), (*spec.optional, *extra))
    args: dict[str, float] = {}
    for name in (*spec.required, *spec.optional):
        if name in raw:
            before = len(ck.problems)
            value = ck.number(raw[name], join(path, name))
            if len(ck.problems) == before:
                args[name] = value
    if any(name not in args for name in spec.required):
        return None
    bad = spec.check(args)
    for name, message in bad:
        ck.err(join(path, name), message)
    if bad:
        return None
    dist = Distribution(kind, tuple(args.items()))
    if nonnegative:
        low = {"fixed": args.get("value"), "uniform": args.get("low"),
               "triangular": args.get("low"), "beta": args.get("low", 0.0),
               "normal": args.get("low")}.get(kind, 0.0)
        if low is None or low < 0:
            ck.err(path, f"a delay cannot be negative: {dist.describe()} allows values "
                         "below 0 (give low >= 0)")
            return None
    return dist


def check_file(path: str | Path) -> tuple[Model | None, list[Problem], list[Problem]]:
    """Read and check one scenario file: (model or None, problems, warnings)."""
    src, problems = read_file(path)
    if src is None or problems:
        return None, problems, []
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return compile_source(src, digest)


def load(path: str | Path) -> Model:
    """Load a scenario file into a Model; raise ScenarioError listing every problem."""
    model, problems, _ = check_file(path)
    if model is None:
        raise ScenarioError(problems)
    return model


def load_text(text: str, name: str = "<text>") -> Model:
    """Load a scenario from YAML text (tests, notebooks)."""
    src, problems = parse_text(text, name)
    if src is None or problems:
        raise ScenarioError(problems)
    model, problems, _ = compile_source(src, hashlib.sha256(text.encode()).hexdigest())
    if model is None:
        raise ScenarioError(problems)
    return model


def _seen_by(ck: _Checker, item: dict[str, Any], path: str, actor_ids: dict[str, int]
             ) -> tuple[str, ...]:
    """An action's ``seen_by``: the actors who learn of it (absent: everyone)."""
    if "seen_by" not in item:
        return ()
    raw = item["seen_by"]
    ids = [raw] if isinstance(raw, str) else raw
    if not isinstance(ids, list) or not ids:
        ck.err(f"{path}.seen_by", f"must be an actor or a list of actors (got {_given(raw)})")
        return ()
    out = [a for i, a in enumerate(ids)
           if ck.ref(a, f"{path}.seen_by[{i}]", actor_ids, "actor") is not None]
    return tuple(dict.fromkeys(out))


def _is_name(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def _options(ck: _Checker, item: dict[str, Any], path: str, key: str, taken: dict[str, str],
             constants: dict[str, float]) -> tuple[str, ...]:
    """A choice lever's options: distinct names, the value one of them. Each option is a
    constant (its position) that expressions compare the lever with."""
    raw = item.get("options")
    if not isinstance(raw, list) or len(raw) < 2:
        ck.err(f"{path}.options", f"a choice lever lists at least two named options, e.g. "
                                  f"options: [engage, hedge, withdraw] (got {_given(raw)})")
        return ()
    if "range" in item:
        ck.err(f"{path}.range", "a choice lever has options, not a range")
    options: list[str] = []
    for k, option in enumerate(raw):
        opath = f"{path}.options[{k}]"
        if ck.ident(option, opath, taken, f"option {option} of lever {key}"):
            options.append(option)
            constants[option] = float(k)
    value = item["value"]
    if value not in options:
        ck.err(f"{path}.value", f"must be one of the options {', '.join(options)} (got "
                                f"{_given(value)}){ex.suggest(str(value), options)}")
        return ()
    return tuple(options)


def _variant_parameter(ck: _Checker, value: Any, path: str) -> Distribution | None:
    """A variant's parameter: a number pins it, a mapping is another distribution."""
    if isinstance(value, dict):
        return _distribution(ck, value, path, extra=("description", "source"))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ck.err(path, f"a parameter is pinned with a number or given a distribution such as "
                     f"{{dist: uniform, low: 0.1, high: 0.3}} (got {_given(value)})")
        return None
    number = ck.number(value, path)
    return Distribution("fixed", (("value", number),))


def _not_settable(name: str, levers: Mapping[str, Any], params: Mapping[str, Any],
                  taken: Mapping[str, str]) -> str:
    """Why a variant cannot set ``name``, and which names it can."""
    can = (f"a variant sets levers ({', '.join(levers) or 'none'}) and parameters "
           f"({', '.join(params) or 'none'})")
    if name in taken:
        return f"'{name}' is not a lever or parameter (it names the {taken[name]}); {can}"
    return f"unknown lever or parameter '{name}'{ex.suggest(name, [*levers, *params])}; {can}"


def parse_lever_value(model: Model, lever_id: str, text: str) -> float | bool | str:
    """Parse a command-line lever value ('true', '0.5') and check it against the lever."""
    try:
        lever = model.lever(lever_id)
    except KeyError:
        known = [lv.id for lv in model.levers]
        raise UsageError(f"unknown lever '{lever_id}'{ex.suggest(lever_id, known)}; "
                         f"levers: {', '.join(lv.id for lv in model.levers) or 'none'}") from None
    if lever.is_choice:
        if text.strip() not in lever.options:
            raise UsageError(f"lever '{lever_id}' is a choice: give one of "
                             f"{', '.join(lever.options)} (got {text!r})"
                             f"{ex.suggest(text.strip(), lever.options)}")
        return text.strip()
    if lever.is_bool:
        words = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False}
        if text.strip().lower() not in words:
            raise UsageError(f"lever '{lever_id}' is on/off: give true or false (got {text!r})")
        return words[text.strip().lower()]
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"lever '{lever_id}' needs a number (got {text!r})") from None
    low = lever.low if lever.low is not None else -MAX_NUMBER
    high = lever.high if lever.high is not None else MAX_NUMBER
    if not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"lever '{lever_id}' must be in [{low:g}, {high:g}] (got {text})")
    return value



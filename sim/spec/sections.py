"""One compiler per scenario section, in the order of docs/scenario-format.md, section 4.

Each ``compile_<section>(ck, top, scope)`` checks its section of the parsed file ``top``,
reports every problem to the checker ``ck`` and returns what the section compiles to. The
names a section defines go into the :class:`Scope`, where the later sections read them: an
action names its actor and rung, a rule the actions it answers, an expression the levers,
parameters and state variables. :func:`sim.spec.loader.compile_source` calls them in section
order, which is also the order problems are reported in.

Pure: no printing, no files.
"""

from __future__ import annotations

import datetime as dt
import keyword
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import expr as ex
from .checker import IDENTIFIER, MAX_NUMBER, SpecChecker
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
    Outcome,
    Parameter,
    Process,
    Rule,
    Rung,
    ScheduledEvent,
    StateVar,
    Variant,
)
from .yamlsrc import given as _given
from .yamlsrc import is_date, join, not_a_date

Top = Mapping[str, Any]  # the parsed file: section name -> its raw value

# Number formats only, width at most 2 digits: a template must not build huge strings.
_SPEC = re.compile(r"[<>^]?[+-]?\d{0,2},?(\.\d{1,2})?[dfge%]?")
MAX_HORIZON = 36_500
MAX_GRID_CELLS = 2_000_000  # (rungs + outcomes) x days: the aggregates' fixed size
MIN_EVERY = 0.001  # days (about 1.4 minutes): finer cadences are runaways, not models
_RATE_FORBIDDEN = {DAY: "rates cannot read 'day': a rate is re-evaluated only when state "
                        "changes; change a state variable from the schedule instead"}
_OUTCOME_FORBIDDEN = {DAY: "outcome conditions cannot read 'day': they are checked when "
                           "state changes; use a state variable set from the schedule instead"}
_NO_DELAY = Distribution("fixed", (("value", 0.0),))


@dataclass
class Scope:
    """The names one section gives the next, filled in section order."""

    start: dt.date = dt.date(2000, 1, 1)  # scenario.start (a stand-in while it is wrong)
    horizon: float = math.inf
    horizon_ok: bool = False  # the horizon is a valid number of days
    sources: dict[str, str] = field(default_factory=dict)  # scenario.sources: key -> text
    # Rungs, levers, options, parameters and state share one namespace: name -> what it is.
    taken: dict[str, str] = field(default_factory=dict)
    rung_ids: dict[str, int] = field(default_factory=dict)
    constants: dict[str, float] = field(default_factory=dict)  # rung ids, options: position
    actor_ids: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # what expressions read: its type
    state_ids: dict[str, int] = field(default_factory=dict)
    action_ids: dict[str, int] = field(default_factory=dict)
    levers: dict[str, Lever] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)

    @property
    def rate_names(self) -> dict[str, str]:
        """What rates and outcome conditions read: every name but ``day``."""
        return {k: v for k, v in self.names.items() if k != DAY}


class Header(NamedTuple):
    """The ``scenario`` section, compiled."""

    id: str
    title: str
    description: str
    seed: int
    sources: dict[str, str]
    source_dates: dict[str, dt.date]
    information_cutoff: dt.date


# -- 4.1 scenario -----------------------------------------------------------------------
def compile_scenario(ck: SpecChecker, top: Top, scope: Scope) -> Header:
    """Id, title, start, horizon, seed and the sources every ``source`` cites."""
    meta = ck.mapping(top.get("scenario"), "scenario",
                      ("id", "title", "start", "horizon_days"),
                      ("description", "sources", "seed", "information_cutoff")) \
        if "scenario" in top else {}
    meta = meta or {}
    sid = meta.get("id", "scenario")
    if "id" in meta:
        ck.ident(sid, "scenario.id")
    _start_and_horizon(ck, meta, scope)
    seed = 1
    if "seed" in meta:
        seed = int(ck.number(meta["seed"], "scenario.seed", 0, 2**63, integer=True,
                             default=1.0))
    title = ck.text(meta.get("title"), "scenario.title", str(sid))
    description = ck.text(meta.get("description"), "scenario.description")
    sources, dates, cutoff = _provenance(ck, meta, scope.start)
    scope.sources = sources
    return Header(str(sid), title, description, seed, sources, dates, cutoff)


def _start_and_horizon(ck: SpecChecker, meta: dict[str, Any], scope: Scope) -> None:
    start = meta.get("start")
    if "start" in meta and not is_date(start):
        ck.err("scenario.start", not_a_date(start))
    if isinstance(start, dt.date):
        scope.start = start
    horizon = ck.checked_number(meta.get("horizon_days", 1), "scenario.horizon_days", 0,
                                MAX_HORIZON, integer=True, strict_low=True)
    scope.horizon = math.inf if horizon is None else horizon
    scope.horizon_ok = horizon is not None
    if horizon is None or not is_date(start):
        return
    days_left = (dt.date.max - scope.start).days
    if days_left < horizon:
        ck.err("scenario.horizon_days", f"the horizon ends after the last calendar date "
                                        f"({dt.date.max}): at most {days_left} days from "
                                        f"{scope.start} (got {horizon:g})")
        scope.horizon_ok = False


def _provenance(ck: SpecChecker, meta: dict[str, Any], start: dt.date
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
    for key, value in ck.items(meta.get("sources"), "scenario.sources"):
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


# -- 4.2 ladder -------------------------------------------------------------------------
def compile_ladder(ck: SpecChecker, top: Top, scope: Scope) -> tuple[list[Rung], int]:
    """The rungs, lowest first, and the index of the initial one; rung ids become
    constants (their index) that expressions compare the rung with."""
    ladder = ck.mapping(top.get("ladder"), "ladder", ("rungs",), ("initial",)) \
        if "ladder" in top else None
    rungs: list[Rung] = []
    if ladder is not None and "rungs" in ladder:
        rungs = _rungs(ck, ladder["rungs"], scope)
    initial = 0
    if ladder and "initial" in ladder:
        found = ck.ref(ladder["initial"], "ladder.initial", scope.rung_ids, "rung")
        initial = found if found is not None else 0
    scope.constants = {rid: float(i) for rid, i in scope.rung_ids.items()}
    return rungs, initial


def _rungs(ck: SpecChecker, raw: Any, scope: Scope) -> list[Rung]:
    if not isinstance(raw, list) or len(raw) < 2:
        ck.err("ladder.rungs", f"must be a list of at least 2 rungs, lowest first "
                               f"(got {_given(raw)})")
        return []
    rungs: list[Rung] = []
    for i, entry in enumerate(raw):
        path = f"ladder.rungs[{i}]"
        item = ck.mapping(entry, path, ("id", "name"), ("description", "framework"))
        if item is None:
            continue
        rid = str(item.get("id"))
        if "id" in item and ck.ident(item["id"], join(path, "id"), scope.taken, f"rung {rid}"):
            scope.rung_ids[rid] = len(rungs)
            rungs.append(Rung(rid, len(rungs), ck.text(item.get("name"), f"{path}.name", rid),
                              ck.text(item.get("description"), f"{path}.description"),
                              ck.text(item.get("framework"), f"{path}.framework")))
    return rungs


# -- 4.3 actors -------------------------------------------------------------------------
def compile_actors(ck: SpecChecker, top: Top, scope: Scope) -> list[Actor]:
    """The parties; at least one when the section is there."""
    actors: list[Actor] = []
    for key, path, item in ck.entries(top.get("actors"), "actors", ("name",),
                                      ("description",)):
        scope.actor_ids[key] = len(actors)
        actors.append(Actor(key, ck.text(item.get("name"), f"{path}.name", key),
                            ck.text(item.get("description"), f"{path}.description")))
    if "actors" in top and not actors:
        ck.err("actors", "must define at least one actor")
    return actors


# -- 4.4 levers -------------------------------------------------------------------------
def compile_levers(ck: SpecChecker, top: Top, scope: Scope) -> list[Lever]:
    """Numbers (with an optional range), on/off switches and choices among options."""
    levers: list[Lever] = []
    for key, path, item in ck.entries(top.get("levers"), "levers", ("value",),
                                      ("unit", "range", "options", "actor", "description",
                                       "source"), taken=scope.taken, what="lever"):
        if "value" not in item:
            continue
        lever = _lever(ck, key, path, item, scope)
        if lever is not None:
            levers.append(lever)
            scope.levers[key] = lever
    return levers


def _lever(ck: SpecChecker, key: str, path: str, item: dict[str, Any], scope: Scope
           ) -> Lever | None:
    value = item["value"]
    low = high = None
    options: tuple[str, ...] = ()
    if "options" in item:
        options = _options(ck, item, path, key, scope.taken, scope.constants)
        scope.names[key] = ex.NUM
    elif isinstance(value, str) and _is_name(value):
        ck.err(f"{path}.value", f"must be a number or true/false (got {_given(value)}); "
                                "for a choice among named options, list them: "
                                f"options: [{value}, ...]")
        scope.names[key] = ex.NUM  # still a name, so expressions reading it say nothing more
        return None
    elif isinstance(value, bool):
        if "range" in item:
            ck.err(f"{path}.range", "an on/off lever has no range")
        scope.names[key] = ex.BOOL
    else:
        scope.names[key] = ex.NUM
        value, low, high = _ranged_value(ck, value, item.get("range"), path)
    source = ck.source(item.get("source"), f"{path}.source", scope.sources, True)
    owner = item.get("actor")
    if owner is not None:
        ck.ref(owner, f"{path}.actor", scope.actor_ids, "actor")
    return Lever(key, value, ck.text(item.get("unit"), f"{path}.unit"), low, high,
                 ck.text(item.get("description"), f"{path}.description"), source,
                 owner if isinstance(owner, str) else "", options)


def _ranged_value(ck: SpecChecker, raw: Any, rng: Any, path: str
                  ) -> tuple[float, float | None, float | None]:
    """A number lever's value (0 where it is wrong) and its range, if given."""
    value = ck.checked_number(raw, f"{path}.value")
    low = high = None
    if rng is not None:
        if not isinstance(rng, list) or len(rng) != 2:
            ck.err(f"{path}.range", f"must be [low, high] (got {_given(rng)})")
        else:
            low = ck.number(rng[0], f"{path}.range[0]")
            high = ck.number(rng[1], f"{path}.range[1]")
            if low >= high:
                ck.err(f"{path}.range", f"low must be below high (got [{low:g}, {high:g}])")
            elif value is not None and not low <= value <= high:
                ck.err(f"{path}.value", f"must be in the lever's range [{low:g}, "
                                        f"{high:g}] (got {value:g})")
    return (0.0 if value is None else value), low, high


def _is_name(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def _options(ck: SpecChecker, item: dict[str, Any], path: str, key: str,
             taken: dict[str, str], constants: dict[str, float]) -> tuple[str, ...]:
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


# -- 4.5 parameters ---------------------------------------------------------------------
def compile_parameters(ck: SpecChecker, top: Top, scope: Scope) -> list[Parameter]:
    """Uncertain numbers: each a distribution (section 6 of the format)."""
    parameters: list[Parameter] = []
    for key, raw in ck.items(top.get("parameters"), "parameters"):
        path = join("parameters", key)
        dist = distribution(ck, raw, path, extra=("description", "source"))
        if not ck.ident(key, path, scope.taken, f"parameter {key}"):
            continue
        scope.names[key] = ex.NUM
        if dist is not None and isinstance(raw, dict):
            parameter = Parameter(key, dist,
                                  ck.text(raw.get("description"), f"{path}.description"),
                                  ck.source(raw.get("source"), f"{path}.source", scope.sources,
                                            True))
            parameters.append(parameter)
            scope.parameters[key] = parameter
    return parameters


def distribution(ck: SpecChecker, raw: Any, path: str, extra: tuple[str, ...] = (),
                 nonnegative: bool = False) -> Distribution | None:
    """A distribution mapping ({dist: KIND, ...}) with the keys its kind needs and allows
    (and ``extra`` ones); ``nonnegative`` for a delay. None where it is wrong (reported)."""
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
            value = ck.checked_number(raw[name], join(path, name))
            if value is not None:
                args[name] = value
    if any(name not in args for name in spec.required):
        return None
    bad = spec.check(args)
    for name, message in bad:
        ck.err(join(path, name), message)
    if bad:
        return None
    dist = Distribution(kind, tuple(args.items()))
    if nonnegative and _may_be_negative(kind, args):
        ck.err(path, f"a delay cannot be negative: {dist.describe()} allows values "
                     "below 0 (give low >= 0)")
        return None
    return dist


def _may_be_negative(kind: str, args: Mapping[str, float]) -> bool:
    low = {"fixed": args.get("value"), "uniform": args.get("low"),
           "triangular": args.get("low"), "beta": args.get("low", 0.0),
           "normal": args.get("low")}.get(kind, 0.0)
    return low is None or low < 0


# -- 4.6 state --------------------------------------------------------------------------
def compile_state(ck: SpecChecker, top: Top, scope: Scope) -> list[StateVar]:
    """Numbers that actions change; initial values read levers and parameters only."""
    raw_state = top.get("state")
    readable = dict(scope.names)
    forbidden = {
        key: f"initial values can read levers and parameters, not the state variable '{key}'"
        for key in (raw_state if isinstance(raw_state, dict) else {})}
    state: list[StateVar] = []
    for key, path, item in ck.entries(raw_state, "state", (),
                                      ("initial", "min", "max", "description", "source"),
                                      taken=scope.taken, what="state variable"):
        scope.names[key] = ex.NUM
        scope.state_ids[key] = len(state)
        init = ck.expr(item.get("initial", 0), f"{path}.initial", ex.NUM, readable,
                       scope.constants, forbidden)
        low = ck.number(item["min"], f"{path}.min") if "min" in item else None
        high = ck.number(item["max"], f"{path}.max") if "max" in item else None
        if low is not None and high is not None and low >= high:
            ck.err(f"{path}.max", f"must be greater than min ({low:g}) (got {high:g})")
        needs_source = init is not None and init.const not in (None, 0.0)
        state.append(StateVar(key, init or ex.constant(0.0), low, high,
                              ck.text(item.get("description"), f"{path}.description"),
                              ck.source(item.get("source"), f"{path}.source", scope.sources,
                                        needs_source)))
    return state


def add_run_names(scope: Scope) -> None:
    """From the actions on, expressions also read the rung, the peak and the day."""
    scope.names.update({RUNG: ex.NUM, PEAK: ex.NUM, DAY: ex.NUM})


# -- 4.7 actions ------------------------------------------------------------------------
def compile_actions(ck: SpecChecker, top: Top, scope: Scope) -> list[Action]:
    """What actors can do; at least one. Every well-named action gets its index first, so
    that the order of the file does not matter to references."""
    raw = top.get("actions")
    for key in (raw if isinstance(raw, dict) else {}):
        if isinstance(key, str) and IDENTIFIER.match(key):
            scope.action_ids[key] = len(scope.action_ids)
    actions: list[Action] = []
    for key, path, item in ck.entries(raw, "actions", ("actor",),
                                      ("name", "description", "rung", "rung_mode", "effects",
                                       "ends_run", "narrative", "seen_by")):
        actions.append(_action(ck, key, path, item, scope, len(actions)))
    if "actions" in top and not actions and not ck.problems:
        ck.err("actions", "must define at least one action")
    return actions


def _action(ck: SpecChecker, key: str, path: str, item: dict[str, Any], scope: Scope,
            position: int) -> Action:
    actor = item.get("actor")
    if "actor" in item:
        ck.ref(actor, f"{path}.actor", scope.actor_ids, "actor")
    rung = ck.ref(item["rung"], f"{path}.rung", scope.rung_ids, "rung") \
        if "rung" in item else None
    mode = item.get("rung_mode", "raise")
    if mode not in ("raise", "set"):
        ck.err(f"{path}.rung_mode", f"must be 'raise' or 'set' (got {_given(mode)})")
    elif "rung_mode" in item and "rung" not in item:
        ck.err(f"{path}.rung_mode", "has no effect without 'rung'")
    effects = _effects(ck, item.get("effects"), f"{path}.effects", scope)
    ends = item.get("ends_run", False)
    if not isinstance(ends, bool):
        ck.err(f"{path}.ends_run", f"must be true or false (got {_given(ends)})")
        ends = False
    narrative = ck.text(item.get("narrative"), f"{path}.narrative")
    if narrative:
        _check_template(ck, narrative, f"{path}.narrative", [*scope.names, *scope.constants])
    return Action(key, scope.action_ids.get(key, position),
                  actor if isinstance(actor, str) else "",
                  ck.text(item.get("name"), f"{path}.name", key.replace("_", " ")),
                  rung, mode if mode in ("raise", "set") else "raise",
                  tuple(effects), ends, narrative,
                  ck.text(item.get("description"), f"{path}.description"),
                  _seen_by(ck, item, path, scope.actor_ids))


def _effects(ck: SpecChecker, raw: Any, path: str, scope: Scope) -> list[Effect]:
    """``var: expression`` pairs; only state variables can change."""
    effects: list[Effect] = []
    for var, value in ck.items(raw, path):
        epath = join(path, var)
        if var not in scope.state_ids:
            why = (" (levers and parameters are fixed within a run; use a state variable)"
                   if var in scope.names else ex.suggest(var, scope.state_ids))
            ck.err(epath, f"effects can only change state variables; '{var}' is not one{why}")
            continue
        compiled = ck.expr(value, epath, ex.NUM, scope.names, scope.constants)
        if compiled is not None:
            effects.append(Effect(var, compiled))
    return effects


def _check_template(ck: SpecChecker, template: str, path: str, names: Iterable[str]) -> None:
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


def _seen_by(ck: SpecChecker, item: dict[str, Any], path: str, actor_ids: dict[str, int]
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


# -- what schedule entries, processes and rules share -----------------------------------
def _choice(ck: SpecChecker, item: dict[str, Any], path: str, scope: Scope) -> Choice | None:
    """``action`` (one action) or ``choose`` (actions with weights): exactly one."""
    has_action, has_choose = "action" in item, "choose" in item
    if has_action == has_choose:
        ck.err(path, "needs exactly one of 'action' (one action) or 'choose' "
                     "(actions with weights)")
        return None
    if has_action:
        idx = ck.ref(item["action"], f"{path}.action", scope.action_ids, "action")
        return None if idx is None else Choice((idx,), (ex.constant(1.0),))
    chosen, weights = [], []
    entries = ck.items(item["choose"], f"{path}.choose")
    if not entries and isinstance(item["choose"], dict):
        ck.err(f"{path}.choose", "must list at least one action")
    for act, weight in entries:
        wpath = join(f"{path}.choose", act)
        idx = ck.ref(act, wpath, scope.action_ids, "action")
        w = ck.expr(weight, wpath, ex.NUM, scope.names, scope.constants)
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


def _probability(ck: SpecChecker, item: dict[str, Any], path: str, scope: Scope
                 ) -> ex.Expr | None:
    """``probability`` (default 1): an expression; a constant one must be in [0, 1]."""
    p = ck.expr(item.get("probability", 1.0), path, ex.NUM, scope.names, scope.constants)
    if p is not None and p.const is not None and not 0 <= float(p.const) <= 1:
        ck.err(path, f"must be in [0, 1] (got {float(p.const):g})")
    return p


def _condition(ck: SpecChecker, item: dict[str, Any], path: str, scope: Scope
               ) -> ex.Expr | None:
    """``when``, a condition that may read every name (None when absent or wrong)."""
    if "when" not in item:
        return None
    return ck.expr(item["when"], f"{path}.when", ex.BOOL, scope.names, scope.constants)


# -- 4.8 schedule -----------------------------------------------------------------------
def compile_schedule(ck: SpecChecker, top: Top, scope: Scope) -> list[ScheduledEvent]:
    """Dated (or day-numbered) events, in the order of their day."""
    raw = top.get("schedule")
    if raw is not None and not isinstance(raw, list):
        ck.err("schedule", f"must be a list of dated events (got {_given(raw)})")
        raw = []
    schedule: list[ScheduledEvent] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw or []):
        path = f"schedule[{i}]"
        item = ck.mapping(entry, path, ("id",), ("at", "day", "action", "choose", "when",
                                                 "probability", "description", "source"))
        if item is None:
            continue
        event = _scheduled(ck, i, path, item, seen, scope)
        if event is not None:
            schedule.append(event)
    return sorted(schedule, key=lambda e: e.day)


def _scheduled(ck: SpecChecker, i: int, path: str, item: dict[str, Any], seen: set[str],
               scope: Scope) -> ScheduledEvent | None:
    eid = item.get("id", f"event{i}")
    if "id" in item and ck.ident(eid, f"{path}.id"):
        if eid in seen:
            ck.err(f"{path}.id", f"duplicate schedule id '{eid}'")
        seen.add(eid)
    day = _day_of(ck, item, path, scope.start)
    if day is not None and scope.horizon_ok and day > scope.horizon:
        ck.warn(path, f"happens on day {day:g}, after the horizon ({scope.horizon:g} days): "
                      "it will never take effect")
    ch = _choice(ck, item, path, scope)
    when = _condition(ck, item, path, scope)
    prob = _probability(ck, item, f"{path}.probability", scope) \
        if "probability" in item else None
    source = ck.source(item.get("source"), f"{path}.source", scope.sources,
                       "probability" in item)
    if day is None or ch is None:
        return None
    return ScheduledEvent(str(eid), day, ch, when, prob,
                          ck.text(item.get("description"), f"{path}.description"), source)


def _day_of(ck: SpecChecker, item: dict[str, Any], path: str, start: dt.date) -> float | None:
    """``at`` (a date) or ``day`` (days after the start): exactly one."""
    if ("at" in item) == ("day" in item):
        ck.err(path, "needs exactly one of 'at' (a date) or 'day' (days after the start)")
        return None
    if "day" in item:
        return ck.number(item["day"], f"{path}.day", 0)
    at = item["at"]
    if not is_date(at):
        ck.err(f"{path}.at", not_a_date(at))
        return None
    day = (at - start).days
    if day < 0:
        ck.err(f"{path}.at", f"is before the scenario start {start} (got {at})")
        return None
    return float(day)


# -- 4.9 processes ----------------------------------------------------------------------
def compile_processes(ck: SpecChecker, top: Top, scope: Scope) -> list[Process]:
    """Recurring behaviour: at a rate (a Poisson stream) or every so many days."""
    processes: list[Process] = []
    for key, path, item in ck.entries(top.get("processes"), "processes", (),
                                      ("rate", "every", "start", "when", "action", "choose",
                                       "description", "source")):
        process = _process(ck, key, path, item, scope, len(processes))
        if process is not None:
            processes.append(process)
    return processes


def _process(ck: SpecChecker, key: str, path: str, item: dict[str, Any], scope: Scope,
             index: int) -> Process | None:
    ch = _choice(ck, item, path, scope)
    rate = every = None
    if ("rate" in item) == ("every" in item):
        ck.err(path, "needs exactly one of 'rate' (events per day) or 'every' (days "
                     "between decisions)")
    elif "rate" in item:
        rate = ck.expr(item["rate"], f"{path}.rate", ex.NUM, scope.rate_names,
                       scope.constants, _RATE_FORBIDDEN)
        if rate is not None and rate.const is not None and float(rate.const) < 0:
            ck.err(f"{path}.rate", f"must be >= 0 events per day (got {rate.const:g})")
    else:
        every = ck.number(item["every"], f"{path}.every", MIN_EVERY, default=1.0)
    when = None
    if "when" in item and rate is not None:  # a rate's condition, like the rate, has no day
        when = ck.expr(item["when"], f"{path}.when", ex.BOOL, scope.rate_names,
                       scope.constants, _RATE_FORBIDDEN)
    else:
        when = _condition(ck, item, path, scope)
    start_day = ck.number(item.get("start", every if every is not None else 0.0),
                          f"{path}.start", 0)
    if ch is None or (rate is None and every is None):
        return None
    return Process(key, index, ch, rate, every, start_day, when,
                   ck.text(item.get("description"), f"{path}.description"),
                   ck.source(item.get("source"), f"{path}.source", scope.sources, True))


# -- 4.10 rules -------------------------------------------------------------------------
def compile_rules(ck: SpecChecker, top: Top, scope: Scope) -> list[Rule]:
    """Reactions: when an action happens, respond with a probability after a delay."""
    rules: list[Rule] = []
    for key, path, item in ck.entries(top.get("rules"), "rules", ("on",),
                                      ("probability", "delay", "when", "action", "choose",
                                       "description", "source")):
        on = _triggers(ck, item.get("on"), f"{path}.on", scope)
        ch = _choice(ck, item, path, scope)
        prob = _probability(ck, item, f"{path}.probability", scope)
        delay = _delay(ck, item, f"{path}.delay")
        when = _condition(ck, item, path, scope)
        source = ck.source(item.get("source"), f"{path}.source", scope.sources, True)
        if on and ch is not None and prob is not None and delay is not None:
            rules.append(Rule(key, len(rules), tuple(on), ch, prob, delay, when,
                              ck.text(item.get("description"), f"{path}.description"), source))
    return rules


def _triggers(ck: SpecChecker, raw: Any, path: str, scope: Scope) -> list[int]:
    """A rule's ``on``: one action or a non-empty list of them, as indices."""
    if isinstance(raw, list) and not raw:
        ck.err(path, "must name at least one action")
    named = raw if isinstance(raw, list) else [raw]
    on: list[int] = []
    for j, name in enumerate(named):
        idx = ck.ref(name, f"{path}[{j}]" if isinstance(raw, list) else path,
                     scope.action_ids, "action")
        if idx is not None:
            on.append(idx)
    return on


def _delay(ck: SpecChecker, item: dict[str, Any], path: str) -> Distribution | None:
    """A rule's ``delay``: days (a number) or a distribution that cannot go below 0."""
    if "delay" not in item:
        return _NO_DELAY
    raw = item["delay"]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Distribution("fixed", (("value", ck.number(raw, path, 0)),))
    return distribution(ck, raw, path, nonnegative=True)


# -- 4.11 outcomes ----------------------------------------------------------------------
def compile_outcomes(ck: SpecChecker, top: Top, scope: Scope) -> list[Outcome]:
    """Named results: a condition that became true, or an action that happened."""
    outcomes: list[Outcome] = []
    for key, path, item in ck.entries(top.get("outcomes"), "outcomes", (),
                                      ("name", "when", "action", "description")):
        if ("when" in item) == ("action" in item):
            ck.err(path, "needs exactly one of 'when' (a condition) or 'action' (it happened)")
            continue
        when = ck.expr(item["when"], f"{path}.when", ex.BOOL, scope.rate_names,
                       scope.constants, _OUTCOME_FORBIDDEN) if "when" in item else None
        act = ck.ref(item["action"], f"{path}.action", scope.action_ids, "action") \
            if "action" in item else None
        if when is not None or act is not None:
            outcomes.append(Outcome(key, len(outcomes),
                                    ck.text(item.get("name"), f"{path}.name",
                                            key.replace("_", " ")),
                                    when, act,
                                    ck.text(item.get("description"), f"{path}.description")))
    return outcomes


# -- 4.12 variants ----------------------------------------------------------------------
def compile_variants(ck: SpecChecker, top: Top, scope: Scope) -> list[Variant]:
    """Named sets of lever values and parameter changes, compared with the base."""
    variants: list[Variant] = []
    refused = {"base": "'base' names the unchanged scenario; choose another variant id"}
    for key, path, item in ck.entries(top.get("variants"), "variants", ("set",),
                                      ("description",), refused=refused):
        levers, parameters = _variant_changes(ck, item.get("set"), f"{path}.set", scope)
        variants.append(Variant(key, levers,
                                ck.text(item.get("description"), f"{path}.description"),
                                parameters))
    return variants


def _variant_changes(ck: SpecChecker, raw: Any, path: str, scope: Scope
                     ) -> tuple[tuple[tuple[str, float | bool | str], ...],
                                tuple[tuple[str, Distribution], ...]]:
    """A variant's ``set``: (lever values, parameter distributions)."""
    changes: list[tuple[str, float | bool | str]] = []
    pinned: list[tuple[str, Distribution]] = []
    for name, value in ck.items(raw, path):
        lpath = join(path, name)
        if name in scope.parameters:
            dist = _variant_parameter(ck, value, lpath)
            if dist is not None:
                pinned.append((name, dist))
        elif name not in scope.levers:
            ck.err(lpath, _not_settable(name, scope.levers, scope.parameters, scope.taken))
        else:
            checked = lever_value(ck, value, lpath, scope.levers[name])
            if checked is not None:
                changes.append((name, checked))
    return tuple(changes), tuple(pinned)


def lever_value(ck: SpecChecker, value: Any, path: str, lever: Lever
                ) -> float | bool | str | None:
    """``value`` checked against ``lever`` (an option, true/false, a number in its range);
    None where it does not fit (reported)."""
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
    low, high = lever_limits(lever)
    number = ck.checked_number(value, path)
    if number is None:
        return None
    if not low <= number <= high:
        ck.err(path, f"must be in [{low:g}, {high:g}], the range of lever '{lever.id}' "
                     f"(got {_given(value)})")
        return None
    return number


def lever_limits(lever: Lever) -> tuple[float, float]:
    """The values a number lever accepts: its range, else any number the checks allow."""
    return (lever.low if lever.low is not None else -MAX_NUMBER,
            lever.high if lever.high is not None else MAX_NUMBER)


def _variant_parameter(ck: SpecChecker, value: Any, path: str) -> Distribution | None:
    """A variant's parameter: a number pins it, a mapping is another distribution."""
    if isinstance(value, dict):
        return distribution(ck, value, path, extra=("description", "source"))
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


# -- across sections --------------------------------------------------------------------
def check_grid(ck: SpecChecker, scope: Scope, n_rungs: int, n_outcomes: int) -> None:
    """The daily counters of every rung and outcome must fit the aggregates' fixed size."""
    cells = (n_rungs + n_outcomes) * (int(scope.horizon) + 1 if scope.horizon_ok else 1)
    if cells > MAX_GRID_CELLS:
        ck.err("scenario.horizon_days", f"{n_rungs} rungs and {n_outcomes} outcomes over "
                                        f"{scope.horizon:g} days need {cells:,} daily "
                                        f"counters; the limit is {MAX_GRID_CELLS:,} (shorten "
                                        "the horizon or the ladder)")

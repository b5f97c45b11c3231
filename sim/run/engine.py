"""One replication of a scenario as a SimPy discrete-event simulation.

A :class:`Plan` precomputes, once per model, everything the hot path needs (who listens
to which action, which rates read which names); :meth:`Plan.run` then builds a fresh
``simpy.Environment`` per replication and returns a :class:`~sim.run.record.Record`.
:class:`Replication` is one replication, run whole or driven step by step (play mode, the
crisis game); an :class:`Observer` watches one for extensions of the engine
(``sim.run.rare``).

How rates stay right when state changes: each rate process keeps one pending clock, a
SimPy timeout drawn from Exp(rate). When an action changes a name the rate reads, the rate
is recomputed; if it differs, the process's version number is bumped and a new clock is
drawn. A stale clock still fires, sees an old version and does nothing. Because the
exponential distribution is memoryless, redrawing from the new rate at the moment of
change is exactly the continuous-time Markov chain semantics; keeping a clock drawn under
an old rate would not be. (Versioned clocks cost one event per change; interrupting a
SimPy process would cost two.)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from math import log
from types import MappingProxyType
from typing import Any, NamedTuple, cast

import simpy
from simpy.events import NORMAL

from ..errors import SimError
from ..spec.expr import EvalError, Expr, Program, tuple_text
from ..spec.model import (
    DAY,
    PEAK,
    RUNG,
    Action,
    Choice,
    Model,
    Process,
    Rule,
    ScheduledEvent,
)
from .record import Record, TraceEvent
from .streams import FIRST_PROCESS, PARAMETERS, SCHEDULE, Streams, rule_stream, stream_count

# Branch key of the streams that overridden parameter distributions draw from.
OVERRIDE_BRANCH = 0x9A7A

INF = math.inf
# The bounds of a state variable without min or max: finite, so that one chained comparison
# with the bounds also catches an infinite or NaN value.
FLOAT_MAX = sys.float_info.max
MAX_ACTIONS_AT_ONCE = 10_000
# A replication of a sensible scenario has hundreds or thousands of events; a model that
# needs more than this is almost surely a runaway (a huge rate, a tiny cadence, a rule
# that triggers itself) and would otherwise hang the run.
MAX_EVENTS = 500_000
HORIZON_PRIORITY = 2  # after simpy's URGENT (0) and NORMAL (1)
# In a replication's table of single actions (Plan.single): a process whose clock fires
# and does nothing (Replication.suppress).
SUPPRESSED = -2
# Hot zips: the zips on the hot path pass no ``strict=``. A keyword argument makes every
# call to zip build a dict (about 0.2 microseconds, several per action), and their lengths
# are equal by construction: a choice's weights program returns one weight per option, and
# the parameters are drawn one per parameter id.


class Due:
    """A timeout as SimPy's calendar sees it, without ``simpy.Timeout``'s checks and
    bookkeeping (this is the engine's hottest allocation: one per event).

    ``env.schedule(Due(...), NORMAL, delay)`` books it exactly as ``Timeout(env, delay)``
    does (same time, priority and insertion counter, hence the same order of events and the
    same draws), and ``Environment.step`` calls back with it as with any triggered event
    (it reads ``callbacks`` and ``_ok``). Delays are never negative here: clocks are
    exponential draws, rule delays are checked non-negative at load time, cadence ticks are
    clamped at 0. ``value`` says what is due (a process index, a Process, a Rule, a
    schedule entry) and ``count`` which one of its kind (a clock's version, a tick's
    number), so that no tuple is built per event. ``callbacks`` is a tuple the replication
    made once per kind of event and shares (SimPy only iterates it, then drops it): no list
    and no bound method is built per event either.
    """

    __slots__ = ("callbacks", "value", "count")
    _ok = True  # triggered successfully, as a Timeout is from its creation

    def __init__(self, callbacks: tuple[Callable[[Due], None]], value: Any,
                 count: int = 0) -> None:
        self.callbacks: tuple[Callable[[Due], None]] | None = callbacks
        self.value = value
        self.count = count


class _Callbacks(NamedTuple):
    """A replication's callbacks of its frequent events, each as ``Due.callbacks``."""

    clock: tuple[Callable[[Due], None]]
    tick: tuple[Callable[[Due], None]]
    response: tuple[Callable[[Due], None]]


class Effect(NamedTuple):
    """One effect of an action, with its variable's bounds (finite: +-FLOAT_MAX when the
    variable has none)."""

    var: str
    expr: Expr
    low: float
    high: float


class RuleStep(NamedTuple):
    """A rule an action triggers, with the random source it draws from."""

    rule: Rule
    source: int  # index of the rule's stream
    # Its condition and probability in one program (see Plan.programs): the probability,
    # or None when the condition is false. None when there is nothing to evaluate (a
    # constant probability, no condition).
    program: int | None


class Condition(NamedTuple):
    """An outcome whose condition an action may make true."""

    outcome: int
    when: Expr


class Step(NamedTuple):
    """Everything :meth:`Replication._execute` needs about one action, in one lookup."""

    action: Action
    effects: tuple[Effect, ...]
    effect_program: int  # all the effects as one tuple expression (see Plan.programs)
    rules: tuple[RuleStep, ...]  # the rules it triggers
    marks: tuple[int, ...]  # the outcomes it marks by happening
    conditions: tuple[Condition, ...]  # the outcomes whose condition it may change
    condition_program: int  # the outcomes among them whose condition holds (_holding_text)


class RateBatch(NamedTuple):
    """The rates to recompute after a change: process indices and one program that gives
    those whose rate moved, as (index, rate) pairs, from the list of current rates (see
    rates_body; None when none of them needs evaluating)."""

    processes: tuple[int, ...]
    program: int | None


class ModelRuntimeError(SimError):
    """An expression failed or gave an impossible value while a replication ran.

    The message names the replication, the day, the expression with its location in the
    scenario, and the state that made it fail."""


def _state_text(model: Model, ns: Mapping[str, Any]) -> str:
    """The state a run-time error happened in: rung, state variables, parameters."""
    parts = [f"rung={model.rungs[int(ns[RUNG])].id}"] if RUNG in ns else []
    parts += [f"{v.id}={ns[v.id]:.6g}" for v in model.state if v.id in ns]
    parts += [f"{p.id}={ns[p.id]:.6g}" for p in model.parameters if p.id in ns]
    return "state: " + (", ".join(parts) or "(none yet)")


def _names_changed_by(action: Action) -> set[str]:
    names = {effect.var for effect in action.effects}
    if action.rung is not None:
        names |= {RUNG, PEAK}
    return names


def _reads(*exprs: Expr | None) -> set[str]:
    out: set[str] = set()
    for e in exprs:
        if e is not None:
            out |= e.names
    return out


def _holding_text(conditions: Sequence[Condition]) -> str:
    """One expression giving the outcomes of ``conditions`` whose condition holds, as a
    tuple of outcome indices: usually empty, so the engine loops over none of them."""
    return " + ".join([f"(({c.outcome},) if ({c.when.python}) else ())" for c in conditions]
                      or ["()"])


def _rule_text(rule: Rule) -> str | None:
    """A rule's condition and probability as one expression (see RuleStep.program)."""
    p, when = rule.probability, rule.when
    if when is None:
        return None if p.const is not None else p.python
    return f"({p.python}) if ({when.python}) else None"


# The most ticks of one cadence process Plan tabulates; a process that ticks more often
# (a tiny cadence over a long horizon) computes each tick's day as it goes.
MAX_TABULATED_TICKS = 100_000


def _tick_days(process: Process, horizon: float) -> tuple[float, ...] | None:
    """The days of ``process``'s ticks up to the horizon: tick k at start + k*every, rounded
    to a nanoday, so that adding 0.1 thirty times still lands on day 3, not just after it.

    Computed once per plan: rounding a float to 9 places costs about a microsecond, a
    noticeable share of a tick. None when there would be more than MAX_TABULATED_TICKS."""
    assert process.every is not None
    if (horizon - process.start) / process.every >= MAX_TABULATED_TICKS:
        return None
    days: list[float] = []
    day = _tick_day(process, 0)
    while day <= horizon:
        days.append(day)
        day = _tick_day(process, len(days))
    return tuple(days)


def _tick_day(process: Process, tick: int) -> float:
    """The day of tick ``tick`` of cadence process ``process`` (see _tick_days)."""
    assert process.every is not None
    return round(process.start + tick * process.every, 9)


def _fresh_names(names: Collection[str]) -> Callable[[str], str]:
    """A maker of local, cell and parameter names for generated code that no variable has
    (ids may begin with "_"): it appends "_" until the name is free, and takes it."""
    taken = set(names)

    def fresh(name: str) -> str:
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    return fresh


def rates_body(rates: Sequence[tuple[int, str]], names: Collection[str]) -> tuple[str, str]:
    """The body of a rate batch's program, and its parameter: the current rates by
    process. ``rates`` are (process index, checked rate text) pairs.

    Every rate is evaluated first, then those that differ from the current rate are
    returned as (index, rate) pairs, in order: usually fewer than half of them, and the
    engine loops over those only. For rates of processes 3 and 5 it reads::

        _x0 = (escalation * 0.2)
        _x1 = (0.1 if (talks > 0) else 0.0)
        _moved = ()
        if _x0 != _rates[3]:
         _moved += ((3, _x0),)
        if _x1 != _rates[5]:
         _moved += ((5, _x1),)
        return _moved
    """
    fresh = _fresh_names(names)
    current, out = fresh("_rates"), fresh("_moved")
    values = [fresh(f"_x{k}") for k in range(len(rates))]
    lines = [f"{v} = ({text})" for v, (_, text) in zip(values, rates, strict=True)]
    lines.append(f"{out} = ()")
    for v, (i, _) in zip(values, rates, strict=True):
        lines += [f"if {v} != {current}[{i}]:", f" {out} += (({i}, {v}),)"]
    lines.append(f"return {out}")
    return "\n".join(lines), current


def effects_body(effects: Sequence[Effect],
                 names: Collection[str]) -> tuple[str, dict[str, Any]]:
    """The body of an action's effects program, and the closure cells it reads.

    Every effect is evaluated on the values before the action (the simultaneous assignment
    effects mean), then, in effect order, made a float, clipped to its variable's bounds
    (``_clipped`` raises on inf or NaN) and stored if it changed. It returns the names it
    changed, in that order: the key of ``Plan.rate_batches``. One function per action,
    rather than a loop over its effects, saves about 5% of a replication's instructions.
    Only checked expression texts, variable names and float bounds are written into it.
    For ``a: b`` and ``b: a`` with ``a`` bounded to [0, 10] it reads::

        global a, b
        _v0 = _float((b))
        _v1 = _float((a))
        _changed = ()
        if not 0.0 <= _v0 <= 10.0:
         _v0 = _clipped('a', _e0, _v0, 0.0, 10.0)
        if _v0 != a:
         a = _v0
         _changed += ('a',)
        ...
        return _changed
    """
    fresh = _fresh_names(names)
    to_float, clip, out = fresh("_float"), fresh("_clipped"), fresh("_changed")
    cells: dict[str, Any] = {to_float: float, clip: _clipped}
    values = [fresh(f"_v{k}") for k in range(len(effects))]
    lines = [f"global {', '.join(e.var for e in effects)}"]
    lines += [f"{v} = {to_float}(({e.expr.python}))"
              for v, e in zip(values, effects, strict=True)]
    lines.append(f"{out} = ()")
    for k, (v, e) in enumerate(zip(values, effects, strict=True)):
        expr = fresh(f"_e{k}")
        cells[expr] = e.expr
        lines += [f"if not {e.low!r} <= {v} <= {e.high!r}:",
                  f" {v} = {clip}({e.var!r}, {expr}, {v}, {e.low!r}, {e.high!r})",
                  f"if {v} != {e.var}:",
                  f" {e.var} = {v}",
                  f" {out} += ({e.var!r},)"]
    lines.append(f"return {out}")
    return "\n".join(lines), cells


class _Bound(dict[int, Callable[..., Any]]):
    """A replication's programs bound to its namespace, by program number, each bound on
    first use (a subscript that misses binds it: one lookup on the hot path)."""

    def __init__(self, programs: list[Program], ns: dict[str, Any]) -> None:
        super().__init__()
        self.programs, self.ns = programs, ns

    def __missing__(self, k: int) -> Callable[..., Any]:
        fn = self[k] = self.programs[k].bind(self.ns)
        return fn


class Plan:
    """Per-model lookup tables for the engine; build once, run many replications."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.n_streams = stream_count(len(model.processes), len(model.rules))
        self.rate_processes = [p for p in model.processes if p.rate is not None]
        self.cadence_processes = [p for p in model.processes if p.every is not None]
        # For each name, the rate processes that read it: after an action only the
        # processes reading a value that really changed are re-evaluated.
        self.readers: dict[str, tuple[int, ...]] = {
            name: tuple(p.index for p in self.rate_processes if name in _reads(p.rate, p.when))
            for name in {s.id for s in model.state} | {RUNG, PEAK}}
        self.delayed = frozenset(p.index for p in self.rate_processes if p.start > 0)
        # Every expression the hot path evaluates, compiled once per model into a few
        # programs (tuples of values where several are evaluated together); a replication
        # binds them to its namespace (Replication._programs).
        self.names = frozenset({lever.id for lever in model.levers} |
                               {p.id for p in model.parameters} |
                               {s.id for s in model.state} | {RUNG, PEAK, DAY})
        self.programs: list[Program] = []
        self._program_numbers: dict[str, int] = {}
        # Namespaces with their programs bound, left by finished runs for the next (see
        # run): binding costs more than reusing, and the same dict keeps the interpreter's
        # cached lookups of its names valid. A list, as pop and append are thread-safe.
        self._spares: list[_Bound] = []
        # Hot path: one program per rate, with its condition folded in (-1: constant).
        self.rate_program: list[int] = [-1] * len(model.processes)
        self.rate_const: list[float | None] = [None] * len(model.processes)
        self.rate_python: list[str] = ["0.0"] * len(model.processes)
        for p in self.rate_processes:
            assert p.rate is not None
            if p.when is None and p.rate.const is not None:
                self.rate_const[p.index] = float(p.rate.const)
            else:
                text = p.rate.python if p.when is None else \
                    f"({p.rate.python}) if ({p.when.python}) else 0.0"
                self.rate_python[p.index] = text
                self.rate_program[p.index] = self.program(text, "rate")
        # The rates to recompute after a change, keyed by the names an action changed, in
        # the order it changed them. Filled on first use (few keys occur).
        self.rate_batches = _RateBatches(self)
        # The action a rate process always takes (a one-action choice), or -1 to draw one.
        self.single = [p.choice.actions[0] if p.choice.single else -1
                       for p in model.processes]
        self.when_outcomes = [o for o in model.outcomes if o.when is not None]
        self.state_bounds = {s.id: (s.low, s.high) for s in model.state}
        self.lever_values = {lever.id: lever.number for lever in model.levers}
        # Parameters a variant pinned or redistributed: (position, distribution).
        self.overridden = tuple((k, p.override) for k, p in enumerate(model.parameters)
                                if p.override is not None)
        self.parameter_ids = [param.id for param in model.parameters]
        self.steps = self._steps(model)
        # By stream: the program giving the weights of the choice that draws from it (a
        # process's or a rule's), or -1 (nothing to draw, or the schedule's many choices).
        self.choice_programs = [-1] * self.n_streams
        owners = [(FIRST_PROCESS + p.index, p.choice) for p in model.processes] + \
            [(rule_stream(len(model.processes), r.index), r.choice) for r in model.rules]
        for stream, choice in owners:
            if not choice.single:
                self.choice_programs[stream] = self.program(
                    tuple_text([w.python for w in choice.weights]), "weights")
        # By process: the days of a cadence process's ticks within the horizon (see
        # _tick_days), or None (a rate process, or too many ticks to tabulate).
        self.tick_days = [None if p.every is None else _tick_days(p, model.horizon)
                          for p in model.processes]
        # By process: the program of a cadence process's condition, or -1 (none).
        self.when_programs = [-1 if p.every is None or p.when is None
                              else self.program(p.when.python, "when")
                              for p in model.processes]

    def _steps(self, model: Model) -> list[Step]:
        """One :class:`Step` per action (one lookup per action on the hot path)."""
        rules_on: list[list[Rule]] = [[] for _ in model.actions]
        for rule in model.rules:
            for a in rule.on:
                rules_on[a].append(rule)
        marks: list[list[int]] = [[] for _ in model.actions]
        for o in model.outcomes:
            if o.action is not None:
                marks[o.action].append(o.index)
        steps = []
        for action in model.actions:
            changes = _names_changed_by(action)
            effects = tuple(Effect(e.var, e.expr, *self._bounds(e.var)) for e in action.effects)
            # All of an action's effects in one program (see effects_body), not compiled
            # for an action without effects.
            program = -1
            if effects:
                body, cells = effects_body(effects, self.names)
                program = self.program(body, "effects", statements=True, cells=cells)
            rules = tuple(RuleStep(rule, rule_stream(len(model.processes), rule.index),
                                   self._rule_program(rule))
                          for rule in rules_on[action.index])
            conditions = tuple(Condition(o.index, o.when) for o in self.when_outcomes
                               if o.when is not None and o.when.names & changes)
            steps.append(Step(action, effects, program, rules, tuple(marks[action.index]),
                              conditions,
                              self.program(_holding_text(conditions), "conditions")))
        return steps

    def program(self, text: str, label: str, *, statements: bool = False,
                params: tuple[str, ...] = (), cells: dict[str, Any] | None = None) -> int:
        """The number of the program evaluating ``text`` (a checked expression text, or
        statements the engine wrote around such texts; see
        :class:`~sim.spec.expr.Program`), compiled on first sight. A program with
        ``cells`` is never shared: its cells (the expressions its errors name) are one
        action's own."""
        number = None if cells else self._program_numbers.get(text)
        if number is None:
            number = len(self.programs)
            if not cells:
                self._program_numbers[text] = number
            self.programs.append(Program(text, self.names, label, statements=statements,
                                         params=params, cells=cells))
        return number

    def _rule_program(self, rule: Rule) -> int | None:
        text = _rule_text(rule)
        return None if text is None else self.program(text, "rule")

    def _bounds(self, var: str) -> tuple[float, float]:
        low, high = self.state_bounds[var]
        return (-FLOAT_MAX if low is None else max(low, -FLOAT_MAX),
                FLOAT_MAX if high is None else min(high, FLOAT_MAX))

    def rate_batch(self, names: tuple[str, ...]) -> RateBatch:
        """The rates to recompute when ``names`` changed (cached in ``rate_batches``)."""
        return self.rate_batches[names]

    def _new_rate_batch(self, names: tuple[str, ...]) -> RateBatch:
        todo = tuple(dict.fromkeys(i for name in names for i in self.readers[name]
                                   if self.rate_const[i] is None))
        if not todo:
            return RateBatch(todo, None)
        body, param = rates_body([(i, self.rate_python[i]) for i in todo], self.names)
        return RateBatch(todo, self.program(body, "rates", statements=True, params=(param,)))

    def run(self, seed: int, replication: int, trace: bool = False,
            parameters: Sequence[float] | None = None) -> Record:
        """Simulate one replication; deterministic in (seed, replication).

        ``parameters`` pins the uncertain parameters (in model order) instead of drawing
        them, as global sensitivity analysis needs.
        """
        with self.replication(seed, replication, trace=trace, pinned=parameters) as rep:
            return rep.run()

    @contextmanager
    def replication(self, seed: int, replication: int, *, trace: bool = False,
                    pinned: Sequence[float] | None = None,
                    observer: Observer | None = None) -> Iterator[Replication]:
        """A replication (not begun) for the ``with`` block only: its namespace, with the
        expression programs bound to it, comes from a run finished before and goes to the
        next one after the block, so nothing may keep :meth:`Replication.values` beyond
        it (:meth:`Replication.record` copies what it needs)."""
        try:
            spare: _Bound | None = self._spares.pop()
        except IndexError:
            spare = None
        rep = Replication(self, seed, replication, trace=trace, pinned=pinned,
                          observer=observer, programs=spare)
        yield rep
        if len(self._spares) < 4:  # the block ended normally: the namespace is free
            self._spares.append(rep._programs)

    def start(self, seed: int, replication: int, trace: bool = True) -> Replication:
        """A replication to drive step by step (``advance``, ``set_levers``, ``record``)."""
        rep = Replication(self, seed, replication, trace=trace)
        rep.begin()
        return rep


class _RateBatches(dict[tuple[str, ...], RateBatch]):
    """A plan's rate batches by the names changed, each made on first use (a subscript
    that misses builds it: one lookup on the hot path, no ``get``)."""

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def __missing__(self, names: tuple[str, ...]) -> RateBatch:
        batch = self[names] = self.plan._new_rate_batch(names)
        return batch


def _clipped(var: str, expr: Expr, value: float, low: float, high: float) -> float:
    """The value of an effect on ``var`` clipped to [low, high]; EvalError if not finite."""
    if not -INF < value < INF:  # also rejects NaN
        raise EvalError(f"effect on '{var}' gave {value:g} ({expr.label}); state values "
                        "must stay finite (add min/max to the state variable?)")
    return low if value < low else high if value > high else value


class Observer:
    """Watches a replication from outside the engine (``sim.run.rare`` books what the
    probability of a suppressed last step needs).

    Subclass it and override what you need; the defaults do nothing. A replication calls
    its observer at the moments below, and only if it has one: a plain run pays a check.
    Observers read the replication through its public face (:meth:`Replication.values`,
    :attr:`Replication.day`, :meth:`Replication.has_started`) and must not change it.
    """

    def rates_changing(self, rep: Replication, processes: tuple[int, ...]) -> None:
        """An action changed values that the rates of ``processes`` read; they are about
        to be recomputed (``rep.values()`` already holds the new values)."""

    def started(self, rep: Replication, process: int) -> None:
        """Rate process ``process``, delayed by its ``start``, has just started."""

    def rules_drawn(self, rep: Replication, action: int) -> None:
        """Action ``action`` was taken and the rules it triggers have drawn (called only
        for actions that trigger rules, and not when the action ended the run)."""


class Replication:
    """One replication: its environment, random streams and state.

    Run it whole (:meth:`run`, as :meth:`Plan.run` does), or step by step for play mode
    and the crisis game: :meth:`begin`, then :meth:`advance` to a day, change levers
    (:meth:`set_levers`) or take actions (:meth:`inject`) in between, continue on fresh
    dice (:meth:`branch`), and read it (:attr:`day`, :meth:`values`, :attr:`rung`,
    :attr:`events`, :meth:`record`). ``observer`` watches it (see :class:`Observer`);
    ``pinned`` fixes the uncertain parameters (in model order) instead of drawing them.
    """

    def __init__(self, plan: Plan, seed: int, replication: int, *, trace: bool = False,
                 pinned: Sequence[float] | None = None,
                 observer: Observer | None = None, programs: _Bound | None = None) -> None:
        # ``programs``: a finished replication's namespace and bound programs, to reuse
        # (Plan.run passes them).
        # At most 29 attributes (tests/test_engine.py checks): CPython keeps up to 29
        # instance attributes in the shared-key layout its specialised attribute loads
        # use; a 30th makes every self.x on the hot path slower (measured: 4% of a run).
        model = plan.model
        self.plan = plan
        self.model = model
        self.replication = replication
        self._env = simpy.Environment()
        self._streams = Streams(seed, replication, plan.n_streams)
        self._rngs = self._streams.cache  # the hot path reads created streams directly
        self._observer = observer
        self._done = False
        self._ending = ("horizon", model.horizon)  # why and when the run ended
        self._due = _Callbacks((self._on_clock,), (self._on_tick,), (self._on_response,))
        self._n_events = 0
        self._parameters = self._draw_parameters(seed, pinned)
        ns: dict[str, Any] = dict(plan.lever_values)
        ns.update(zip(plan.parameter_ids, self._parameters))  # noqa: B905 (hot zips)
        self._ns = ns
        with self._located():
            for var in model.state:
                value = float(var.initial(ns))
                if not -INF < value < INF:  # also rejects NaN
                    raise EvalError(f"initial value {var.initial.label} of '{var.id}' gave "
                                    f"{value:g}; state values must be finite")
                ns[var.id] = self._clip(var.id, value)
        ns[RUNG] = ns[PEAK] = float(model.initial_rung)
        ns[DAY] = 0.0
        if programs is None or len(programs.ns) != len(ns):
            programs = _Bound(plan.programs, ns)
        else:  # the same names in the same order: every value replaced, the dict kept
            programs.ns.update(ns)
            self._ns = programs.ns
        self._programs = programs
        self._rung = model.initial_rung
        self._peak = model.initial_rung
        self._first_reach = [INF] * len(model.rungs)
        self._first_reach[model.initial_rung] = 0.0
        self._rung_path: list[tuple[float, int]] = [(0.0, model.initial_rung)]
        self._outcome_days = [INF] * len(model.outcomes)
        self._counts = [0] * len(model.actions)
        # Every action with the values after it when traced, else None.
        self._events: list[TraceEvent] | None = [] if trace else None
        self._rates = [0.0] * len(model.processes)
        self._versions = [0] * len(model.processes)
        self._single = plan.single  # copied by suppress()
        self._muted: frozenset[int] = frozenset()  # rules whose responses do nothing
        self._stop = self._env.event()
        self._waiting = set(plan.delayed)
        self._instant = -1.0
        self._instant_actions = 0

    def _draw_parameters(self, seed: int, pinned: Sequence[float] | None) -> list[float]:
        """The uncertain parameters: drawn from the replication's stream, or ``pinned``.

        Overridden parameters are replaced after the base draws were taken (so that every
        other source keeps its numbers): a pin is its value, another distribution draws
        from a stream of its own, derived from (seed, replication, parameter)."""
        model = self.model
        if pinned is not None:
            if len(pinned) != len(model.parameters):
                raise ValueError(f"{len(pinned)} pinned parameter values for "
                                 f"{len(model.parameters)} parameters")
            return [float(v) for v in pinned]
        param_rng = self._streams[PARAMETERS]
        values = [param.dist.sample(param_rng) for param in model.parameters]
        for k, dist in self.plan.overridden:
            if dist.kind == "fixed":
                values[k] = dist.arg("value")
            else:
                own = Streams(seed, self.replication, 1, (OVERRIDE_BRANCH, k))[0]
                values[k] = dist.sample(own)
        return values

    # -- helpers ------------------------------------------------------------------------
    def _clip(self, var: str, value: float) -> float:
        low, high = self.plan.state_bounds[var]
        if low is not None and value < low:
            return low
        if high is not None and value > high:
            return high
        return value

    def _timeout(self, delay: float, callbacks: tuple[Callable[[Due], None]],
                 value: Any = None) -> None:
        self._n_events += 1
        if self._n_events > MAX_EVENTS:
            self._runaway()
        self._env.schedule(Due(callbacks, value), NORMAL, delay)  # type: ignore[arg-type]

    def _runaway(self) -> None:
        raise EvalError(f"runaway model: more than {MAX_ACTIONS_AT_ONCE:,} actions at one "
                        f"instant or {MAX_EVENTS:,} events in one run (a zero-delay rule that "
                        "triggers itself, a huge rate or a tiny cadence?)")

    def _choose(self, choice: Choice, stream: int) -> int | None:
        if choice.single:
            return choice.actions[0]
        weights, total = self._weights(choice, self.plan.choice_programs[stream])
        # Drawn even if unused: keeps variants aligned draw for draw (common random numbers).
        u = (self._rngs[stream] or self._streams[stream]).random() * total
        if total <= 0:
            return None  # every option is weighted 0 right now: nothing happens
        last = None
        for action, w in zip(choice.actions, weights):  # noqa: B905 (hot zips)
            if w > 0:
                last = action
                u -= w
                if u < 0:
                    return action
        return last  # rounding left u >= 0: the last action that had any weight

    def _weights(self, choice: Choice, program: int) -> tuple[Sequence[float], float]:
        """``choice``'s weights now and their total, as ``Choice.weights_at`` gives them,
        from its program when it has one (-1: none)."""
        if program < 0:
            return choice.weights_at(self._ns)
        try:
            weights = self._programs[program]()
        except (ArithmeticError, ValueError, TypeError):
            return choice.weights_at(self._ns)  # raises, naming the weight that failed
        return choice.checked(weights)

    def _probability(self, expr: Expr) -> float:
        p = float(expr(self._ns))
        if not 0.0 <= p <= 1.0:
            raise EvalError(f"probability {expr.label} evaluated to {p:g}, outside [0, 1]")
        return p

    # -- rate processes ------------------------------------------------------------------
    def _rate_of(self, process: Process) -> float:
        if process.index in self._waiting:
            return 0.0  # not started yet; begin() arms it at its start day
        const = self.plan.rate_const[process.index]
        if const is not None:
            return const
        try:
            rate = self._programs[self.plan.rate_program[process.index]]()
        except OverflowError:
            assert process.rate is not None
            raise EvalError(f"rate {process.rate.label} overflowed") from None
        except (ArithmeticError, ValueError, TypeError) as exc:
            assert process.rate is not None
            raise EvalError(f"rate {process.rate.label} failed: {exc}") from None
        if not 0.0 <= rate < INF:  # also rejects NaN
            self._bad_rate(process, rate)
        return float(rate)

    @staticmethod
    def _bad_rate(process: Process, rate: float) -> None:
        assert process.rate is not None
        raise EvalError(f"rate {process.rate.label} evaluated to {rate:g}; rates must "
                        "be finite and >= 0")

    def _arm(self, process: Process) -> None:
        """Draw a fresh clock for a rate process at its current rate."""
        self._arm_at(process.index, self._rate_of(process))

    def _arm_at(self, i: int, rate: float) -> None:
        """Draw a fresh clock for rate process ``i``, whose current rate is ``rate``."""
        self._rates[i] = rate
        version = self._versions[i] = self._versions[i] + 1
        if rate > 0:
            self._clock(i, version, rate, self._env.now)

    def _clock(self, i: int, version: int, rate: float, now: float) -> None:
        """Put process ``i``'s next firing, Exp(rate) from ``now`` (the calendar's day:
        callers pass it, which spares SimPy's ``now`` property), on the calendar."""
        rng = self._rngs[FIRST_PROCESS + i] or self._streams[FIRST_PROCESS + i]
        self._n_events += 1
        if self._n_events > MAX_EVENTS:
            self._runaway()
        # Exactly random.Random.expovariate(rate), without its call, and _timeout inlined:
        # this is the hot path.
        delay = -log(1.0 - rng.random()) / rate
        env = self._env
        # A clock due after the horizon would never fire (the run ends first): about a
        # fifth of the flagship's clocks are not booked. The draw is taken all the same,
        # and the sum is the one SimPy computes for the calendar.
        if now + delay <= self.model.horizon:
            env.schedule(Due(self._due.clock, i, version), NORMAL,  # type: ignore[arg-type]
                         delay)

    def _on_start(self, due: Due) -> None:
        process: Process = due.value
        self._waiting.discard(process.index)
        if not self._done:
            self._arm(process)
        if self._observer is not None:
            self._observer.started(self, process.index)

    def _on_clock(self, due: Due) -> None:
        i, version = due.value, due.count  # process index, clock version
        if self._done or version != self._versions[i]:
            return  # stale clock: drawn under a rate that has since changed
        now = self._ns[DAY] = self._env.now  # choose weights may read the day
        single = self._single[i]
        if single >= 0:
            self._execute(single, now)
        elif single == SUPPRESSED:
            return  # fires and does nothing, not even a new clock (Replication.suppress)
        else:
            action = self._choose(self.model.processes[i].choice, FIRST_PROCESS + i)
            if action is not None:
                self._execute(action, now)
        if not self._done and version == self._versions[i]:
            # Not re-armed by the action, so nothing the rate reads changed its value: the
            # rate is still self._rates[i] and needs no new evaluation, just a new clock.
            version = self._versions[i] = version + 1
            self._clock(i, version, self._rates[i], now)

    # -- cadence processes and schedule ------------------------------------------------------
    def _on_tick(self, due: Due) -> None:
        """Tick ``k`` of a cadence process: maybe act, then book tick ``k + 1``."""
        if self._done:
            return
        process: Process = due.value
        now = self._env.now
        self._ns[DAY] = now
        when = self.plan.when_programs[process.index]
        if when < 0 or self._when(process, when):
            action = self._choose(process.choice, FIRST_PROCESS + process.index)
            if action is not None:
                self._execute(action, now)
        self._n_events += 1
        if self._done:
            return  # the tick's action ended the run: no next tick, nothing runs away
        if self._n_events > MAX_EVENTS:
            self._runaway()
        tick = due.count + 1
        days = self.plan.tick_days[process.index]
        if days is None:
            at = _tick_day(process, tick)
        elif tick < len(days):
            at = days[tick]
        else:
            return  # the next tick falls after the horizon: it would never happen
        self._env.schedule(Due(self._due.tick, process, tick),  # type: ignore[arg-type]
                           NORMAL, max(0.0, at - now))

    def _when(self, process: Process, program: int) -> bool:
        """A cadence process's condition now (its ``program``)."""
        try:
            return bool(self._programs[program]())
        except (ArithmeticError, ValueError, TypeError):
            assert process.when is not None
            return bool(process.when(self._ns))  # raises, naming the expression

    def _on_scheduled(self, due: Due) -> None:
        if self._done:
            return
        item: ScheduledEvent = due.value
        self._ns[DAY] = self._env.now
        # Draw first, whatever happens next, so that variants stay aligned (common numbers).
        u = self._streams[SCHEDULE].random()
        if item.when is not None and not item.when(self._ns):
            return
        if item.probability is not None and u >= self._probability(item.probability):
            return
        action = self._choose(item.choice, SCHEDULE)
        if action is not None:
            self._execute(action, self._env.now)

    # -- rules ----------------------------------------------------------------------------
    def _on_response(self, due: Due) -> None:
        rule: Rule = due.value
        if rule.index in self._muted:
            return  # a suppressed rule's response does nothing (Replication.suppress)
        if self._done:
            return
        now = self._ns[DAY] = self._env.now  # choose weights may read the day
        action = self._choose(rule.choice, rule_stream(len(self.model.processes), rule.index))
        if action is not None:
            self._execute(action, now)

    # -- the one place where the world changes ----------------------------------------------
    def _execute(self, index: int, now: float) -> None:
        """Take action ``index`` at day ``now``: effects, rung, outcomes, rules, rates.

        Every caller has checked that the run is not over. The effects and the rates are
        generated programs (see effects_body, rates_body), the rules are inlined; what few
        actions need (a rung, outcomes) is in helpers called only when present."""
        if now != self._instant:
            self._instant, self._instant_actions = now, 0
        self._instant_actions += 1
        if self._instant_actions > MAX_ACTIONS_AT_ONCE:
            self._runaway()
        ns = self._ns
        ns[DAY] = now
        self._counts[index] += 1
        action, effects, effect_program, rules, marks, conditions, condition_program = \
            self.plan.steps[index]
        changed: tuple[str, ...] = ()  # the names whose values changed, in effect order
        if effects:
            try:
                changed = self._programs[effect_program]()
            except (ArithmeticError, ValueError, TypeError):
                # Nothing was assigned yet (every effect is evaluated before any is).
                for effect in effects:
                    effect.expr(ns)  # one by one, to say which effect failed (EvalError)
                raise  # the same code cannot succeed one by one
        if action.rung is not None:
            changed = self._take_rung(action, now, changed)
        if self._events is not None:
            self._events.append(TraceEvent(now, index, dict(ns)))
        if marks or conditions:
            self._mark(marks, conditions if changed else (), condition_program, now)
        if action.ends_run:
            self._finish(action.id, now)
            return
        for rule, source, program in rules:
            rng = self._rngs[source] or self._streams[source]
            # Always draw, even when `when` is false or p is 0 or 1, so that variants stay
            # aligned draw for draw (common random numbers).
            u = rng.random()
            p = rule.probability.const if program is None else \
                self._rule_probability(rule, program)
            if p is not None and u < p:
                self._timeout(rule.delay.sample(rng), self._due.response, rule)
        if rules and self._observer is not None:
            self._observer.rules_drawn(self, index)
        # Only rates that read a value that really changed are recomputed, and a clock is
        # redrawn only if its rate differs (memorylessness makes keeping it exact).
        if changed:
            todo, program = self.plan.rate_batches[changed]
            if program is not None:
                self._recompute(todo, program, now)

    def _take_rung(self, action: Action, now: float,
                   changed: tuple[str, ...]) -> tuple[str, ...]:
        """Raise (or set) the rung as ``action`` says: ``changed`` with RUNG and PEAK
        added if they moved."""
        assert action.rung is not None
        target = max(self._rung, action.rung) if action.rung_mode == "raise" else action.rung
        if target == self._rung:
            return changed
        peak = self._peak
        self._move_rung(target, now)
        return changed + ((RUNG, PEAK) if self._peak != peak else (RUNG,))

    def _mark(self, marks: tuple[int, ...], conditions: tuple[Condition, ...],
              program: int, now: float) -> None:
        """Date the outcomes an action marks, and those whose condition now holds (the
        first time only); ``program`` gives all the conditions in one evaluation."""
        outcome_days = self._outcome_days
        for o in marks:
            if outcome_days[o] == INF:
                outcome_days[o] = now
        if not conditions:
            return
        try:
            holding = self._programs[program]()
        except (ArithmeticError, ValueError, TypeError):
            # One failed: evaluate those not yet dated one by one, as their meaning says
            # (one already dated is never looked at again), to name the one that failed.
            holding = [o for o, when in conditions if outcome_days[o] == INF and when(self._ns)]
        for o in holding:
            if outcome_days[o] == INF:
                outcome_days[o] = now

    def _rule_probability(self, rule: Rule, program: int) -> float | None:
        """A triggered rule's probability now, or None when its condition is false."""
        try:
            p = self._programs[program]()
        except (ArithmeticError, ValueError, TypeError):
            p = None  # one by one below, to name the expression that failed
        else:
            if p is None or 0.0 <= p <= 1.0:
                return p
        if rule.when is not None and not rule.when(self._ns):
            return None
        return self._probability(rule.probability)

    def _recompute(self, todo: tuple[int, ...], program: int, now: float) -> None:
        """Re-arm those of processes ``todo`` whose rates changed (``program`` gives them:
        see rates_body)."""
        if self._observer is not None:
            self._observer.rates_changing(self, todo)
        rates, processes, waiting = self._rates, self.model.processes, self._waiting
        try:
            # All the rates that read a changed value, in one call, giving those that
            # moved (indices, not Process objects: hashing frozen dataclasses is costly).
            moved = self._programs[program](rates)
        except (ArithmeticError, ValueError, TypeError):
            # Rare: one of them failed; take them one by one to report which (and to skip,
            # as always, the processes not started yet).
            for i in todo:
                rate = self._rate_of(processes[i])
                if rate != rates[i]:
                    self._arm_at(i, rate)
            return
        versions = self._versions
        for i, rate in moved:
            if waiting and i in waiting:
                continue  # not started yet: its rate is 0 until begin() arms it
            if not 0.0 <= rate < INF:  # also rejects NaN
                self._bad_rate(processes[i], rate)
            # _arm_at(i, rate), inlined: this loop is the engine's hottest.
            rates[i] = rate = float(rate)
            version = versions[i] = versions[i] + 1
            if rate > 0:
                self._clock(i, version, rate, now)

    def _move_rung(self, target: int, now: float) -> None:
        initial = self.model.initial_rung
        first = self._first_reach
        # A rung above the start is reached when the rung is at or above it; one below
        # the start (settlement, ceasefire) when the rung is at or below it.
        span = range(initial + 1, target + 1) if target > initial else range(target, initial)
        for k in span:
            if first[k] == INF:
                first[k] = now
        self._rung = target
        self._ns[RUNG] = float(target)
        if target > self._peak:
            self._peak = target
            self._ns[PEAK] = float(target)
        self._rung_path.append((now, target))

    def _finish(self, reason: str, now: float) -> None:
        self._done = True
        self._ending = (reason, now)
        if not self._stop.triggered:
            self._stop.succeed()

    def _on_horizon(self, due: Due) -> None:
        if not self._done:
            self._finish("horizon", self.model.horizon)

    @contextmanager
    def _located(self) -> Iterator[None]:
        try:
            yield
        except EvalError as exc:
            raise ModelRuntimeError(f"replication {self.replication}, day "
                                    f"{self._env.now:.2f}: {exc}; "
                                    f"{_state_text(self.model, self._ns)}") from None

    # -- driving it -------------------------------------------------------------------------
    def begin(self) -> None:
        """Put the schedule, the rate clocks and the cadence processes on the calendar."""
        model, env = self.model, self._env
        with self._located():
            for outcome in self.plan.when_outcomes:
                if outcome.when is not None and outcome.when(self._ns):
                    self._outcome_days[outcome.index] = 0.0
            for item in model.schedule:
                self._timeout(item.day, (self._on_scheduled,), item)
            for process in self.plan.rate_processes:
                if process.start > 0:
                    self._timeout(process.start, (self._on_start,), process)
                else:
                    self._arm(process)
            for process in self.plan.cadence_processes:
                # Callbacks rather than a generator process: no process resumption per tick.
                env.schedule(Due(self._due.tick, process, 0), NORMAL,  # type: ignore[arg-type]
                             process.start)
        # The horizon is inclusive: its event has a lower priority than every other event,
        # so whatever is due at exactly the horizon (a schedule entry, a cadence decision,
        # a zero-delay cascade) happens before the run ends, whatever order it was queued in.
        env.schedule(Due((self._on_horizon,), None),  # type: ignore[arg-type]
                     cast(Any, HORIZON_PRIORITY), model.horizon)

    def advance(self, day: float) -> None:
        """Simulate up to (not including) ``day``, or to the end when day >= horizon."""
        with self._located():
            if day >= self.model.horizon:
                self._env.run(until=self._stop)
            elif day > self._env.now and not self._done:
                self._env.run(until=day)

    def run(self) -> Record:
        """Simulate the whole replication and return its record."""
        self.begin()
        self.advance(self.model.horizon)
        return self.record()

    def set_levers(self, changes: Mapping[str, Any]) -> None:
        """Change levers mid-run (interactive play); rates that read them are redrawn.

        A choice lever takes its option's name; any other lever its number."""
        choices = {lv.id: lv for lv in self.model.levers if lv.is_choice}
        self._ns.update({k: float(choices[k].options.index(v)) if k in choices else v
                         for k, v in changes.items()})
        with self._located():
            for process in self.plan.rate_processes:
                if _reads(process.rate, process.when) & changes.keys():
                    self._arm(process)

    def inject(self, index: int) -> None:
        """Take action ``index`` now, as if a process had chosen it (a player's decision or
        a facilitator's injection): effects, rung, outcomes, rules and rates as always.
        Nothing happens once the run is over."""
        if self._done:
            return
        with self._located():
            self._execute(index, self._env.now)

    def branch(self, seed: int, key: tuple[int, ...]) -> None:
        """Continue on fresh dice: streams from (seed, replication, *key) from now on.

        Every running rate clock is redrawn from the new streams (exact, since the
        exponential is memoryless); responses already scheduled and cadence ticks keep their
        times, as they are part of the state. Parameters keep their drawn values."""
        self._streams = Streams(seed, self.replication, self.plan.n_streams, key)
        self._rngs = self._streams.cache
        with self._located():
            for process in self.plan.rate_processes:
                if process.index not in self._waiting and not self._done:
                    self._arm_at(process.index, self._rates[process.index])

    def suppress(self, processes: Sequence[int] = (), rules: Sequence[int] = ()) -> None:
        """Make rate processes ``processes`` and rules ``rules`` fire and do nothing: a
        suppressed clock takes no action and draws no new clock (until a change of what its
        rate reads redraws it), a suppressed rule's response takes no action. Their triggers
        still draw, so every other source keeps its numbers (``sim.run.rare`` scores their
        probability instead). Call before :meth:`begin`."""
        self._single = list(self._single)
        for i in processes:
            self._single[i] = SUPPRESSED
        self._muted = self._muted | frozenset(rules)

    @contextmanager
    def located(self) -> Iterator[None]:
        """Within it, an :class:`~sim.spec.expr.EvalError` (an expression evaluated on
        this replication's values failed) becomes the :class:`ModelRuntimeError` that names
        this replication, its day and its state, as the engine's own failures do."""
        with self._located():
            yield

    # -- reading it -----------------------------------------------------------------------
    @property
    def day(self) -> float:
        """The simulated day reached so far."""
        return float(self._env.now)

    @property
    def done(self) -> bool:
        """True once the run has ended (at the horizon or by a terminal action)."""
        return self._done

    @property
    def end_day(self) -> float:
        """The day the run ended (the horizon until it ends)."""
        return self._ending[1]

    @property
    def rung(self) -> int:
        """The current rung (an index into ``model.rungs``)."""
        return self._rung

    @property
    def peak(self) -> int:
        """The highest rung so far."""
        return self._peak

    @property
    def parameters(self) -> tuple[float, ...]:
        """The uncertain parameters' values in this replication, in model order."""
        return tuple(self._parameters)

    @property
    def outcome_days(self) -> tuple[float, ...]:
        """Per outcome, the day it first happened (``inf`` until it does)."""
        return tuple(self._outcome_days)

    @property
    def first_reach(self) -> tuple[float, ...]:
        """Per rung, the day it was first reached (``inf`` until it is)."""
        return tuple(self._first_reach)

    @property
    def events(self) -> Sequence[TraceEvent]:
        """Every action so far with the values just after it (empty unless traced)."""
        return self._events if self._events is not None else ()

    def values(self) -> Mapping[str, Any]:
        """Every named value now (levers, parameters, state, rung, peak, day), read-only
        and live (it follows the run)."""
        return MappingProxyType(self._ns)

    def has_started(self, process: int) -> bool:
        """False while rate process ``process`` waits for its ``start`` day."""
        return process not in self._waiting

    def record(self) -> Record:
        """The flat record of what happened so far."""
        model, ns = self.model, self._ns
        return Record(
            replication=self.replication, peak=self._peak, final_rung=self._rung,
            end_day=self._ending[1], terminal=self._ending[0],
            first_reach=tuple(self._first_reach), outcome_days=tuple(self._outcome_days),
            action_counts=tuple(self._counts),
            final_state=tuple(float(ns[s.id]) for s in model.state),
            parameters=tuple(self._parameters), rung_path=tuple(self._rung_path),
            events=tuple(self._events or ()), n_events=self._n_events)

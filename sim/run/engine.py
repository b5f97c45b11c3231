"""One replication of a scenario as a SimPy discrete-event simulation.

A :class:`Plan` precomputes, once per model, everything the hot path needs (who listens
to which action, which rates read which names); :meth:`Plan.run` then builds a fresh
``simpy.Environment`` per replication and returns a :class:`~sim.record.Record`.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from math import log
from types import MappingProxyType
from typing import Any, cast

import simpy
from simpy.events import NORMAL

from ..errors import SimError
from ..spec.expr import _GLOBALS as GLOBALS
from ..spec.expr import EvalError, Expr
from ..spec.model import DAY, PEAK, RUNG, Action, Choice, Model, Process, Rule, ScheduledEvent
from .record import Record, TraceEvent
from .streams import FIRST_PROCESS, PARAMETERS, SCHEDULE, Streams, stream_count

# Branch key of the streams that overridden parameter distributions draw from.
OVERRIDE_BRANCH = 0x9A7A

INF = math.inf
MAX_ACTIONS_AT_ONCE = 10_000
# A replication of a sensible scenario has hundreds or thousands of events; a model that
# needs more than this is almost surely a runaway (a huge rate, a tiny cadence, a rule
# that triggers itself) and would otherwise hang the run.
MAX_EVENTS = 500_000
HORIZON_PRIORITY = 2  # after simpy's URGENT (0) and NORMAL (1)


class Due:
    """A timeout as SimPy's calendar sees it, without ``simpy.Timeout``'s checks and
    bookkeeping (this is the engine's hottest allocation: one per event).

    ``env.schedule(Due(...), NORMAL, delay)`` books it exactly as ``Timeout(env, delay)``
    does (same time, priority and insertion counter, hence the same order of events and the
    same draws), and ``Environment.step`` calls back with it as with any triggered event
    (it reads ``callbacks`` and ``_ok``). Delays are never negative here: clocks are
    exponential draws, rule delays are checked non-negative at load time, cadence ticks are
    clamped at 0.
    """

    __slots__ = ("callbacks", "value")
    _ok = True  # triggered successfully, as a Timeout is from its creation

    def __init__(self, callback: Callable[[Any], None], value: Any) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = [callback]
        self.value = value


class ModelRuntimeError(SimError):
    """An expression failed or gave an impossible value while a replication ran.

    The message names the replication, the day, the expression with its location in the
    scenario, and the state that made it fail."""


def _state_text(model: Model, ns: dict[str, Any]) -> str:
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


def _tuple_code(pythons: Sequence[str], name: str) -> Any:
    """Compile checked expression texts (from :mod:`sim.expr`) into one tuple expression."""
    return compile("(" + "".join(f"({p})," for p in pythons) + ")", name, "eval")


class Plan:
    """Per-model lookup tables for the engine; build once, run many replications."""

    def __init__(self, model: Model) -> None:
        self.model = model
        n_actions = len(model.actions)
        self.n_streams = stream_count(len(model.processes), len(model.rules))
        self.rate_processes = [p for p in model.processes if p.rate is not None]
        self.cadence_processes = [p for p in model.processes if p.every is not None]
        rules_on: list[list[Rule]] = [[] for _ in range(n_actions)]
        for rule in model.rules:
            for a in rule.on:
                rules_on[a].append(rule)
        changes = [_names_changed_by(a) for a in model.actions]
        # For each name, the rate processes that read it: after an action only the
        # processes reading a value that really changed are re-evaluated.
        self.readers: dict[str, tuple[int, ...]] = {
            name: tuple(p.index for p in self.rate_processes if name in _reads(p.rate, p.when))
            for name in {s.id for s in model.state} | {RUNG, PEAK}}
        self.delayed = frozenset(p.index for p in self.rate_processes if p.start > 0)
        # Hot path: one compiled code object per rate, with its condition folded in.
        self.rate_code: list[Any] = [None] * len(model.processes)
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
                self.rate_code[p.index] = compile(text, "<rate>", "eval")
        # The rates to recompute after a change, keyed by what changed: a name, or a tuple
        # of names in the order the action changed them. Filled lazily (few keys occur).
        self.rate_batches: dict[str | tuple[str, ...], tuple[tuple[int, ...], Any]] = {}
        effects = [[(e.var, e.expr, *self._bounds(model, e.var)) for e in a.effects]
                   for a in model.actions]
        # All of an action's effects in one code object returning a tuple: one eval per
        # action instead of one per effect (the effects read the values before the action
        # anyway, so evaluating them together is the simultaneous assignment they mean).
        effect_code = [
            _tuple_code([e.expr.python for e in a.effects], "<effects>") if a.effects else None
            for a in model.actions]
        # The action a rate process always takes (a one-action choice), or -1 to draw one.
        self.single = [p.choice.actions[0] if p.choice.single else -1
                       for p in model.processes]
        self.when_outcomes = [o for o in model.outcomes if o.when is not None]
        outcomes_on = [
            [o for o in self.when_outcomes if o.when is not None and o.when.names & changes[a]]
            for a in range(n_actions)]
        action_outcomes: list[list[int]] = [[] for _ in range(n_actions)]
        for o in model.outcomes:
            if o.action is not None:
                action_outcomes[o.action].append(o.index)
        self.state_bounds = {s.id: (s.low, s.high) for s in model.state}
        self.lever_values = {lever.id: lever.number for lever in model.levers}
        # Parameters a variant pinned or redistributed: (position, distribution).
        self.overridden = tuple((k, p.override) for k, p in enumerate(model.parameters)
                                if p.override is not None)
        self.parameter_ids = [param.id for param in model.parameters]
        # Everything _execute needs about an action, in one tuple (one lookup per action):
        # the action, its effects and their code, the rules it triggers with their random
        # sources, the outcomes it marks, the outcomes whose condition it may change.
        rule_base = FIRST_PROCESS + len(model.processes)
        self.steps: list[tuple[Any, ...]] = [
            (action, effects[a], effect_code[a],
             tuple((rule, rule_base + rule.index, rule.when, rule.probability)
                   for rule in rules_on[a]),
             tuple(action_outcomes[a]), tuple((o.index, o.when) for o in outcomes_on[a]))
            for a, action in enumerate(model.actions)]

    def rate_batch(self, key: str | tuple[str, ...]) -> tuple[tuple[int, ...], Any]:
        """(process indices, one code object giving their rates as a tuple) for ``key``."""
        batch = self.rate_batches.get(key)
        if batch is None:
            names = (key,) if isinstance(key, str) else key
            todo = tuple(dict.fromkeys(i for name in names for i in self.readers[name]
                                       if self.rate_const[i] is None))
            code = _tuple_code([self.rate_python[i] for i in todo], "<rates>") if todo \
                else None
            batch = self.rate_batches[key] = (todo, code)
        return batch

    @staticmethod
    def _bounds(model: Model, var: str) -> tuple[float | None, float | None]:
        state = next(s for s in model.state if s.id == var)
        return state.low, state.high

    def run(self, seed: int, replication: int, trace: bool = False,
            parameters: Sequence[float] | None = None) -> Record:
        """Simulate one replication; deterministic in (seed, replication).

        ``parameters`` pins the uncertain parameters (in model order) instead of drawing
        them, as global sensitivity analysis needs.
        """
        return _Replication(self, seed, replication, trace, parameters).run()

    def start(self, seed: int, replication: int, trace: bool = True) -> _Replication:
        """A replication to drive step by step (``advance``, ``set_levers``, ``record``)."""
        rep = _Replication(self, seed, replication, trace)
        rep.begin()
        return rep


class _Replication:
    """Mutable state of one replication. Lives only inside Plan.run."""

    def __init__(self, plan: Plan, seed: int, replication: int, trace: bool,
                 pinned: Sequence[float] | None = None) -> None:
        model = plan.model
        self.plan = plan
        self.model = model
        self.replication = replication
        self.env = simpy.Environment()
        self.streams = Streams(seed, replication, plan.n_streams)
        self.trace = trace
        self.done = False
        self.terminal = "horizon"
        self.end_day = model.horizon
        self.n_events = 0
        ns: dict[str, Any] = dict(plan.lever_values)
        if pinned is None:
            param_rng = self.streams[PARAMETERS]
            self.parameters = [param.dist.sample(param_rng) for param in model.parameters]
            if plan.overridden:
                self._override(seed, replication)
        else:
            if len(pinned) != len(model.parameters):
                raise ValueError(f"{len(pinned)} pinned parameter values for "
                                 f"{len(model.parameters)} parameters")
            self.parameters = [float(v) for v in pinned]
        ns.update(zip(plan.parameter_ids, self.parameters, strict=True))
        try:
            for var in model.state:
                value = float(var.initial(ns))
                if not -INF < value < INF:  # also rejects NaN
                    raise EvalError(f"initial value {var.initial.label} of '{var.id}' gave "
                                    f"{value:g}; state values must be finite")
                ns[var.id] = self._clip(var.id, value)
        except EvalError as exc:
            raise ModelRuntimeError(f"replication {replication}, day 0.00: {exc}; "
                                    f"{_state_text(model, ns)}") from None
        ns[RUNG] = ns[PEAK] = float(model.initial_rung)
        ns[DAY] = 0.0
        self.ns = ns
        self.rung = model.initial_rung
        self.peak = model.initial_rung
        self.first_reach = [INF] * len(model.rungs)
        self.first_reach[model.initial_rung] = 0.0
        self.rung_path: list[tuple[float, int]] = [(0.0, model.initial_rung)]
        self.outcome_days = [INF] * len(model.outcomes)
        self.counts = [0] * len(model.actions)
        self.events: list[TraceEvent] = []
        self.rates = [0.0] * len(model.processes)
        self.versions = [0] * len(model.processes)
        self.rngs = self.streams.cache  # the hot path reads created streams directly
        self.stop = self.env.event()
        self.waiting = set(plan.delayed)
        self.instant = -1.0
        self.instant_actions = 0

    # -- helpers ------------------------------------------------------------------------
    def _override(self, seed: int, replication: int) -> None:
        """Replace overridden parameters after the base draws were taken (so that every
        other source keeps its numbers): a pin is its value, another distribution draws
        from a stream of its own, derived from (seed, replication, parameter)."""
        for k, dist in self.plan.overridden:
            if dist.kind == "fixed":
                self.parameters[k] = dist.arg("value")
            else:
                own = Streams(seed, replication, 1, (OVERRIDE_BRANCH, k))[0]
                self.parameters[k] = dist.sample(own)

    def _clip(self, var: str, value: float) -> float:
        low, high = self.plan.state_bounds[var]
        if low is not None and value < low:
            return low
        if high is not None and value > high:
            return high
        return value

    def _timeout(self, delay: float, callback: Callable[[simpy.Event], None],
                 value: Any = None) -> None:
        self.n_events += 1
        if self.n_events > MAX_EVENTS:
            self._runaway()
        self.env.schedule(Due(callback, value), NORMAL, delay)  # type: ignore[arg-type]

    def _runaway(self) -> None:
        raise EvalError(f"runaway model: more than {MAX_ACTIONS_AT_ONCE:,} actions at one "
                        f"instant or {MAX_EVENTS:,} events in one run (a zero-delay rule that "
                        "triggers itself, a huge rate or a tiny cadence?)")

    def _choose(self, choice: Choice, stream: int) -> int | None:
        if choice.single:
            return choice.actions[0]
        weights, total = choice.weights_at(self.ns)
        # Drawn even if unused: keeps variants aligned draw for draw (common random numbers).
        u = (self.rngs[stream] or self.streams[stream]).random() * total
        if total <= 0:
            return None  # every option is weighted 0 right now: nothing happens
        last = None
        for action, w in zip(choice.actions, weights, strict=True):
            if w > 0:
                last = action
                u -= w
                if u < 0:
                    return action
        return last  # rounding left u >= 0: the last action that had any weight

    def _probability(self, expr: Expr) -> float:
        p = float(expr(self.ns))
        if not 0.0 <= p <= 1.0:
            raise EvalError(f"probability {expr.label} evaluated to {p:g}, outside [0, 1]")
        return p

    # -- rate processes ------------------------------------------------------------------
    def _rate_of(self, process: Process) -> float:
        if process.index in self.waiting:
            return 0.0  # not started yet; begin() arms it at its start day
        const = self.plan.rate_const[process.index]
        if const is not None:
            return const
        try:
            rate = eval(self.plan.rate_code[process.index], GLOBALS, self.ns)  # noqa: S307
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
        self.rates[i] = rate
        version = self.versions[i] = self.versions[i] + 1
        if rate > 0:
            self._clock(i, version, rate)

    def _clock(self, i: int, version: int, rate: float) -> None:
        """Put process ``i``'s next firing, Exp(rate) from now, on the calendar."""
        rng = self.rngs[FIRST_PROCESS + i] or self.streams[FIRST_PROCESS + i]
        self.n_events += 1
        if self.n_events > MAX_EVENTS:
            self._runaway()
        # Exactly random.Random.expovariate(rate), without its call, and _timeout inlined:
        # this is the hot path.
        self.env.schedule(Due(self._on_clock, (i, version)), NORMAL,  # type: ignore[arg-type]
                          -log(1.0 - rng.random()) / rate)

    def _on_start(self, event: simpy.Event) -> None:
        process = cast(Process, event.value)
        self.waiting.discard(process.index)
        if not self.done:
            self._arm(process)

    def _on_clock(self, event: simpy.Event) -> None:
        value: Any = event.value  # (process index, clock version); no cast(): hot path
        i, version = value
        if self.done or version != self.versions[i]:
            return  # stale clock: drawn under a rate that has since changed
        now = self.ns[DAY] = self.env.now  # choose weights may read the day
        single = self.plan.single[i]
        action = single if single >= 0 else \
            self._choose(self.model.processes[i].choice, FIRST_PROCESS + i)
        if action is not None:
            self._execute(action, now)
        if not self.done and version == self.versions[i]:
            # Not re-armed by the action, so nothing the rate reads changed its value: the
            # rate is still self.rates[i] and needs no new evaluation, just a new clock.
            version = self.versions[i] = version + 1
            self._clock(i, version, self.rates[i])

    # -- cadence processes and schedule ------------------------------------------------------
    def _on_tick(self, event: simpy.Event) -> None:
        """Tick ``k`` of a cadence process: maybe act, then book tick ``k + 1``."""
        if self.done:
            return
        value: Any = event.value  # (Process, tick number)
        process, tick = value
        now = self.env.now
        self.ns[DAY] = now
        if process.when is None or process.when(self.ns):
            action = self._choose(process.choice, FIRST_PROCESS + process.index)
            if action is not None:
                self._execute(action, now)
        self.n_events += 1
        if self.done:
            return  # the tick's action ended the run: no next tick, nothing runs away
        if self.n_events > MAX_EVENTS:
            self._runaway()
        # Tick k falls at start + k*every, computed afresh (rounded to a nanoday) so
        # that adding 0.1 thirty times still lands on day 3, not just after it.
        tick += 1
        due = round(process.start + tick * process.every, 9)
        self.env.schedule(Due(self._on_tick, (process, tick)), NORMAL,  # type: ignore[arg-type]
                          max(0.0, due - now))

    def _on_scheduled(self, event: simpy.Event) -> None:
        if self.done:
            return
        item = cast(ScheduledEvent, event.value)
        self.ns[DAY] = self.env.now
        # Draw first, whatever happens next, so that variants stay aligned (common numbers).
        u = self.streams[SCHEDULE].random()
        if item.when is not None and not item.when(self.ns):
            return
        if item.probability is not None and u >= self._probability(item.probability):
            return
        action = self._choose(item.choice, SCHEDULE)
        if action is not None:
            self._execute(action, self.env.now)

    # -- rules ----------------------------------------------------------------------------
    def _on_response(self, event: simpy.Event) -> None:
        if self.done:
            return
        rule = cast(Rule, event.value)
        self.ns[DAY] = self.env.now
        action = self._choose(rule.choice, FIRST_PROCESS + len(self.model.processes) +
                              rule.index)
        if action is not None:
            self._execute(action, self.env.now)

    # -- the one place where the world changes ----------------------------------------------
    def _execute(self, index: int, now: float) -> None:  # noqa: C901 - inlined hot path
        """Take action ``index`` at day ``now``: effects, rung, outcomes, rules, rates."""
        if self.done:
            return
        if now != self.instant:
            self.instant, self.instant_actions = now, 0
        self.instant_actions += 1
        if self.instant_actions > MAX_ACTIONS_AT_ONCE:
            self._runaway()
        ns = self.ns
        ns[DAY] = now
        self.counts[index] += 1
        action, effects, effect_code, rules, action_outcomes, outcomes_on = \
            self.plan.steps[index]
        changed: list[str] = []
        if effects:
            # Simultaneous assignment: every effect reads the values before the action.
            try:
                values = eval(effect_code, GLOBALS, ns)  # noqa: S307
            except (ArithmeticError, ValueError, TypeError):
                # Evaluate one by one to say which effect failed (raises EvalError).
                values = [expr(ns) for _, expr, _, _ in effects]
            for (var, expr, low, high), value in zip(effects, values, strict=True):
                value = float(value)
                if not -INF < value < INF:  # also rejects NaN
                    raise EvalError(f"effect on '{var}' gave {value:g} ({expr.label}); "
                                    "state values must stay finite (add min/max to the "
                                    "state variable?)")
                if low is not None and value < low:
                    value = low
                elif high is not None and value > high:
                    value = high
                if value != ns[var]:
                    ns[var] = value
                    changed.append(var)
        if action.rung is not None:
            target = max(self.rung, action.rung) if action.rung_mode == "raise" else action.rung
            if target != self.rung:
                peak = self.peak
                self._move_rung(target, now)
                changed.append(RUNG)
                if self.peak != peak:
                    changed.append(PEAK)
        if self.trace:
            self.events.append(TraceEvent(now, index, dict(ns)))
        outcome_days = self.outcome_days
        for o in action_outcomes:
            if outcome_days[o] == INF:
                outcome_days[o] = now
        if changed:
            for o, when in outcomes_on:
                if outcome_days[o] == INF and when(ns):
                    outcome_days[o] = now
        if action.ends_run:
            self._finish(action.id, now)
            return
        for rule, source, when, probability in rules:
            rng = self.rngs[source] or self.streams[source]
            # Always draw, even when `when` is false or p is 0 or 1, so that variants stay
            # aligned draw for draw (common random numbers).
            u = rng.random()
            if when is not None and not when(ns):
                continue
            p = probability.const
            if p is None:
                p = self._probability(probability)
            if u < p:
                self._timeout(rule.delay.sample(rng), self._on_response, rule)
        # Only rates that read a value that really changed are recomputed, and a clock is
        # redrawn only if its rate differs (memorylessness makes keeping it exact).
        if changed:
            key = changed[0] if len(changed) == 1 else tuple(changed)
            todo, code = self.plan.rate_batches.get(key) or self.plan.rate_batch(key)
            if code is not None:
                self._recompute(todo, code)

    def _recompute(self, todo: tuple[int, ...], code: Any) -> None:
        """Re-arm those of processes ``todo`` whose rate (tuple ``code``) changed."""
        rates, processes, waiting = self.rates, self.model.processes, self.waiting
        try:
            # All the rates that read a changed value, in one eval (indices, not Process
            # objects: hashing frozen dataclasses is costly here).
            values = eval(code, GLOBALS, self.ns)  # noqa: S307
        except (ArithmeticError, ValueError, TypeError):
            values = None
        if values is None:
            # Rare: one of them failed; take them one by one to report which (and to skip,
            # as always, the processes not started yet).
            for i in todo:
                process = processes[i]
                rate = self._rate_of(process)
                if rate != rates[i]:
                    self._arm_at(i, rate)
            return
        versions = self.versions
        for i, rate in zip(todo, values, strict=True):
            if rate != rates[i]:
                if waiting and i in waiting:
                    continue  # not started yet: its rate is 0 until begin() arms it
                if not 0.0 <= rate < INF:  # also rejects NaN
                    self._bad_rate(processes[i], rate)
                # _arm_at(i, rate), inlined: this loop is the engine's hottest.
                rates[i] = rate = float(rate)
                version = versions[i] = versions[i] + 1
                if rate > 0:
                    self._clock(i, version, rate)

    def _move_rung(self, target: int, now: float) -> None:
        initial = self.model.initial_rung
        first = self.first_reach
        # A rung above the start is reached when the rung is at or above it; one below
        # the start (settlement, ceasefire) when the rung is at or below it.
        span = range(initial + 1, target + 1) if target > initial else range(target, initial)
        for k in span:
            if first[k] == INF:
                first[k] = now
        self.rung = target
        self.ns[RUNG] = float(target)
        if target > self.peak:
            self.peak = target
            self.ns[PEAK] = float(target)
        self.rung_path.append((now, target))

    def _finish(self, reason: str, now: float) -> None:
        self.done = True
        self.terminal = reason
        self.end_day = now
        if not self.stop.triggered:
            self.stop.succeed()

    # -- run ------------------------------------------------------------------------------
    def begin(self) -> None:
        """Put the schedule, the rate clocks and the cadence processes on the calendar."""
        model, env = self.model, self.env
        with self._located():
            for outcome in self.plan.when_outcomes:
                if outcome.when is not None and outcome.when(self.ns):
                    self.outcome_days[outcome.index] = 0.0
            for item in model.schedule:
                self._timeout(item.day, self._on_scheduled, item)
            for process in self.plan.rate_processes:
                if process.start > 0:
                    self._timeout(process.start, self._on_start, process)
                else:
                    self._arm(process)
            for process in self.plan.cadence_processes:
                # Callbacks rather than a generator process: no process resumption per tick.
                env.schedule(Due(self._on_tick, (process, 0)), NORMAL,  # type: ignore[arg-type]
                             process.start)
        # The horizon is inclusive: its event has a lower priority than every other event,
        # so whatever is due at exactly the horizon (a schedule entry, a cadence decision,
        # a zero-delay cascade) happens before the run ends, whatever order it was queued in.
        horizon = simpy.Event(env)
        horizon._ok, horizon._value = True, None  # a pre-triggered event, as Timeout builds it
        env.schedule(horizon, cast(Any, HORIZON_PRIORITY), model.horizon)
        horizon.callbacks.append(lambda _: self._finish("horizon", model.horizon)
                                 if not self.done else None)

    def advance(self, day: float) -> None:
        """Simulate up to (not including) ``day``, or to the end when day >= horizon."""
        with self._located():
            if day >= self.model.horizon:
                self.env.run(until=self.stop)
            elif day > self.env.now and not self.done:
                self.env.run(until=day)

    def set_levers(self, changes: dict[str, Any]) -> None:
        """Change levers mid-run (interactive play); rates that read them are redrawn."""
        choices = {lv.id: lv for lv in self.model.levers if lv.is_choice}
        self.ns.update({k: float(choices[k].options.index(v)) if k in choices else v
                        for k, v in changes.items()})
        with self._located():
            for process in self.plan.rate_processes:
                if _reads(process.rate, process.when) & changes.keys():
                    self._arm(process)

    # -- the public face for play, games and their continuations ------------------------------
    @property
    def day(self) -> float:
        """The simulated day reached so far."""
        return float(self.env.now)

    def values(self) -> Mapping[str, Any]:
        """Every named value now (levers, parameters, state, rung, peak, day), read-only."""
        return MappingProxyType(self.ns)

    def inject(self, index: int) -> None:
        """Take action ``index`` now, as if a process had chosen it (a player's decision or
        a facilitator's injection): effects, rung, outcomes, rules and rates as always."""
        with self._located():
            self._execute(index, self.env.now)

    def branch(self, seed: int, key: tuple[int, ...]) -> None:
        """Continue on fresh dice: streams from (seed, replication, *key) from now on.

        Every running rate clock is redrawn from the new streams (exact, since the
        exponential is memoryless); responses already scheduled and cadence ticks keep their
        times, as they are part of the state. Parameters keep their drawn values."""
        self.streams = Streams(seed, self.replication, self.plan.n_streams, key)
        self.rngs = self.streams.cache
        with self._located():
            for process in self.plan.rate_processes:
                if process.index not in self.waiting and not self.done:
                    self._arm_at(process.index, self.rates[process.index])

    @contextmanager
    def _located(self) -> Iterator[None]:
        try:
            yield
        except EvalError as exc:
            raise ModelRuntimeError(f"replication {self.replication}, day "
                                    f"{self.env.now:.2f}: {exc}; "
                                    f"{_state_text(self.model, self.ns)}") from None

    def record(self) -> Record:
        """The flat record of what happened so far."""
        model, ns = self.model, self.ns
        return Record(
            replication=self.replication, peak=self.peak, final_rung=self.rung,
            end_day=self.end_day, terminal=self.terminal,
            first_reach=tuple(self.first_reach), outcome_days=tuple(self.outcome_days),
            action_counts=tuple(self.counts),
            final_state=tuple(float(ns[s.id]) for s in model.state),
            parameters=tuple(self.parameters), rung_path=tuple(self.rung_path),
            events=tuple(self.events), n_events=self.n_events)

    def run(self) -> Record:
        """Simulate the whole replication."""
        self.begin()
        self.advance(self.model.horizon)
        return self.record()


# The public name of a replication driven step by step (play mode, the crisis game).
Replication = _Replication

"""Exact answers for Markovian scenarios: the continuous-time Markov chain, solved.

When every random time in a scenario is exponential (rate processes, exponential rule
delays) and nothing depends on the calendar (no parameters drawn at random, no cadences,
no schedule, no expression reading ``day``), the engine simulates a continuous-time Markov
chain. :func:`solve` builds that chain explicitly and computes its transient distribution
with :func:`scipy.sparse.linalg.expm_multiply`, so Monte Carlo estimates can be checked
against exact numbers.

A state of the chain is what the future depends on plus what the answers need:

* the values of the state variables, the current rung and the peak (what expressions read);
* how many responses of each exponential-delay rule are pending (each fires at 1/mean);
* bitmasks of the rungs reached and the outcomes occurred so far, so that
  P(first reach rung r by t) is simply P(bit r is set at t);
* or, once an ``ends_run`` action happened, only (that action, the two bitmasks): the run
  is over and the state is absorbing.

Semantics follow :mod:`sim.engine` exactly: effects are simultaneous and clipped, the rung
is raised (or set), outcomes are marked, ``ends_run`` absorbs, and every rule on the action
whose ``when`` holds schedules a response with its probability. A response with delay 0
is instantaneous: like the engine's zero timeouts, such responses run in first-in,
first-out order after the action, each choosing its action when it runs. Chains of them are
"vanishing" configurations (as in generalised stochastic Petri nets), eliminated by solving
for their absorption probabilities into ordinary states, so even cycles are exact.

Pure: no printing, no files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import expm_multiply, spsolve

from ..errors import NotMarkovianError, UsageError
from ..run.engine import ModelRuntimeError
from ..spec.expr import EvalError, Expr
from ..spec.model import DAY, PEAK, RUNG, Choice, Model, Process, Rule

MAX_STATES = 50_000
HORIZON = "horizon"

FloatArray = npt.NDArray[np.float64]


class Live(NamedTuple):
    """A state of a run still going."""

    vals: tuple[float, ...]
    rung: int
    peak: int
    pending: tuple[int, ...]
    reach: int
    out: int


class Ended(NamedTuple):
    """The absorbing state after an ``ends_run`` action (the rest no longer matters)."""

    action: int
    reach: int
    out: int


State = Live | Ended
# (probability, state after an action, zero-delay rules it queued)
Branch = tuple[float, State, tuple[int, ...]]
Vanishing = tuple[Live, tuple[int, ...]]


@dataclass(frozen=True)
class ExactResult:
    """Exact probabilities on a grid of days.

    ``reach[r, k]``: P(rung r first reached by ``days[k]``) with the engine's meaning of
    reach; ``outcome[o, k]``: P(outcome o occurred by ``days[k]``); ``terminal``: P(the run
    ended by each ``ends_run`` action, or ran to the ``horizon``); ``n_states``: size of
    the chain.
    """

    days: FloatArray
    reach: FloatArray
    outcome: FloatArray
    terminal: dict[str, float]
    n_states: int
    rung_ids: tuple[str, ...] = ()
    outcome_ids: tuple[str, ...] = ()

    def rung(self, rung_id: str) -> FloatArray:
        """The reach curve of one rung."""
        return self.reach[self.rung_ids.index(rung_id)]

    def outcome_curve(self, outcome_id: str) -> FloatArray:
        """The cumulative curve of one outcome."""
        return self.outcome[self.outcome_ids.index(outcome_id)]


# -- what cannot be solved exactly --------------------------------------------------------
def _expressions(model: Model) -> Iterator[tuple[str, Expr | None]]:
    """Every expression that is evaluated during a run, with its YAML path."""
    def weights(path: str, choice: Choice) -> Iterator[tuple[str, Expr | None]]:
        if not choice.single:
            for a, w in zip(choice.actions, choice.weights, strict=True):
                yield f"{path}.choose.{model.actions[a].id}", w

    for var in model.state:
        yield f"state.{var.id}.initial", var.initial
    for action in model.actions:
        for effect in action.effects:
            yield f"actions.{action.id}.effects.{effect.var}", effect.expr
    for proc in model.processes:
        yield f"processes.{proc.id}.rate", proc.rate
        yield f"processes.{proc.id}.when", proc.when
        yield from weights(f"processes.{proc.id}", proc.choice)
    for rule in model.rules:
        yield f"rules.{rule.id}.probability", rule.probability
        yield f"rules.{rule.id}.when", rule.when
        yield from weights(f"rules.{rule.id}", rule.choice)
    for outcome in model.outcomes:
        yield f"outcomes.{outcome.id}.when", outcome.when


def _zero_delay(rule: Rule) -> bool:
    return rule.delay.kind == "fixed" and rule.delay.arg("value") == 0.0


def markov_problems(model: Model) -> list[str]:
    """Why ``model`` is not a continuous-time Markov chain (empty when it is)."""
    problems = []
    for param in model.parameters:
        if param.dist.kind != "fixed":
            problems.append(f"parameters.{param.id} is {param.dist.kind}; only fixed "
                            "parameters are Markovian (solve one parameter value at a time)")
    for proc in model.processes:
        if proc.every is not None:
            problems.append(f"processes.{proc.id} has a cadence (every {proc.every:g} days); "
                            "only rate processes are Markovian")
        elif proc.start > 0:
            problems.append(f"processes.{proc.id}.start is {proc.start:g}; a rate process "
                            "that starts later than day 0 is not time-homogeneous")
    for item in model.schedule:
        problems.append(f"schedule.{item.id} is a scheduled event (day {item.day:g}); "
                        "events at fixed days are not Markovian")
    for rule in model.rules:
        if rule.delay.kind == "exponential" or _zero_delay(rule):
            continue
        kind = rule.delay.describe() if rule.delay.kind == "fixed" else rule.delay.kind
        problems.append(f"rules.{rule.id}.delay is {kind}; only exponential (or 0) delays "
                        "are Markovian")
    for path, e in _expressions(model):
        if e is not None and DAY in e.names:
            problems.append(f"{path} reads 'day'; expressions that depend on the calendar "
                            "are not Markovian")
    return problems


# -- the chain -----------------------------------------------------------------------------
class _Chain:
    """Builds the generator of the chain of one model by breadth-first search."""

    def __init__(self, model: Model, max_states: int) -> None:
        self.model = model
        self.max_states = max_states
        base: dict[str, Any] = {lever.id: lever.number for lever in model.levers}
        for param in model.parameters:
            base[param.id] = param.dist.arg("value")
        self.base = base
        self.var_ids = [s.id for s in model.state]
        self.slot = {v: i for i, v in enumerate(self.var_ids)}
        self.bounds = {s.id: (s.low, s.high) for s in model.state}
        self.rate_processes = [p for p in model.processes if p.rate is not None]
        # Exponential-delay rules get a slot in the pending counts; zero-delay ones queue.
        self.exp_rules = [r for r in model.rules if not _zero_delay(r)]
        self.pending_slot = {r.index: i for i, r in enumerate(self.exp_rules)}
        self.rules_on: list[list[Rule]] = [[] for _ in model.actions]
        for rule in model.rules:
            for a in rule.on:
                self.rules_on[a].append(rule)
        self.action_out = [0] * len(model.actions)
        for o in model.outcomes:
            if o.action is not None:
                self.action_out[o.action] |= 1 << o.index
        self.when_outcomes = [o for o in model.outcomes if o.when is not None]
        initial = model.initial_rung
        self.span = []
        for target in range(len(model.rungs)):
            ks = range(initial + 1, target + 1) if target > initial else range(target, initial)
            self.span.append(sum(1 << k for k in ks))
        self._settled: dict[Vanishing, dict[State, float]] = {}

    # -- evaluation, as the engine does it ------------------------------------------------
    def ns(self, s: Live) -> dict[str, Any]:
        ns = dict(self.base)
        ns.update(zip(self.var_ids, s.vals, strict=True))
        ns[RUNG] = float(s.rung)
        ns[PEAK] = float(s.peak)
        return ns

    def clip(self, var: str, value: float) -> float:
        low, high = self.bounds[var]
        if low is not None and value < low:
            return low
        if high is not None and value > high:
            return high
        return value

    def initial(self) -> Live:
        ns = dict(self.base)
        vals = []
        for var in self.model.state:
            v = self.clip(var.id, float(var.initial(ns)))
            ns[var.id] = v
            vals.append(v)
        rung = self.model.initial_rung
        ns[RUNG] = ns[PEAK] = float(rung)
        out = 0
        for o in self.when_outcomes:
            assert o.when is not None
            if o.when(ns):
                out |= 1 << o.index
        return Live(tuple(vals), rung, rung, (0,) * len(self.exp_rules), 1 << rung, out)

    def rate(self, proc: Process, ns: dict[str, Any]) -> float:
        if proc.when is not None and not proc.when(ns):
            return 0.0
        assert proc.rate is not None
        rate = float(proc.rate(ns))
        if rate < 0 or not math.isfinite(rate):
            raise EvalError(f"rate {proc.rate.text!r} evaluated to {rate:g}; rates must "
                            "be finite and >= 0")
        return rate

    @staticmethod
    def choose(choice: Choice, ns: dict[str, Any]) -> list[tuple[int, float]]:
        """(action, probability) of a choice; empty when every weight is 0."""
        if choice.single:
            return [(choice.actions[0], 1.0)]
        weights, total = choice.weights_at(ns)
        if total <= 0:
            return []
        return [(a, w / total) for a, w in zip(choice.actions, weights, strict=True) if w > 0]

    @staticmethod
    def probability(expr: Expr, ns: dict[str, Any]) -> float:
        p = float(expr(ns))
        if not 0.0 <= p <= 1.0:
            raise EvalError(f"probability {expr.text!r} evaluated to {p:g}, outside [0, 1]")
        return p

    # -- one action ------------------------------------------------------------------------
    def act(self, s: Live, a: int) -> list[Branch]:
        """Execute action ``a`` in state ``s``: the possible results and their chances."""
        action = self.model.actions[a]
        ns = self.ns(s)
        vals = s.vals
        if action.effects:
            new = [(e.var, e.expr(ns)) for e in action.effects]  # all read the old values
            changed = list(vals)
            for var, value in new:
                v = self.clip(var, float(value))
                ns[var] = v
                changed[self.slot[var]] = v
            vals = tuple(changed)
        rung, peak, reach = s.rung, s.peak, s.reach
        if action.rung is not None:
            target = max(rung, action.rung) if action.rung_mode == "raise" else action.rung
            if target != rung:
                reach |= self.span[target]
                rung = target
                ns[RUNG] = float(target)
                if target > peak:
                    peak = target
                    ns[PEAK] = float(target)
        out = s.out | self.action_out[a]
        for o in self.when_outcomes:
            bit = 1 << o.index
            assert o.when is not None
            if not out & bit and o.when(ns):
                out |= bit
        if action.ends_run:
            return [(1.0, Ended(a, reach, out), ())]
        branches: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = [(1.0, s.pending, ())]
        for rule in self.rules_on[a]:
            if rule.when is not None and not rule.when(ns):
                continue
            p = self.probability(rule.probability, ns)
            slot = self.pending_slot.get(rule.index)
            grown = []
            for q, pending, queue in branches:
                if p < 1.0:
                    grown.append((q * (1.0 - p), pending, queue))
                if p > 0.0:
                    if slot is None:
                        grown.append((q * p, pending, (*queue, rule.index)))
                    else:
                        more = pending[:slot] + (pending[slot] + 1,) + pending[slot + 1:]
                        grown.append((q * p, more, queue))
            branches = grown
        return [(q, Live(vals, rung, peak, pending, reach, out), queue)
                for q, pending, queue in branches]

    def respond(self, s: Live, rule: Rule) -> list[Branch]:
        """A response of ``rule`` happens in ``s`` (already removed from the pending)."""
        options = self.choose(rule.choice, self.ns(s))
        if not options:
            return [(1.0, s, ())]  # every weight is 0 right now: nothing happens
        return [(q * p, t, queue) for a, q in options for p, t, queue in self.act(s, a)]

    # -- instantaneous cascades ------------------------------------------------------------
    def settle(self, branches: Iterable[Branch]) -> dict[State, float]:
        """Run queued zero-delay responses to completion: distribution of the next state."""
        dist: dict[State, float] = {}
        for p, s, queue in branches:
            if isinstance(s, Ended) or not queue:
                dist[s] = dist.get(s, 0.0) + p
            else:
                for t, q in self._absorb((s, queue)).items():
                    dist[t] = dist.get(t, 0.0) + p * q
        return dist

    def _absorb(self, start: Vanishing) -> dict[State, float]:
        cached = self._settled.get(start)
        if cached is not None:
            return cached
        index: dict[Vanishing, int] = {start: 0}
        order = [start]
        to_vanishing: list[tuple[int, int, float]] = []
        to_state: list[tuple[int, State, float]] = []
        k = 0
        while k < len(order):
            s, queue = order[k]
            rule = self.model.rules[queue[0]]
            rest = queue[1:]
            for p, t, more in self.respond(s, rule):
                if isinstance(t, Ended) or not (rest or more):
                    to_state.append((k, t, p))
                    continue
                config = (t, rest + more)
                j = index.get(config)
                if j is None:
                    if len(order) >= self.max_states:
                        raise NotMarkovianError(
                            f"an instantaneous cascade of zero-delay responses (rules."
                            f"{rule.id}) passes through more than {self.max_states:,} "
                            "configurations; give the rules a delay or bound the state")
                    j = index[config] = len(order)
                    order.append(config)
                to_vanishing.append((k, j, p))
            k += 1
        targets: dict[State, int] = {}
        for _, t, _ in to_state:
            targets.setdefault(t, len(targets))
        n, m = len(order), len(targets)
        b = np.zeros((n, m))
        for i, t, p in to_state:
            b[i, targets[t]] += p
        if to_vanishing:
            a = sp.identity(n, format="csr") - sp.csr_matrix(
                ([p for _, _, p in to_vanishing],
                 ([i for i, _, _ in to_vanishing], [j for _, j, _ in to_vanishing])),
                shape=(n, n))
            try:
                x = np.asarray(spsolve(a.tocsc(), b) if n > 500 else
                               np.linalg.solve(a.toarray(), b)).reshape(n, m)
            except (np.linalg.LinAlgError, RuntimeError):
                x = np.full((n, m), np.nan)
        else:
            x = b
        total = x.sum(axis=1)
        if not np.all(np.abs(total - 1.0) < 1e-9):
            rules = sorted({self.model.rules[q[0]].id for _, q in order})
            raise NotMarkovianError(
                "an instantaneous cascade of zero-delay responses never ends (rules "
                f"{', '.join(rules)}): the engine would loop forever at one instant")
        names = list(targets)
        for i, config in enumerate(order):
            row = {names[j]: float(x[i, j]) for j in np.flatnonzero(x[i])}
            self._settled[config] = row
        return self._settled[start]

    # -- the whole chain -------------------------------------------------------------------
    def transitions(self, s: Live) -> Iterator[tuple[float, dict[State, float]]]:
        """(rate, distribution of the next state) of every clock running in ``s``."""
        ns = self.ns(s)
        for proc in self.rate_processes:
            rate = self.rate(proc, ns)
            if rate <= 0:
                continue
            options = self.choose(proc.choice, ns)
            if options:
                yield rate, self.settle((q * p, t, queue) for a, q in options
                                        for p, t, queue in self.act(s, a))
        for rule, count in zip(self.exp_rules, s.pending, strict=True):
            if count:
                slot = self.pending_slot[rule.index]
                fewer = s.pending[:slot] + (count - 1,) + s.pending[slot + 1:]
                yield count / rule.delay.arg("mean"), self.settle(
                    self.respond(s._replace(pending=fewer), rule))

    def build(self) -> tuple[list[State], sp.csr_matrix]:
        """All reachable states (the initial one first) and the generator matrix."""
        start = self.initial()
        index: dict[State, int] = {start: 0}
        order: list[State] = [start]
        rows: list[int] = []
        cols: list[int] = []
        rates: list[float] = []
        k = 0
        while k < len(order):
            s = order[k]
            if isinstance(s, Live):
                for rate, dist in self.transitions(s):
                    for t, p in dist.items():
                        if t == s or p <= 0.0:
                            continue
                        j = index.get(t)
                        if j is None:
                            if len(order) >= self.max_states:
                                raise NotMarkovianError(self._too_big(order))
                            j = index[t] = len(order)
                            order.append(t)
                        rows.append(k)
                        cols.append(j)
                        rates.append(rate * p)
            k += 1
        n = len(order)
        q = sp.csr_matrix((rates, (rows, cols)), shape=(n, n))
        q = q - sp.diags(np.asarray(q.sum(axis=1)).ravel())
        return order, sp.csr_matrix(q)

    def _too_big(self, order: list[State]) -> str:
        live = [s for s in order if isinstance(s, Live)]
        growth = []
        for i, var in enumerate(self.var_ids):
            values = {s.vals[i] for s in live}
            growth.append((len(values), f"state variable '{var}' ({len(values)} values so "
                                        f"far, up to {max(values):g})"))
        for i, rule in enumerate(self.exp_rules):
            most = max(s.pending[i] for s in live)
            growth.append((most, f"pending responses of rules.{rule.id} (up to {most})"))
        growth.sort(key=lambda g: -g[0])
        biggest = "; the largest dimensions: " + ", ".join(g[1] for g in growth[:3]) \
            if growth else ""
        return (f"the Markov chain has more than {self.max_states:,} states{biggest}. "
                "Bound what grows (a min/max on state variables, a 'when' that stops a "
                "process) so that the chain is finite")


# -- solving -------------------------------------------------------------------------------
def _propagate(qt: sp.csr_matrix, p0: FloatArray, times: FloatArray) -> FloatArray:
    """p0 · exp(Q t) for each t of the sorted, distinct ``times`` (rows of the result)."""
    n_times = len(times)
    if qt.nnz == 0:
        return np.tile(p0, (n_times, 1))
    steps = np.diff(times)
    if times[0] == 0.0 and n_times > 1 and np.allclose(steps, steps[0], rtol=0, atol=1e-12):
        out = expm_multiply(qt, p0, start=0.0, stop=float(times[-1]), num=n_times,
                            endpoint=True)
        return np.asarray(out, dtype=float)
    out = np.empty((n_times, len(p0)))
    p, now = p0, 0.0
    for i, t in enumerate(times):
        if t > now:
            p = np.asarray(expm_multiply(qt * (t - now), p), dtype=float)
            now = t
        out[i] = p
    return out


def require_markov(model: Model) -> None:
    """Raise NotMarkovianError naming every element that prevents an exact solution (a
    quick check: callers may ask before a long simulation whose result it would check)."""
    problems = markov_problems(model)
    if problems:
        shown = problems[:12]
        more = f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise NotMarkovianError(f"cannot solve '{model.id}' exactly ({len(problems)} "
                                "non-Markovian elements):\n  - " + "\n  - ".join(shown) + more)


def solve(model: Model, days: npt.ArrayLike | None = None, *,
          max_states: int = MAX_STATES) -> ExactResult:
    """Exact reach, outcome and terminal probabilities of a Markovian scenario.

    ``days`` (default: every whole day 0..horizon) must lie in [0, horizon]. Raises
    NotMarkovianError naming what prevents an exact solution, and ModelRuntimeError when
    an expression fails or gives an impossible value in some reachable state.
    """
    require_markov(model)
    horizon = float(model.horizon)
    grid = np.arange(int(horizon) + 1, dtype=float) if days is None else \
        np.asarray(days, dtype=float).reshape(-1)
    if grid.size and (not np.all(np.isfinite(grid)) or grid.min() < 0 or grid.max() > horizon):
        raise UsageError(f"days must lie in [0, {horizon:g}] (the scenario's horizon)")
    chain = _Chain(model, max_states)
    try:
        order, q = chain.build()
    except EvalError as exc:
        raise ModelRuntimeError(f"exact solver: {exc}") from None
    n = len(order)
    times = np.unique(np.append(grid, horizon))
    p0 = np.zeros(n)
    p0[0] = 1.0
    probs = np.clip(_propagate(sp.csr_matrix(q.T), p0, times), 0.0, 1.0)
    at = np.searchsorted(times, grid)

    reach_masks = np.array([s.reach for s in order], dtype=np.int64)
    out_masks = np.array([s.out for s in order], dtype=np.int64)
    reach_ind = np.array([(reach_masks >> r) & 1 for r in range(len(model.rungs))],
                         dtype=float).reshape(len(model.rungs), n)
    out_ind = np.array([(out_masks >> o) & 1 for o in range(len(model.outcomes))],
                       dtype=float).reshape(len(model.outcomes), n)
    reach = np.clip(reach_ind @ probs[at].T, 0.0, 1.0)
    outcome = np.clip(out_ind @ probs[at].T, 0.0, 1.0)

    final = probs[-1]
    terminal = {a.id: 0.0 for a in model.actions if a.ends_run}
    terminal[HORIZON] = 0.0
    for s, p in zip(order, final, strict=True):
        key = model.actions[s.action].id if isinstance(s, Ended) else HORIZON
        terminal[key] += float(p)
    return ExactResult(days=grid, reach=reach, outcome=outcome, terminal=terminal,
                       n_states=n, rung_ids=tuple(r.id for r in model.rungs),
                       outcome_ids=tuple(o.id for o in model.outcomes))

"""Rare outcomes by conditional Monte Carlo: exact in expectation, far less variance.

A crude estimate of P(outcome by the horizon) counts the runs where it happened; for an
outcome of probability 0.2% that is one run in 500, and almost every run contributes
nothing. Conditional Monte Carlo replaces the rare *last step* by its probability:

* **a rate process** whose every firing produces the outcome (``tactical_nuclear_risk``
  produces ``nuclear_use``). Given the rest of the run, its firings are a Poisson process of
  intensity rate(t), so the chance that it fires at all before the run ends is
  1 - exp(-Lambda), Lambda = the integral of its rate over the run;
* **a rule** whose every response produces the outcome (``nuclear_use_escalates``
  produces ``strategic_exchange``). Each time it is triggered at day t with probability p,
  its response comes in time with probability p * F(end - t), F the delay's CDF.

These last steps are *suppressed* (they draw nothing and change nothing), every other part
of the run is simulated as usual, and the run scores

    Y = 1                                        if the outcome happened by another route,
    Y = 1 - exp(-Lambda) * prod_j (1 - p_j F(end - t_j))   otherwise,

the exact probability of the outcome given the run. E[Y] is the outcome's probability
(the suppressed run is the real run up to the moment the outcome would have happened, and
the suppressed steps draw from their own random streams), and Var[Y] <= Var[indicator].

A suppressed run differs from the ordinary one only after a suppressed step would have
produced the outcome, so the engine runs each replication once, as usual, watching the last
steps; only replications where one of them did produce the outcome (about as often as the
outcome itself) are run again with it suppressed. The ordinary record is never touched.

Pure: no printing, no files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, NamedTuple

from ..errors import UsageError
from ..spec.distributions import Distribution
from ..spec.expr import EvalError, Expr, safe_globals
from ..spec.metric import AS_OUTCOME, Metric, resolve
from ..spec.model import PEAK, Model, Process
from .engine import Observer, Plan, Replication
from .record import Record

# The globals of the rate evaluations at the lattice's nodes (no builtins).
_GLOBALS = safe_globals()
# The 97.5% normal quantile, as sim.results.stats.Z95 (that stage sits above this one).
Z95 = 1.959963984540054


class FinalSteps(NamedTuple):
    """The stochastic steps whose every occurrence produces an outcome."""

    processes: tuple[int, ...]  # rate processes (indices into model.processes)
    rules: tuple[int, ...]  # rules (indices into model.rules)


class RareTarget(NamedTuple):
    """An outcome or rung to estimate by conditional Monte Carlo."""

    id: str
    metric: Metric  # the outcome or rung (an id naming both means the outcome)
    steps: FinalSteps
    private: tuple[int, ...]  # parameters read only by the last steps (averaged over)
    # For each suppressed process, the names its rate reads that may change during a run.
    keys: tuple[tuple[int, tuple[str, ...]], ...]
    # For each suppressed rule, the actions whose triggers matter: a trigger by an action
    # that produces the target itself never does (the target has happened then).
    triggers: tuple[tuple[int, tuple[int, ...]], ...]

    @property
    def name(self) -> str:
        """The outcome's (or rung's) name."""
        return self.metric.name


def _threshold(model: Model, when: Any) -> int | None:
    """The rung r such that ``when`` (reading only ``peak``) holds exactly when peak >= r."""
    truth = [bool(when({PEAK: float(k)})) for k in range(len(model.rungs))]
    if not any(truth):
        return None
    first = truth.index(True)
    return first if all(truth[first:]) else None


def _producing_actions(model: Model, metric: str) -> tuple[Metric, set[int]]:
    """An outcome or rung id's metric and the actions that produce it."""
    target = resolve(model, metric, AS_OUTCOME)
    if not target.is_rung:
        o = model.outcomes[target.index]
        if o.action is not None:
            return target, {o.action}
        assert o.when is not None
        rung = _threshold(model, o.when) if o.when.names <= {PEAK} else None
        if rung is None:
            raise UsageError(
                f"outcome '{metric}' ({o.when.text}) is neither marked by an action nor "
                "a condition 'peak >= RUNG': conditional Monte Carlo needs to know which "
                "actions produce it")
        return target, _rung_actions(model, rung)
    if target.index <= model.initial_rung:
        raise UsageError(f"rung '{metric}' is not above the starting rung: it is not "
                         "a rare escalation")
    return target, _rung_actions(model, target.index)


def _rung_actions(model: Model, rung: int) -> set[int]:
    return {a.index for a in model.actions if a.rung is not None and a.rung >= rung}


def rare_target(model: Model, metric: str) -> RareTarget:
    """The last steps of an outcome (or rung above the start), or UsageError saying why
    conditional Monte Carlo cannot help with it."""
    target, producing = _producing_actions(model, metric)
    processes = tuple(p.index for p in model.processes
                      if p.rate is not None and p.choice.single
                      and p.choice.actions[0] in producing)
    rules = tuple(r.index for r in model.rules
                  if r.choice.single and r.choice.actions[0] in producing)
    if not processes and not rules:
        raise UsageError(f"'{metric}' is never produced by a rate process or a rule's "
                         "response with a single action, so it has no last step to condition "
                         "on; estimate it by plain sampling")
    steps = FinalSteps(processes, rules)
    private = private_parameters(model, steps)
    fixed = {param.id for param in model.parameters}  # constant within a run
    keys = tuple((i, tuple(sorted(_reads(model.processes[i].rate, model.processes[i].when)
                                  - fixed))) for i in processes)
    triggers = tuple((r, tuple(a for a in model.rules[r].on if a not in producing))
                     for r in rules)
    return RareTarget(metric, target, steps, private, keys, triggers)


def _expressions(obj: Any) -> Iterator[Expr]:
    """Every expression inside a part of the model (dataclasses and tuples, recursively)."""
    if isinstance(obj, Expr):
        yield obj
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _expressions(item)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _expressions(getattr(obj, f.name))


def private_parameters(model: Model, steps: FinalSteps) -> tuple[int, ...]:
    """Uncertain parameters read by the last steps and by nothing else in the model.

    The suppressed run does not depend on them, so the score can be averaged over their
    whole distribution instead of the one value drawn (see :func:`lattice`)."""
    elsewhere: set[str] = set()
    parts: list[Any] = [model.state, model.actions, model.schedule, model.outcomes]
    parts += [p for p in model.processes if p.index not in steps.processes]
    parts += [r for r in model.rules if r.index not in steps.rules]
    for part in parts:
        for e in _expressions(part):
            elsewhere |= e.names
    mine: set[str] = set()
    for i in steps.processes:
        mine |= _reads(model.processes[i].rate, model.processes[i].when)
    for r in steps.rules:
        mine |= _reads(model.rules[r].probability, model.rules[r].when)
    return tuple(k for k, param in enumerate(model.parameters)
                 if param.id in mine - elsewhere and param.dist.kind != "fixed")


def _reads(*exprs: Expr | None) -> set[str]:
    return {n for e in exprs if e is not None for n in e.names}


NODES = 16
# Generating vector of a rank-1 lattice (Korobov, a = 13, 32 points): the nodes spread
# evenly over the unit cube of the private parameters.
_KOROBOV = 13


class _Column(NamedTuple):
    """One private parameter of a lattice: its index, distribution and the offsets j g / n
    of the nodes from the shift."""

    param: int  # its index in model.parameters
    dist: Distribution
    offsets: tuple[float, ...]


class _Lattice:
    """A lattice of some private parameters, resolved once: every run only shifts it."""

    __slots__ = ("names", "columns")

    def __init__(self, model: Model, private: Sequence[int], nodes: int = NODES) -> None:
        self.names = tuple(model.parameters[k].id for k in private)
        columns, g = [], 1
        for k in private:
            offsets = tuple(j * g / nodes for j in range(nodes))
            columns.append(_Column(k, model.parameters[k].dist, offsets))
            g = g * _KOROBOV % nodes
        self.columns = tuple(columns)

    def points(self, drawn: Sequence[float]) -> list[tuple[float, ...]]:
        """The nodes shifted by the drawn values: one tuple per node, in ``names`` order."""
        if not self.columns:
            return [()]
        values = []
        for k, dist, offsets in self.columns:
            u = dist.cdf(drawn[k])
            values.append(dist.quantiles([(u + o) % 1.0 for o in offsets]))
        return list(zip(*values, strict=True))


def lattice(model: Model, private: Sequence[int], drawn: Sequence[float],
            nodes: int = NODES) -> list[dict[str, float]]:
    """Values of the private parameters at a randomly shifted lattice of ``nodes`` points.

    The shift is the drawn values' own quantiles, uniform and independent of the rest of
    the run, so each node is a draw from the parameters' distribution and the average of
    the scores over the nodes keeps the estimate exact in expectation (node 0 is the drawn
    value itself). Quantiles are clipped to [1e-12, 1 - 1e-12] by ``ppf``."""
    shape = _Lattice(model, private, nodes)
    return [dict(zip(shape.names, point, strict=True)) for point in shape.points(drawn)]


Span = tuple[int, Any]  # (rate process, values of its inputs that change during a run)


class _Trigger(NamedTuple):
    """A trigger of a suppressed rule: the day, the rule, the values its probability reads."""

    day: float
    rule: int
    values: dict[str, Any]


class _Scorer:
    """One target's scoring on one plan, prepared once: what its last steps read, and per
    set of private parameters its lattice and the rate comprehensions' compiled code."""

    def __init__(self, plan: Plan, target: RareTarget) -> None:
        model = plan.model
        self.plan, self.model, self.target = plan, model, target
        self.processes = frozenset(target.steps.processes)
        self.inputs = dict(target.keys)
        self.reads = {i: _reads(model.processes[i].rate, model.processes[i].when)
                      for i in target.steps.processes}
        self.rule_reads = {r: _reads(model.rules[r].probability, model.rules[r].when)
                           for r in target.steps.rules}
        private = {model.parameters[k].id for k in target.private}
        # A process whose condition reads no private parameter is on or off at every node
        # alike: its condition is taken once per span, its rate only where it is on.
        self.gated = frozenset(i for i in target.steps.processes
                               if _gate(model.processes[i], private))
        self._lattices: dict[tuple[frozenset[int], frozenset[int]], _Lattice] = {}

    def lattice(self, processes: frozenset[int], rules: frozenset[int]) -> _Lattice:
        """The lattice of the private parameters read by these processes and rules."""
        shape = self._lattices.get((processes, rules))
        if shape is None:
            used = set().union(*(self.reads[i] for i in processes),
                               *(self.rule_reads[r] for r in rules))
            private = [k for k in self.target.private if self.model.parameters[k].id in used]
            shape = self._lattices[processes, rules] = _Lattice(self.model, private)
        return shape

    def score(self, rep: Replication, spans: dict[Span, float],
              triggers: Sequence[_Trigger]) -> float:
        """The conditional probability of the target given the finished run ``rep`` (with
        its watcher's ``spans`` and this target's ``triggers``), averaged over the lattice
        of its private parameters."""
        if self.target.metric.happened(rep):
            return 1.0
        mine = [(key, span) for key, span in spans.items() if key[0] in self.processes]
        if not mine and not triggers:
            return 0.0
        scope = {**_GLOBALS, **rep.values()}  # the final values; comprehensions bind the rest
        with rep.located():
            on = self._on(mine, scope, rep)
            if not on and not triggers:
                # Every rate is 0 at every node: the sum below would be exactly 0.0.
                return 0.0
            # The nodes are those of every span (on or off), as they always were.
            shape = self.lattice(frozenset(key[0] for key, _ in mine),
                                 frozenset(t.rule for t in triggers))
            points = shape.points(rep.parameters)
            log_none = [0.0] * len(points)
            if on:
                scope["__nodes__"] = points
                rates = self._rates(on, scope, shape.names, rep)
                # In booking order (float sums depend on order); a span whose process is
                # off would subtract exactly 0.0 at each node, so leaving it out is exact.
                for key, span in on:
                    log_none = [x - span * r for x, r in zip(log_none, rates[key], strict=True)]
            if triggers:
                self._add_triggers(rep, triggers, shape.names, points, log_none)
        return math.fsum(-math.expm1(x) for x in log_none) / len(points)

    def _on(self, mine: list[tuple[Span, float]], scope: dict[str, Any], rep: Replication
            ) -> list[tuple[Span, float]]:
        """Of ``mine``, the spans whose process's condition holds (all of an ungated one's)."""
        off: set[Span] = set()
        for i in self.gated & {key[0] for key, _ in mine}:
            when = self.model.processes[i].when
            assert when is not None
            inputs = [values for (j, values), _ in mine if j == i]
            scope["__spans__"] = inputs
            try:
                flags = eval(_compiled(when.python, self.inputs[i]), scope)  # noqa: S307
            except (ArithmeticError, ValueError, TypeError):
                final = dict(rep.values())
                for values in inputs:  # one by one, to raise the error that names it
                    when({**final, **_named(self.inputs[i], values)})
                raise
            off.update((i, values) for values, flag in zip(inputs, flags, strict=True)
                       if not flag)
        return [(key, span) for key, span in mine if key not in off] if off else mine

    def _rates(self, on: list[tuple[Span, float]], scope: dict[str, Any],
               private: tuple[str, ...], rep: Replication) -> dict[Span, list[float]]:
        """Every span's rate at every node of ``scope['__nodes__']``: one evaluation per
        process (``scope``: the run's final values)."""
        plan, points = self.plan, scope["__nodes__"]
        out: dict[Span, list[float]] = {}
        for i in dict.fromkeys(key[0] for key, _ in on):
            inputs = [values for (j, values), _ in on if j == i]
            const = plan.rate_const[i]
            if const is not None:
                rows = [[const] * len(points)] * len(inputs)
            else:
                process = self.model.processes[i]
                assert process.rate is not None
                # The rate alone where its condition was taken once per span above.
                rate = process.rate.python if i in self.gated else plan.rate_python[i]
                scope["__spans__"] = inputs
                rows = self._evaluate(i, _compiled(rate, self.inputs[i], private), scope,
                                      private, rep)
            out.update(zip([(i, values) for values in inputs], rows, strict=True))
        return out

    def _evaluate(self, i: int, code: Any, scope: dict[str, Any], private: tuple[str, ...],
                  rep: Replication) -> list[list[float]]:
        """Process ``i``'s rate (``code``) at each of ``scope['__spans__']`` and nodes."""
        try:
            rows = eval(code, scope)  # noqa: S307 - checked expression text, no builtins
        except (ArithmeticError, ValueError, TypeError):
            rows = None
        if rows is None or not all(0.0 <= r < math.inf for row in rows for r in row):
            # Rare: one by one, to raise the error that names the expression.
            process, names, final = self.model.processes[i], self.inputs[i], dict(rep.values())
            return [[_rate(process, {**final, **_named(names, values),
                                     **dict(zip(private, point, strict=True))})
                     for point in scope["__nodes__"]] for values in scope["__spans__"]]
        return [[float(r) for r in row] for row in rows]

    def _add_triggers(self, rep: Replication, triggers: Sequence[_Trigger],
                      private: tuple[str, ...], points: list[tuple[float, ...]],
                      log_none: list[float]) -> None:
        """Add each trigger's log-probability that its response does not come in time."""
        final, end, rules = dict(rep.values()), rep.end_day, self.model.rules
        for day, r, values in triggers:
            rule = rules[r]
            ns = {**final, **values}
            due = rule.delay.cdf(end - day)
            for j, point in enumerate(points):
                ns.update(zip(private, point, strict=True))
                if rule.when is None or rule.when(ns):
                    p = _probability(rule.probability, ns) * due
                    log_none[j] += math.log1p(-p) if p < 1 else -math.inf


def _gate(process: Process, private: set[str]) -> bool:
    return process.when is not None and not process.when.names & private


def _named(names: tuple[str, ...], values: Any) -> dict[str, Any]:
    """A span's input values by name (one input's value is not in a tuple)."""
    return dict(zip(names, values if len(names) > 1 else (values,), strict=True)) \
        if names else {}


_CODES: dict[tuple[str, tuple[str, ...], tuple[str, ...] | None], Any] = {}


def _compiled(python: str, inputs: tuple[str, ...], private: tuple[str, ...] | None = None
              ) -> Any:
    """``[[python for (private) in __nodes__] for (inputs) in __spans__]``, or without
    ``private`` ``[python for (inputs) in __spans__]``, compiled once.

    The inner comprehension reads the inputs from the outer one's loop, everything else
    (levers, parameters, functions) as globals."""
    code = _CODES.get((python, inputs, private))
    if code is None:
        spans = "_" if not inputs else inputs[0] if len(inputs) == 1 else \
            f"({', '.join(inputs)},)"
        value = python
        if private is not None:
            nodes = f"({', '.join(private)},)" if private else "_"
            value = f"[({python}) for {nodes} in __nodes__]"
        source = f"[({value}) for {spans} in __spans__]"
        code = _CODES[(python, inputs, private)] = compile(source, "<rates at nodes>", "eval")
    return code


class _Note(NamedTuple):
    """A suppressed rule an action triggers, for one target."""

    target: int  # position in the watcher's targets
    rule: int
    names: tuple[str, ...]  # what its probability and condition read


class _Watched(dict[tuple[int, ...], tuple[int, ...]]):
    """Of the processes whose rates are about to change, those watched (made on first
    use: the engine passes one of a few tuples, a plan's rate batches)."""

    def __init__(self, getters: dict[int, Any]) -> None:
        super().__init__()
        self.getters = getters

    def __missing__(self, processes: tuple[int, ...]) -> tuple[int, ...]:
        watched = self[processes] = tuple(i for i in self.getters if i in processes)
        return watched


class _Tables(NamedTuple):
    """What a watcher of some targets looks up while a run goes on, built once."""

    scorers: tuple[_Scorer, ...]
    getters: dict[int, Any]  # per suppressed process: values -> its changing inputs
    notes: dict[int, tuple[_Note, ...]]  # per action: the suppressed rules it triggers
    watched: _Watched


def _tables(scorers: Sequence[_Scorer]) -> _Tables:
    getters = {i: itemgetter(*names) if names else _nothing
               for s in scorers for i, names in s.target.keys}
    notes: dict[int, list[_Note]] = {}
    for k, s in enumerate(scorers):
        for r, actions in s.target.triggers:
            names = tuple(s.rule_reads[r])
            for a in actions:
                notes.setdefault(a, []).append(_Note(k, r, names))
    return _Tables(tuple(scorers), getters, {a: tuple(n) for a, n in notes.items()},
                   _Watched(getters))


class _Watcher(Observer):
    """Books, while a replication runs, what the last steps' probabilities need: how long
    each suppressed rate's inputs held each value (``spans``, once the process has
    started: its rate is 0 before), and the state at every trigger of a suppressed rule.

    The replication it watches is, draw for draw, the ordinary one. Until a last step
    produces the outcome it *is* the suppressed run (the last steps draw only from their
    own streams), so a run where the outcome did not happen needs no second, suppressed
    run (:meth:`Scoring.replicate`).
    """

    def __init__(self, tables: _Tables) -> None:
        self.tables = tables
        self.getters, self.watched = tables.getters, tables.watched
        self.spans: dict[Span, float] = {}  # days spent so, in order of first booking
        # Per process, since when its current span runs and its key (None: not started).
        self.current: dict[int, tuple[float, Span | None]] = {}
        self.triggers: list[list[_Trigger]] = [[] for _ in tables.scorers]
        self.values: Mapping[str, Any] = {}

    def open(self, rep: Replication) -> None:
        """Open every span at the start (after ``rep.begin()``)."""
        self.values = values = rep.values()  # live: it follows the run
        for i, get in self.getters.items():
            self.current[i] = (0.0, (i, get(values)) if rep.has_started(i) else None)

    def close(self, rep: Replication) -> None:
        """Close every span at the run's last day."""
        for i in self.getters:
            self._book(rep, i, rep.end_day)

    def _book(self, rep: Replication, i: int, now: float) -> None:
        """Close process ``i``'s current span at ``now`` and open one at its new inputs."""
        since, key = self.current[i]
        if key is not None and now > since:
            self.spans[key] = self.spans.get(key, 0.0) + (now - since)
        self.current[i] = (now, (i, self.getters[i](self.values))
                           if rep.has_started(i) else None)

    def rates_changing(self, rep: Replication, processes: tuple[int, ...]) -> None:
        for i in self.watched[processes]:
            self._book(rep, i, rep.day)

    def started(self, rep: Replication, process: int) -> None:
        if process in self.getters:
            self._book(rep, process, rep.day)

    def rules_drawn(self, rep: Replication, action: int) -> None:
        # The rules were just evaluated on exactly this state (rules change nothing).
        notes = self.tables.notes.get(action)
        if notes:
            values, now = self.values, rep.day
            for k, r, names in notes:
                self.triggers[k].append(_Trigger(now, r, {n: values[n] for n in names}))

    def score(self, rep: Replication, k: int) -> float:
        """The conditional probability of target ``k`` given the finished run ``rep``."""
        return self.tables.scorers[k].score(rep, self.spans, self.triggers[k])


@contextmanager
def _run(plan: Plan, seed: int, replication: int, tables: _Tables,
         suppress: bool) -> Iterator[tuple[Replication, _Watcher]]:
    """A replication watched for ``tables``' targets, their last steps suppressed or not,
    run to its end; usable in the ``with`` block only (see ``Plan.replication``)."""
    watcher = _Watcher(tables)
    with plan.replication(seed, replication, observer=watcher) as rep:
        if suppress:
            rep.suppress(processes=[i for s in tables.scorers for i in s.target.steps.processes],
                         rules=[r for s in tables.scorers for r in s.target.steps.rules])
        rep.begin()
        watcher.open(rep)
        rep.advance(plan.model.horizon)
        watcher.close(rep)
        yield rep, watcher


def _nothing(ns: Any) -> tuple[()]:
    return ()


def _rate(process: Process, ns: dict[str, Any]) -> float:
    if process.when is not None and not process.when(ns):
        return 0.0
    assert process.rate is not None
    rate = float(process.rate(ns))
    if not 0.0 <= rate < math.inf:
        raise EvalError(f"rate {process.rate.text!r} evaluated to {rate:g}; rates must be "
                        "finite and >= 0")
    return rate


def _probability(expr: Expr, ns: dict[str, Any]) -> float:
    p = float(expr(ns))
    if not 0.0 <= p <= 1.0:
        raise EvalError(f"probability {expr.text!r} evaluated to {p:g}, outside [0, 1]")
    return p


class Replicated(NamedTuple):
    """One replication's ordinary record, each target's conditional score, and for each
    target whether it took a second, suppressed run (it happened in the first)."""

    record: Record
    scores: list[float]
    reruns: list[bool]


class Scoring:
    """Conditional Monte Carlo of some targets on one plan. What does not change from run
    to run (the watchers' tables, the lattices, the compiled rate comprehensions) is
    prepared here once, not in every replication."""

    def __init__(self, plan: Plan, targets: Sequence[RareTarget]) -> None:
        self.plan = plan
        scorers = [_Scorer(plan, t) for t in targets]
        self.tables = _tables(scorers)
        # A re-run watches one target, its own last steps suppressed.
        self.alone = [_tables([s]) for s in scorers]

    def replicate(self, seed: int, replication: int) -> Replicated:
        """Replication ``replication``: its ordinary record and every target's score."""
        scores, reruns = [], []
        plan = self.plan
        with _run(plan, seed, replication, self.tables, suppress=False) as (rep, watcher):
            record = rep.record()
            for k, scorer in enumerate(self.tables.scorers):
                again = scorer.target.metric.happened(rep)
                if again:
                    with _run(plan, seed, replication, self.alone[k],
                              suppress=True) as (suppressed, seen):
                        scores.append(seen.score(suppressed, 0))
                else:
                    scores.append(watcher.score(rep, k))
                reruns.append(again)
        return Replicated(record, scores, reruns)


class RareSums(NamedTuple):
    """Mergeable sums of one target's conditional scores over replications."""

    n: int
    total: float
    squares: float
    reruns: int

    def merge(self, other: RareSums) -> RareSums:
        """The sums of both (merge in chunk order: floating sums depend on order)."""
        return RareSums(self.n + other.n, self.total + other.total,
                        self.squares + other.squares, self.reruns + other.reruns)


EMPTY = RareSums(0, 0.0, 0.0, 0)


def chunk_sums(scores: Sequence[Sequence[float]], reruns: Sequence[Sequence[bool]],
               n_targets: int) -> list[RareSums]:
    """Per-target sums of a chunk's scores (``scores[i][t]``: replication i, target t)."""
    out = []
    for t in range(n_targets):
        column = [s[t] for s in scores]
        out.append(RareSums(len(column), math.fsum(column), math.fsum(y * y for y in column),
                            sum(r[t] for r in reruns)))
    return out


class RareEstimate(NamedTuple):
    """A conditional Monte Carlo estimate with its 95% interval (normal, from the sample
    variance of the scores) and the crude runs that would give the same precision."""

    id: str
    name: str
    runs: int
    p: float
    low: float
    high: float
    std_error: float
    equivalent_runs: float  # crude replications with the same standard error
    reruns: int  # replications run a second time with the last step suppressed

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2

    @property
    def relative_half_width(self) -> float:
        """Half-width as a share of the estimate (inf while the estimate is 0)."""
        return self.half_width / self.p if self.p > 0 else math.inf

    @property
    def variance_ratio(self) -> float:
        """Crude variance p(1-p) over the conditional scores' variance (per run)."""
        return self.equivalent_runs / self.runs if self.runs else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**self._asdict(), "method": "conditional Monte Carlo",
                "relative_half_width": self.relative_half_width}


def estimate(target: RareTarget, sums: RareSums, z: float = Z95) -> RareEstimate:
    """The estimate of ``target`` from its merged sums."""
    n = sums.n
    if n == 0:
        return RareEstimate(target.id, target.name, 0, math.nan, 0.0, 1.0, math.inf, 0.0, 0)
    p = sums.total / n
    var = max(0.0, (sums.squares - n * p * p) / (n - 1)) if n > 1 else math.inf
    se = math.sqrt(var / n)
    crude = p * (1 - p)
    equivalent = n * crude / var if var > 0 else math.inf
    return RareEstimate(target.id, target.name, n, p, max(0.0, p - z * se),
                        min(1.0, p + z * se), se, equivalent, sums.reruns)


class RareTally:
    """The merged sums of every target over the chunks taken so far (in chunk order)."""

    def __init__(self, targets: Sequence[RareTarget]) -> None:
        self.targets = list(targets)
        self.sums = [EMPTY] * len(self.targets)

    def merge(self, sums: Sequence[RareSums]) -> None:
        """Add one chunk's sums."""
        self.sums = [a.merge(b) for a, b in zip(self.sums, sums, strict=True)]

    def estimates(self, z: float = Z95) -> list[RareEstimate]:
        """Every target's estimate so far."""
        return [estimate(t, s, z) for t, s in zip(self.targets, self.sums, strict=True)]


def simulate_chunk(plan: Plan, seed: int, start: int, stop: int,
                   targets: Sequence[RareTarget]) -> tuple[list[Record], list[RareSums]]:
    """Replications [start, stop): their ordinary records and each target's sums."""
    scoring = Scoring(plan, targets)
    records, scores, reruns = [], [], []
    for i in range(start, stop):
        record, score, rerun = scoring.replicate(seed, i)
        records.append(record)
        scores.append(score)
        reruns.append(rerun)
    return records, chunk_sums(scores, reruns, len(targets))

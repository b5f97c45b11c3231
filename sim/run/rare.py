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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, NamedTuple

from ..errors import UsageError
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


def lattice(model: Model, private: Sequence[int], drawn: Sequence[float],
            nodes: int = NODES) -> list[dict[str, float]]:
    """Values of the private parameters at a randomly shifted lattice of ``nodes`` points.

    The shift is the drawn values' own quantiles, uniform and independent of the rest of
    the run, so each node is a draw from the parameters' distribution and the average of
    the scores over the nodes keeps the estimate exact in expectation (node 0 is the drawn
    value itself). Quantiles are clipped to [1e-12, 1 - 1e-12] by ``ppf``."""
    if not private:
        return [{}]
    columns: dict[str, list[float]] = {}
    g = 1
    for k in private:
        dist = model.parameters[k].dist
        u = dist.cdf(drawn[k])
        columns[model.parameters[k].id] = dist.quantiles([(u + j * g / nodes) % 1.0
                                                          for j in range(nodes)])
        g = g * _KOROBOV % nodes
    return [{name: values[j] for name, values in columns.items()} for j in range(nodes)]


class _Watch:
    """One target's part of a replication: every trigger of its suppressed rules, with
    the values their probability reads."""

    __slots__ = ("target", "processes", "rules", "private", "triggers")

    def __init__(self, target: RareTarget) -> None:
        self.target = target
        self.processes = target.steps.processes
        self.rules = frozenset(target.steps.rules)
        self.private = target.private
        self.triggers: list[tuple[float, int, dict[str, Any]]] = []  # (day, rule, values)


class _Watcher(Observer):
    """Books, while a replication runs, what the last steps' probabilities need: how long
    each suppressed rate's inputs held each value (``spans``), and the state at every
    trigger of a suppressed rule.

    The replication it watches is, draw for draw, the ordinary one. Until a last step
    produces the outcome it *is* the suppressed run (the last steps draw only from their
    own streams), so a run where the outcome did not happen needs no second, suppressed
    run (:func:`_run`).
    """

    def __init__(self, watches: Sequence[_Watch]) -> None:
        self.watches = list(watches)
        keys = {i: names for w in watches for i, names in w.target.keys}
        self.getters = {i: itemgetter(*names) if names else _nothing
                        for i, names in keys.items()}
        # (process, not started yet, values of its inputs) -> days spent so
        self.spans: dict[tuple[int, bool, Any], float] = {}
        self.current: dict[int, tuple[float, tuple[int, bool, Any]]] = {}
        self.triggered_by: dict[int, list[tuple[_Watch, int]]] = {}
        for w in watches:
            for r, actions in w.target.triggers:
                for a in actions:
                    self.triggered_by.setdefault(a, []).append((w, r))
        self.booked: dict[tuple[int, ...], tuple[int, ...]] = {}

    def open(self, rep: Replication) -> None:
        """Open every span at the start (after ``rep.begin()``)."""
        values = rep.values()
        for i, get in self.getters.items():
            self.current[i] = (0.0, (i, not rep.has_started(i), get(values)))

    def close(self, rep: Replication) -> None:
        """Close every span at the run's last day."""
        for i in self.getters:
            self._book(rep, i, rep.end_day)

    def _book(self, rep: Replication, i: int, now: float) -> None:
        """Close process ``i``'s current span at ``now`` and open one at its new inputs."""
        since, key = self.current[i]
        if now > since:
            self.spans[key] = self.spans.get(key, 0.0) + (now - since)
        self.current[i] = (now, (i, not rep.has_started(i), self.getters[i](rep.values())))

    def rates_changing(self, rep: Replication, processes: tuple[int, ...]) -> None:
        watched = self.booked.get(processes)
        if watched is None:
            watched = self.booked[processes] = tuple(i for i in self.getters if i in processes)
        for i in watched:
            self._book(rep, i, rep.day)

    def started(self, rep: Replication, process: int) -> None:
        if process in self.getters:
            self._book(rep, process, rep.day)

    def rules_drawn(self, rep: Replication, action: int) -> None:
        # The rules were just evaluated on exactly this state (rules change nothing).
        notes = self.triggered_by.get(action)
        if notes:
            values, model, now = rep.values(), rep.model, rep.day
            for w, r in notes:
                rule = model.rules[r]
                names = _reads(rule.probability, rule.when)
                w.triggers.append((now, r, {n: values[n] for n in names}))

    def score(self, rep: Replication, w: _Watch) -> float:
        """The conditional probability of ``w``'s target given the finished run ``rep``,
        averaged over the lattice of its private parameters."""
        if w.target.metric.happened(rep):
            return 1.0
        model = rep.model
        spans = [(i, values, span) for (i, waiting, values), span in self.spans.items()
                 if not waiting and i in w.processes]
        if not spans and not w.triggers:
            return 0.0
        used = _reads(*(e for i, _, _ in spans
                        for e in (model.processes[i].rate, model.processes[i].when)))
        used |= _reads(*(e for _, r, _ in w.triggers
                         for e in (model.rules[r].probability, model.rules[r].when)))
        private = [k for k in w.private if model.parameters[k].id in used]
        nodes = lattice(model, private, rep.parameters)
        log_none = [0.0] * len(nodes)
        final = dict(rep.values())
        with rep.located():
            for i, values, span in spans:
                names = dict(w.target.keys)[i]
                ns = {**final, **dict(zip(names, values if len(names) > 1 else (values,),
                                          strict=True))}
                for j, rate in enumerate(_rates_at(rep.plan, i, ns, nodes)):
                    log_none[j] -= span * rate
            end = rep.end_day
            for day, r, values in w.triggers:
                rule = model.rules[r]
                ns = {**final, **values}
                due = rule.delay.cdf(end - day)
                for j, node in enumerate(nodes):
                    ns.update(node)
                    if rule.when is None or rule.when(ns):
                        p = _probability(rule.probability, ns) * due
                        log_none[j] += math.log1p(-p) if p < 1 else -math.inf
        return math.fsum(-math.expm1(x) for x in log_none) / len(nodes)


def _rates_at(plan: Plan, i: int, ns: dict[str, Any], nodes: list[dict[str, float]]
              ) -> list[float]:
    """Process ``i``'s rate on ``ns`` at every node, in one evaluation."""
    const = plan.rate_const[i]
    if const is not None:
        return [const] * len(nodes)
    names = tuple(nodes[0])
    code = _node_code(plan.rate_python[i], names)
    # The comprehension's inner scope reads the variables as globals.
    scope = {**_GLOBALS, **ns, "__nodes__": [tuple(n.values()) for n in nodes]}
    try:
        rates = eval(code, scope)  # noqa: S307 - checked expression text, no builtins
    except (ArithmeticError, ValueError, TypeError):
        rates = None
    if rates is None or not all(0.0 <= r < math.inf for r in rates):
        process = plan.model.processes[i]
        return [_rate(process, {**ns, **node}) for node in nodes]  # raises, naming it
    return [float(r) for r in rates]


_CODES: dict[tuple[str, tuple[str, ...]], Any] = {}


def _node_code(python: str, names: tuple[str, ...]) -> Any:
    """``[rate for (private parameters) in __nodes__]`` compiled once per process."""
    code = _CODES.get((python, names))
    if code is None:
        target = f"({', '.join(names)},)" if names else "_"
        source = f"[({python}) for {target} in __nodes__]"
        code = _CODES[(python, names)] = compile(source, "<rates at nodes>", "eval")
    return code


@contextmanager
def _run(plan: Plan, seed: int, replication: int, watches: Sequence[_Watch],
         suppress: bool) -> Iterator[tuple[Replication, _Watcher]]:
    """A replication watched for ``watches``, their last steps suppressed or not, run to
    its end; usable in the ``with`` block only (see ``Plan.replication``)."""
    watcher = _Watcher(watches)
    with plan.replication(seed, replication, observer=watcher) as rep:
        if suppress:
            rep.suppress(processes=[i for w in watches for i in w.processes],
                         rules=[r for w in watches for r in w.rules])
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


def replicate(plan: Plan, seed: int, replication: int,
              targets: Sequence[RareTarget]) -> tuple[Record, list[float], list[bool]]:
    """The ordinary record of one replication, each target's conditional score, and for
    each target whether it took a second, suppressed run (it happened in the first)."""
    watches = [_Watch(t) for t in targets]
    scores, reruns = [], []
    with _run(plan, seed, replication, watches, suppress=False) as (rep, watcher):
        record = rep.record()
        for w in watches:
            again = w.target.metric.happened(rep)
            if again:
                w = _Watch(w.target)
                with _run(plan, seed, replication, [w], suppress=True) as (suppressed, seen):
                    scores.append(seen.score(suppressed, w))
            else:
                scores.append(watcher.score(rep, w))
            reruns.append(again)
    return record, scores, reruns


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
    records, scores, reruns = [], [], []
    for i in range(start, stop):
        record, score, rerun = replicate(plan, seed, i, targets)
        records.append(record)
        scores.append(score)
        reruns.append(rerun)
    return records, chunk_sums(scores, reruns, len(targets))

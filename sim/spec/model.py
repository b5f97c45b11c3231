"""The compiled, immutable scenario model that the loader produces and the engine runs.

Everything here is resolved: names are checked, expressions compiled, references turned
into indices where the engine needs speed. Nothing in this module reads files.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol, TypeVar

from .distributions import Distribution
from .expr import EvalError, Expr

RUNG = "rung"
PEAK = "peak"
DAY = "day"


@dataclass(frozen=True)
class Rung:
    """One rung of the escalation ladder; ``index`` 0 is the lowest."""

    id: str
    index: int
    name: str
    description: str = ""
    framework: str = ""


@dataclass(frozen=True)
class Actor:
    """A party to the crisis."""

    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Lever:
    """A policy knob, fixed within a run; what variants, sweeps and --set move.

    ``actor`` names who controls it (used by the interactive play mode)."""

    id: str
    value: float | bool | str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    description: str = ""
    source: str = ""
    actor: str = ""
    options: tuple[str, ...] = ()  # a choice among named options (value is one of them)

    @property
    def is_bool(self) -> bool:
        """True for an on/off lever."""
        return isinstance(self.value, bool)

    @property
    def is_choice(self) -> bool:
        """True for a lever that chooses among named options."""
        return bool(self.options)

    def shown(self, number: Any) -> float | bool | str:
        """A value read from a run (a choice's position) as the user writes it."""
        return self.options[int(number)] if self.options else number

    @property
    def number(self) -> float | bool:
        """The value as expressions read it: a choice is its option's position, and the
        option names are constants with those positions (``us_course == withdraw``)."""
        if isinstance(self.value, str):
            return float(self.options.index(self.value))
        return self.value


@dataclass(frozen=True)
class Parameter:
    """An uncertain quantity, drawn once per replication (epistemic uncertainty).

    ``override`` is a distribution a variant, ``--set`` or a sweep put in its place (a
    pinned value is a ``fixed`` one). The draw from ``dist`` is still taken, so every other
    parameter and source keeps its random numbers (common random numbers)."""

    id: str
    dist: Distribution
    description: str = ""
    source: str = ""
    override: Distribution | None = None

    @property
    def effective(self) -> Distribution:
        """The distribution values come from in this model."""
        return self.override or self.dist


@dataclass(frozen=True)
class StateVar:
    """A number that actions change during a run; clipped to [low, high] when given."""

    id: str
    initial: Expr
    low: float | None = None
    high: float | None = None
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Effect:
    """``var = expr`` applied when an action happens (all effects read the old values)."""

    var: str
    expr: Expr


@dataclass(frozen=True)
class Action:
    """Something an actor can do. ``rung`` raises (or with rung_mode 'set' sets) the rung."""

    id: str
    index: int
    actor: str
    name: str
    rung: int | None = None
    rung_mode: str = "raise"
    effects: tuple[Effect, ...] = ()
    ends_run: bool = False
    narrative: str = ""
    description: str = ""
    seen_by: tuple[str, ...] = ()  # the actors who learn of it in a game; () = everyone

    def seen(self, actor: str) -> bool:
        """Whether ``actor`` learns of this action (its own actions always)."""
        return not self.seen_by or actor == self.actor or actor in self.seen_by


@dataclass(frozen=True)
class Choice:
    """Which action to take: a single action, or one drawn by (expression) weights."""

    actions: tuple[int, ...]
    weights: tuple[Expr, ...]

    @cached_property
    def single(self) -> bool:
        """True when there is nothing to draw or evaluate: one action, fixed positive weight.

        A one-action ``choose`` whose weight is an expression is not single: when its
        weight is 0 nothing happens."""
        return len(self.actions) == 1 and self.weights[0].const is not None and \
            float(self.weights[0].const) > 0

    def weights_at(self, ns: Mapping[str, Any]) -> tuple[Sequence[float], float]:
        """The weights evaluated on ``ns`` and their total; EvalError if one is negative."""
        return self.checked([float(w(ns)) for w in self.weights])

    def checked(self, weights: Sequence[float]) -> tuple[Sequence[float], float]:
        """Evaluated ``weights`` (in the order of ``self.weights``) and their total;
        EvalError naming the first that is negative, infinite or NaN."""
        total = 0.0
        for w in weights:
            if not 0.0 <= w < math.inf:  # also rejects NaN
                expr = next(e for e, v in zip(self.weights, weights, strict=True)
                            if not 0.0 <= v < math.inf)
                raise EvalError(f"weight {expr.label} evaluated to {w:g}; weights must be "
                                "finite and >= 0")
            total += w
        return weights, total


@dataclass(frozen=True)
class ScheduledEvent:
    """An action at a fixed day of the run (dates are converted to days)."""

    id: str
    day: float
    choice: Choice
    when: Expr | None = None
    probability: Expr | None = None
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Process:
    """Recurring behaviour: a Poisson stream at ``rate`` per day, or every ``every`` days."""

    id: str
    index: int
    choice: Choice
    rate: Expr | None = None
    every: float | None = None
    start: float = 0.0
    when: Expr | None = None
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Rule:
    """A reaction: when one of ``on`` happens, respond with ``probability`` after ``delay``."""

    id: str
    index: int
    on: tuple[int, ...]
    choice: Choice
    probability: Expr
    delay: Distribution
    when: Expr | None = None
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Outcome:
    """A named result: a condition that became true, or an action that happened."""

    id: str
    index: int
    name: str
    when: Expr | None = None
    action: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Variant:
    """Named changes to compare against the base scenario: lever values, and parameters
    pinned to a value or given another distribution."""

    id: str
    levers: tuple[tuple[str, float | bool | str], ...]
    description: str = ""
    parameters: tuple[tuple[str, Distribution], ...] = ()

    @property
    def changes(self) -> dict[str, Any]:
        """Everything the variant sets, for :meth:`Model.with_values`."""
        return {**dict(self.levers), **dict(self.parameters)}


@dataclass(frozen=True)
class Model:
    """A whole scenario, validated and compiled. Immutable; share it freely."""

    id: str
    title: str
    description: str
    start: dt.date
    horizon: float
    sources: tuple[tuple[str, str], ...]
    rungs: tuple[Rung, ...]
    initial_rung: int
    actors: tuple[Actor, ...]
    levers: tuple[Lever, ...]
    parameters: tuple[Parameter, ...]
    state: tuple[StateVar, ...]
    actions: tuple[Action, ...]
    schedule: tuple[ScheduledEvent, ...]
    processes: tuple[Process, ...]
    rules: tuple[Rule, ...]
    outcomes: tuple[Outcome, ...]
    variants: tuple[Variant, ...]
    path: str = ""
    digest: str = ""
    seed: int = 1
    applied: tuple[tuple[str, float | bool | str], ...] = field(default=())
    # What the scenario's numbers may know: sources dated after it are flagged by validate.
    information_cutoff: dt.date | None = None  # None only for models built by hand
    source_dates: tuple[tuple[str, dt.date], ...] = field(default=())

    def lever(self, lever_id: str) -> Lever:
        """The lever called ``lever_id`` (KeyError if none)."""
        return _by_id(self.levers, lever_id)

    def rung_index(self, rung_id: str) -> int:
        """Index of the rung called ``rung_id`` (KeyError if none)."""
        return _by_id(self.rungs, rung_id).index

    def action_index(self, action_id: str) -> int:
        """Index of the action called ``action_id`` (KeyError if none)."""
        return _by_id(self.actions, action_id).index

    def variant(self, variant_id: str) -> Variant:
        """The variant called ``variant_id`` (KeyError if none)."""
        return _by_id(self.variants, variant_id)

    def date_of(self, day: float) -> dt.date:
        """Calendar date of a model day."""
        return self.start + dt.timedelta(days=int(day))

    def with_values(self, changes: Mapping[str, Any]) -> Model:
        """A copy with levers set and parameters replaced (values already checked): a lever
        id takes a value, a parameter id a Distribution (a number pins it)."""
        params = {p.id for p in self.parameters}
        overrides = {k: v if isinstance(v, Distribution) else
                     Distribution("fixed", (("value", float(v)),))
                     for k, v in changes.items() if k in params}
        model = self.with_levers({k: v for k, v in changes.items() if k not in params})
        if not overrides:
            return model
        parameters = tuple(replace(p, override=overrides[p.id]) if p.id in overrides else p
                           for p in model.parameters)
        return replace(model, parameters=parameters,
                       applied=model._applied({k: d.describe() for k, d in overrides.items()}))

    def constants(self) -> dict[str, float]:
        """Names expressions read as fixed numbers: rung ids (their index) and the options
        of choice levers (their position)."""
        out = {r.id: float(r.index) for r in self.rungs}
        for lever in self.levers:
            out.update({o: float(k) for k, o in enumerate(lever.options)})
        return out

    def settable(self) -> str:
        """The names a variant, --set or a sweep can change, for messages."""
        levers = ", ".join(lv.id for lv in self.levers) or "none"
        params = ", ".join(p.id for p in self.parameters) or "none"
        return (f"levers: {levers}; parameters (pin with a number, or in a variant give a "
                f"distribution): {params}")

    def with_levers(self, changes: dict[str, Any]) -> Model:
        """A copy with lever values replaced (values must already be checked)."""
        levers = tuple(replace(lv, value=changes[lv.id]) if lv.id in changes else lv
                       for lv in self.levers)
        return replace(self, levers=levers, applied=self._applied(changes))

    def _applied(self, changes: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        """What was applied so far, updated with ``changes`` (a later value wins)."""
        return tuple({**dict(self.applied), **changes}.items())


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_Identified)


def _by_id(items: Iterable[_T], wanted: str) -> _T:
    """The item whose ``id`` is ``wanted`` (KeyError if none)."""
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(wanted)

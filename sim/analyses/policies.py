"""Recommended policies: lever settings people propose, run against the base case.

A policy is the set of levers it changes from the base (a setting equal to the base
changes nothing and is the base case). Distinct policies run together with the base on
common random numbers through :func:`sim.analyses.compare.run_models`, so each difference
from the base comes with a paired interval, exactly as ``sim compare`` reports it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..errors import UsageError
from ..run import runner
from ..spec.model import Lever, Model
from ..spec.settings import parse_lever_value
from .compare import Comparison, run_models

Value = float | bool | str
OPTIONS_PER_RANGE = 5


class Policy(NamedTuple):
    """The lever changes a policy makes, in the scenario's lever order."""

    levers: tuple[tuple[str, Value], ...]

    @property
    def label(self) -> str:
        """``lever=value, ...``, or "base case" for no change."""
        return ", ".join(f"{k}={value_text(v)}" for k, v in self.levers) or "base case"


class Recommended(NamedTuple):
    """A distinct policy and how many people recommended it."""

    policy: Policy
    votes: int


def value_text(value: Any) -> str:
    """A lever value as it is typed: true/false or a short number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{float(value):g}"


def lever_options(lever: Lever) -> tuple[Value, ...]:
    """The values offered for a lever: off/on, or five evenly spaced points of its range
    (four significant digits) and its base value; without a range, 0 to twice the base."""
    if lever.is_bool:
        return (False, True)
    if lever.is_choice:
        return lever.options
    base = float(lever.value)
    if lever.low is not None and lever.high is not None:
        points = np.linspace(lever.low, lever.high, OPTIONS_PER_RANGE)
    else:
        points = np.array([0.0, 0.5, 1.0, 1.5, 2.0]) * (base if base else 1.0)
    values = {float(f"{p:.4g}") for p in points} | {base}
    return tuple(sorted(values))


def policy_of(model: Model, setting: Mapping[str, Any]) -> Policy:
    """The policy of a setting ``{lever: value or text}``: values are checked against the
    lever (UsageError if wrong) and those equal to the base value are dropped."""
    changes = {}
    for lever_id, raw in setting.items():
        value = raw if isinstance(raw, (bool, int, float)) else \
            parse_lever_value(model, lever_id, str(raw))
        value = parse_lever_value(model, lever_id, value_text(value))
        if value != model.lever(lever_id).value:
            changes[lever_id] = value
    return Policy(tuple((lv.id, changes[lv.id]) for lv in model.levers if lv.id in changes))


def distinct(policies: Iterable[Policy], limit: int | None = None
             ) -> tuple[list[Recommended], list[Recommended]]:
    """Distinct non-base policies, most recommended first (then by label); the first
    ``limit`` are kept and the rest returned separately."""
    counts = Counter(p for p in policies if p.levers)
    ordered = sorted((Recommended(p, n) for p, n in counts.items()),
                     key=lambda r: (-r.votes, r.policy.label))
    cut = len(ordered) if limit is None else limit
    return ordered[:cut], ordered[cut:]


def compare_policies(model: Model, policies: Iterable[Policy], runs: int, seed: int,
                     workers: int | None = None, progress: runner.Progress | None = None
                     ) -> Comparison:
    """The base and each policy on the same replications (the base is named "base")."""
    chosen = [p for p in policies if p.levers]
    if len({p.label for p in chosen}) != len(chosen):
        raise UsageError("the policies to compare must be distinct")
    named = [("base", model)] + [(p.label, model.with_levers(dict(p.levers))) for p in chosen]
    return run_models(named, runs, seed, workers, progress)

"""When a run has been precise enough: stopping rules checked at chunk boundaries.

Two forms: an *absolute* half-width (every reported probability's 95% interval at most
that wide on each side), and a *relative* one (``10%``: the named outcomes' intervals at
most 10% of their estimate on each side), which is the form that makes sense for rare
outcomes. The runner asks the rule after each chunk, in chunk order, so the stopping point
is the same for any number of workers.

Pure: no printing, no files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..errors import UsageError
from ..run.aggregate import Aggregate
from ..run.rare import RareTally
from ..spec.metric import AS_OUTCOME, resolve
from ..spec.model import Model
from .stats import wilson, wilson_arrays

MINIMUM_RUNS = 1000


class Precision(NamedTuple):
    """A precision target: a half-width, absolute or relative to the estimate."""

    value: float
    relative: bool

    def __str__(self) -> str:
        return f"{self.value:.4g} relative" if self.relative else f"{self.value:g}"


def parse_precision(text: str) -> Precision:
    """``"10%"`` (relative: 0.10 of the estimate) or ``"0.005"`` (absolute half-width)."""
    raw = text.strip()
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1] if relative else raw)
    except ValueError:
        raise UsageError(f"precision must be a half-width such as 0.005 or a relative one "
                         f"such as 10% (got {text!r})") from None
    if relative:
        if not 0 < value < 100:
            raise UsageError(f"a relative precision must be between 0% and 100% (got {text!r})")
        return Precision(value / 100, True)
    if not 0 < value < 0.5:
        raise UsageError(f"an absolute precision must be in (0, 0.5) (got {text!r})")
    return Precision(value, False)


def widest_half_width(agg: Aggregate) -> float:
    """The largest 95% half-width among the probabilities a run reports."""
    widest = 0.0
    for counts in (agg.reached, agg.outcome_counts):
        if len(counts):
            _, low, high = wilson_arrays(counts, agg.n)
            widest = max(widest, float(((high - low) / 2).max()))
    return widest


def relative_half_widths(model: Model, agg: Aggregate, crude: Sequence[str],
                         rare: RareTally | None) -> dict[str, float]:
    """Each named outcome's 95% half-width as a share of its estimate (inf while 0):
    the crude (Wilson) interval for ``crude``, the conditional one for ``rare``'s targets."""
    out: dict[str, float] = {}
    for metric in crude:
        est = wilson(resolve(model, metric, AS_OUTCOME).count(agg), agg.n)
        out[metric] = est.half_width / est.p if est.p > 0 else float("inf")
    if rare is not None:
        for e in rare.estimates():
            out[e.id] = e.relative_half_width
    return out


def stop_rule(target: Precision, model: Model, minimum: int, crude: Sequence[str] = (),
              rare: RareTally | None = None) -> Callable[[Aggregate], bool]:
    """The rule that says when ``target`` is met (never before ``minimum`` runs)."""
    if target.relative and not crude and (rare is None or not rare.targets):
        raise UsageError("a relative precision needs the outcomes it applies to: name them "
                         "as rare outcomes or as precision outcomes")

    def met(agg: Aggregate) -> bool:
        if agg.n < minimum:
            return False
        if not target.relative:
            return widest_half_width(agg) <= target.value
        widths = relative_half_widths(model, agg, crude, rare)
        return max(widths.values()) <= target.value
    return met

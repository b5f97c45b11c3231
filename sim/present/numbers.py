"""How numbers are printed: one value, one precision, in every table, page and key.

Three rules live here and nowhere else:

- A probability carries as many decimals as its own 95% interval supports
  (:func:`sim.results.stats.decimals_for`), so the same estimate prints the same way in every
  table of a command. A share strictly between 0 and 1 never prints as ``0%`` or ``100%``
  (99.95% is not "certain"): decimals are added until the rounding cannot say so. An exact
  0 or 1 (never seen, seen in every run) prints as ``0%`` or ``100%`` whatever the run
  count: there is nothing to round, so ``0%`` reads the same in a table of 100 runs and one
  of 4,000 (not ``0%`` in one and ``0.00%`` in the other), in tables and plots alike.
- The paired differences of one command (a comparison, a sweep) share one precision, chosen
  from the median width of their intervals.
- A difference is **clear** when its 95% interval *as printed* excludes zero, so that
  ``[0.0, +1.9]`` is never marked clear (the reader cannot see the exclusion) while
  ``[+0.1, +1.9]`` always is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..results.stats import Difference, Estimate, decimals_for

MAX_DECIMALS = 4


def value_text(value: object) -> str:
    """A lever's or parameter's value as a scenario file writes it: ``true``/``false``, a
    number in its shortest form (``0.5``, ``1e+06``), an option's name as it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _fmt(value: float, decimals: int) -> str:
    return f"{value * 100:.{decimals}f}"


def probability_decimals(p: float, half_width: float, places: int | None = None) -> int:
    """Decimals of a percentage: what the interval supports (or ``places``, fixed for a
    column), more if 0 or 100 would lie."""
    if places is None:
        places = decimals_for(half_width) if half_width > 0 else 1
    if not 0 < p < 1:
        return places
    while places < MAX_DECIMALS and float(_fmt(p, places)) in (0.0, 100.0):
        places += 1
    return places


def _share_text(p: float, half_width: float, places: int | None = None) -> str:
    """The one percentage rule: exactly 0 or 1 as ``0%``/``100%``, else the decimals the
    interval supports or ``places`` asks for (never rounded to 0 or 100)."""
    if p == 0 or p == 1:
        return "0%" if p == 0 else "100%"
    return _fmt(p, probability_decimals(p, half_width, places)) + "%"


def percent(est: Estimate) -> str:
    """The point estimate, e.g. ``37%``, ``99.95%`` (never ``100.0%`` for 3998 of 4000);
    ``0%`` and ``100%`` exactly when it happened in no run or in every run."""
    if est.n <= 0 or not math.isfinite(est.p):
        return "n/a"
    return _share_text(est.p, est.half_width)


def interval(est: Estimate) -> str:
    """The 95% interval at the precision its width supports, e.g. ``[35%, 39%]`` (the
    point estimate's, except that an exact ``0%`` or ``100%`` point carries no decimals)."""
    if est.n <= 0 or not math.isfinite(est.p):
        return "(no runs)"
    low, high = interval_ends(est)
    return f"[{low}, {high}]"


def interval_ends(est: Estimate) -> tuple[str, str]:
    """The two ends of the 95% interval as :func:`interval` prints them (``35%``,
    ``39%``), for a page that sets them in its own words ("35% to 39%")."""
    places = probability_decimals(est.p, est.half_width)
    return f"{_fmt(est.low, places)}%", f"{_fmt(est.high, places)}%"


def share(p: float, half_width: float = 0.0, *, places: int | None = None) -> str:
    """A bare share with the same rules, when no Estimate is at hand. ``places`` fixes the
    decimals for a column of stated probabilities (a class's forecasts in whole percents:
    ``share(0.3, places=0)`` is ``30%``); a share strictly between 0 and 1 still never
    prints as ``0%`` or ``100%`` (``share(0.004, places=0)`` is ``0.4%``)."""
    if p != p:  # NaN
        return "n/a"
    return _share_text(p, half_width, places)


def points_decimals(diffs: Iterable[Difference]) -> int:
    """One precision for every paired difference of a command, in percentage points.

    The median interval decides (at least 1 decimal, at most 2): a table whose rows carry
    different numbers of decimals invites reading the count as meaning."""
    return places_for([(d.high - d.low) / 2 for d in diffs if math.isfinite(d.diff)])


def places_for(half_widths: Iterable[float]) -> int:
    """Decimals of points that the typical (median) positive half-width supports (1 to 2):
    a few near-certain rows must not force two decimals on every other row."""
    widths = sorted(w for w in half_widths if w > 0)
    return max(1, decimals_for(widths[len(widths) // 2])) if widths else 1


def points(diff: float, places: int) -> str:
    """A difference in percentage points with its sign, never ``-0.0`` (zero is ``0.0``)."""
    value = round(diff * 100, places)
    if value == 0:
        return f"{0:.{places}f}"
    return f"{value:+.{places}f}"


def points_interval(d: Difference, places: int) -> str:
    """The paired interval, e.g. ``[-2.1, -0.3]``."""
    return f"[{points(d.low, places)}, {points(d.high, places)}]"


def is_clear(d: Difference, places: int) -> bool:
    """The paired interval, rounded as printed, excludes zero."""
    if not math.isfinite(d.diff):
        return False
    return round(d.low * 100, places) > 0 or round(d.high * 100, places) < 0

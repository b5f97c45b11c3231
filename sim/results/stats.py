"""Interval estimates and precision checks. Pure functions of counts; no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The 97.5% point of the standard normal, as scipy.stats.norm.ppf(0.975) gives it (written
# out: importing scipy.stats costs about a second at every start).
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A proportion with its 95% interval: ``k`` successes in ``n`` trials."""

    k: int
    n: int
    p: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2


def wilson(k: int, n: int, z: float = Z95) -> Estimate:
    """Wilson score interval for k successes out of n (n = 0 gives [0, 1])."""
    if n <= 0:
        return Estimate(k, n, math.nan, 0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 or k = n the exact bound is 0 or 1; rounding must not push it past.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Estimate(k, n, p, low, high)


def wilson_arrays(k: np.ndarray, n: int, z: float = Z95) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Vectorised Wilson: (p, low, high) for an array of counts out of n."""
    k = np.asarray(k, dtype=float)
    if n <= 0:
        nan = np.full_like(k, np.nan)
        return nan, np.zeros_like(k), np.ones_like(k)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0, 1))
    return p, low, high


@dataclass(frozen=True)
class Difference:
    """A paired difference of two proportions (variant minus base) with its 95% interval."""

    diff: float
    low: float
    high: float
    n: int
    base: float
    other: float


def paired_difference(both: int, only_base: int, only_other: int, n: int,
                      z: float = Z95) -> Difference:
    """Interval for p_other - p_base from paired binary outcomes (common random numbers).

    Uses Newcombe's method 10 (hybrid score interval for paired proportions, Newcombe 1998,
    Stat Med 17:873), which behaves well near 0 and 1 where the Wald interval fails.
    ``both`` = replications where both had the event, ``only_base``/``only_other`` the
    discordant ones.
    """
    if n <= 0:
        return Difference(math.nan, -1.0, 1.0, n, math.nan, math.nan)
    k_base = both + only_base
    k_other = both + only_other
    p1, p2 = k_other / n, k_base / n
    e1, e2 = wilson(k_other, n, z), wilson(k_base, n, z)
    d = p1 - p2
    neither = n - both - only_base - only_other
    # Correlation term phi of the 2x2 table, zero when a margin is empty.
    a, b, c, dd = both, only_other, only_base, neither
    margins = (a + b) * (c + dd) * (a + c) * (b + dd)
    phi = (a * dd - b * c) / math.sqrt(margins) if margins > 0 else 0.0
    dl = math.sqrt(max(0.0, (p1 - e1.low) ** 2 - 2 * phi * (p1 - e1.low) * (e2.high - p2)
                       + (e2.high - p2) ** 2))
    du = math.sqrt(max(0.0, (e1.high - p1) ** 2 - 2 * phi * (e1.high - p1) * (p2 - e2.low)
                       + (p2 - e2.low) ** 2))
    return Difference(d, max(-1.0, d - dl), min(1.0, d + du), n, p2, p1)


def runs_for_half_width(p: float, half_width: float, z: float = Z95) -> int:
    """Replications needed for a 95% half-width near ``p`` (normal approximation)."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return int(math.ceil(z * z * p * (1 - p) / (half_width * half_width)))


def decimals_for(half_width: float) -> int:
    """Decimal places (of a percentage) that an interval of this half-width supports."""
    if half_width <= 0 or not math.isfinite(half_width):
        return 1
    return int(min(2, max(0, -math.floor(math.log10(half_width * 100)))))

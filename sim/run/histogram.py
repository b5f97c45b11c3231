"""An exact-or-coarsened, mergeable value histogram for quantiles of final state.

Values are kept as integer bin indices ``floor(v * 10**-e)`` at a resolution exponent
``e`` starting at -6 (a millionth). When there are more than ``cap`` distinct bins the
resolution is coarsened tenfold by integer floor division, which is exact and
associative. Merging two histograms takes the coarser resolution and re-coarsens; since
the union of two samples never needs a finer resolution than either part, the result
does not depend on the order of merges. Memory is bounded by ``cap``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

BASE_EXPONENT = -6


@dataclass
class ValueHistogram:
    """Counts of values binned at resolution 10**exponent."""

    cap: int = 2048
    exponent: int = BASE_EXPONENT
    bins: Counter[int] = field(default_factory=Counter)
    n: int = 0

    def add(self, value: float) -> None:
        """Count one value."""
        # round() first so that 0.3 (stored as 0.29999...) lands in the 0.3 bin.
        scaled = round(value * 10.0 ** (-BASE_EXPONENT), 3)
        index = math.floor(scaled) if math.isfinite(scaled) else 0
        index //= 10 ** (self.exponent - BASE_EXPONENT)
        self.bins[index] += 1
        self.n += 1
        if len(self.bins) > self.cap:
            self._coarsen(self.exponent + 1)

    def add_all(self, values: Iterable[float]) -> None:
        """Count many values: the same counts and resolution as adding them one by one.

        Coarsening once at the end gives what coarsening along the way would: the distinct
        bins of a growing sample only grow, so the resolution ends at the finest one whose
        bins of all the values fit the cap, either way (and floor division composes)."""
        scale, factor = 10.0 ** (-BASE_EXPONENT), 10 ** (self.exponent - BASE_EXPONENT)
        isfinite, floor = math.isfinite, math.floor
        indices = []
        for value in values:
            scaled = round(value * scale, 3)  # as in add
            indices.append((floor(scaled) if isfinite(scaled) else 0) // factor)
        self.bins.update(indices)
        self.n += len(indices)
        self._coarsen(self.exponent)

    def _coarsen(self, exponent: int) -> None:
        while True:
            if exponent > self.exponent:
                factor = 10 ** (exponent - self.exponent)
                coarse: Counter[int] = Counter()
                for index, count in self.bins.items():
                    coarse[index // factor] += count
                self.bins, self.exponent = coarse, exponent
            if len(self.bins) <= self.cap:
                return
            exponent += 1

    def merge(self, other: ValueHistogram) -> None:
        """Add another histogram's counts (order of merges does not matter)."""
        if other.exponent > self.exponent:
            self._coarsen(other.exponent)
        factor = 10 ** (self.exponent - other.exponent)
        for index, count in other.bins.items():
            self.bins[index // factor] += count
        self.n += other.n
        self._coarsen(self.exponent)

    def quantiles(self, qs: list[float]) -> list[float]:
        """Quantiles (lower bin edges: exact while no coarsening has happened)."""
        if self.n == 0:
            return [math.nan for _ in qs]
        items = sorted(self.bins.items())
        out = []
        for q in qs:
            target = q * (self.n - 1)
            seen = 0
            value = items[-1][0]
            for index, count in items:
                if seen + count > target:
                    value = index
                    break
                seen += count
            out.append(value * 10.0 ** self.exponent)
        return out

    def mean(self) -> float:
        """Mean of the binned values."""
        if self.n == 0:
            return math.nan
        return sum(i * c for i, c in self.bins.items()) * 10.0 ** self.exponent / self.n

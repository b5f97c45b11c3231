"""Wilson intervals, Newcombe's paired difference, and the precision helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.results.stats import (
    Z95,
    decimals_for,
    paired_difference,
    runs_for_half_width,
    wilson,
    wilson_arrays,
)


def wilson_direct(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval written as in Wilson (1927) / Newcombe (1998)."""
    centre = (2 * k + z * z) / (2 * (n + z * z))
    half = z * math.sqrt(z * z + 4 * k * (1 - k / n)) / (2 * (n + z * z))
    return centre - half, centre + half


def test_z95():
    """Z95 is the 97.5% normal quantile."""
    assert abs(Z95 - 1.959964) < 1e-6


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (1, 100, 0.0018, 0.0545),
    (50, 100, 0.4038, 0.5962),
])
def test_wilson_known_values(k, n, low, high):
    """Textbook Wilson intervals to four decimals."""
    e = wilson(k, n)
    assert (e.k, e.n) == (k, n)
    assert e.p == k / n
    assert e.low == pytest.approx(low, abs=5e-5)
    assert e.high == pytest.approx(high, abs=5e-5)
    assert e.half_width == pytest.approx((e.high - e.low) / 2)


@pytest.mark.parametrize("n", [1, 2, 7, 10, 33, 1000, 123457])
def test_wilson_matches_direct_formula(n):
    """wilson() equals the direct formula for every k (bounds exactly 0/1 at k = 0/n)."""
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        lo, hi = wilson_direct(k, n)
        e = wilson(k, n)
        assert e.low == (0.0 if k == 0 else pytest.approx(lo, abs=1e-12))
        assert e.high == (1.0 if k == n else pytest.approx(hi, abs=1e-12))
        assert 0.0 <= e.low <= e.p <= e.high <= 1.0


def test_wilson_n_zero_is_uninformative():
    """With no runs the interval is [0, 1] and p is NaN."""
    e = wilson(0, 0)
    assert math.isnan(e.p) and (e.low, e.high) == (0.0, 1.0)


def test_wilson_other_z():
    """A different z gives the direct formula's interval for that z."""
    lo, hi = wilson_direct(3, 20, z=2.5758)
    e = wilson(3, 20, z=2.5758)
    assert (e.low, e.high) == (pytest.approx(lo), pytest.approx(hi))
    assert e.high - e.low > wilson(3, 20).high - wilson(3, 20).low


@pytest.mark.parametrize("n", [1, 10, 97, 4000])
def test_wilson_arrays_equal_wilson(n):
    """The vectorised Wilson gives the scalar results for every count 0..n."""
    k = np.arange(n + 1) if n < 200 else np.array([0, 1, 2, 17, n // 2, n - 1, n])
    p, low, high = wilson_arrays(k, n)
    for i, kk in enumerate(k.tolist()):
        e = wilson(kk, n)
        assert p[i] == pytest.approx(e.p, abs=1e-15)
        assert low[i] == pytest.approx(e.low, abs=1e-15)
        assert high[i] == pytest.approx(e.high, abs=1e-15)


def test_wilson_arrays_n_zero():
    """With n = 0 the arrays are NaN, 0 and 1 of the input's shape."""
    p, low, high = wilson_arrays(np.array([0, 0, 0]), 0)
    assert np.isnan(p).all() and low.tolist() == [0, 0, 0] and high.tolist() == [1, 1, 1]


def test_paired_identical_outcomes_give_zero_and_tight_interval():
    """No discordant pairs: difference 0 with an interval narrower than either margin's."""
    d = paired_difference(both=300, only_base=0, only_other=0, n=1000)
    assert d.diff == 0.0
    assert d.low <= 0.0 <= d.high
    assert d.high - d.low < 0.01
    assert (d.base, d.other, d.n) == (0.3, 0.3, 1000)
    # An unpaired comparison of two 30% estimates would be far wider.
    assert d.high - d.low < wilson(300, 1000).high - wilson(300, 1000).low


def test_paired_all_discordant_one_way():
    """Every discordant pair favouring 'other' gives diff = d/n, an interval above 0."""
    d = paired_difference(both=100, only_base=0, only_other=50, n=1000)
    assert d.diff == pytest.approx(0.05)
    assert (d.base, d.other) == (pytest.approx(0.10), pytest.approx(0.15))
    assert 0.0 < d.low < 0.05 < d.high < 0.10
    mirror = paired_difference(both=100, only_base=50, only_other=0, n=1000)
    assert mirror.diff == pytest.approx(-0.05)
    assert mirror.low == pytest.approx(-d.high) and mirror.high == pytest.approx(-d.low)


def test_paired_extremes_stay_within_minus_one_one():
    """All pairs discordant one way: diff 1 (or -1), interval clipped to [-1, 1]."""
    up = paired_difference(0, 0, 20, 20)
    down = paired_difference(0, 20, 0, 20)
    assert up.diff == 1.0 and up.high == 1.0 and 0.5 < up.low < 1.0
    assert down.diff == -1.0 and down.low == -1.0 and -1.0 < down.high < -0.5


def test_paired_n_zero():
    """No runs: NaN difference with the uninformative [-1, 1]."""
    d = paired_difference(0, 0, 0, 0)
    assert math.isnan(d.diff) and (d.low, d.high) == (-1.0, 1.0)


def test_paired_positive_correlation_narrows_the_interval():
    """Same margins, more concordance: a narrower interval (what common numbers buy)."""
    # Both tables have p_base = 0.30, p_other = 0.35 over 1000 runs.
    correlated = paired_difference(both=290, only_base=10, only_other=60, n=1000)
    independent = paired_difference(both=105, only_base=195, only_other=245, n=1000)
    assert correlated.diff == pytest.approx(independent.diff) == pytest.approx(0.05)
    assert correlated.high - correlated.low < 0.6 * (independent.high - independent.low)


@pytest.mark.parametrize(("cells", "n"), [
    ((0.20, 0.10, 0.20, 0.50), 100),
    ((0.05, 0.02, 0.05, 0.88), 200),
    ((0.30, 0.05, 0.05, 0.60), 50),
])
def test_paired_difference_coverage(cells, n):
    """Simulated paired tables: the 95% interval covers the true difference 93-97% of the time."""
    rng = np.random.default_rng(20240601)
    true = cells[2] - cells[1]  # p_other - p_base
    tables = rng.multinomial(n, cells, size=2000)
    covered = 0
    for both, only_base, only_other, _ in tables.tolist():
        d = paired_difference(both, only_base, only_other, n)
        covered += d.low <= true <= d.high
    assert 0.93 <= covered / 2000 <= 0.97


@pytest.mark.parametrize(("p", "hw", "runs"), [
    (0.5, 0.01, 9604),
    (0.5, 0.05, 385),
    (0.1, 0.01, 3458),
    (0.0, 0.001, 385),     # p clamped to 1e-4
    (1.0, 0.001, 385),
])
def test_runs_for_half_width(p, hw, runs):
    """Normal-approximation sample sizes: z^2 p(1-p) / h^2 rounded up."""
    assert runs_for_half_width(p, hw) == runs


def test_runs_for_half_width_delivers_the_half_width():
    """With the recommended runs, the Wilson half-width at p is about the target."""
    for p, hw in ((0.5, 0.01), (0.2, 0.005), (0.05, 0.01)):
        n = runs_for_half_width(p, hw)
        assert wilson(round(p * n), n).half_width == pytest.approx(hw, rel=0.05)


@pytest.mark.parametrize(("hw", "decimals"), [
    (0.5, 0),        # 50 points
    (0.05, 0),       # 5 points
    (0.01, 0),       # 1 point
    (0.003, 1),      # 0.3 points
    (0.001, 1),      # 0.1 points
    (0.0004, 2),     # 0.04 points
    (0.00001, 2),    # capped at 2
    (0.0, 1),
    (-1.0, 1),
    (math.inf, 1),
    (math.nan, 1),
])
def test_decimals_for(hw, decimals):
    """Decimal places of a percentage that a half-width supports (0 to 2)."""
    assert decimals_for(hw) == decimals

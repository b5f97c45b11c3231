"""The value histogram: exact while small, coarsened losslessly in count and order-free."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from sim.run.histogram import BASE_EXPONENT, ValueHistogram


def hist(values, cap: int = 2048) -> ValueHistogram:
    """A histogram of ``values``."""
    h = ValueHistogram(cap=cap)
    for v in values:
        h.add(v)
    return h


def snapshot(h: ValueHistogram) -> tuple:
    """Everything that defines a histogram's state."""
    return h.exponent, h.n, dict(h.bins)


QS = [0.0, 0.05, 0.25, 0.3, 0.5, 0.75, 0.95, 1.0]


@pytest.mark.parametrize("values", [
    [1, 2, 3, 4, 5],
    [5.5, -2.25, 0.125, 7.0, 7.0, 3.75, 100.5],
    [0.3],
    [2.5, 2.5, 2.5, 2.5],
])
def test_exact_quantiles_while_small(values):
    """Without coarsening, quantiles equal numpy's 'lower' quantiles of the values."""
    h = hist(values)
    assert h.exponent == BASE_EXPONENT
    expected = np.quantile(np.array(values, dtype=float), QS, method="lower")
    assert h.quantiles(QS) == pytest.approx(expected.tolist(), abs=1e-9)
    assert h.mean() == pytest.approx(float(np.mean(values)), abs=1e-9)
    assert h.n == len(values)


def test_point_three_lands_in_the_point_three_bin():
    """0.3 (stored as 0.2999...) and 0.1 + 0.2 land in the 0.3 bin, not the one below."""
    h = hist([0.3, 0.1 + 0.2, 0.7, 1.1, 2.675, 1.001, 2.01])
    # 1.001 * 1e6 is 1000999.9999999999 in floating point: it must still be 1.001.
    assert dict(h.bins) == {300_000: 2, 700_000: 1, 1_100_000: 1, 2_675_000: 1,
                            1_001_000: 1, 2_010_000: 1}
    assert hist([0.3]).quantiles([0.5]) == pytest.approx([0.3], abs=1e-12)


def test_negative_values_floor_to_their_bin():
    """Negative values keep their exact bin; coarsening floors them towards -inf."""
    h = hist([-0.3, -1.25])
    assert dict(h.bins) == {-300_000: 1, -1_250_000: 1}
    coarse = hist([-0.35, -0.34, 0.35, 1.0], cap=3)
    # Four distinct hundredths; tenths give three bins: -0.35, -0.34 -> -0.4, 0.35 -> 0.3.
    assert coarse.exponent == -1
    assert dict(coarse.bins) == {-4: 2, 3: 1, 10: 1}
    assert coarse.quantiles([0.0, 0.75, 1.0]) == pytest.approx([-0.4, 0.3, 1.0])


def test_empty_histogram_gives_nan():
    """No values: quantiles and mean are NaN."""
    h = ValueHistogram()
    assert all(math.isnan(q) for q in h.quantiles([0.1, 0.5]))
    assert math.isnan(h.mean())


def test_coarsening_keeps_n_and_respects_cap():
    """More distinct values than the cap coarsen the bins tenfold but keep every count."""
    values = [i * 0.001 for i in range(1000)]  # 1000 distinct values in [0, 1)
    h = hist(values, cap=50)
    assert h.n == 1000
    assert sum(h.bins.values()) == 1000
    assert len(h.bins) <= 50
    # Thousandths -> hundredths (100 bins) -> tenths (10 bins).
    assert h.exponent == -1
    assert dict(h.bins) == {i: 100 for i in range(10)}
    assert h.quantiles([0.0, 0.5, 1.0]) == pytest.approx([0.0, 0.4, 0.9])


def test_coarsened_quantile_is_lower_bin_edge():
    """After coarsening, a quantile is the lower edge of the bin holding the exact one."""
    rng = random.Random(3)
    values = [rng.uniform(0, 50) for _ in range(3000)]
    h = hist(values, cap=64)
    width = 10.0 ** h.exponent
    exact = np.quantile(values, QS, method="lower")
    for got, want in zip(h.quantiles(QS), exact, strict=True):
        assert got <= want + 1e-9
        assert want - got < width + 1e-9


def test_add_order_does_not_matter():
    """Adding the same values in any order gives identical bins and exponent."""
    rng = random.Random(1)
    values = [round(rng.uniform(-5, 5), 4) for _ in range(400)]
    first = snapshot(hist(values, cap=30))
    for seed in range(5):
        shuffled = values[:]
        random.Random(seed).shuffle(shuffled)
        assert snapshot(hist(shuffled, cap=30)) == first


def test_merge_in_any_order_equals_one_histogram():
    """Merging parts in permuted orders gives the same bins/exponent as adding everything."""
    rng = random.Random(2)
    # Parts of very different spread, so they coarsen to different exponents on their own.
    parts = [[rng.uniform(0, 0.01) for _ in range(40)],
             [rng.uniform(0, 1000) for _ in range(40)],
             [rng.uniform(-3, 3) for _ in range(40)],
             [7.0] * 10]
    whole = snapshot(hist([v for p in parts for v in p], cap=25))
    exponents = {hist(p, cap=25).exponent for p in parts}
    assert len(exponents) > 1  # the test really mixes resolutions
    for order in itertools.permutations(range(4)):
        acc = hist(parts[order[0]], cap=25)
        for i in order[1:]:
            acc.merge(hist(parts[i], cap=25))
        assert snapshot(acc) == whole
        assert acc.n == 130


def test_merge_coarsens_when_the_union_exceeds_the_cap():
    """Two exact halves of 20 distinct values each merge (cap 25) into tens, like one add."""
    low, high = hist(range(20), cap=25), hist(range(20, 40), cap=25)
    assert low.exponent == high.exponent == BASE_EXPONENT
    low.merge(high)
    assert len(low.bins) <= 25
    assert snapshot(low) == snapshot(hist(range(40), cap=25))
    assert low.exponent == 1 and dict(low.bins) == {0: 10, 1: 10, 2: 10, 3: 10}


def test_merge_tree_shape_does_not_matter():
    """((a+b)+(c+d)) equals (((a+b)+c)+d) bin for bin."""
    rng = random.Random(4)
    parts = [[rng.gauss(0, 10 ** k) for _ in range(30)] for k in range(4)]
    hs = [hist(p, cap=20) for p in parts]
    left = hist(parts[0], cap=20)
    left.merge(hs[1])
    right = hist(parts[2], cap=20)
    right.merge(hs[3])
    left.merge(right)
    chain = hist(parts[0], cap=20)
    for h in hs[1:]:
        chain.merge(h)
    assert snapshot(left) == snapshot(chain)


def test_merge_with_empty_is_identity():
    """Merging an empty histogram (either way) changes nothing."""
    h = hist([1.5, 2.5, 2.5])
    before = snapshot(h)
    h.merge(ValueHistogram())
    assert snapshot(h) == before
    e = ValueHistogram()
    e.merge(hist([1.5, 2.5, 2.5]))
    assert snapshot(e) == before


@pytest.mark.parametrize("cap", [3, 16, 2048])
def test_add_all_equals_adding_one_by_one(cap):
    """Counts, total and resolution equal one-by-one adds, including coarsening along the
    way (small caps), infinities and NaN, batch after batch."""
    rng = random.Random(11)
    values = [rng.choice([rng.uniform(-5, 5), rng.expovariate(0.01), round(rng.random(), 2),
                          0.3, math.inf, -math.inf, math.nan]) for _ in range(3000)]
    one, many = ValueHistogram(cap=cap), ValueHistogram(cap=cap)
    for v in values:
        one.add(v)
    for k in range(0, len(values), 700):
        many.add_all(values[k:k + 700])
    assert (many.exponent, many.n, dict(many.bins)) == (one.exponent, one.n, dict(one.bins))
    qs = [0.0, 0.1, 0.5, 0.9, 1.0]
    assert many.quantiles(qs) == one.quantiles(qs) and many.mean() == one.mean()

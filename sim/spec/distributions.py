"""Probability distributions for uncertain parameters and reaction delays.

A Distribution is an immutable description plus a ``sample(rng)`` that draws from a
:class:`random.Random` stream. The table :data:`KINDS` states, for each kind, its
arguments and their constraints; the loader checks scenarios against it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist

import numpy as np

_STD_NORMAL = NormalDist()
MAX_LOG_SIGMA = 10.0


Arg = Callable[..., float]  # a distribution's argument by name: arg(name[, default])
Sampler = Callable[[random.Random], float]
Quantiles = Callable[[Sequence[float]], list[float]]  # the inverse CDF at many points
Cdf = Callable[[float], float]
# Quantiles are taken at u clipped into [CLIP, 1 - CLIP] (0 and 1 map to infinities).
CLIP = 1e-12


class Kind:
    """One distribution kind: its arguments, their check, and how it samples, inverts and
    averages. One subclass per kind holds everything known about it (as Ciw's
    distributions do); :class:`Distribution` delegates to it."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    help = ""

    @staticmethod
    def check(a: dict[str, float]) -> list[tuple[str, str]]:
        """(argument, message) for every bad value."""
        return []

    def sampler(self, arg: Arg) -> Sampler:
        """A function drawing one value from a stream (built once per distribution)."""
        raise NotImplementedError

    def ppf(self, arg: Arg, u: float) -> float:
        """The inverse CDF at ``u`` (already clipped into (0, 1))."""
        return self.quantiles(arg)((u,))[0]

    def quantiles(self, arg: Arg) -> Quantiles:
        """A function giving the inverse CDF at each of many ``u`` (clipping them into
        [CLIP, 1 - CLIP]), its arguments resolved once: conditional Monte Carlo takes 16
        quantiles of each of several distributions in every run."""
        raise NotImplementedError

    def cdf(self, arg: Arg) -> Cdf:
        """A function giving P(draw <= x), its arguments resolved once."""
        raise NotImplementedError

    def mean(self, arg: Arg) -> float:
        """The mean."""
        raise NotImplementedError


def _clip(u: float) -> float:
    return min(max(u, CLIP), 1 - CLIP)


def _clipped(us: Sequence[float]) -> list[float]:
    """Each of ``us`` clipped, as ``_clip`` (a comparison first: most need no clipping)."""
    return [u if CLIP <= u <= 1 - CLIP else _clip(u) for u in us]


def _positive(*names: str) -> Callable[[dict[str, float]], list[tuple[str, str]]]:
    def check(a: dict[str, float]) -> list[tuple[str, str]]:
        return [(n, f"must be > 0 (got {a[n]:g})") for n in names if n in a and a[n] <= 0]
    return check


def _check_lognormal(a: dict[str, float]) -> list[tuple[str, str]]:
    out = _positive("median", "sigma")(a)
    if not out and a["sigma"] > MAX_LOG_SIGMA:
        out.append(("sigma", f"must be <= {MAX_LOG_SIGMA:g} (got {a['sigma']:g}): a wider "
                             "lognormal spans more than 10^40 and overflows"))
    return out


def _check_uniform(a: dict[str, float]) -> list[tuple[str, str]]:
    if a["low"] >= a["high"]:
        return [("high", f"must be greater than low ({a['low']:g}) (got {a['high']:g})")]
    return []


def _check_triangular(a: dict[str, float]) -> list[tuple[str, str]]:
    out = _check_uniform(a)
    if not out and not a["low"] <= a["mode"] <= a["high"]:
        out.append(("mode", f"must be in [{a['low']:g}, {a['high']:g}] (got {a['mode']:g})"))
    return out


def _check_beta(a: dict[str, float]) -> list[tuple[str, str]]:
    out = _positive("a", "b")(a)
    low, high = a.get("low", 0.0), a.get("high", 1.0)
    if low >= high:
        out.append(("high", f"must be greater than low ({low:g}) (got {high:g})"))
    return out


def _check_normal(a: dict[str, float]) -> list[tuple[str, str]]:
    out = _positive("sd")(a)
    low, high = a.get("low", -math.inf), a.get("high", math.inf)
    if low >= high:
        out.append(("high", f"must be greater than low ({low:g}) (got {high:g})"))
    elif not out:
        mass = _STD_NORMAL.cdf((high - a["mean"]) / a["sd"]) - \
            _STD_NORMAL.cdf((low - a["mean"]) / a["sd"])
        if mass < 1e-9:
            out.append(("low", "the interval [low, high] holds almost none of the normal's mass"))
    return out


def _truncation(arg: Arg) -> tuple[float, float, float, float]:
    """(mean, sd, CDF at low, CDF at high) of a truncated normal."""
    mean, sd = arg("mean"), arg("sd")
    lo = _STD_NORMAL.cdf((arg("low", -math.inf) - mean) / sd)
    hi = _STD_NORMAL.cdf((arg("high", math.inf) - mean) / sd)
    return mean, sd, lo, hi


class Fixed(Kind):
    required, help = ("value",), "always the same value"

    def sampler(self, arg: Arg) -> Sampler:
        value = arg("value")
        return lambda rng: value

    def quantiles(self, arg: Arg) -> Quantiles:
        value = arg("value")
        return lambda us: [value] * len(us)

    def cdf(self, arg: Arg) -> Cdf:
        value = arg("value")
        return lambda x: 1.0 if x >= value else 0.0

    def mean(self, arg: Arg) -> float:
        return arg("value")


class Uniform(Kind):
    required, help = ("low", "high"), "uniform between low and high"
    check = staticmethod(_check_uniform)

    def sampler(self, arg: Arg) -> Sampler:
        low, span = arg("low"), arg("high") - arg("low")
        return lambda rng: low + span * rng.random()

    def quantiles(self, arg: Arg) -> Quantiles:
        low, span = arg("low"), arg("high") - arg("low")
        return lambda us: [low + span * u for u in _clipped(us)]

    def cdf(self, arg: Arg) -> Cdf:
        low, span = arg("low"), arg("high") - arg("low")
        return lambda x: min(1.0, max(0.0, (x - low) / span))

    def mean(self, arg: Arg) -> float:
        return (arg("low") + arg("high")) / 2


class Triangular(Kind):
    required = ("low", "mode", "high")
    help = "triangular with the given low, most likely value and high"
    check = staticmethod(_check_triangular)

    def sampler(self, arg: Arg) -> Sampler:
        lo, hi, mode = arg("low"), arg("high"), arg("mode")
        return lambda rng: rng.triangular(lo, hi, mode)

    def quantiles(self, arg: Arg) -> Quantiles:
        low, mode, high = arg("low"), arg("mode"), arg("high")
        width, left, right = high - low, mode - low, high - mode
        cut, sqrt = left / width, math.sqrt
        return lambda us: [low + sqrt(u * width * left) if u < cut else
                           high - sqrt((1 - u) * width * right) for u in _clipped(us)]

    def cdf(self, arg: Arg) -> Cdf:
        low, mode, high = arg("low"), arg("mode"), arg("high")
        width, left, right = high - low, mode - low, high - mode

        def cdf(x: float) -> float:
            if x <= low:
                return 0.0
            if x >= high:
                return 1.0
            if x <= mode:
                return (x - low) ** 2 / (width * left)
            return 1.0 - (high - x) ** 2 / (width * right)
        return cdf

    def mean(self, arg: Arg) -> float:
        return (arg("low") + arg("mode") + arg("high")) / 3


class Beta(Kind):
    required, optional = ("a", "b"), ("low", "high")
    help = "beta(a, b), rescaled to [low, high] (default [0, 1])"
    check = staticmethod(_check_beta)

    def sampler(self, arg: Arg) -> Sampler:
        base, scale = arg("low", 0.0), arg("high", 1.0) - arg("low", 0.0)
        a, b = arg("a"), arg("b")
        return lambda rng: base + scale * rng.betavariate(a, b)

    def quantiles(self, arg: Arg) -> Quantiles:
        # scipy.stats.beta.ppf is this same function (bit for bit); importing
        # scipy.stats to get it cost over a second at every load of a scenario.
        from scipy.special import betaincinv
        a, b, low, scale = arg("a"), arg("b"), arg("low", 0.0), arg("high", 1.0) - arg("low", 0.0)
        return lambda us: [low + scale * v
                           for v in betaincinv(a, b, _clipped(us)).tolist()]

    def cdf(self, arg: Arg) -> Cdf:
        from scipy.special import betainc
        a, b, low, scale = arg("a"), arg("b"), arg("low", 0.0), arg("high", 1.0) - arg("low", 0.0)
        return lambda x: float(betainc(a, b, min(1.0, max(0.0, (x - low) / scale))))

    def mean(self, arg: Arg) -> float:
        low, high = arg("low", 0.0), arg("high", 1.0)
        return low + (high - low) * arg("a") / (arg("a") + arg("b"))


class Lognormal(Kind):
    required = ("median", "sigma")
    help = "lognormal with the given median and log-space standard deviation"
    check = staticmethod(_check_lognormal)

    def sampler(self, arg: Arg) -> Sampler:
        mu, sigma = math.log(arg("median")), arg("sigma")
        return lambda rng: rng.lognormvariate(mu, sigma)

    def ppf(self, arg: Arg, u: float) -> float:
        # One value (Sobol and Morris samples): the statistics module's inverse normal.
        # ``quantiles`` takes many at once with scipy's and numpy's vectorised functions
        # instead; the two agree to rounding, not bit for bit, and each keeps its results.
        return arg("median") * math.exp(arg("sigma") * _STD_NORMAL.inv_cdf(u))

    def quantiles(self, arg: Arg) -> Quantiles:
        from scipy.special import ndtri
        median, sigma = arg("median"), arg("sigma")
        return lambda us: (median * np.exp(sigma * ndtri(_clipped(us)))).tolist()

    def cdf(self, arg: Arg) -> Cdf:
        median, sigma = arg("median"), arg("sigma")
        return lambda x: _STD_NORMAL.cdf(math.log(x / median) / sigma) if x > 0 else 0.0

    def mean(self, arg: Arg) -> float:
        return arg("median") * math.exp(arg("sigma") ** 2 / 2)


class Normal(Kind):
    required, optional = ("mean", "sd"), ("low", "high")
    help = "normal, truncated to [low, high] when given"
    check = staticmethod(_check_normal)

    def sampler(self, arg: Arg) -> Sampler:
        mean, sd, lo, hi = _truncation(arg)

        def draw(rng: random.Random) -> float:
            # Inverse-CDF sampling of the truncated normal: exact and never loops.
            u = lo + (hi - lo) * rng.random()
            u = min(max(u, 1e-15), 1 - 1e-15)
            return mean + sd * _STD_NORMAL.inv_cdf(u)
        return draw

    def quantiles(self, arg: Arg) -> Quantiles:
        mean, sd, lo, hi = _truncation(arg)
        inv = _STD_NORMAL.inv_cdf
        return lambda us: [mean + sd * inv(min(max(lo + (hi - lo) * u, 1e-15), 1 - 1e-15))
                           for u in _clipped(us)]

    def cdf(self, arg: Arg) -> Cdf:
        mean, sd, lo, hi = _truncation(arg)
        low, high = arg("low", -math.inf), arg("high", math.inf)

        def cdf(x: float) -> float:
            at = _STD_NORMAL.cdf((min(max(x, low), high) - mean) / sd)
            return min(1.0, max(0.0, (at - lo) / (hi - lo)))
        return cdf

    def mean(self, arg: Arg) -> float:
        mean, sd = arg("mean"), arg("sd")
        a = (arg("low", -math.inf) - mean) / sd
        b = (arg("high", math.inf) - mean) / sd
        pdf = _STD_NORMAL.pdf
        za = pdf(a) if math.isfinite(a) else 0.0
        zb = pdf(b) if math.isfinite(b) else 0.0
        return mean + sd * (za - zb) / (_STD_NORMAL.cdf(b) - _STD_NORMAL.cdf(a))


class Exponential(Kind):
    required, help = ("mean",), "exponential with the given mean"

    @staticmethod
    def check(a: dict[str, float]) -> list[tuple[str, str]]:
        return _positive("mean")(a)

    def sampler(self, arg: Arg) -> Sampler:
        rate = 1.0 / arg("mean")
        return lambda rng: rng.expovariate(rate)

    def quantiles(self, arg: Arg) -> Quantiles:
        mean = arg("mean")
        return lambda us: [-mean * math.log1p(-u) for u in _clipped(us)]

    def cdf(self, arg: Arg) -> Cdf:
        mean = arg("mean")
        return lambda x: -math.expm1(-x / mean) if x > 0 else 0.0

    def mean(self, arg: Arg) -> float:
        return arg("mean")


KINDS: dict[str, Kind] = {
    "fixed": Fixed(), "uniform": Uniform(), "triangular": Triangular(), "beta": Beta(),
    "lognormal": Lognormal(), "normal": Normal(), "exponential": Exponential(),
}


@dataclass(frozen=True)
class Distribution:
    """A checked distribution: ``kind`` is a key of KINDS, ``args`` its arguments; what the
    kind means lives in its :class:`Kind` subclass."""

    kind: str
    args: tuple[tuple[str, float], ...]

    def arg(self, name: str, default: float = math.nan) -> float:
        """Value of one argument."""
        for key, value in self.args:
            if key == name:
                return value
        return default

    @property
    def varies(self) -> bool:
        """False for a fixed value (nothing uncertain to sample or analyse)."""
        return self.kind != "fixed"

    def sample(self, rng: random.Random) -> float:
        """One draw from ``rng``."""
        return self._sampler(rng)

    # The functions each distribution resolves once (closures: rebuilt after unpickling).
    _RESOLVED = ("_sampler", "_quantiles", "_cdf")

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k not in self._RESOLVED}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @cached_property
    def _sampler(self) -> Sampler:
        # Resolved once per distribution: sampling sits on the engine's hot path.
        return KINDS[self.kind].sampler(self.arg)

    @cached_property
    def _quantiles(self) -> Quantiles:
        return KINDS[self.kind].quantiles(self.arg)

    @cached_property
    def _cdf(self) -> Cdf:
        return KINDS[self.kind].cdf(self.arg)

    def ppf(self, u: float) -> float:
        """Inverse CDF at ``u`` in (0, 1): maps a unit-cube sample (Sobol, Morris) to a value."""
        return KINDS[self.kind].ppf(self.arg, _clip(u))

    def quantiles(self, us: Sequence[float]) -> list[float]:
        """``ppf`` at each of ``us``, vectorised where one call per value would be costly
        (for a lognormal, equal to ``ppf`` to rounding: see ``Lognormal.ppf``)."""
        return self._quantiles(us)

    def cdf(self, x: float) -> float:
        """P(draw <= x): the chance that a delay drawn from this distribution is over by
        ``x`` days (conditional Monte Carlo of rare outcomes needs it)."""
        return self._cdf(x)

    @property
    def mean(self) -> float:
        """The distribution's mean (used in reports and the exact solver)."""
        return KINDS[self.kind].mean(self.arg)

    def describe(self) -> str:
        """Short human form, e.g. ``triangular(low=1, mode=2, high=5)``."""
        inner = ", ".join(f"{k}={v:g}" for k, v in self.args)
        return f"{self.kind}({inner})"

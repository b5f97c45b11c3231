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
        raise NotImplementedError

    def mean(self, arg: Arg) -> float:
        """The mean."""
        raise NotImplementedError


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

    def ppf(self, arg: Arg, u: float) -> float:
        return arg("value")

    def mean(self, arg: Arg) -> float:
        return arg("value")


class Uniform(Kind):
    required, help = ("low", "high"), "uniform between low and high"
    check = staticmethod(_check_uniform)

    def sampler(self, arg: Arg) -> Sampler:
        low, span = arg("low"), arg("high") - arg("low")
        return lambda rng: low + span * rng.random()

    def ppf(self, arg: Arg, u: float) -> float:
        return arg("low") + (arg("high") - arg("low")) * u

    def mean(self, arg: Arg) -> float:
        return (arg("low") + arg("high")) / 2


class Triangular(Kind):
    required = ("low", "mode", "high")
    help = "triangular with the given low, most likely value and high"
    check = staticmethod(_check_triangular)

    def sampler(self, arg: Arg) -> Sampler:
        lo, hi, mode = arg("low"), arg("high"), arg("mode")
        return lambda rng: rng.triangular(lo, hi, mode)

    def ppf(self, arg: Arg, u: float) -> float:
        low, mode, high = arg("low"), arg("mode"), arg("high")
        cut = (mode - low) / (high - low)
        if u < cut:
            return low + math.sqrt(u * (high - low) * (mode - low))
        return high - math.sqrt((1 - u) * (high - low) * (high - mode))

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

    def ppf(self, arg: Arg, u: float) -> float:
        # scipy.stats.beta.ppf is this same function (bit for bit); importing
        # scipy.stats to get it cost over a second at every load of a scenario.
        from scipy.special import betaincinv
        low, high = arg("low", 0.0), arg("high", 1.0)
        return low + (high - low) * float(betaincinv(arg("a"), arg("b"), u))

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
        return arg("median") * math.exp(arg("sigma") * _STD_NORMAL.inv_cdf(u))

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

    def ppf(self, arg: Arg, u: float) -> float:
        mean, sd, lo, hi = _truncation(arg)
        v = min(max(lo + (hi - lo) * u, 1e-15), 1 - 1e-15)
        return mean + sd * _STD_NORMAL.inv_cdf(v)

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

    def ppf(self, arg: Arg, u: float) -> float:
        return -arg("mean") * math.log1p(-u)

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

    def __getstate__(self) -> dict[str, object]:
        # The cached sampler is a closure: leave it out, it is rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k != "_sampler"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @cached_property
    def _sampler(self) -> Sampler:
        # Resolved once per distribution: sampling sits on the engine's hot path.
        return KINDS[self.kind].sampler(self.arg)

    def ppf(self, u: float) -> float:
        """Inverse CDF at ``u`` in (0, 1): maps a unit-cube sample (Sobol, Morris) to a value."""
        return KINDS[self.kind].ppf(self.arg, min(max(u, 1e-12), 1 - 1e-12))

    def quantiles(self, us: Sequence[float]) -> list[float]:
        """``ppf`` at each of ``us``, vectorised where one call per value would be costly."""
        kind, arg = self.kind, self.arg
        if kind == "beta":
            from scipy.special import betaincinv  # = scipy.stats.beta.ppf, see ppf
            low, high = arg("low", 0.0), arg("high", 1.0)
            clipped = [min(max(u, 1e-12), 1 - 1e-12) for u in us]
            return [low + (high - low) * float(v)
                    for v in betaincinv(arg("a"), arg("b"), clipped)]
        if kind == "lognormal":
            from scipy.special import ndtri
            z = ndtri(np.clip(np.asarray(us, dtype=float), 1e-12, 1 - 1e-12))
            return [float(v) for v in arg("median") * np.exp(arg("sigma") * z)]
        return [self.ppf(u) for u in us]

    def cdf(self, x: float) -> float:
        """P(draw <= x): the chance that a delay drawn from this distribution is over by
        ``x`` days (conditional Monte Carlo of rare outcomes needs it)."""
        kind, arg = self.kind, self.arg
        if kind == "fixed":
            return 1.0 if x >= arg("value") else 0.0
        if kind == "uniform":
            return min(1.0, max(0.0, (x - arg("low")) / (arg("high") - arg("low"))))
        if kind == "exponential":
            return -math.expm1(-x / arg("mean")) if x > 0 else 0.0
        if kind == "lognormal":
            if x <= 0:
                return 0.0
            return _STD_NORMAL.cdf(math.log(x / arg("median")) / arg("sigma"))
        if kind == "triangular":
            low, mode, high = arg("low"), arg("mode"), arg("high")
            if x <= low:
                return 0.0
            if x >= high:
                return 1.0
            if x <= mode:
                return (x - low) ** 2 / ((high - low) * (mode - low))
            return 1.0 - (high - x) ** 2 / ((high - low) * (high - mode))
        if kind == "beta":
            from scipy.special import betainc
            low, high = arg("low", 0.0), arg("high", 1.0)
            u = min(1.0, max(0.0, (x - low) / (high - low)))
            return float(betainc(arg("a"), arg("b"), u))
        if kind == "normal":
            mean, sd = arg("mean"), arg("sd")
            lo = _STD_NORMAL.cdf((arg("low", -math.inf) - mean) / sd)
            hi = _STD_NORMAL.cdf((arg("high", math.inf) - mean) / sd)
            at = _STD_NORMAL.cdf((min(max(x, arg("low", -math.inf)), arg("high", math.inf))
                                  - mean) / sd)
            return min(1.0, max(0.0, (at - lo) / (hi - lo)))
        raise ValueError(f"unknown distribution {kind!r}")

    @property
    def mean(self) -> float:
        """The distribution's mean (used in reports and the exact solver)."""
        return KINDS[self.kind].mean(self.arg)

    def describe(self) -> str:
        """Short human form, e.g. ``triangular(low=1, mode=2, high=5)``."""
        inner = ", ".join(f"{k}={v:g}" for k, v in self.args)
        return f"{self.kind}({inner})"

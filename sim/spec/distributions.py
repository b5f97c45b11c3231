"""Probability distributions for uncertain parameters and reaction delays.

A Distribution is an immutable description plus a ``sample(rng)`` that draws from a
:class:`random.Random` stream. The table :data:`KINDS` states, for each kind, its
arguments and their constraints; the loader checks scenarios against it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist

_STD_NORMAL = NormalDist()
MAX_LOG_SIGMA = 10.0


@dataclass(frozen=True)
class Spec:
    """Arguments of one distribution kind and a check returning messages for bad values."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Callable[[dict[str, float]], list[tuple[str, str]]]
    help: str


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


KINDS: dict[str, Spec] = {
    "fixed": Spec(("value",), (), lambda a: [], "always the same value"),
    "uniform": Spec(("low", "high"), (), _check_uniform, "uniform between low and high"),
    "triangular": Spec(("low", "mode", "high"), (), _check_triangular,
                       "triangular with the given low, most likely value and high"),
    "beta": Spec(("a", "b"), ("low", "high"), _check_beta,
                 "beta(a, b), rescaled to [low, high] (default [0, 1])"),
    "lognormal": Spec(("median", "sigma"), (), _check_lognormal,
                      "lognormal with the given median and log-space standard deviation"),
    "normal": Spec(("mean", "sd"), ("low", "high"), _check_normal,
                   "normal, truncated to [low, high] when given"),
    "exponential": Spec(("mean",), (), _positive("mean"), "exponential with the given mean"),
}


@dataclass(frozen=True)
class Distribution:
    """A checked distribution: ``kind`` is a key of KINDS, ``args`` its arguments."""

    kind: str
    args: tuple[tuple[str, float], ...]

    def arg(self, name: str, default: float = math.nan) -> float:
        """Value of one argument."""
        for key, value in self.args:
            if key == name:
                return value
        return default

    def sample(self, rng: random.Random) -> float:
        """One draw from ``rng``."""
        return self._sampler(rng)

    def __getstate__(self) -> dict[str, object]:
        # The cached sampler is a closure: leave it out, it is rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k != "_sampler"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @cached_property
    def _sampler(self) -> Callable[[random.Random], float]:
        # Resolved once per distribution: sampling sits on the engine's hot path.
        kind, arg = self.kind, self.arg
        if kind == "exponential":
            rate = 1.0 / arg("mean")
            return lambda rng: rng.expovariate(rate)
        if kind == "fixed":
            value = arg("value")
            return lambda rng: value
        if kind == "lognormal":
            mu, sigma = math.log(arg("median")), arg("sigma")
            return lambda rng: rng.lognormvariate(mu, sigma)
        if kind == "uniform":
            low, span = arg("low"), arg("high") - arg("low")
            return lambda rng: low + span * rng.random()
        if kind == "triangular":
            lo, hi, mode = arg("low"), arg("high"), arg("mode")
            return lambda rng: rng.triangular(lo, hi, mode)
        if kind == "beta":
            base, scale = arg("low", 0.0), arg("high", 1.0) - arg("low", 0.0)
            a, b = arg("a"), arg("b")
            return lambda rng: base + scale * rng.betavariate(a, b)
        return self._draw

    def _draw(self, rng: random.Random) -> float:
        kind, arg = self.kind, self.arg
        if kind == "exponential":
            return rng.expovariate(1.0 / arg("mean"))
        if kind == "fixed":
            return arg("value")
        if kind == "uniform":
            return arg("low") + (arg("high") - arg("low")) * rng.random()
        if kind == "triangular":
            return rng.triangular(arg("low"), arg("high"), arg("mode"))
        if kind == "beta":
            low, high = arg("low", 0.0), arg("high", 1.0)
            return low + (high - low) * rng.betavariate(arg("a"), arg("b"))
        if kind == "lognormal":
            return rng.lognormvariate(math.log(arg("median")), arg("sigma"))
        if kind == "normal":
            # Inverse-CDF sampling of the truncated normal: exact and never loops.
            mean, sd = arg("mean"), arg("sd")
            lo = _STD_NORMAL.cdf((arg("low", -math.inf) - mean) / sd)
            hi = _STD_NORMAL.cdf((arg("high", math.inf) - mean) / sd)
            u = lo + (hi - lo) * rng.random()
            u = min(max(u, 1e-15), 1 - 1e-15)
            return mean + sd * _STD_NORMAL.inv_cdf(u)
        raise ValueError(f"unknown distribution {kind!r}")

    def ppf(self, u: float) -> float:
        """Inverse CDF at ``u`` in (0, 1): maps a unit-cube sample (Sobol, Morris) to a value."""
        kind, arg = self.kind, self.arg
        u = min(max(u, 1e-12), 1 - 1e-12)
        if kind == "fixed":
            return arg("value")
        if kind == "uniform":
            return arg("low") + (arg("high") - arg("low")) * u
        if kind == "exponential":
            return -arg("mean") * math.log1p(-u)
        if kind == "triangular":
            low, mode, high = arg("low"), arg("mode"), arg("high")
            cut = (mode - low) / (high - low)
            if u < cut:
                return low + math.sqrt(u * (high - low) * (mode - low))
            return high - math.sqrt((1 - u) * (high - low) * (high - mode))
        if kind == "beta":
            from scipy.stats import beta
            low, high = arg("low", 0.0), arg("high", 1.0)
            return low + (high - low) * float(beta.ppf(u, arg("a"), arg("b")))
        if kind == "lognormal":
            return arg("median") * math.exp(arg("sigma") * _STD_NORMAL.inv_cdf(u))
        if kind == "normal":
            mean, sd = arg("mean"), arg("sd")
            lo = _STD_NORMAL.cdf((arg("low", -math.inf) - mean) / sd)
            hi = _STD_NORMAL.cdf((arg("high", math.inf) - mean) / sd)
            v = min(max(lo + (hi - lo) * u, 1e-15), 1 - 1e-15)
            return mean + sd * _STD_NORMAL.inv_cdf(v)
        raise ValueError(f"unknown distribution {kind!r}")

    @property
    def mean(self) -> float:
        """The distribution's mean (used in reports and the exact solver)."""
        kind, arg = self.kind, self.arg
        if kind in ("exponential",):
            return arg("mean")
        if kind == "fixed":
            return arg("value")
        if kind == "uniform":
            return (arg("low") + arg("high")) / 2
        if kind == "triangular":
            return (arg("low") + arg("mode") + arg("high")) / 3
        if kind == "beta":
            low, high = arg("low", 0.0), arg("high", 1.0)
            return low + (high - low) * arg("a") / (arg("a") + arg("b"))
        if kind == "lognormal":
            return arg("median") * math.exp(arg("sigma") ** 2 / 2)
        # truncated normal
        mean, sd = arg("mean"), arg("sd")
        a = (arg("low", -math.inf) - mean) / sd
        b = (arg("high", math.inf) - mean) / sd
        pdf = _STD_NORMAL.pdf
        za = pdf(a) if math.isfinite(a) else 0.0
        zb = pdf(b) if math.isfinite(b) else 0.0
        return mean + sd * (za - zb) / (_STD_NORMAL.cdf(b) - _STD_NORMAL.cdf(a))

    def describe(self) -> str:
        """Short human form, e.g. ``triangular(low=1, mode=2, high=5)``."""
        inner = ", ".join(f"{k}={v:g}" for k, v in self.args)
        return f"{self.kind}({inner})"

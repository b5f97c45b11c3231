"""Global sensitivity of an outcome to the uncertain parameters (SALib: Sobol, Morris).

Mirrors SALib's stages: :func:`sample` draws points in the unit cube and maps them through
each parameter's inverse CDF; :func:`evaluate` runs ``reps`` replications at every point
(with the same replication indices at every point: common random numbers, which removes
most of the aleatory noise from the differences that Sobol and Morris estimate);
:func:`analyze` hands the results to SALib. Levers are not touched: they are decisions,
not uncertainties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import UsageError
from ..faults import Stop
from ..run import runner
from ..run.engine import Plan
from ..spec.metric import Metric, resolve
from ..spec.model import Model

METHODS = ("sobol", "morris")


def _salib() -> Any:
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise UsageError("sensitivity analysis needs SALib: pip install 'escalation-sim["
                         "sensitivity]'") from None
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample
    return sobol_sample, sobol_analyze, morris_sample, morris_analyze


def uncertain(model: Model) -> list[int]:
    """Indices of parameters that actually vary (not 'fixed')."""
    return [i for i, p in enumerate(model.parameters) if p.dist.varies]


def problem(model: Model) -> dict[str, Any]:
    """The SALib problem: the varying parameters on the unit cube."""
    idx = uncertain(model)
    if not idx:
        raise UsageError(f"scenario '{model.id}' has no uncertain parameters to analyse")
    return {"num_vars": len(idx), "names": [model.parameters[i].id for i in idx],
            "bounds": [[0.0, 1.0]] * len(idx)}


def sample(model: Model, method: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit-cube points, full parameter vectors) for ``method``."""
    sobol_sample, _, morris_sample, _ = _salib()
    prob = problem(model)
    if method == "sobol":
        if n < 2 or n & (n - 1):
            raise UsageError(f"Sobol needs a power of 2 base samples (got {n})")
        unit = sobol_sample.sample(prob, n, calc_second_order=False, seed=seed)
    elif method == "morris":
        unit = morris_sample.sample(prob, n, num_levels=4, seed=seed)
    else:
        raise UsageError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    idx = uncertain(model)
    full = np.array([[p.dist.mean for p in model.parameters]] * len(unit), dtype=float)
    for col, i in enumerate(idx):
        dist = model.parameters[i].dist
        full[:, i] = [dist.ppf(float(u)) for u in unit[:, col]]
    for i, p in enumerate(model.parameters):
        if not p.dist.varies:
            full[:, i] = p.dist.arg("value")
    return unit, full


class EvaluateTask:
    """Mean of a 0/1 metric over ``reps`` replications at each parameter point."""

    def __init__(self, model: Model, points: np.ndarray, metric: Metric, reps: int,
                 seed: int) -> None:
        self.model, self.points, self.metric = model, points, metric
        self.reps, self.seed = reps, seed
        self._plan: Plan | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plan": None}

    def __call__(self, start: int, stop: int) -> np.ndarray:
        if self._plan is None:
            self._plan = Plan(self.model)
        out = np.zeros(stop - start)
        for row in range(start, stop):
            hits = sum(self.metric.happened(self._plan.run(self.seed, rep,
                                                           parameters=self.points[row]))
                       for rep in range(self.reps))
            out[row - start] = hits / self.reps
        return out


def evaluate(model: Model, points: np.ndarray, metric: str | Metric, reps: int, seed: int,
             workers: int | None = None, progress: runner.Progress | None = None
             ) -> tuple[np.ndarray, Stop | None]:
    """The metric's probability at every point (rows of ``points``), and why the work
    stopped early (None if it did not: then every point is evaluated, else a prefix)."""
    chosen = resolve(model, metric)
    parts: list[np.ndarray] = [np.zeros(0)]

    def take(part: np.ndarray) -> bool:
        parts.append(part)
        if progress is not None:
            progress(sum(len(p) for p in parts), len(points))
        return False

    stop = runner.map_chunks(EvaluateTask(model, points, chosen, reps, seed), len(points),
                             workers, take, chunk=8)
    return np.concatenate(parts), stop


READABLE_HALF_WIDTH = 0.1


class Readability(NamedTuple):
    """Can the indices be read? ``widest``: the widest 95% half-width among the top
    parameters' indices (Morris: relative to the largest mu*); ``negative``: parameters
    with an index clearly below zero (a sign of noise); ``suggested``: a base sample
    size that would bring the widest half-width to the target."""

    readable: bool
    widest: float
    negative: tuple[str, ...]
    samples: int
    suggested: int


@dataclass(frozen=True)
class Sensitivity:
    """Indices per parameter: Sobol (S1, ST) or Morris (mu*, sigma), with 95% confidence."""

    method: str
    metric: Metric
    names: tuple[str, ...]
    first: np.ndarray
    first_conf: np.ndarray
    total: np.ndarray
    total_conf: np.ndarray
    points: int
    reps: int
    mean: float
    stop: Stop | None = None  # stopped early: indices are NaN (they need every point)
    evaluated: tuple[tuple[tuple[float, ...], float], ...] = ()  # stopped: (point, P) so far
    planned: int = 0  # stopped: the points there were to evaluate

    def readability(self, target: float = READABLE_HALF_WIDTH) -> Readability:
        """Whether the intervals are narrow enough to rank the parameters, and the sample
        size that would make them so (intervals shrink as 1/sqrt(samples)).

        Sobol indices live in [0, 1]: a 95% half-width above ``target`` (0.1) on any index
        of the top five, or an index below zero by more than the noise, cannot be read.
        Morris mu* has the metric's scale: the target is ``target`` times the largest mu*."""
        top = self.ranking()[:5]
        scale = 1.0 if self.method == "sobol" else max(float(self.total.max()), 1e-12)
        confs = [float(self.total_conf[i]) for i in top]
        if self.method == "sobol":
            confs += [float(self.first_conf[i]) for i in top]
        widest = max(confs) / scale if confs else 0.0
        negative = tuple(self.names[i] for i in range(len(self.names))
                         if self.method == "sobol" and
                         min(self.total[i], self.first[i]) < -0.05)
        if widest <= target and not negative:
            return Readability(True, widest, negative, self.samples, self.samples)
        factor = (widest / target) ** 2
        wanted = max(self.samples * 2, math.ceil(self.samples * factor))
        if self.method == "sobol":
            wanted = 1 << (wanted - 1).bit_length()  # Sobol needs a power of 2
        return Readability(False, widest, negative, self.samples, wanted)

    @property
    def samples(self) -> int:
        """The base sample size N (Sobol: points = N * (D + 2); Morris: N * (D + 1))."""
        return max(1, self.points // (len(self.names) + (2 if self.method == "sobol" else 1)))

    def ranking(self) -> list[int]:
        """Parameter indices, most influential first (by ST or mu*)."""
        return [int(i) for i in np.argsort(-self.total)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        first, total = ("S1", "ST") if self.method == "sobol" else ("mu_star", "sigma")
        kept = {"stopped": self.stop.message,
                "evaluated_points": [{"parameters": list(x), "p": p} for x, p in self.evaluated]
                } if self.stop is not None else {}
        return {**kept,"method": self.method, "metric": self.metric.id, "points": self.points,
                "replications_per_point": self.reps, "mean_probability": self.mean,
                "parameters": [{"id": n, first: float(a), f"{first}_conf": float(b),
                                total: float(c), f"{total}_conf": float(d)}
                               for n, a, b, c, d in zip(self.names, self.first,
                                                        self.first_conf, self.total,
                                                        self.total_conf, strict=True)]}


def analyze(model: Model, method: str, metric: str | Metric, unit: np.ndarray, y: np.ndarray,
            reps: int, seed: int) -> Sensitivity:
    """Sobol or Morris indices from evaluated points."""
    _, sobol_analyze, _, morris_analyze = _salib()
    prob = problem(model)
    if method == "sobol":
        res = sobol_analyze.analyze(prob, y, calc_second_order=False, seed=seed)
        first, first_conf = np.asarray(res["S1"]), np.asarray(res["S1_conf"])
        total, total_conf = np.asarray(res["ST"]), np.asarray(res["ST_conf"])
    else:
        res = morris_analyze.analyze(prob, unit, y, num_levels=4, seed=seed)
        # Morris: mu* (mean absolute elementary effect) ranks influence; sigma flags
        # interactions. Stored as (first, total) = (sigma, mu*) so ranking uses mu*.
        first, first_conf = np.asarray(res["sigma"]), np.zeros(len(prob["names"]))
        total, total_conf = np.asarray(res["mu_star"]), np.asarray(res["mu_star_conf"])
    return Sensitivity(method, resolve(model, metric), tuple(prob["names"]), first,
                       first_conf, total, total_conf, len(y), reps, float(np.mean(y)))


def run_sensitivity(model: Model, metric: str | Metric, method: str = "sobol", samples: int = 64,
                    reps: int = 50, seed: int = 1, workers: int | None = None,
                    progress: runner.Progress | None = None) -> Sensitivity:
    """Sample, evaluate and analyse in one call. Stopped early, the indices cannot be
    computed; the result then says how many points were evaluated, with NaN indices."""
    unit, points = sample(model, method, samples, seed)
    chosen = resolve(model, metric)
    y, stop = evaluate(model, points, chosen, reps, seed, workers, progress)
    if stop is None:
        return analyze(model, method, chosen, unit, y, reps, seed)
    names = tuple(problem(model)["names"])
    nan = np.full(len(names), np.nan)
    evaluated = tuple((tuple(float(v) for v in points[i]), float(p)) for i, p in enumerate(y))
    return Sensitivity(method, chosen, names, nan, nan, nan, nan, len(y), reps,
                       float(np.mean(y)) if len(y) else math.nan, stop, evaluated, len(points))

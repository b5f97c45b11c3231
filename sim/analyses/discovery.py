"""Scenario discovery: which values of the uncertain parameters lead to an outcome.

From one Monte Carlo run (each replication records its parameter draws), compare the
parameter values of the replications where the outcome happened with the others:
a two-sample Kolmogorov-Smirnov statistic ranks the parameters, and the outcome's
probability in each quintile of a parameter (with Wilson intervals) shows where the risk
concentrates. This is the first step of PRIM-style discovery (Bryant & Lempert 2010),
kept to one parameter at a time so that a class can read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as st

from ..errors import UsageError
from ..faults import Stop
from ..results.stats import Estimate, wilson
from ..run import runner
from ..run.record import Record
from ..spec.metric import Metric, resolve
from ..spec.model import Model

BINS = 5


@dataclass(frozen=True)
class ParameterFinding:
    """How one parameter separates the runs with the outcome from the others."""

    id: str
    ks: float
    p_value: float
    edges: tuple[float, ...]
    bins: tuple[Estimate, ...]
    median_hit: float
    median_other: float


@dataclass(frozen=True)
class Discovery:
    """Parameters ranked by how strongly they separate outcome from no outcome."""

    metric: Metric
    runs: int
    hits: int
    findings: tuple[ParameterFinding, ...]
    stop: Stop | None = None  # why the run stopped early; the findings use the runs kept

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metric": self.metric.id, "runs": self.runs, "hits": self.hits,
                "parameters": [{"id": f.id, "ks": f.ks, "p_value": f.p_value,
                                "quintile_edges": list(f.edges),
                                "p_by_quintile": [[b.p, b.low, b.high] for b in f.bins],
                                "median_with_outcome": f.median_hit,
                                "median_without": f.median_other} for f in self.findings]}


def collect(model: Model, metric: str | Metric, runs: int, seed: int,
            workers: int | None = None, progress: runner.Progress | None = None
            ) -> tuple[np.ndarray, np.ndarray, Stop | None]:
    """(parameter matrix runs x params, outcome flags, why the run stopped early or None)
    from a plain run."""
    chosen = resolve(model, metric)
    params: list[tuple[float, ...]] = []
    flags: list[bool] = []

    def sink(records: list[Record]) -> None:
        for rec in records:
            params.append(rec.parameters)
            flags.append(chosen.happened(rec))

    stop = runner.run(model, runs, seed, workers, progress=progress, sink=sink).stop
    return (np.array(params, dtype=float).reshape(len(flags), -1),
            np.array(flags, dtype=bool), stop)


def analyse(model: Model, metric: str | Metric, x: np.ndarray, hit: np.ndarray
            ) -> Discovery:
    """Rank the varying parameters by the KS distance between hit and non-hit runs."""
    chosen = resolve(model, metric)
    varying = [i for i, p in enumerate(model.parameters) if p.dist.varies]
    if not varying:
        raise UsageError(f"scenario '{model.id}' has no uncertain parameters to examine")
    k = int(hit.sum())
    if k == 0 or k == len(hit):
        raise UsageError(f"'{chosen.id}' happened in {k} of {len(hit)} runs: discovery needs "
                         "runs with and without it (use more runs)")
    findings = []
    for i in varying:
        col = x[:, i]
        ks = st.ks_2samp(col[hit], col[~hit])
        edges = np.quantile(col, np.linspace(0, 1, BINS + 1))
        which = np.clip(np.searchsorted(edges, col, side="right") - 1, 0, BINS - 1)
        bins = tuple(wilson(int(hit[which == b].sum()), int((which == b).sum()))
                     for b in range(BINS))
        findings.append(ParameterFinding(
            model.parameters[i].id, float(ks.statistic), float(ks.pvalue),
            tuple(float(e) for e in edges), bins, float(np.median(col[hit])),
            float(np.median(col[~hit]))))
    findings.sort(key=lambda f: -f.ks)
    return Discovery(chosen, len(hit), k, tuple(findings))


def discover(model: Model, metric: str | Metric, runs: int, seed: int,
             workers: int | None = None, progress: runner.Progress | None = None
             ) -> Discovery:
    """Run and analyse in one call; a run stopped early is analysed on the runs kept."""
    chosen = resolve(model, metric)
    x, hit, stop = collect(model, chosen, runs, seed, workers, progress)
    if stop is None:
        return analyse(model, chosen, x, hit)
    try:
        return dataclasses.replace(analyse(model, chosen, x, hit), stop=stop)
    except UsageError:  # too few runs kept to compare: keep the counts, no findings
        return Discovery(chosen, len(hit), int(hit.sum()), (), stop)

"""From an Aggregate to a Summary: probabilities with intervals, curves, bands, quantiles.

Pure: no printing, no files. The Summary is what tables, plots, JSON and reports show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..run.aggregate import Aggregate
from ..spec.model import Model
from .stats import Estimate, wilson, wilson_arrays

BANDS = (0.05, 0.25, 0.5, 0.75, 0.95)
STATE_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
FEW_EVENTS = 10


@dataclass(frozen=True)
class Line:
    """One row of a probability table."""

    id: str
    name: str
    estimate: Estimate


@dataclass(frozen=True)
class Curve:
    """A cumulative probability over whole days 0..horizon with pointwise 95% intervals."""

    id: str
    name: str
    p: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class Summary:
    """What a run found, ready to print, plot or save."""

    scenario: str
    title: str
    variant: str
    levers: tuple[tuple[str, Any], ...]
    n: int
    horizon: float
    start: str
    initial_rung: int
    rungs: tuple[Line, ...]
    outcomes: tuple[Line, ...]
    rung_curves: tuple[Curve, ...]
    outcome_curves: tuple[Curve, ...]
    occupancy: np.ndarray
    bands: dict[float, np.ndarray]
    peak_share: np.ndarray
    terminal: tuple[Line, ...]
    actions: tuple[tuple[str, Estimate, float], ...]
    state: tuple[tuple[str, tuple[float, ...], float], ...]
    n_events: int
    warnings: tuple[str, ...] = field(default=())

    def rung(self, rung_id: str) -> Estimate:
        """P(reach rung) by the horizon."""
        return next(line.estimate for line in self.rungs if line.id == rung_id)

    def outcome(self, outcome_id: str) -> Estimate:
        """P(outcome) by the horizon."""
        return next(line.estimate for line in self.outcomes if line.id == outcome_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (numbers rounded only where they are grids)."""
        def est(e: Estimate) -> dict[str, Any]:
            return {"count": e.k, "runs": e.n, "p": e.p, "ci95": [e.low, e.high]}

        def curve(c: Curve) -> dict[str, Any]:
            return {"id": c.id, "name": c.name, "p": c.p.round(6).tolist(),
                    "ci95_low": c.low.round(6).tolist(), "ci95_high": c.high.round(6).tolist()}

        return {
            "scenario": self.scenario, "title": self.title, "variant": self.variant,
            "levers": dict(self.levers), "runs": self.n, "horizon_days": self.horizon,
            "start": self.start,
            "rungs": [{"id": r.id, "name": r.name, "reach": est(r.estimate),
                       "peak_share": float(self.peak_share[i])}
                      for i, r in enumerate(self.rungs)],
            "outcomes": [{"id": o.id, "name": o.name, **est(o.estimate)} for o in self.outcomes],
            "terminal": [{"reason": t.id, **est(t.estimate)} for t in self.terminal],
            "actions": [{"id": a, "occurs": est(e), "mean_count": m} for a, e, m in self.actions],
            "state": [{"id": s, "quantiles": dict(zip([str(q) for q in STATE_QUANTILES], qs,
                                                      strict=True)), "mean": m}
                      for s, qs, m in self.state],
            "rung_incidence": [curve(c) for c in self.rung_curves],
            "outcome_incidence": [curve(c) for c in self.outcome_curves],
            "rung_bands": {str(q): v.tolist() for q, v in self.bands.items()},
            "events": self.n_events,
            "warnings": list(self.warnings),
        }


def _curve(cid: str, name: str, hist: np.ndarray, n: int) -> Curve:
    p, low, high = wilson_arrays(np.cumsum(hist), n)
    return Curve(cid, name, p, low, high)


def _bands(occupancy: np.ndarray, n: int) -> dict[float, np.ndarray]:
    cum = np.cumsum(occupancy, axis=1)
    out = {}
    for q in BANDS:
        # Smallest rung whose cumulative share reaches q (the q-quantile of the rung).
        out[q] = np.argmax(cum >= q * n - 1e-9, axis=1) if n else np.zeros(len(cum), int)
    return out


def summarise(model: Model, agg: Aggregate, variant: str = "base") -> Summary:
    """Turn counts into estimates with 95% Wilson intervals and precision warnings."""
    n = agg.n
    rungs = tuple(Line(r.id, r.name, wilson(int(agg.reached[r.index]), n)) for r in model.rungs)
    outcomes = tuple(Line(o.id, o.name, wilson(int(agg.outcome_counts[o.index]), n))
                     for o in model.outcomes)
    terminal = tuple(Line(reason, reason, wilson(count, n))
                     for reason, count in sorted(agg.terminal.items(), key=lambda kv: -kv[1]))
    actions = tuple((a.id, wilson(int(agg.action_any[a.index]), n),
                     float(agg.action_total[a.index]) / n if n else float("nan"))
                    for a in model.actions)
    state = tuple((s.id, tuple(h.quantiles(list(STATE_QUANTILES))), h.mean())
                  for s, h in zip(model.state, agg.state, strict=True))
    warnings = []
    if n < 1000:
        half = wilson(n // 2, n).half_width if n else 1.0
        warnings.append(f"Only {n} runs: a probability near 50% is known to about "
                        f"±{half * 100:.1f} points; use 4000 runs or more for teaching "
                        "figures.")
    seen: set[str] = set()
    for line in (*rungs, *outcomes):
        k = line.estimate.k
        if 0 < k < FEW_EVENTS and line.name not in seen:
            seen.add(line.name)
            warnings.append(f"'{line.name}' happened in only {k} of {n} runs: treat "
                            f"{line.estimate.p:.2%} as an order of magnitude (95% interval "
                            f"{line.estimate.low:.2%} to {line.estimate.high:.2%}).")
    return Summary(
        scenario=model.id, title=model.title, variant=variant, levers=model.applied,
        n=n, horizon=model.horizon, start=model.start.isoformat(),
        initial_rung=model.initial_rung, rungs=rungs, outcomes=outcomes,
        rung_curves=tuple(_curve(r.id, r.name, agg.reach_hist[r.index], n)
                          for r in model.rungs),
        outcome_curves=tuple(_curve(o.id, o.name, agg.outcome_hist[o.index], n)
                             for o in model.outcomes),
        occupancy=agg.occupancy / max(n, 1), bands=_bands(agg.occupancy, n),
        peak_share=agg.peak_counts / max(n, 1), terminal=terminal, actions=actions,
        state=state, n_events=agg.n_events, warnings=tuple(warnings))

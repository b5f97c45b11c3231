"""Plain-text tables for the terminal: comparisons, sweeps, sensitivity, exact checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..analyses.compare import Comparison, Sweep
from ..analyses.discovery import Discovery
from ..analyses.exact import ExactResult
from ..analyses.sensitivity import READABLE_HALF_WIDTH, Sensitivity
from ..results.stats import Estimate
from ..results.summary import Summary
from ..run.rare import RareEstimate
from ..spec.metric import find
from ..spec.model import Model
from .numbers import (
    interval,
    is_clear,
    percent,
    points,
    points_decimals,
    points_interval,
    share,
    value_text,
)


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], right: int = 1) -> str:
    """Align columns; the first ``right``-th and later columns are right-aligned.

    No line ends in spaces, the rule under the header included (an empty last column,
    such as Morris's unused interval, would otherwise leave them)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    def fmt(row: Sequence[str]) -> str:
        cells = [str(c).ljust(w) if i < right else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()
    rule = "  ".join("-" * w for w in widths).rstrip()
    return "\n".join([fmt(header), rule, *[fmt(r) for r in rows]])


CLEAR_NOTE = "'clear?' = the paired 95% interval, as printed, excludes 0."


def comparison_table(comp: Comparison) -> str:
    """Each metric: base probability, each variant's, and the paired difference."""
    blocks = []
    base = comp.summaries[0]
    places = points_decimals(d for diffs in comp.differences[1:] for d in diffs)
    for v in range(1, len(comp.names)):
        other = comp.summaries[v]
        rows = []
        for metric, d in zip(comp.metrics, comp.differences[v], strict=True):
            if metric.is_rung and metric.index == base.initial_rung:
                continue
            b, o = metric.line(base), metric.line(other)
            rows.append([metric.label, percent(b.estimate), percent(o.estimate),
                         f"{points(d.diff, places)} pts", points_interval(d, places),
                         "yes" if is_clear(d, places) else "no"])
        levers = ", ".join(f"{k}={v}" for k, v in other.levers) or "no change"
        blocks.append(f"{comp.names[v]}  ({levers})\n" + grid(
            ["metric", "base", comp.names[v], "difference", "95% CI (paired)", "clear?"],
            rows))
    foot = f"{comp.runs} paired runs (common random numbers), seed {comp.seed}. {CLEAR_NOTE}"
    return "\n\n".join(blocks) + "\n\n" + foot


def sweep_table(sw: Sweep) -> str:
    """The metric at each grid point with its interval, and the paired change against the
    first grid point (common random numbers make it much narrower than the two intervals)."""
    changes = sw.changes
    places = points_decimals(changes[1:])
    first = ", ".join(f"{a.lever}={value_text(a.values[0])}" for a in sw.axes)
    if len(sw.axes) == 1:
        rows = []
        for i, value in enumerate(sw.axes[0].values):
            est = sw.estimate(i)
            d = changes[i]
            rows.append([value_text(value), percent(est), interval(est)]
                        + (["-", "-", ""] if i == 0 else
                           [points(d.diff, places), points_interval(d, places),
                            "yes" if is_clear(d, places) else "no"]))
        return grid([sw.axes[0].lever, f"P({sw.metric.id})", "95% CI",
                     f"change vs {first} (pts)", "95% CI (paired)", "clear?"], rows) + (
            f"\nchange: paired difference from the first grid point, in percentage points. "
            f"{CLEAR_NOTE}")
    a, b = sw.axes
    header = [f"{a.lever} \\ {b.lever}", *[value_text(v) for v in b.values]]
    rows, changed = [], []
    for i, va in enumerate(a.values):
        cells, deltas = [value_text(va)], [value_text(va)]
        for j in range(len(b.values)):
            k = i * len(b.values) + j
            est = sw.estimate(k)
            cells.append(f"{percent(est)} ±{_half_points(est)}")
            d = changes[k]
            deltas.append("-" if k == 0 else points(d.diff, places)
                          + ("*" if is_clear(d, places) else ""))
        rows.append(cells)
        changed.append(deltas)
    return (grid(header, rows) + f"\nP({sw.metric.id}) ± 95% half-width in points\n\n"
            + grid(header, changed)
            + f"\nchange vs {first} in points (paired); * = clear: the paired 95% interval "
              "excludes 0 (see sweep.json for the intervals)")


def _half_points(est: Estimate) -> str:
    return f"{est.half_width * 100:.1f}"


def sensitivity_table(sens: Sensitivity) -> str:
    """Parameters ranked by influence."""
    if sens.method == "sobol":
        header = ["parameter", "total effect ST", "±95%", "first order S1", "±95%"]
    else:
        header = ["parameter", "mu* (influence)", "±95%", "sigma (interactions)", ""]
    rows = []
    for i in sens.ranking():
        rows.append([sens.names[i], f"{sens.total[i]:.3f}", f"{sens.total_conf[i]:.3f}",
                     f"{sens.first[i]:.3f}",
                     f"{sens.first_conf[i]:.3f}" if sens.method == "sobol" else ""])
    return (grid(header, rows) + f"\n{sens.method.title()} on P({sens.metric.id}) "
            f"(mean {share(sens.mean)}); {sens.points} points x {sens.reps} runs each."
            + readability_note(sens))


def readability_note(sens: Sensitivity) -> str:
    """A warning when the intervals are too wide to rank the parameters, with the size
    that would do; empty when they can be read."""
    r = sens.readability()
    if r.readable:
        return ""
    per_point = len(sens.names) + (2 if sens.method == "sobol" else 1)
    runs = r.suggested * per_point * sens.reps
    bits = [f"the widest 95% interval of a leading index is ±{r.widest:.2f}"
            + (" of the largest mu*" if sens.method == "morris" else "")]
    if r.negative:
        bits.append(f"{', '.join(r.negative)} came out below zero, which only noise can do")
    return ("\n\nWARNING: these indices are too uncertain to rank the parameters: "
            + "; ".join(bits) + f". Intervals shrink as 1/sqrt(samples): about "
            f"{r.suggested} samples instead of {r.samples} would bring them to "
            f"±{READABLE_HALF_WIDTH:.2f} ({runs:,} runs at {sens.reps} per point). Until "
            "then read only which parameters are clearly large, not their order.")


def exact_table(names: Sequence[str], exact: np.ndarray, mc: Sequence[tuple[float, float, float]]
                ) -> str:
    """Exact probabilities beside Monte Carlo estimates and whether each is inside its CI."""
    rows = []
    for name, e, (p, lo, hi) in zip(names, exact, mc, strict=True):
        rows.append([name, f"{e:.5f}", f"{p:.5f}", f"[{lo:.5f}, {hi:.5f}]",
                     "yes" if lo - 1e-12 <= e <= hi + 1e-12 else "NO"])
    return grid(["quantity", "exact", "Monte Carlo", "95% CI", "inside?"], rows)


def exact_result_table(model: Model, result: ExactResult) -> str:
    """Exact P(reach) and P(outcome) at a few days and at the horizon."""
    last = len(result.days) - 1
    picks = sorted({0, last // 4, last // 2, last}) if last > 0 else [0]
    header = ["quantity", *[f"day {result.days[k]:g}" for k in picks]]
    rows = [[f"reach {r.name}", *[f"{result.reach[r.index, k]:.6f}" for k in picks]]
            for r in model.rungs]
    rows += [[f"outcome {o.name}", *[f"{result.outcome[o.index, k]:.6f}" for k in picks]]
             for o in model.outcomes]
    ends = "\n".join(f"  ended by {reason}: {p:.6f}" for reason, p in result.terminal.items())
    return (grid(header, rows) + f"\n\nHow runs end (by the horizon):\n{ends}\n"
            f"Exact solution of a continuous-time Markov chain with {result.n_states} states.")


def exact_check_table(model: Model, summary: Summary, result: ExactResult) -> str:
    """Monte Carlo estimates beside the exact values, at the horizon."""
    names = [f"reach {line.name}" for line in summary.rungs] + \
        [f"outcome {line.name}" for line in summary.outcomes]
    exact = np.concatenate([result.reach[:, -1], result.outcome[:, -1]])
    mc = [(line.estimate.p, line.estimate.low, line.estimate.high)
          for line in (*summary.rungs, *summary.outcomes)]
    inside = sum(lo - 1e-12 <= e <= hi + 1e-12 for e, (_, lo, hi) in zip(exact, mc, strict=True))
    return (exact_table(names, exact, mc) + f"\n{inside} of {len(mc)} exact values inside "
            "their 95% Monte Carlo interval (expect about 95%; see docs/verification.md).")


def discovery_table(disc: Discovery, top: int = 8) -> str:
    """Parameters ranked by separation, with the outcome's probability per quintile."""
    header = ["parameter", "KS", "p-value", "median (with / without)",
              *[f"Q{b + 1}" for b in range(5)]]
    rows = []
    for f in disc.findings[:top]:
        rows.append([f.id, f"{f.ks:.3f}", f"{f.p_value:.1e}",
                     f"{f.median_hit:.3g} / {f.median_other:.3g}",
                     *[share(b.p) for b in f.bins]])
    return (grid(header, rows) + f"\n'{disc.metric.id}' happened in {disc.hits} of {disc.runs} "
            "runs. Q1..Q5: its probability when the parameter is in that fifth of its range "
            "(lowest first). KS: how differently the parameter is distributed in runs with "
            "and without it (0 = no difference, 1 = complete separation); p-values are not "
            "adjusted for testing several parameters.")


def rare_table(estimates: Sequence[RareEstimate], summary: Summary) -> str:
    """Rare outcomes by conditional Monte Carlo beside plain counting of the same runs."""
    rows = []
    for e in estimates:
        cond = Estimate(round(e.p * e.runs), e.runs, e.p, e.low, e.high)
        metric = find(summary, e.id)
        assert metric is not None  # a rare target is one of the summary's metrics
        plain = metric.line(summary).estimate
        rows.append([metric.label, percent(cond),
                     interval(cond), f"{percent(plain)} {interval(plain)}",
                     f"{e.equivalent_runs:,.0f}", f"{e.variance_ratio:.1f}x"])
    header = ["Rare outcome (conditional Monte Carlo)", "P", "95% interval",
              "plain counting", "equivalent plain runs", "gain"]
    return grid(header, rows) + (
        "\nConditional Monte Carlo scores each run by the exact probability of its last, rare "
        "step\n(exact in expectation); 'equivalent plain runs' would give the same interval "
        "width by counting.")

"""Figures of backtests: the real path over the model's fan and first-passage curves, and a
pooled reliability diagram. Pure: returns matplotlib Figures, never shows or writes.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..analyses.backtest import Case, Pooled, Scored, real_path
from .backtest_tables import crises
from .plots import (
    BODY_PT,
    INK,
    MUTED,
    OKABE_ITO,
    SMALL_PT,
    date_axis,
    new_figure,
    percent_axis,
    style_axes,
)

FAN = ("#c6dbef", "#6baed6", "#08519c")  # 5-95% band, 25-75% band, median
REAL = "#1a1a1a"
MAX_CURVES = 8


def _x(start: dt.date, days: int) -> np.ndarray:
    return np.asarray(mdates.date2num(start)) + np.arange(days, dtype=float)


def _date_num(start: dt.date, day: float) -> float:
    return float(mdates.date2num(start)) + day


def _label(text: str, width: int) -> str:
    """At most two lines of ``width`` characters (an ellipsis if longer)."""
    lines = textwrap.wrap(text, width)
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width,
                                            placeholder="\N{HORIZONTAL ELLIPSIS}")]
    return "\n".join(lines)


def _fan(ax: Axes, case: Case) -> None:
    """Rung quantile bands of the runs, day by day, and the real path on top."""
    fc = case.forecasts
    days = len(next(iter(fc.bands.values()))) if fc.bands else int(fc.horizon) + 1
    x = _x(fc.start, days)
    bands = {q: np.asarray(v, dtype=float) for q, v in fc.bands.items()}
    if {0.05, 0.95} <= set(bands):
        ax.fill_between(x, bands[0.05], bands[0.95], step="post", color=FAN[0], linewidth=0)
    if {0.25, 0.75} <= set(bands):
        ax.fill_between(x, bands[0.25], bands[0.75], step="post", color=FAN[1], linewidth=0)
    if 0.5 in bands:
        ax.step(x, bands[0.5], where="post", color=FAN[2], linewidth=2.2)
    steps = real_path(fc, case.events)
    sx = [_date_num(fc.start, d) for d, _ in steps] + [float(x[-1])]
    sy = [float(r) for _, r in steps] + [float(steps[-1][1])]
    ax.step(sx, sy, where="post", color=REAL, linewidth=3.2, zorder=5)
    ax.plot(sx[1:-1], sy[1:-1], "o", color=REAL, markersize=7, zorder=6)
    names = [textwrap.shorten(n, 30 if i != fc.initial_rung else 22,
                              placeholder="\N{HORIZONTAL ELLIPSIS}")
             + (" (start)" if i == fc.initial_rung else "") for i, n in enumerate(fc.rung_names)]
    ax.set_yticks(range(len(names)), names, fontsize=SMALL_PT)
    ax.set_ylim(-0.5, len(names) - 0.5)
    ax.set_xlim(float(x[0]), float(x[-1]))
    date_axis(ax)
    style_axes(ax, grid_axis="y")
    ax.set_title("Rung by day: the runs (blue) and history (black)", loc="left",
                 fontsize=BODY_PT, color=INK)
    ax.legend([Patch(color=FAN[0]), Patch(color=FAN[1]), Line2D([], [], color=FAN[2], lw=2.2),
               Line2D([], [], color=REAL, lw=3.2, marker="o")],
              ["90% of runs", "middle half", "median run", "history"],
              loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False,
              fontsize=SMALL_PT, borderaxespad=0, ncols=4)


def _curve_items(case: Case) -> list[Scored]:
    """Outcomes drawn as curves: every one that happened, then likely ones that did not."""
    happened = [s for s in case.outcomes if s.event.happened]
    missed = sorted((s for s in case.outcomes if not s.event.happened
                     and s.forecast.estimate.p >= 0.05),
                    key=lambda s: -s.forecast.estimate.p)
    return (happened + missed)[:MAX_CURVES]


def _passage(ax: Axes, case: Case) -> None:
    """First-passage curves: P(happened by each date), with the real date marked."""
    fc = case.forecasts
    items = _curve_items(case)
    for k, s in enumerate(items):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        curve = s.forecast.cumulative * 100
        x = _x(fc.start, len(curve))
        name = textwrap.shorten(s.forecast.name, 32, placeholder="\N{HORIZONTAL ELLIPSIS}")
        if not s.event.happened:
            ax.plot(x, curve, color=colour, linewidth=2.2, linestyle=(0, (4, 2)),
                    label=f"{name} (did not happen)")
            continue
        timing = ("never in the model" if s.timing is None
                  else f"{s.timing.percentile:.2f}"
                  + (f" ({s.timing.flag.upper()})" if s.timing.flag else ""))
        ax.plot(x, curve, color=colour, linewidth=2.8, label=f"{name}: {timing}")
        if s.event.day is not None:
            day = min(s.event.day, len(curve) - 1)
            ax.plot(_date_num(fc.start, day), curve[day], "o", color=colour, markersize=11,
                    markeredgecolor=REAL, markeredgewidth=1.8, zorder=6)
    x = _x(fc.start, int(fc.horizon) + 1)
    ax.set_xlim(float(x[0]), float(x[-1]))
    ax.set_ylim(0, 101)
    date_axis(ax)
    style_axes(ax, grid_axis="y")
    percent_axis(ax, "y")
    ax.set_ylabel("Share of runs", fontsize=SMALL_PT, color=INK)
    ax.set_title("Outcomes: share of runs by date · dots: real dates · legend: timing",
                 loc="left",
                 fontsize=BODY_PT, color=INK)
    if items:
        handles, labels = ax.get_legend_handles_labels()
        ax.figure.legend(handles, labels, loc="outside lower center", frameon=False,
                         fontsize=SMALL_PT, ncols=2)
    else:
        ax.text(0.5, 0.5, "No judged outcome happened or was likely (5% or more)",
                transform=ax.transAxes, ha="center", fontsize=BODY_PT, color=MUTED)


def case_figure(case: Case) -> Figure:
    """The real path over the model's rung fan, and the first-passage curves of outcomes."""
    fc = case.forecasts
    sk = case.skill
    base = "n/a" if sk.skill_base is None else f"{sk.skill_base:+.2f}"
    fig = new_figure(
        f"Backtest: {fc.title}",
        f"{fc.runs:,} simulated runs · mean Brier {sk.mean_brier:.3f} over {sk.n} outcomes "
        f"· skill vs 50% {sk.skill_half:+.2f}, vs the base rate {base}\ntiming: the "
        "real date's percentile among runs where it happened (EARLY < 0.05, LATE > 0.95)",
        question="Did history run inside the model's fan, and when did each outcome come?",
        height_px=1400)
    top, bottom = fig.subplots(2, 1, height_ratios=(1.3, 1.0))
    _fan(top, case)
    _passage(bottom, case)
    return fig


def reliability_figure(pooled: Pooled) -> Figure:
    """Pooled reliability diagram: forecast probability against the share that happened."""
    n, k = pooled.skill.n, len(pooled.cases)
    fig = new_figure(
        "Backtests pooled: reliability", f"{n} outcomes from {crises(k)} · ticks at top "
        "(happened) and bottom (did not): each outcome at its forecast · whiskers: 95% "
        "Wilson intervals, too narrow because outcomes of one crisis are not independent · "
        "few cases: a check for gross over- or under-confidence, not a calibration",
        question="When the model said X%, did about X% of those things happen?")
    ax = fig.add_subplot()
    ax.plot([0, 100], [0, 100], color=MUTED, linewidth=1.2, linestyle=(0, (3, 3)),
            label="perfect reliability")
    rng = np.random.default_rng(0)  # fixed jitter: the same picture every time
    for c, case in enumerate(pooled.cases):
        p = np.array([s.forecast.estimate.p for s in case.outcomes]) * 100
        o = np.array([s.event.happened for s in case.outcomes], dtype=float) * 100
        jitter = rng.uniform(-2.5, 2.5, len(p))
        ax.plot(p, np.where(o > 0, 103, -3) + jitter * 0.4, "|", markersize=16,
                markeredgewidth=2.4, color=OKABE_ITO[c % len(OKABE_ITO)],
                label=case.forecasts.scenario)
    for b in pooled.bins:
        if b.n == 0:
            continue
        y, lo, hi = b.observed.p * 100, b.observed.low * 100, b.observed.high * 100
        ax.errorbar(b.mean_forecast * 100, y, yerr=[[y - lo], [hi - y]], fmt="o",
                    color=INK, markersize=6 + 2.2 * np.sqrt(b.n), capsize=6, linewidth=2,
                    zorder=5)
        ax.annotate(f"{b.n}", (b.mean_forecast * 100, y), xytext=(12, -4),
                    textcoords="offset points", fontsize=SMALL_PT, color=INK)
    ax.plot([], [], "o", color=INK, markersize=9, label="bin of forecasts (label: how many)")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-8, 108)
    ax.set_yticks([0, 25, 50, 75, 100])
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    style_axes(ax, grid_axis="y")
    ax.set_xlabel("The model's probability (by the horizon)", fontsize=BODY_PT, color=INK)
    ax.set_ylabel("Share that happened", fontsize=BODY_PT, color=INK)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=SMALL_PT,
              borderaxespad=0)
    return fig

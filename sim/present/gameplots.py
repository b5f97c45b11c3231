"""Figures of a crisis game against the model: "your crisis vs the simulated ones".

The game's path is drawn over the standard fan chart and first-passage (incidence) figures
of :mod:`sim.present.plots` for the same scenario, and the turning-point risks get a figure
of their own in the same style. Pure: every function returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import dates as mdates
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..analyses.debrief import Debrief, reached_rungs
from ..results.summary import Summary
from ..run.record import Record
from ..spec.model import Model
from . import plots

GAME_INK = "#000000"
OUTLINE = [patheffects.withStroke(linewidth=6, foreground="white")]


def rung_by_day(record: Record, days: int) -> np.ndarray:
    """The game's rung at the end of each day 0..days-1 (its last rung after it ended)."""
    out = np.empty(days, dtype=int)
    path = sorted(record.rung_path)
    k, rung = 0, path[0][1]
    for day in range(days):
        while k < len(path) and path[k][0] < day + 1:
            rung = path[k][1]
            k += 1
        out[day] = rung
    return out


def _day_numbers(model: Model, days: int) -> np.ndarray:
    return np.asarray(mdates.date2num(model.start)) + np.arange(days, dtype=float)


def path_over_fan(summary: Summary, model: Model, record: Record) -> Figure:
    """The fan chart with the game's rung drawn through the middle of that rung's layer."""
    fig = plots.fan_chart(summary, model)
    ax = fig.axes[0]
    occ = np.asarray(summary.occupancy, dtype=float) * 100
    end = min(occ.shape[0], int(record.end_day) + 1)
    rungs = rung_by_day(record, end)
    below = np.cumsum(occ, axis=1) - occ  # share of runs on lower rungs, per day and rung
    days = np.arange(end)
    y = below[days, rungs] + occ[days, rungs] / 2
    x = _day_numbers(model, end)
    (line,) = ax.plot(x, y, color=GAME_INK, linewidth=3.2, path_effects=OUTLINE, zorder=5,
                      gid="game-path", marker="o", markevery=[len(x) - 1], markersize=9,
                      clip_on=False)
    fig.legend([line], ["this game (through the layer of its rung)"],
               loc="outside lower left", frameon=False, fontsize=plots.BODY_PT)
    return fig


def marks_on_incidence(summary: Summary, model: Model, record: Record,
                       log: bool = False) -> Figure:
    """The first-passage curves with a ring where (and when) the game reached each rung."""
    fig = plots.incidence(summary, model, log=log)
    ax = fig.axes[0]
    floor = ax.get_ylim()[0]
    ring = None
    for _index, day, share in reached_rungs(summary, model, record):
        x = float(mdates.date2num(model.start)) + day
        y = max(share * 100, floor)
        (ring,) = ax.plot([x], [y], "o", markersize=15, markerfacecolor="none",
                          markeredgewidth=3, color=GAME_INK, path_effects=OUTLINE, zorder=6,
                          clip_on=False,
                          gid="game-reach")
    if ring is not None:
        fig.legend([ring], ["this game reached the rung"], loc="outside lower left",
                   frameon=False, fontsize=plots.BODY_PT)
    return fig


def risk_path(debrief: Debrief, model: Model, labels: Sequence[str] = ()) -> Figure:
    """The model's risk of the top rungs at each turn, before and after the moves, with
    95% intervals; the turning points are numbered."""
    fig = Figure(figsize=(plots.WIDTH_PX / plots.DPI, plots.HEIGHT_PX / plots.DPI),
                 dpi=plots.DPI, facecolor="white", layout="constrained")
    ax = fig.add_subplot()
    top = model.rungs[debrief.rung].name
    fig.suptitle(f"Risk of reaching '{top}' or higher by "
                 f"{model.date_of(model.horizon).isoformat()}, as the game went",
                 x=0.01, ha="left", fontsize=plots.TITLE_PT, fontweight="bold",
                 color=plots.INK)
    ax.set_title(f"{debrief.continuations} continuations from the game's state per point "
                 "(default policy from then on)\nbars: 95% intervals · bold numbers: the "
                 "turning points, biggest change first", loc="left", fontsize=plots.SMALL_PT,
                 color=plots.MUTED)
    turns = [r.turn + 1 for r in debrief.risks]
    for offset, attr, face, name in ((-0.12, "before", "white", "before the turn's moves"),
                                     (0.12, "after", plots.OKABE_ITO[3], "after them")):
        est = [getattr(r, attr) for r in debrief.risks]
        p = np.array([e.p for e in est]) * 100
        err = np.array([[e.p - e.low for e in est], [e.high - e.p for e in est]]) * 100
        ax.errorbar(np.array(turns) + offset, p, yerr=err, fmt="o", markersize=10,
                    markerfacecolor=face, color=plots.OKABE_ITO[3], ecolor=plots.MUTED,
                    capsize=4, linewidth=1.5, label=name)
    for rank, turn in enumerate(debrief.turning):
        r = debrief.risks[turn]
        ax.annotate(f"{rank + 1}", (turn + 1.12, r.after.p * 100), xytext=(12, 0),
                    textcoords="offset points", va="center", fontsize=plots.HEADING_PT,
                    fontweight="bold", color=plots.INK)
    names = list(labels) or [f"turn {t}\n{model.date_of(r.day).day} "
                             f"{model.date_of(r.day):%b}"
                             for t, r in zip(turns, debrief.risks, strict=True)]
    ax.set_xticks(turns, names, fontsize=plots.SMALL_PT)
    ax.set_ylim(0, 100)
    ax.set_xlim(0.5, len(turns) + 0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}%"))
    ax.set_ylabel("Conditional risk", fontsize=plots.BODY_PT, color=plots.INK)
    ax.tick_params(labelsize=plots.BODY_PT, colors=plots.INK)
    ax.grid(axis="y", color=plots.GRID)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper right", fontsize=plots.SMALL_PT, frameon=False)
    return fig

"""Figures of a Summary, styled to be projected in a classroom.

Pure: every function returns a :class:`matplotlib.figure.Figure` (or PNG bytes) and never
prints, shows or writes a file. Figures are built on ``Figure`` directly, not pyplot, so
there is no global state and no backend is chosen at import.

Colours follow the ladder: rungs below the start (de-escalation, settlement) in blues, the
starting rung in grey, escalation rungs from yellow to dark red, the hottest at the top.
Both scales vary in lightness, so they stay readable for colour-blind viewers and in
greyscale. Comparisons use the Okabe-Ito palette and a purple-orange diverging scale.

Every figure is 1600 x 900 pixels at the default dpi, with a title (scenario and variant),
a subtitle (runs, 95% intervals) and text of at least 13 points.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Annotation, Text
from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator

from ..results.stats import Estimate
from ..results.summary import Curve, Summary
from ..spec.metric import Metric, metrics
from ..spec.model import Model
from .numbers import is_clear, percent, places_for, points, points_decimals, value_text
from .report import format_estimate

if TYPE_CHECKING:  # annotations only: discovery imports scipy.stats (over a second), and
    # every process drawing a run's figures imports this module
    from ..analyses.compare import Sweep
    from ..analyses.discovery import Discovery
    from ..analyses.sensitivity import Sensitivity

WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 150
TITLE_PT, SUBTITLE_PT, HEADING_PT, BODY_PT, SMALL_PT = 17, 13.5, 15, 14, 13
INK = "#1a1a1a"
MUTED = "#4d4d4d"
GRID = "#d9d9d9"
START_GREY = (0.65, 0.65, 0.65, 1.0)
# Okabe & Ito (2008), "Color universal design": safe for the common colour-vision deficits.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
BASE_COLOUR = "#4d4d4d"
# Comparison table: change from the base in percentage points, purple down, orange up.
CHANGE_BOUNDS = (-100.0, -20.0, -5.0, -1.0, 0.0, 1.0, 5.0, 20.0, 100.0)
BARS_MAX_SERIES = 4
BARS_MAX_BARS = 36

Colour = tuple[float, float, float, float]
Difference = tuple[str, float, float, float]


# -- text helpers --------------------------------------------------------------------------
def _t(text: str) -> str:
    """Scenario text made safe for matplotlib: a '$' must not start mathtext."""
    return text.replace("$", r"\$")


TITLE_LINES = 2  # of a figure's title; longer titles end in an ellipsis


def _wrap(text: str, width: int, max_lines: int = 3) -> str:
    """Wrap to ``width`` characters and at most ``max_lines`` lines (ellipsis beyond)."""
    lines = textwrap.wrap(text, width, break_long_words=True) or [text]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, width - 1)].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    return "\n".join(lines)


def _fit_labels(names: Sequence[str], rows: int, height_in: float = 4.6) -> tuple[list[str],
                                                                               float]:
    """Wrap row labels so that they fit the height of a row; returns (labels, font size)."""
    per_row = height_in * 72 / max(rows, 1)
    for size in (BODY_PT, SMALL_PT):
        # A row holds this many lines with room to spare between neighbours.
        max_lines = int(max(1, min(3, (per_row - 2) // (size * 1.15))))
        # No more lines than a comfortable 40-character width needs, then as narrow as
        # that allows (the bars get the width).
        lines = min(max_lines, max((len(textwrap.wrap(n, 40)) for n in names), default=1))
        for width in range(24, 47):
            if all(len(textwrap.wrap(n, width) or [n]) <= lines for n in names):
                return [_wrap(n, width, lines) for n in names], size
    return [_wrap(n, 46, max_lines) for n in names], SMALL_PT


def _variant_label(summary: Summary) -> str:
    return "base case" if summary.variant == "base" else f"variant: {summary.variant}"


def _fmt_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _start_date(summary: Summary) -> dt.date:
    return dt.date.fromisoformat(summary.start)


def _horizon_date(summary: Summary) -> dt.date:
    return _start_date(summary) + dt.timedelta(days=int(summary.horizon))


def _runs(summary: Summary) -> str:
    return f"{summary.n:,} simulated runs"


def _dates(start: dt.date, days: int) -> np.ndarray:
    """Matplotlib date numbers of the days 0..days-1 (date axes get their own ticks)."""
    return np.asarray(mdates.date2num(start)) + np.arange(days, dtype=float)


# -- colours -------------------------------------------------------------------------------
def rung_colours(n_rungs: int, start: int) -> list[Colour]:
    """One colour per rung: blues below ``start``, grey at it, yellow to dark red above."""
    blues, hot = colormaps["Blues"], colormaps["YlOrRd"]
    out: list[Colour] = []
    below, above = start, n_rungs - start - 1
    for i in range(n_rungs):
        if i < start:
            # The lowest rung (the most settled) is the deepest blue.
            frac = 0.5 if below == 1 else (start - 1 - i) / (below - 1)
            out.append(_rgba(blues(0.45 + 0.4 * frac)))
        elif i == start:
            out.append(START_GREY)
        else:
            frac = 0.5 if above == 1 else (i - start - 1) / (above - 1)
            out.append(_rgba(hot(0.32 + 0.68 * frac)))
    return out


def _rgba(value: Any) -> Colour:
    r, g, b, a = (float(v) for v in value)
    return (r, g, b, a)


def _dark(colour: Any) -> bool:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45


# -- figure scaffolding --------------------------------------------------------------------
def _new_figure(summary: Summary | None, subtitle: str, *, question: str = "",
                title: str | None = None, height_px: int = HEIGHT_PX) -> Figure:
    """A 1600x900 px figure with its header drawn and the rest left to the layout.

    The header is the title (scenario and variant, bold), the question the figure answers,
    and a subtitle (runs, what the intervals are), all flush left with the figure.
    """
    fig = Figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor="white")
    # An Agg canvas of its own: every measurement while the figure is built and the final
    # PNG then share one renderer, and with it matplotlib's cache of text sizes (a bare
    # Figure made a new 1600x900 renderer, and measured every text again, at each of them).
    FigureCanvasAgg(fig)
    if title is None:
        assert summary is not None, "a figure needs a summary or an explicit title"
        title = f"{summary.title} ({_variant_label(summary)})"
    # Scenario text can be any length: the header keeps at most 2 lines of title and of
    # question and 5 of subtitle (an ellipsis marks a cut), so the plot always has room.
    title_lines = _wrap(title, 70, TITLE_LINES).split("\n")
    question_lines = _wrap(question, 86, 2).split("\n") if question else []
    sub_lines = [line for part in subtitle.split("\n") for line in textwrap.wrap(part, 112)]
    if len(sub_lines) > 5:
        sub_lines = sub_lines[:5]
        sub_lines[-1] = sub_lines[-1][:111].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    height_in = fig.get_figheight()
    y = 0.12  # inches from the top
    for lines, size, colour, weight in ((title_lines, TITLE_PT, INK, "bold"),
                                        (question_lines, HEADING_PT, INK, "normal"),
                                        (sub_lines, SUBTITLE_PT, MUTED, "normal")):
        if not lines:
            continue
        fig.text(0.012, 1 - y / height_in, _t("\n".join(lines)), ha="left", va="top",
                 fontsize=size, fontweight=weight, color=colour, linespacing=1.12)
        y += len(lines) * size * 1.22 / 72 + 0.05
    header = (y + 0.06) / height_in
    # Constrained layout below the header: labels, legends and colour bars get room.
    fig.set_layout_engine(ConstrainedLayoutEngine(rect=(0.0, 0.0, 1.0, 1.0 - header),
                                                  w_pad=0.08, h_pad=0.08))
    return fig


def _style(ax: Axes, *, grid_axis: Literal["x", "y", ""] = "x") -> None:
    """No chart junk: light grid behind the data, no box, readable ticks."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(labelsize=BODY_PT, colors=INK, length=4)
    ax.set_axisbelow(True)
    if grid_axis:
        ax.grid(axis=grid_axis, color=GRID, linewidth=0.9)


def _heading(ax: Axes, text: str, pad: float = 10) -> None:
    ax.set_title(_t(text), loc="left", fontsize=HEADING_PT, color=INK, pad=pad)


def _pct_axis(ax: Axes, axis: str = "x") -> None:
    fmt = FuncFormatter(lambda v, _pos: f"{v:g}%")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _probability_rows(ax: Axes, rows: int, size: float) -> None:
    """A horizontal 0-100% axis under ``rows`` labelled rows (the rung and outcome bars)."""
    ax.tick_params(axis="y", labelsize=size, length=0)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
    ax.spines["bottom"].set_bounds(0, 100)
    _pct_axis(ax)
    _style(ax)


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=True)
    # The year is enough context under month and day ticks ("2025", not "2025-Apr").
    formatter.offset_formats = ["", "%Y", "%Y", "%Y-%b-%d", "%Y-%b-%d", "%Y-%b-%d %H:%M"]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.xaxis.get_offset_text().set_fontsize(SMALL_PT)


def _legend_columns(labels: Sequence[str], width_in: float, size: float) -> int:
    """The most legend columns (filled column by column) that fit across ``width_in``."""
    widths = [max(len(line) for line in lab.split("\n")) * 0.52 * size / 72 for lab in labels]
    extra = 4.8 * size / 72  # handle, gap to the text and space between columns
    for cols in range(len(labels), 1, -1):
        per_col = math.ceil(len(labels) / cols)
        chunks = [widths[i:i + per_col] for i in range(0, len(widths), per_col)]
        if sum(max(c) + extra for c in chunks) <= width_in:
            return len(chunks)
    return 1


def _side_legend(fig: Figure, ax: Axes, handles: Sequence[Any], names: Sequence[str], *,
                 title: str, suffixes: Sequence[str] | None = None,
                 handleheight: float = 0.7) -> None:
    """A legend right of the axes, its labels wrapped so that it fits the figure's height.

    Long names get fewer, wider lines (and, as a last resort, an ellipsis) when there are
    many entries; a suffix such as " (start)" is always kept whole.
    """
    suffixes = list(suffixes or [""] * len(names))
    _lay_out(fig)
    avail = ax.get_window_extent().y1 / fig.dpi * 72 - SMALL_PT * 2.2  # points below title
    spacing = 0.45 if len(names) > 6 else 0.6
    labels: list[str] = []
    for lines, width in ((3, 32), (2, 32), (2, 38), (1, 44), (1, 52)):
        labels = [_wrap(n + x, width, lines) if len(n + x) <= width * lines
                  else _wrap(n, width, lines) if not x
                  else _wrap(n, width, lines)[: -len(x) - 1].rstrip()
                  + "\N{HORIZONTAL ELLIPSIS}" + x
                  for n, x in zip(names, suffixes, strict=True)]
        height = sum(max(lab.count("\n") + 1, handleheight) * SMALL_PT * 1.2
                     + spacing * SMALL_PT for lab in labels)
        if height <= avail:
            break
    ax.legend(handles, [_t(lab) for lab in labels], loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0, fontsize=SMALL_PT, frameon=False,
              title=_t(title), title_fontsize=SMALL_PT, alignment="left", handlelength=2.4,
              handleheight=handleheight, labelspacing=spacing)


def _bottom_legend(fig: Figure, handles: Sequence[Any], labels: Sequence[str],
                   size: float = SMALL_PT, **kwargs: Any) -> None:
    fig.legend(handles, labels, loc="outside lower center", frameon=False, fontsize=size,
               ncols=_legend_columns(labels, fig.get_figwidth() - 0.4, size), **kwargs)


# -- after-layout adjustments --------------------------------------------------------------
def _lay_out(fig: Figure) -> None:
    """Place the axes where the final drawing will (the constrained layout), so that the
    extents of axes and texts can be measured. Only the layout runs: a full draw without
    output (``draw_without_rendering``) cost as much again and changed nothing measured
    (the PNGs are the same bytes)."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)


def _fit_xlim(fig: Figure, ax: Axes, texts: Sequence[Text], anchors: Sequence[float]) -> None:
    """Widen the x range so each value label fits inside the axes, whatever its alignment:
    a label reaching past either side of its anchor (an x in data units) by more than the
    room there moves that side of the range out."""
    _lay_out(fig)
    width = ax.get_window_extent().width
    at = [ax.transData.transform((anchor, 0.0))[0] for anchor in anchors]
    # Label widths in pixels do not change with the range: the fractions of the axes width
    # each label needs left and right of its anchor (4 px to spare).
    needs = [(anchor, (x - text.get_window_extent().x0 + 4) / width,
              (text.get_window_extent().x1 - x + 4) / width)
             for text, anchor, x in zip(texts, anchors, at, strict=True)]
    low, high = ax.get_xlim()
    for _ in range(4):  # widening one side narrows the other's room: a few passes settle it
        for anchor, left, right in needs:
            if 0 < right < 0.9:
                high = max(high, low + (anchor - low) / (1 - right))
            if 0 < left < 0.9:
                low = min(low, high - (high - anchor) / (1 - left))
    ax.set_xlim(low, high)


def _events(model: Model | None, limit: int = 9) -> list[tuple[dt.date, str]]:
    """Scheduled events inside the horizon, one entry per date (names joined with '+')."""
    if model is None:
        return []
    by_day: dict[float, list[str]] = {}
    for event in model.schedule:
        if 0 < event.day <= model.horizon:
            by_day.setdefault(event.day, []).append(event.id.replace("_", " "))
    return [(model.date_of(day), " + ".join(names))
            for day, names in sorted(by_day.items())[:limit]]


def _marker(k: int) -> str:
    """A circled number (1 to 20) that keys a dotted line to the subtitle."""
    return chr(0x2460 + k) if k < 20 else f"({k + 1})"


def _events_key(events: Sequence[tuple[dt.date, str]]) -> str:
    if not events:
        return ""
    parts = [f"{_marker(k)} {name} ({when.day} {when:%b})" for k, (when, name)
             in enumerate(events)]
    return "\ndotted lines: " + ", ".join(parts)


def _schedule_marks(ax: Axes, events: Sequence[tuple[dt.date, str]]) -> list[Annotation]:
    """Dotted lines at scheduled dates, numbered just above the axes (off the data)."""
    marks = []
    for k, (when, _name) in enumerate(events):
        ax.axvline(float(mdates.date2num(when)), color=MUTED, linestyle=(0, (1, 2)),
                   linewidth=1.4, zorder=1, gid="schedule")
        marks.append(ax.annotate(_marker(k), (mdates.date2num(when), 1.0),
                                 xycoords=("data", "axes fraction"), xytext=(0, 3),
                                 textcoords="offset points", ha="center", va="bottom",
                                 fontsize=BODY_PT, color=INK, annotation_clip=False))
    return marks


def _place_marks(fig: Figure, ax: Axes, marks: Sequence[Annotation]) -> None:
    """Stagger the numbered schedule marks into rows so that none overlap."""
    if not marks:
        return
    _lay_out(fig)
    box = ax.get_window_extent()
    step = BODY_PT * 1.3
    rows: list[list[tuple[float, float]]] = []
    for mark in sorted(marks, key=lambda m: m.xy[0]):
        ext = mark.get_window_extent()
        if ext.x0 < box.x0:
            mark.set_horizontalalignment("left")
        elif ext.x1 > box.x1:
            mark.set_horizontalalignment("right")
        ext = mark.get_window_extent()
        span = (ext.x0 - 2, ext.x1 + 2)
        row = next((i for i, taken in enumerate(rows)
                    if all(span[1] < a or span[0] > b for a, b in taken)), len(rows))
        if row == len(rows):
            rows.append([])
        rows[row].append(span)
        mark.xyann = (0, 3 + row * step)


# -- bars ----------------------------------------------------------------------------------
def _bars(fig: Figure, ax: Axes, names: Sequence[str], estimates: Sequence[Estimate],
          colours: Sequence[Any], *, hatches: Sequence[str] | None = None,
          labels: Sequence[str | None] | None = None) -> None:
    """Horizontal bars (first item at the bottom) with 95% whiskers and value labels.

    A value label goes inside its bar, left of the whisker, when it fits there, and to the
    right of the whisker otherwise; the x range then grows just enough for the outside
    labels, so nothing overlaps and no label leaves the figure.
    """
    rows = len(names)
    y = np.arange(rows)
    p = np.array([e.p * 100 if e.n else 0.0 for e in estimates])
    low = np.array([e.low * 100 if e.n else 0.0 for e in estimates])
    high = np.array([e.high * 100 if e.n else 0.0 for e in estimates])
    hatches = list(hatches or [""] * rows)
    # The rows' height is known once laid out (it does not depend on the row labels).
    ax.set_yticks(y, ["x"] * rows)
    _style(ax)
    _lay_out(fig)
    tick_labels, size = _fit_labels(names, rows, ax.get_window_extent().height / fig.dpi)
    bars = ax.barh(y, p, height=0.66 if rows > 1 else 0.4, color=list(colours), linewidth=0)
    for bar, hatch in zip(bars, hatches, strict=True):
        if hatch:
            bar.set_hatch(hatch)
            bar.set_edgecolor("white")
    ax.errorbar(p, y, xerr=[np.maximum(p - low, 0), np.maximum(high - p, 0)], fmt="none",
                ecolor=INK, elinewidth=1.8, capsize=min(6, 60 / max(rows, 1)), capthick=1.8)
    pad = 6.0
    texts = [ax.annotate(format_estimate(est, style="plot") if text is None else text,
                         (hi, yi), xytext=(pad, 0), textcoords="offset points", va="center",
                         ha="left", fontsize=size, color=INK)
             for yi, hi, est, text in zip(y, high, estimates, labels or [None] * rows,
                                          strict=True)]
    ax.set_yticks(y, [_t(n) for n in tick_labels])
    _probability_rows(ax, rows, size)
    # Measure once laid out (the x range does not move the layout), then place labels.
    _lay_out(fig)
    width = ax.get_window_extent().width
    pad_px = pad * fig.dpi / 72
    sizes = [t.get_window_extent().width + pad_px + 4 for t in texts]
    limit = 100.0
    inside: list[bool] = []
    for _ in range(6):
        inside = [w + 2 * pad_px <= lo / limit * width for w, lo in zip(sizes, low, strict=True)]
        need = max([100.0, *(hi / (1 - w / width) for w, hi, ins
                             in zip(sizes, high, inside, strict=True)
                             if not ins and w / width < 0.9)])
        if need <= limit * 1.001:
            break
        limit = need
    ax.set_xlim(0, limit)
    for text, ins, lo, colour, hatch in zip(texts, inside, low, colours, hatches, strict=True):
        if not ins:
            continue
        text.xy = (lo, text.xy[1])
        text.xyann = (-pad, 0)
        text.set_horizontalalignment("right")
        if hatch:
            text.set_bbox({"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none"})
        elif _dark(colour):
            text.set_color("white")


# -- the figures ---------------------------------------------------------------------------
def rung_probabilities(summary: Summary, model: Model) -> Figure:
    """Bars of P(reach each rung by the horizon), top rung at the top, with 95% whiskers.

    The starting rung is grey, hatched and labelled "(start)" (every run begins there);
    rungs below it (settlement, de-escalation) are blue; escalation rungs go from yellow to
    dark red.
    """
    end = _horizon_date(summary)
    fig = _new_figure(summary, f"{_runs(summary)} from {_fmt_date(_start_date(summary))} · "
                               "whiskers and brackets: 95% intervals",
                      question="How likely is each rung (or one beyond it) to be reached by "
                               f"{_fmt_date(end)}?")
    ax = fig.add_subplot()
    start = summary.initial_rung
    names = [line.name + (" (start)" if i == start else "")
             for i, line in enumerate(summary.rungs)]
    colours = rung_colours(len(summary.rungs), start)
    hatches = ["//" if i == start else "" for i in range(len(summary.rungs))]
    # The starting rung is reached by construction: there is nothing to estimate.
    labels = ["100% (start)" if i == start else None for i in range(len(summary.rungs))]
    legend: list[Any] = []
    if start < len(colours) - 1:
        legend.append(Patch(facecolor=colours[-1], label="escalation (above the start)"))
    legend.append(Patch(facecolor=START_GREY, hatch="//", edgecolor="white",
                        label="starting rung"))
    if start > 0:
        legend.append(Patch(facecolor=colours[0], label="below the start (settling)"))
    _bottom_legend(fig, legend, [h.get_label() for h in legend], handlelength=1.6)
    _bars(fig, ax, names, [line.estimate for line in summary.rungs], colours,
          hatches=hatches, labels=labels)
    return fig


def _band(ax: Axes, x: np.ndarray, curve: Curve, colour: Any, dashed: bool,
          label: str) -> None:
    ax.fill_between(x, curve.low * 100, curve.high * 100, color=colour, alpha=0.22,
                    linewidth=0)
    ax.plot(x, curve.p * 100, color=colour, linewidth=3, label=label,
            linestyle=(0, (4, 2)) if dashed else "-")


def incidence(summary: Summary, model: Model, log: bool = False) -> Figure:
    """Cumulative incidence: the share of runs that reached each rung by each date.

    One line per rung other than the start (dashed for rungs below it) with a shaded 95%
    band; scheduled events are numbered dotted lines. ``log=True`` draws the y axis on a log
    scale, so that rare rungs (well under 1%) are visible next to common ones.
    """
    events = _events(model)
    question = "When is each rung first reached?" + (" (log scale, so that rare rungs show)"
                                                     if log else "")
    fig = _new_figure(summary, f"{_runs(summary)} · shaded: 95% intervals · dashed: "
                               "rungs below the start (settling)" + _events_key(events),
                      question=question)
    start = summary.initial_rung
    colours = rung_colours(len(summary.rungs), start)
    days = len(summary.rung_curves[0].p) if summary.rung_curves else 0
    x = _dates(_start_date(summary), days)
    order = [i for i in reversed(range(len(summary.rungs))) if i != start]
    ax = fig.add_subplot()
    for i in order:
        curve = summary.rung_curves[i]
        _band(ax, x, curve, colours[i], i < start, _t(_wrap(curve.name, 32, 3)))
    _date_axis(ax)
    _style(ax, grid_axis="y")
    if len(x):
        ax.set_xlim(float(x[0]), float(x[-1]))
    if log:
        _log_axis(ax, summary, order)
    else:
        _pct_axis(ax, "y")
        top = max((float(np.nanmax(summary.rung_curves[i].high)) for i in order),
                  default=1.0) * 100
        ax.set_ylim(0, 101 if top > 90 else max(5.0, top * 1.08))
    ax.set_ylabel("Share of runs that reached the rung", fontsize=BODY_PT, color=INK)
    handles, _labels = ax.get_legend_handles_labels()
    _side_legend(fig, ax, handles, [summary.rungs[i].name for i in order], title="Rung")
    _place_marks(fig, ax, _schedule_marks(ax, events))
    return fig


def _log_axis(ax: Axes, summary: Summary, order: Sequence[int]) -> None:
    ax.set_yscale("log")
    floor = 100.0 / max(summary.n, 1) / 2  # half of one run: below any non-zero estimate
    finals = [float(c.p[-1]) * 100 for c in (summary.rung_curves[i] for i in order)
              if len(c.p) and c.p[-1] > 0]
    ax.set_ylim(max(floor, min(finals, default=floor) / 10), 100)
    ax.yaxis.set_major_formatter(FuncFormatter(_log_label))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda _v, _p: ""))
    ax.grid(axis="y", which="major", color=GRID, linewidth=0.9)


def _log_label(value: float, _pos: int) -> str:
    if value <= 0:
        return ""
    decimals = max(0, -int(math.floor(math.log10(value) + 1e-9)))
    return f"{value:.{decimals}f}%"


def fan_chart(summary: Summary, model: Model) -> Figure:
    """Where the crisis stands on each day: stacked shares of runs on each rung.

    Each layer is a rung (ladder order, highest on top) in the rung colours; the height of a
    layer on a date is the share of runs standing on that rung at the end of that day.
    """
    events = _events(model)
    fig = _new_figure(summary, f"{_runs(summary)} · each layer: share of runs on that "
                               "rung at the end of the day" + _events_key(events),
                      question="Where does the crisis stand on each day?")
    ax = fig.add_subplot()
    start = summary.initial_rung
    colours = rung_colours(len(summary.rungs), start)
    occ = np.asarray(summary.occupancy, dtype=float) * 100
    x = _dates(_start_date(summary), occ.shape[0])
    names = [_t(_wrap(line.name + (" (start)" if i == start else ""), 32, 3))
             for i, line in enumerate(summary.rungs)]
    layers = ax.stackplot(x, occ.T, colors=colours, labels=names, edgecolor="white",
                          linewidth=0.5)
    layers[start].set_hatch("//")
    _date_axis(ax)
    _style(ax, grid_axis="")
    ax.set_ylim(0, 100)
    if len(x):
        ax.set_xlim(float(x[0]), float(x[-1]))
    ax.yaxis.set_major_locator(MultipleLocator(25))
    _pct_axis(ax, "y")
    ax.set_ylabel("Share of runs on each rung", fontsize=BODY_PT, color=INK)
    handles, _labels = ax.get_legend_handles_labels()
    _side_legend(fig, ax, handles[::-1], [line.name for line in summary.rungs][::-1],
                 suffixes=[" (start)" if i == start else ""
                           for i in range(len(summary.rungs))][::-1],
                 title="Rung (highest on top)", handleheight=1.0)
    _place_marks(fig, ax, _schedule_marks(ax, events))
    return fig


def outcome_bars(summary: Summary, model: Model) -> Figure:
    """Bars of the probability of each named outcome by the horizon, with 95% whiskers."""
    end = _horizon_date(summary)
    fig = _new_figure(summary, f"{_runs(summary)} · whiskers and brackets: 95% intervals",
                      question=f"How likely is each outcome by {_fmt_date(end)}?")
    ax = fig.add_subplot()
    lines = list(reversed(summary.outcomes))  # the first outcome at the top
    if not lines:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "This scenario defines no outcomes.", ha="center", va="center",
                fontsize=HEADING_PT, color=MUTED, transform=ax.transAxes)
        return fig
    _bars(fig, ax, [line.name for line in lines], [line.estimate for line in lines],
          [OKABE_ITO[0]] * len(lines))
    return fig


# -- comparisons ---------------------------------------------------------------------------
def _items(base: Summary, what: str) -> list[tuple[Metric, str]]:
    """(metric, label) of what a comparison shows, top to bottom."""
    every = metrics(base)
    outcomes = [(m, m.name) for m in every if not m.is_rung]
    rungs = [(m, f"Reach: {m.name}") for m in reversed(every)
             if m.is_rung and m.index != base.initial_rung]
    if what == "auto":
        what = "both" if len(outcomes) + len(rungs) <= 10 else "outcomes" if outcomes \
            else "rungs"
    return {"outcomes": outcomes, "rungs": rungs}.get(what, outcomes + rungs)


def _lookup(summary: Summary, metric: Metric) -> Estimate | None:
    try:
        return metric.line(summary).estimate
    except KeyError:  # a summary of another scenario: nothing to draw
        return None


def _diff_for(diffs: Sequence[Difference], metric: Metric) -> Difference | None:
    """The row for one rung or outcome: ``kind:id`` keys first, then bare ids.

    A bare id that names both a rung and an outcome appears twice; as in
    :func:`sim.spec.metric.metrics`, the rung's row comes first and the outcome's last.
    """
    for entry in diffs:
        if entry[0] == metric.key:
            return entry
    matches = [entry for entry in diffs if entry[0] == metric.id]
    if not matches:
        return None
    return matches[0] if metric.is_rung else matches[-1]


def comparison(base_summary: Summary, others: dict[str, Summary],
               differences: dict[str, list[Difference]] | None = None, *,
               what: str = "auto", style: str = "auto") -> Figure:
    """Outcome and rung probabilities of the base against each variant.

    ``others`` maps a variant's label to its Summary. ``differences`` (optional) maps the
    same labels to ``(key, diff, low, high)`` rows: the paired difference variant minus
    base, as fractions, with its 95% interval; ``key`` is an outcome or rung id, or
    ``"outcome:<id>"`` / ``"rung:<id>"`` when a rung and an outcome share an id.

    ``style="bars"`` draws grouped bars with 95% whiskers (and, given differences, a panel
    of the paired differences in percentage points); ``style="table"`` a table of
    probabilities coloured by the change from the base, faded where the paired 95%
    interval includes no change. ``"auto"`` picks bars for a few variants and rows, the
    table otherwise. ``what`` is "outcomes", "rungs" (other than the start), "both", or
    "auto" (both when they are few, else the outcomes).
    """
    items = _items(base_summary, what)
    names = [base_summary.variant, *others]
    summaries = [base_summary, *others.values()]
    if style == "auto":
        style = "bars" if (len(summaries) <= BARS_MAX_SERIES
                           and len(summaries) * len(items) <= BARS_MAX_BARS) else "table"
    title = base_summary.title
    question = (f"What changes when the levers move? {names[0]} against "
                f"{len(names) - 1} variant{'s' if len(names) != 2 else ''}")
    runs = f"{base_summary.n:,} runs per variant, same random numbers"
    if style == "bars":
        fig = _new_figure(base_summary, f"{runs} · whiskers: 95% intervals", title=title,
                          question=question)
    else:
        how = ("coloured: a clear change (its paired 95% interval excludes 0)" if differences
               else "coloured: change from the base (no paired intervals given)")
        fig = _new_figure(base_summary, f"{runs}\ncells: probability in % · grey column: the "
                                        f"base · {how}", title=title, question=question,
                          height_px=_table_height(title, names, len(items)))
    if style == "table":
        _comparison_table(fig, items, names, summaries, differences)
    else:
        _comparison_bars(fig, items, names, summaries, differences)
    return fig


def _comparison_bars(fig: Figure, items: list[tuple[Metric, str]], names: list[str],
                     summaries: list[Summary],
                     differences: dict[str, list[Difference]] | None) -> None:
    colours = [BASE_COLOUR, *[OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(names) - 1)]]
    if differences:
        grid = fig.add_gridspec(1, 2, width_ratios=(3, 2))
        ax = fig.add_subplot(grid[0, 0])
        dax: Axes | None = fig.add_subplot(grid[0, 1], sharey=ax)
    else:
        ax, dax = fig.add_subplot(), None
    groups, series = len(items), len(summaries)
    height = 0.8 / max(series, 1)
    bar_pt = 4.2 * 72 / max(groups, 1) * height
    show_values = bar_pt >= SMALL_PT + 2
    spread: list[float] = []
    texts, anchors = [], []
    # One precision for every difference of the figure, as in the table (numbers.py).
    places = places_for((dhigh - dlow) / 2 for entries in (differences or {}).values()
                        for _key, _diff, dlow, dhigh in entries)
    for j, (label, summary, colour) in enumerate(zip(names, summaries, colours, strict=True)):
        ys = [groups - 1 - g + 0.4 - height * (j + 0.5) for g in range(groups)]
        rows = [(y, _lookup(summary, metric)) for y, (metric, _n) in zip(ys, items, strict=True)]
        rows = [(y, e) for y, e in rows if e is not None and e.n]
        ps = [e.p * 100 for _, e in rows if e is not None]
        lo = [max(e.p - e.low, 0) * 100 for _, e in rows if e is not None]
        hi = [max(e.high - e.p, 0) * 100 for _, e in rows if e is not None]
        yv = [y for y, _ in rows]
        ax.barh(yv, ps, height=height * 0.9, color=colour, label=_t(label))
        ax.errorbar(ps, yv, xerr=[lo, hi], fmt="none", ecolor=INK, elinewidth=1.4,
                    capsize=3)
        if show_values:
            for y, (_, est) in zip(yv, rows, strict=True):
                assert est is not None
                texts.append(ax.annotate(format_estimate(est, style="point"),
                                         (est.high * 100, y), xytext=(5, 0),
                                         textcoords="offset points", va="center",
                                         fontsize=SMALL_PT, color=INK))
                anchors.append(est.high * 100)
        if dax is not None and differences and j > 0:
            for y, (metric, _n) in zip(ys, items, strict=True):
                entry = _diff_for(differences.get(label, []), metric)
                if entry is None:
                    continue
                _key, diff, dlow, dhigh = entry
                spread += [abs(dlow) * 100, abs(dhigh) * 100]
                dax.errorbar([diff * 100], [y], xerr=[[max(diff - dlow, 0) * 100],
                                                      [max(dhigh - diff, 0) * 100]],
                             fmt="o", color=colour, ecolor=colour, elinewidth=2.2,
                             markersize=7, capsize=4)
                if show_values:
                    dax.annotate(points(diff, places), (diff * 100, y), xytext=(0, 7),
                                 textcoords="offset points", ha="center", va="bottom",
                                 fontsize=SMALL_PT, color=INK)
    labels, size = _fit_labels([name for _m, name in reversed(items)], groups,
                               height_in=4.2)
    ax.set_yticks(range(groups), [_t(n) for n in labels])
    _probability_rows(ax, groups, size)
    _heading(ax, "Probability by the horizon")
    for g in range(1, groups):
        ax.axhline(g - 0.5, color=GRID, linewidth=0.8)
    if dax is not None:
        dax.axvline(0, color=INK, linewidth=1.2)
        _style(dax)
        dax.tick_params(labelleft=False, left=False)
        dax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+g}" if v else "0"))
        _heading(dax, "Change (points)")
        for g in range(1, groups):
            dax.axhline(g - 0.5, color=GRID, linewidth=0.8)
        lim = min(112.0, max([1.0, *spread]) * 1.15)
        dax.set_xlim(-lim, lim)
    handles, labs = ax.get_legend_handles_labels()
    _bottom_legend(fig, handles, labs, size=BODY_PT)
    if texts:
        _fit_xlim(fig, ax, texts, anchors)


def _table_height(title: str, names: Sequence[str], rows: int) -> int:
    """Pixels of height that a comparison table needs: 900, or more for many rows."""
    title_in = (min(TITLE_LINES, len(textwrap.wrap(title, 70))) * TITLE_PT * 1.22
                + HEADING_PT * 1.22
                + 2 * SUBTITLE_PT * 1.22) / 72 + 0.2
    slant = max(len(n) for n in names) * 0.55 * SMALL_PT / 72 * 0.5 + 0.3
    need = 0.45 + title_in + slant + rows * 0.3 + 0.2
    return int(min(2 * HEIGHT_PX, max(HEIGHT_PX, math.ceil(need * DPI))))


def _comparison_table(fig: Figure, items: list[tuple[Metric, str]], names: list[str],
                      summaries: list[Summary],
                      differences: dict[str, list[Difference]] | None) -> None:
    """Rows: outcomes or rungs; columns: base then variants; cells: probabilities."""
    ax = fig.add_subplot()
    rows, cols = len(items), len(names)
    purple_orange = colormaps["PuOr_r"]
    shades = ListedColormap([purple_orange(v) for v in
                             (0.02, 0.16, 0.3, 0.4, 0.6, 0.7, 0.84, 0.98)])
    norm = BoundaryNorm(CHANGE_BOUNDS, shades.N)
    labels, size = _fit_labels([name for _m, name in items], rows,
                               height_in=rows * 0.3)
    base = summaries[0]
    for r, (metric, _name) in enumerate(items):
        base_est = _lookup(base, metric)
        for c, (label, summary) in enumerate(zip(names, summaries, strict=True)):
            est = _lookup(summary, metric)
            face: Any = (0.93, 0.93, 0.93, 1.0)
            weight = "normal"
            if c and est is not None and base_est is not None and est.n and base_est.n:
                entry = _diff_for((differences or {}).get(label, []), metric)
                diff = (est.p - base_est.p) if entry is None else entry[1]
                clear = entry is None or entry[2] > 0 or entry[3] < 0
                face = shades(norm(diff * 100)) if diff and clear else "white"
                weight = "bold" if diff and clear else "normal"
            ax.add_patch(Rectangle((c, rows - 1 - r), 1, 1, facecolor=face,
                                   edgecolor="white", linewidth=2))
            text = (format_estimate(est, style="point").rstrip("%")
                    if est is not None and est.n else "-")
            ax.text(c + 0.5, rows - 0.5 - r, text, ha="center", va="center", fontsize=size,
                    fontweight=weight, color="white" if _dark(face) else INK)
    ax.set_xlim(0, cols)
    ax.set_ylim(0, rows)
    ax.set_yticks([rows - 0.5 - r for r in range(rows)], [_t(n) for n in labels])
    ax.set_xticks([c + 0.5 for c in range(cols)], [_t(n) for n in names])
    ax.xaxis.tick_top()
    ax.tick_params(length=0, labelsize=SMALL_PT, colors=INK)
    ax.tick_params(axis="y", labelsize=size)
    # Names side by side if they fit across the columns, else slanted (never overlapping).
    rotate = cols * max(len(n) for n in names) * 0.55 * SMALL_PT / 72 > 0.55 * \
        fig.get_figwidth()
    for c, tick in enumerate(ax.get_xticklabels()):
        tick.set_fontweight("bold" if c == 0 else "normal")
        if rotate:
            # Slanting up to the left, over the empty corner above the row labels, each
            # name ends at its own column.
            tick.set_rotation(-30)
            tick.set_horizontalalignment("right")
            tick.set_verticalalignment("bottom")
            tick.set_rotation_mode("anchor")
    for side in ax.spines.values():
        side.set_visible(False)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=shades), ax=ax, location="right",
                       shrink=min(1.0, 4.5 / max(rows, 1)), aspect=14, spacing="uniform",
                       pad=0.02, ticks=list(CHANGE_BOUNDS[1:-1]))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:+g}" if v else "0"))
    bar.ax.tick_params(labelsize=SMALL_PT, colors=INK)
    bar.outline.set_visible(False)
    bar.set_label("change from the base (points)", fontsize=SMALL_PT, color=INK)


# -- sets of figures and PNG ---------------------------------------------------------------
# -- counterfactual figures: sweeps, sensitivity, discovery ---------------------------------
def sweep_plot(sw: Sweep, model: Model) -> Figure:
    """One lever: the metric against the lever with a 95% band, and below it the paired
    change against the first point. Two levers: a heat map whose cells give both."""
    runs = f"{sw.comparison.runs:,} runs per point (common random numbers)"
    metric = sw.metric.name
    changes = sw.changes
    places = points_decimals(changes[1:])
    if len(sw.axes) == 1:
        return _sweep_line(sw, model, runs, metric, places)
    a, b = sw.axes
    fig = _new_figure(None, f"{runs} · cell: P ± 95% half-width, Δ: paired change vs the "
                            "first cell, points (* clear)",
                      question=f"P({metric}) over {a.lever} and {b.lever}",
                      title=f"{model.title}: two-lever sweep")
    ax = fig.add_subplot()
    image = ax.imshow(sw.p * 100, cmap=colormaps["YlOrRd"], aspect="auto", origin="lower",
                      vmin=0, vmax=max(1e-9, float(sw.p.max()) * 100))
    for i in range(len(a.values)):
        for j in range(len(b.values)):
            k = i * len(b.values) + j
            est, d = sw.estimate(k), changes[k]
            colour = "white" if est.p > 0.6 * float(sw.p.max()) else INK
            delta = "first" if k == 0 else (
                f"Δ {points(d.diff, places)}" + ("*" if is_clear(d, places) else ""))
            ax.text(j, i, f"{percent(est)} ±{est.half_width * 100:.1f}\n{delta}",
                    ha="center", va="center", fontsize=SMALL_PT, color=colour)
    ax.set_xticks(range(len(b.values)), [value_text(v) for v in b.values])
    ax.set_yticks(range(len(a.values)), [value_text(v) for v in a.values])
    ax.set_xlabel(_t(b.lever), fontsize=BODY_PT)
    ax.set_ylabel(_t(a.lever), fontsize=BODY_PT)
    ax.tick_params(labelsize=BODY_PT)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("probability, %", fontsize=BODY_PT)
    bar.ax.tick_params(labelsize=SMALL_PT)
    return fig


def _sweep_line(sw: Sweep, model: Model, runs: str, metric: str, places: int) -> Figure:
    axis = sw.axes[0]
    first = value_text(axis.values[0])
    fig = _new_figure(None, f"{runs} · shaded and whiskers: 95% intervals",
                      question=f"How does P({metric}) change with {axis.lever}?",
                      title=f"{model.title}: lever sweep")
    ax, dax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    _style(ax, grid_axis="y")
    _style(dax, grid_axis="y")
    boolean = isinstance(axis.values[0], (bool, str))  # categories, not a number line
    x = np.arange(len(axis.values)) if boolean else np.array(axis.values, dtype=float)
    ax.fill_between(x, sw.low * 100, sw.high * 100, color=OKABE_ITO[0], alpha=0.2,
                    linewidth=0)
    ax.plot(x, sw.p * 100, color=OKABE_ITO[0], marker="o", linewidth=2.5, markersize=8)
    labels: list[Annotation] = []
    for k, xi in enumerate(x):
        est = sw.estimate(k)
        labels.append(ax.annotate(percent(est), (float(xi), est.p * 100),
                                  textcoords="offset points", xytext=(0, 10), ha="center",
                                  fontsize=SMALL_PT, color=INK))
    ax.set_ylabel("probability by the horizon", fontsize=BODY_PT)
    ax.set_ylim(0, max(5.0, float(sw.high.max()) * 100 * 1.2))
    _pct_axis(ax, "y")
    changes = sw.changes
    dax.axhline(0, color=INK, linewidth=1)
    for k, (xi, d) in enumerate(zip(x, changes, strict=True)):
        if k == 0:
            continue
        clear = is_clear(d, places)
        colour = OKABE_ITO[3] if clear else MUTED
        dax.errorbar([float(xi)], [d.diff * 100], yerr=[[max(d.diff - d.low, 0) * 100],
                                                       [max(d.high - d.diff, 0) * 100]],
                     fmt="o", color=colour, ecolor=colour, elinewidth=2.2, markersize=7,
                     capsize=4)
        labels.append(dax.annotate(points(d.diff, places) + (" clear" if clear else ""),
                                   (float(xi), d.high * 100), textcoords="offset points",
                                   xytext=(0, 6), ha="center", fontsize=SMALL_PT, color=INK))
    spread = [abs(v) * 100 for d in changes[1:] for v in (d.low, d.high)] or [1.0]
    top = max(max(spread) * 1.35, 0.5)
    dax.set_ylim(-top, top)
    dax.set_ylabel(_t(f"change vs first\npoint ({first}), pts"), fontsize=BODY_PT)
    if boolean:
        dax.set_xticks(x, [value_text(v) for v in axis.values])
    # A swept parameter (pinned at each point) has no unit; a lever may have one.
    unit = next((lv.unit for lv in model.levers if lv.id == axis.lever), "")
    dax.set_xlabel(_t(f"{axis.lever}" + (f" ({unit})" if unit else "")), fontsize=BODY_PT)
    # Labels are centred on their points: the end points' reach past the default margins.
    _fit_xlim(fig, dax, labels, [float(label.xy[0]) for label in labels])
    return fig


def sensitivity_plot(sens: Sensitivity, model: Model, top: int = 12) -> Figure:
    """Which uncertain parameters drive the metric: a tornado of indices with intervals."""
    metric = sens.metric.name
    order = sens.ranking()[:top][::-1]
    names = [sens.names[i] for i in order]
    if sens.method == "sobol":
        subtitle = (f"Sobol indices, {sens.points:,} parameter points x {sens.reps} runs · "
                    "whiskers: 95% bootstrap intervals · total effect includes interactions")
        labels = ("total effect (ST)", "first order (S1)")
    else:
        subtitle = (f"Morris screening, {sens.points:,} points x {sens.reps} runs · mu*: "
                    "mean absolute effect · sigma: interactions or non-linearity")
        labels = ("mu* (influence)", "sigma")
    readable = sens.readability()
    if not readable.readable:
        subtitle += (f"\nTOO UNCERTAIN TO RANK: widest interval ±{readable.widest:.2f}; about "
                     f"{readable.suggested} samples (not {readable.samples}) would do")
    fig = _new_figure(None, subtitle, question=f"Which assumptions drive P({metric})?",
                      title=f"{model.title}: sensitivity")
    ax = fig.add_subplot()
    _style(ax)
    y = np.arange(len(order))
    ax.barh(y + 0.2, sens.total[order], height=0.38, color=OKABE_ITO[3], label=labels[0],
            xerr=sens.total_conf[order], error_kw={"ecolor": INK, "capsize": 3})
    ax.barh(y - 0.2, sens.first[order], height=0.38, color=OKABE_ITO[5], label=labels[1],
            xerr=sens.first_conf[order] if sens.method == "sobol" else None,
            error_kw={"ecolor": INK, "capsize": 3})
    ax.set_yticks(y, [_wrap(f"{n}", 34) for n in names], fontsize=BODY_PT)
    ax.axvline(0, color=MUTED, linewidth=1)
    ax.set_xlabel("index", fontsize=BODY_PT)
    ax.legend(fontsize=BODY_PT, frameon=False, loc="lower right")
    return fig


def discovery_plot(disc: Discovery, model: Model, top: int = 4) -> Figure:
    """P(outcome) by quintile of the most separating parameters, with 95% intervals."""
    metric = disc.metric.name
    findings = disc.findings[:top]
    fig = _new_figure(None, f"{disc.runs:,} runs, '{metric}' in {disc.hits:,} · bars: "
                            "probability in each fifth of the parameter's values "
                            "(Q1 lowest) · whiskers: 95% intervals · dashed: overall",
                      question=f"Which parameter values lead to {metric}?",
                      title=f"{model.title}: scenario discovery")
    axes = fig.subplots(1, len(findings), sharey=True, squeeze=False)[0]
    overall = disc.hits / disc.runs * 100
    for ax, finding in zip(axes, findings, strict=True):
        _style(ax, grid_axis="y")
        p = np.array([b.p for b in finding.bins]) * 100
        low = np.array([b.low for b in finding.bins]) * 100
        high = np.array([b.high for b in finding.bins]) * 100
        x = np.arange(len(p))
        ax.bar(x, p, color=OKABE_ITO[3], width=0.7)
        ax.errorbar(x, p, yerr=[p - low, high - p], fmt="none", ecolor=INK, capsize=4)
        ax.axhline(overall, color=MUTED, linestyle="--", linewidth=1.2)
        edges = finding.edges
        ax.set_xticks(x, [f"Q{k + 1}" for k in range(len(p))], fontsize=SMALL_PT)
        ax.set_xlabel(f"{edges[0]:.2g} → {edges[-1]:.2g}", fontsize=SMALL_PT, color=MUTED)
        _heading(ax, f"{finding.id}\nKS {finding.ks:.2f}")
    axes[0].set_ylabel("probability", fontsize=BODY_PT)
    _pct_axis(axes[0], "y")
    return fig


def figure(name: str, summary: Summary, model: Model) -> Figure:
    """One standard figure by its stem (see :func:`sim.present.render.figure_names`)."""
    if name == "rung_probabilities":
        return rung_probabilities(summary, model)
    if name == "incidence":
        return incidence(summary, model)
    if name == "incidence_log":
        return incidence(summary, model, log=True)
    if name == "fan_chart":
        return fan_chart(summary, model)
    if name == "outcomes":
        return outcome_bars(summary, model)
    raise KeyError(name)


def figures(summary: Summary, model: Model) -> dict[str, Figure]:
    """The standard figures of a run, keyed by file stem (an extra log-scale incidence
    figure when some rung is rare: see :func:`sim.present.render.figure_names`)."""
    from .render import figure_names
    return {name: figure(name, summary, model) for name in figure_names(summary)}


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (1600x900 pixels at the default dpi)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    return buffer.getvalue()


# -- the scaffolding, for figures defined in other modules (backtest plots) ----------------
def new_figure(title: str, subtitle: str, *, question: str = "",
               height_px: int = HEIGHT_PX) -> Figure:
    """A 1600-pixel-wide figure with the standard header (title, question, subtitle)."""
    return _new_figure(None, subtitle, question=question, title=title, height_px=height_px)


def style_axes(ax: Axes, grid_axis: Literal["x", "y", ""] = "x") -> None:
    """The standard axes style: light grid behind the data, no box, readable ticks."""
    _style(ax, grid_axis=grid_axis)


def date_axis(ax: Axes) -> None:
    """Concise date ticks on the x axis."""
    _date_axis(ax)


def percent_axis(ax: Axes, axis: str = "y") -> None:
    """Tick labels of an axis in per cent ("25%")."""
    _pct_axis(ax, axis)

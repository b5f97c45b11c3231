"""Figures: right number of bars, lines and layers, readable text, PNG size, no pyplot."""

from __future__ import annotations

import dataclasses
import io
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from sim.present import plots
from sim.present.numbers import percent
from sim.results.summary import Summary, summarise
from sim.run import runner
from sim.spec.loader import load, load_text
from sim.spec.model import ScheduledEvent

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "scenarios" / "teaching.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def teaching():
    """The teaching scenario run 300 times (4 rungs, start 'skirmishes', 2 outcomes)."""
    model = load(str(TEACHING))
    result = runner.run(model, 300, 7, workers=1)
    return model, summarise(model, result.aggregate)


LONG_LADDER = textwrap.dedent("""
scenario: {id: long, title: "Nine rungs with long names and a $56 billion price", start:
           2024-11-17, horizon_days: 120}
ladder:
  initial: r2
  rungs:
    - {id: r0, name: "Ceasefire in force along an agreed line of contact"}
    - {id: r1, name: "Frozen conflict with sporadic shelling"}
    - {id: r2, name: "Large conventional war inside the country and on the border"}
    - {id: r3, name: "US-supplied missiles strike deep inside the aggressor"}
    - {id: r4, name: "Foreign (third-party) troops in combat"}
    - {id: r5, name: "Explicit nuclear signalling costing $1 and $2"}
    - {id: r6, name: "Strike on alliance territory or direct alliance clash"}
    - {id: r7, name: "Tactical (non-strategic) nuclear use"}
    - {id: r8, name: "Strategic nuclear exchange"}
actors:
  a: {name: A}
actions:
  up3: {actor: a, rung: r3}
  up4: {actor: a, rung: r4}
  up5: {actor: a, rung: r5}
  up6: {actor: a, rung: r6}
  up7: {actor: a, rung: r7}
  up8: {actor: a, rung: r8, ends_run: true}
  down1: {actor: a, rung: r1, rung_mode: set}
  down0: {actor: a, rung: r0, rung_mode: set, ends_run: true}
  winter: {actor: a}
schedule:
  - {id: winter_begins, at: 2024-12-01, action: winter}
  - {id: inauguration, at: 2025-01-20, action: winter}
  - {id: aid_review, at: 2025-01-20, action: winter}
  - {id: winter_ends, at: 2025-03-01, action: winter}
processes:
  p3: {rate: 0.05, action: up3, source: test}
  p4: {rate: 0.02, action: up4, source: test}
  p5: {rate: 0.01, action: up5, source: test}
  p6: {rate: 0.002, action: up6, source: test}
  p7: {rate: 0.0005, action: up7, source: test}
  p8: {rate: 0.0002, action: up8, source: test}
  p1: {rate: 0.003, action: down1, source: test}
  p0: {rate: 0.003, action: down0, source: test}
outcomes:
  o1: {name: "Nuclear use of any kind, tactical or strategic, anywhere", when: "peak >= r7"}
  o2: {name: "Ceasefire agreed", action: down0}
  o3: {name: "Missiles fired", action: up3}
""")


@pytest.fixture(scope="module")
def long_ladder():
    """Nine rungs with long names, dollar signs and scheduled events, run 400 times."""
    model = load_text(LONG_LADDER, "long.yaml")
    result = runner.run(model, 400, 11, workers=1)
    return model, summarise(model, result.aggregate)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def texts(fig: Figure) -> list[Text]:
    """Every drawn, non-empty text of a laid-out figure (ticks off the axis are not drawn)."""
    fig.draw_without_rendering()
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return [t for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def visible_tick_labels(ax) -> list[str]:
    """The y tick labels of an axes, newlines folded into spaces."""
    return [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]


def bars(ax) -> list[Rectangle]:
    """Bar rectangles drawn by barh (patches of the axes' bar containers)."""
    return [p for c in ax.containers if hasattr(c, "patches") for p in c.patches]


# -- the standard set ----------------------------------------------------------------------

def test_figures_stems_and_types(teaching):
    """figures() gives the four standard stems as Figures; no log panel without rare rungs."""
    model, summary = teaching
    figs = plots.figures(summary, model)
    assert list(figs) == ["rung_probabilities", "incidence", "fan_chart", "outcomes"]
    assert all(isinstance(f, Figure) for f in figs.values())


@pytest.mark.slow
def test_figures_adds_log_incidence_for_rare_rungs(long_ladder):
    """A rung under 5% (but seen) adds an 'incidence_log' figure with a log y axis."""
    model, summary = long_ladder
    assert any(0 < line.estimate.p < 0.05 for line in summary.rungs)
    figs = plots.figures(summary, model)
    assert "incidence_log" in figs
    assert figs["incidence_log"].axes[0].get_yscale() == "log"


def test_png_bytes_signature_and_size(teaching):
    """PNG bytes start with the signature and are 1600 x 900 at the default dpi."""
    model, summary = teaching
    data = plots.png_bytes(plots.rung_probabilities(summary, model))
    assert data.startswith(PNG)
    assert png_size(data) == (1600, 900)
    assert png_size(plots.png_bytes(plots.outcome_bars(summary, model), dpi=75)) == (800, 450)


# -- rung probabilities --------------------------------------------------------------------

def test_rung_bars_one_per_rung_in_ladder_order(teaching):
    """One bar per rung, the top rung at the top, bar lengths equal P(reach) in percent."""
    model, summary = teaching
    ax = plots.rung_probabilities(summary, model).axes[0]
    rects = bars(ax)
    assert len(rects) == len(model.rungs)
    assert [r.get_y() for r in rects] == sorted(r.get_y() for r in rects)
    assert [r.get_width() for r in rects] == pytest.approx(
        [line.estimate.p * 100 for line in summary.rungs])
    labels = visible_tick_labels(ax)
    assert labels[0] == "Negotiated settlement" and labels[-1] == "General war"
    assert labels[1] == "Border skirmishes (start)"


def test_rung_bars_colours_and_start_marking(teaching):
    """Below-start rungs are blue, the start grey and hatched, escalation rungs warm."""
    model, summary = teaching
    rects = bars(plots.rung_probabilities(summary, model).axes[0])
    settle, start, strikes, war = (r.get_facecolor() for r in rects)
    assert settle[2] > settle[0]                       # blue
    assert start[0] == start[1] == start[2]            # grey
    assert rects[1].get_hatch() == "//"
    assert strikes[0] > strikes[2] and war[0] > war[2]  # warm
    assert sum(war[:3]) < sum(strikes[:3])             # hotter is darker


def test_rung_bars_value_labels(teaching):
    """Each bar carries its value and interval, the start rung '100% (start)'."""
    model, summary = teaching
    fig = plots.rung_probabilities(summary, model)
    shown = {t.get_text() for t in texts(fig)}
    war = summary.rung("general_war")
    from sim.present.report import format_estimate
    assert format_estimate(war, style="plot") in shown
    assert "100% (start)" in shown
    assert any("runs" in t and "95% intervals" in t for t in shown)
    assert any(summary.title in t and "base case" in t for t in shown)


# -- incidence -----------------------------------------------------------------------------

def test_incidence_lines_dashes_and_dates(teaching):
    """One line per rung but the start, dashed below it; x spans start to horizon."""
    model, summary = teaching
    ax = plots.incidence(summary, model).axes[0]
    lines = [line for line in ax.get_lines() if line.get_gid() != "schedule"]
    assert len(lines) == len(model.rungs) - 1
    by_label = {line.get_label(): line for line in lines}
    assert by_label["Negotiated settlement"].get_linestyle() == "--"
    assert by_label["General war"].get_linestyle() == "-"
    low, high = ax.get_xlim()
    assert high - low == pytest.approx(model.horizon)
    assert len(ax.collections) == len(model.rungs) - 1   # one 95% band per line
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "General war" in legend and "Negotiated settlement" in legend


def test_incidence_log_option(teaching):
    """log=True puts the y axis on a log scale; the default is linear."""
    model, summary = teaching
    assert plots.incidence(summary, model).axes[0].get_yscale() == "linear"
    assert plots.incidence(summary, model, log=True).axes[0].get_yscale() == "log"


def test_schedule_events_are_numbered_lines(long_ladder):
    """Dated events become dotted lines keyed by circled numbers; same-day events merge."""
    model, summary = long_ladder
    fig = plots.incidence(summary, model)
    ax = fig.axes[0]
    dotted = [line for line in ax.get_lines() if line.get_gid() == "schedule"]
    assert len(dotted) == 3
    shown = " ".join(t.get_text() for t in texts(fig))
    assert "\N{CIRCLED DIGIT ONE} winter begins (1 Dec)" in shown
    assert "inauguration + aid review (20 Jan)" in shown


# -- fan chart -----------------------------------------------------------------------------

def test_fan_chart_layers_stack_to_100(teaching):
    """One stacked layer per rung, filling 0-100% each day; legend lists rungs top first."""
    model, summary = teaching
    ax = plots.fan_chart(summary, model).axes[0]
    layers = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(layers) == len(model.rungs)
    assert np.allclose(summary.occupancy.sum(axis=1), 1.0)
    assert ax.get_ylim() == (0, 100)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["General war", "Strikes deep in Red's territory",
                      "Border skirmishes (start)", "Negotiated settlement"]


# -- outcomes ------------------------------------------------------------------------------

def test_outcome_bars_first_outcome_on_top(teaching):
    """One bar per outcome, in scenario order from the top, names as tick labels."""
    model, summary = teaching
    ax = plots.outcome_bars(summary, model).axes[0]
    assert len(bars(ax)) == len(model.outcomes)
    assert visible_tick_labels(ax) == [o.name for o in reversed(model.outcomes)]


def test_outcome_bars_without_outcomes(teaching):
    """A scenario without outcomes gets a figure that says so instead of failing."""
    model, summary = teaching
    empty = dataclasses.replace(summary, outcomes=())
    fig = plots.outcome_bars(empty, model)
    assert any("no outcomes" in t.get_text() for t in texts(fig))


# -- comparison ----------------------------------------------------------------------------

def variant_summary(model, runs: int = 300) -> Summary:
    """The teaching scenario's no_strikes variant on the same seed."""
    changed = model.with_levers({"strikes_authorised": False})
    return summarise(changed, runner.run(changed, runs, 7, workers=1).aggregate, "no_strikes")


def test_comparison_bars_with_differences(teaching):
    """Grouped bars: one per (item, model); a second panel plots one point per difference."""
    model, summary = teaching
    other = variant_summary(model)
    items = len(model.outcomes) + len(model.rungs) - 1
    diffs = {"no_strikes": [(o.id, other.outcome(o.id).p - summary.outcome(o.id).p, -0.9, 0.9)
                            for o in model.outcomes]}
    fig = plots.comparison(summary, {"no_strikes": other}, diffs)
    ax, dax = fig.axes
    assert len(bars(ax)) == 2 * items
    points = [line for line in dax.get_lines() if line.get_marker() == "o"]
    assert len(points) == len(model.outcomes)
    assert "Reach: General war" in visible_tick_labels(ax)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["base", "no_strikes"]


def test_comparison_without_differences(teaching):
    """differences=None draws only the probability panel."""
    model, summary = teaching
    fig = plots.comparison(summary, {"no_strikes": variant_summary(model)}, None)
    assert len(fig.axes) == 1
    assert png_size(plots.png_bytes(fig)) == (1600, 900)


def test_comparison_table_for_many_variants(teaching):
    """Many variants switch to a coloured table: one cell per (item, model) with its value."""
    model, summary = teaching
    other = variant_summary(model)
    others = {f"v{i}": other for i in range(5)}
    fig = plots.comparison(summary, others, None, what="outcomes")
    ax = fig.axes[0]
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == 6 * len(model.outcomes)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["base", *others]
    shown = {t.get_text() for t in ax.texts}
    assert "0" in shown  # no_strikes never reaches general war
    assert png_size(plots.png_bytes(fig))[0] == 1600


def test_comparison_bare_ids_resolve_rungs_before_outcomes():
    """A bare id naming both a rung and an outcome: first row the rung's, last the outcome's."""
    from sim.spec.metric import OUTCOME, RUNG, Metric
    rung, outcome = Metric(RUNG, "war", 2, "War"), Metric(OUTCOME, "war", 0, "War")
    rows = [("war", 0.1, 0.0, 0.2), ("calm", 0.0, -0.1, 0.1), ("war", 0.3, 0.2, 0.4)]
    assert plots._diff_for(rows, rung) == rows[0]
    assert plots._diff_for(rows, outcome) == rows[2]
    assert plots._diff_for([("outcome:war", 1.0, 0.0, 1.0), *rows], outcome)[1] == 1.0


# -- projector style -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", ["rung_probabilities", "incidence", "fan_chart", "outcomes"])
def test_text_is_large_and_inside_the_figure(long_ladder, name):
    """All text is at least 13 pt and lies inside the 1600 x 900 canvas."""
    model, summary = long_ladder
    fig = plots.figures(summary, model)[name]
    box = fig.bbox
    for text in texts(fig):
        assert text.get_fontsize() >= 13, text.get_text()
        ext = text.get_window_extent()
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, text.get_text()
        assert ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, text.get_text()


def test_long_labels_do_not_overlap(long_ladder):
    """Nine long rung names and their value labels never overlap one another."""
    model, summary = long_ladder
    fig = plots.rung_probabilities(summary, model)
    ax = fig.axes[0]
    fig.draw_without_rendering()
    ticks = [t.get_window_extent() for t in ax.get_yticklabels() if t.get_text()]
    values = [t.get_window_extent() for t in ax.texts]
    for group in (ticks, values):
        for a, b in zip(group, group[1:], strict=False):
            assert not a.overlaps(b)
    assert all(t.x1 <= ax.get_window_extent().x1 + 1 for t in values)


@pytest.mark.slow
def test_dollar_signs_are_literal(long_ladder):
    """'$' in scenario text is shown as typed, not parsed as mathtext."""
    model, summary = long_ladder
    fig = plots.rung_probabilities(summary, model)
    shown = " ".join(t.get_text() for t in texts(fig))
    assert r"\$1 and \$2" in shown           # escaped for matplotlib ...
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")        # ... and it renders without a math error
    assert buffer.getvalue().startswith(PNG)


@pytest.mark.slow
def test_importing_plots_does_not_touch_pyplot_or_backend():
    """sim.present.plots never imports pyplot nor switches the backend."""
    # The raw rcParams entry: get_backend() itself would resolve (and import pyplot).
    code = ("import matplotlib, sys; raw = lambda: dict.__getitem__(matplotlib.rcParams, "
            "'backend'); before = raw(); import sim.present.plots; "
            "print('matplotlib.pyplot' in sys.modules, raw() == before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert out == ["False", "True"]


def test_schedule_event_beyond_horizon_is_ignored(teaching):
    """Events after the horizon draw no line (and events on day 0 none either)."""
    model, summary = teaching
    event = ScheduledEvent("late", model.horizon + 5, model.processes[0].choice)
    start = ScheduledEvent("now", 0.0, model.processes[0].choice)
    late = dataclasses.replace(model, schedule=(start, event))
    ax = plots.incidence(summary, late).axes[0]
    assert not [line for line in ax.get_lines() if line.get_gid() == "schedule"]


@pytest.mark.slow
def test_standard_pngs_in_parallel_are_the_bytes_drawn_one_by_one():
    """Drawing the standard figures in two forked processes changes nothing but the time."""
    from sim.api import simulate
    from sim.present.render import figure_names, standard_pngs
    res = simulate(Path(__file__).resolve().parent.parent / "scenarios" / "teaching.yaml",
                   runs=200, seed=2)
    one = standard_pngs(res.summary, res.model, processes=1)
    two = standard_pngs(res.summary, res.model, processes=2)
    assert list(one) == figure_names(res.summary) == list(two)
    assert one == two and all(png.startswith(b"\x89PNG") for png in one.values())



def assert_inside(fig: Figure) -> None:
    """Every drawn text of ``fig`` lies inside its canvas (to a pixel)."""
    box = fig.bbox
    for text in texts(fig):
        ext = text.get_window_extent()
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, text.get_text()
        assert box.y0 - 1 <= ext.y0 and ext.y1 <= box.y1 + 1, text.get_text()


def test_sweep_line_over_a_parameter_is_drawn():
    """A swept parameter (pinned at each point, no unit) gets its figure: the x label is
    its bare id, and every text fits."""
    from sim.analyses.compare import parse_grid, sweep
    model = load(str(TEACHING))
    sw = sweep(model, [parse_grid(model, "red_resolve=0.1:0.5:3")], "war", 300, 2, workers=1)
    fig = plots.sweep_plot(sw, model)
    assert fig.axes[1].get_xlabel() == "red_resolve"
    assert [t.get_text() for t in fig.axes[0].texts] == [
        percent(sw.estimate(k)) for k in range(3)]
    assert_inside(fig)


def test_sweep_line_value_labels_are_not_cut_at_the_edges():
    """The change label over the last point ("+100.0 clear", centred on it) ran past the
    plot's right edge to the canvas's: the x range now widens so every value label lies
    inside its axes (and so inside the canvas)."""
    from sim.analyses.compare import parse_grid, sweep
    model = load(str(ROOT / "scenarios" / "atacms.yaml"))
    sw = sweep(model, [parse_grid(model, "atacms_stock=0,100")], "deep_strike", 100, 1,
               workers=1)
    fig = plots.sweep_plot(sw, model)
    assert [t.get_text() for t in fig.axes[1].texts] == ["+100.0 clear"]
    assert_inside(fig)
    for ax in fig.axes:
        room = ax.get_window_extent()
        for text in ax.texts:
            ext = text.get_window_extent()
            assert room.x0 - 1 <= ext.x0 and ext.x1 <= room.x1 + 1, text.get_text()
    low, high = fig.axes[1].get_xlim()
    assert low == pytest.approx(-5) and high > 105  # widened on the right only

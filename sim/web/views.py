"""From rows and results to what pages show: numbers formatted, dots placed, names hidden.

Templates only print what these functions return (no arithmetic, no decisions there).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import segno
from markupsafe import Markup

from ..analyses.policies import lever_options, value_text
from ..present.numbers import interval_ends, percent, places_for, points, share
from ..results.stats import Estimate, wilson
from ..spec.model import Model
from . import store
from .forms import lever_field, prob_field

STRIP_WIDTH = 1000  # SVG user units of the 0-100% axis in the forecast strips
TICKS = tuple((t * STRIP_WIDTH / 100, f"{t}%") for t in (0, 25, 50, 75, 100))
VIEWBOX = f"-30 0 {STRIP_WIDTH + 60} 120"


# Percentages follow the one rule of sim.present.numbers, as in the CLI's tables: the model's
# answers carry the decimals their intervals support (and exact 0 or 1 as 0% or 100%); the
# class's stated forecasts print in whole percents (more only where rounding would say 0 or
# 100); a page's paired differences share one precision.
FORECAST_PLACES = 0


def estimate(row: Mapping[str, Any]) -> Estimate:
    """A stored answer (``k`` of ``n`` runs, ``p`` and its 95% interval) as an Estimate."""
    return Estimate(row["k"], row["n"], row["p"], row["low"], row["high"])


def forecast_text(p: float) -> str:
    """A student's stated probability, e.g. ``30%``, ``0.4%``."""
    return share(p, places=FORECAST_PLACES)


def answer(row: Mapping[str, Any]) -> tuple[str, str]:
    """The model's answer to one question: its percentage and its 95% interval in words
    (``37%``, ``33% to 42%``)."""
    est = estimate(row)
    low, high = interval_ends(est)
    return percent(est), f"{low} to {high}"


def answers(result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(question, model, 95% interval) for each question of a finished run."""
    return [(o["name"], *answer(o)) for o in result["outcomes"]]


def qr_svg(url: str) -> Markup:
    """The URL as an inline, scalable QR code (black on white, with a title)."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=1, border=2, dark="#000", light="#fff", omitsize=True,
                          title="QR code of the join address", svgclass="qr")
    return Markup(svg)  # noqa: S704 - segno's own SVG output of a URL we built


class Roster(NamedTuple):
    """One student on the lecturer's page: joined, and whether they have forecast."""

    name: str
    submitted: bool
    updated: str


def roster(students: Sequence[store.Student], given: Mapping[int, store.Forecast]
           ) -> list[Roster]:
    """Who joined and who submitted (never what they forecast: the page is projected)."""
    import time
    return [Roster(s.name, s.id in given,
                   time.strftime("%H:%M", time.localtime(given[s.id].updated_at))
                   if s.id in given else "") for s in students]


class OutcomeField(NamedTuple):
    """One probability input of the forecast form."""

    id: str
    name: str
    field: str
    value: str
    error: str


class LeverField(NamedTuple):
    """One lever select of the forecast form."""

    id: str
    field: str
    base: str
    options: tuple[tuple[str, str], ...]   # (value, label)
    selected: str
    error: str


def outcome_names(model: Model) -> dict[str, str]:
    """Outcome id to its name."""
    return {o.id: o.name for o in model.outcomes}


def forecast_fields(model: Model, session: store.Session, typed: Mapping[str, str],
                    errors: Mapping[str, str]) -> tuple[list[OutcomeField], list[LeverField]]:
    """The inputs of the forecast form, filled with what was typed or saved."""
    names = outcome_names(model)
    outs = [OutcomeField(oid, names[oid], prob_field(oid), typed.get(prob_field(oid), ""),
                         errors.get(prob_field(oid), "")) for oid in session.outcomes]
    levers = []
    for lid in session.levers:
        lever = model.lever(lid)
        unit = f" {lever.unit}" if lever.unit else ""
        options = tuple((value_text(v), option_label(v, unit)) for v in lever_options(lever))
        levers.append(LeverField(lid, lever_field(lid), option_label(lever.value, unit),
                                 options, typed.get(lever_field(lid), ""),
                                 errors.get(lever_field(lid), "")))
    return outs, levers


def option_label(value: float | bool | str, unit: str) -> str:
    """A lever value as a person reads it: on/off, an option's name, or a number with its
    unit."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:,.10g}{unit}"


def typed_from(forecast: store.Forecast | None) -> dict[str, str]:
    """A saved forecast as the form's typed values."""
    if forecast is None:
        return {}
    typed = {prob_field(k): f"{v:g}" for k, v in forecast.probabilities.items()}
    typed.update({lever_field(k): value_text(v) for k, v in forecast.setting.items()})
    typed["reasoning"] = forecast.reasoning
    return typed


class Dot(NamedTuple):
    """A student's forecast on a strip (x in SVG units, y row to avoid overlaps)."""

    x: float
    y: float
    label: str


class Strip(NamedTuple):
    """One question on the reveal: the model's answer and the class's forecasts."""

    id: str
    name: str
    model: str
    interval: str
    model_x: float
    low_x: float
    band_width: float
    median: str
    median_x: float
    dots: list[Dot]
    crowds: list[Dot]    # "+N" above a stack too tall to draw
    forecasts: int


def strips(result: Mapping[str, Any], given: Mapping[int, store.Forecast]) -> list[Strip]:
    """Each question: model probability with interval, each forecast a dot, the median."""
    out = []
    for o in result["outcomes"]:
        values = sorted(f.probabilities[o["id"]] for f in given.values()
                        if o["id"] in f.probabilities)
        median = statistics.median(values) if values else float("nan")
        out.append(Strip(
            o["id"], o["name"], *answer(o),
            o["p"] * STRIP_WIDTH, o["low"] * STRIP_WIDTH, (o["high"] - o["low"]) * STRIP_WIDTH,
            forecast_text(median) if values else "no forecasts",
            median * STRIP_WIDTH if values else -100.0, *_dots(values), len(values)))
    return out


STACK_ROWS = 5


def _dots(values: Sequence[float]) -> tuple[list[Dot], list[Dot]]:
    """Dots stacked upwards where forecasts coincide (same percent), so each one shows;
    a stack taller than STACK_ROWS is capped and labelled with how many more it holds."""
    stacks: dict[int, list[float]] = {}
    for v in values:
        stacks.setdefault(round(v * 100), []).append(v)
    dots, crowds = [], []
    for same in stacks.values():
        for row, v in enumerate(same[:STACK_ROWS]):
            dots.append(Dot(v * STRIP_WIDTH, 78 - 13 * row, forecast_text(v)))
        if len(same) > STACK_ROWS:
            crowds.append(Dot(same[0] * STRIP_WIDTH, 78 - 13 * STACK_ROWS + 4,
                              f"+{len(same) - STACK_ROWS}"))
    return dots, crowds


class Ranked(NamedTuple):
    """One line of the class ranking."""

    rank: int
    name: str
    brier: str


def ranking(scores: Sequence[store.Score], hide_names: bool) -> list[Ranked]:
    """The ranking, names replaced by 'Student N' (joining order) when hidden."""
    return [Ranked(s.rank, f"Student {i}" if hide_names else s.name, f"{s.brier:.4f}")
            for i, s in enumerate(scores, start=1)]


class PolicyRow(NamedTuple):
    """One recommended policy against the base, for one question."""

    label: str
    recommended: int
    cells: list[tuple[str, str, str]]  # (probability, difference, interval) per question


def policy_rows(result: Mapping[str, Any]) -> list[PolicyRow]:
    """Each policy's probability for each question (with the precision its own interval
    over the run's replications supports) and its paired difference from base (one
    precision for the whole table)."""
    runs = result["runs"]
    cells = [c for p in result["policies"] for c in p["outcomes"]]
    places = places_for((c["high"] - c["low"]) / 2 for c in cells)

    def pts(diff: float) -> str:
        return f"{points(diff, places)} pts"
    return [PolicyRow(p["label"], p["recommended"],
                      [(percent(wilson(round(c["p"] * runs), runs)), pts(c["diff"]),
                        f"{pts(c['low'])} to {pts(c['high'])}")
                       for c in p["outcomes"]]) for p in result["policies"]]


class OwnScore(NamedTuple):
    """What a student sees after the reveal."""

    brier: str
    rank: int
    of: int
    rows: list[tuple[str, str, str]]  # (question, your forecast, model)


def own_score(result: Mapping[str, Any], forecast: store.Forecast | None,
              scores: Sequence[store.Score], student_id: int) -> OwnScore | None:
    """A student's own score and rank (None if they did not forecast)."""
    mine = next((s for s in scores if s.student_id == student_id), None)
    if mine is None or forecast is None:
        return None
    rows = [(o["name"], forecast_text(forecast.probabilities[o["id"]]), answer(o)[0])
            for o in result["outcomes"]]
    return OwnScore(f"{mine.brier:.4f}", mine.rank, len(scores), rows)

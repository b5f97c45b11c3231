"""Plain-text tables of backtests: one per case, and the pooled summary. Pure: returns text."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Sequence

from ..analyses.backtest import CENTRAL, Case, Pooled, Scored, Skill
from .report import format_estimate, png_img
from .tables import grid


def crises(k: int) -> str:
    """'1 crisis', '4 crises'."""
    return f"{k} crisis" if k == 1 else f"{k} crises"


def _date(start: dt.date, day: int) -> str:
    when = start + dt.timedelta(days=day)
    return f"{when.day} {when:%b %Y}"


def _happened(s: Scored, start: dt.date) -> str:
    if not s.event.happened:
        return "no"
    if s.event.day is None:
        return "yes"
    return f"{_date(start, s.event.day)} (day {s.event.day})"


def _timing(s: Scored) -> str:
    if not s.event.happened:
        return ""
    if s.timing is None:
        return "never in the model"
    t = s.timing
    return f"{t.percentile:.2f}" + (f" {t.flag.upper()}" if t.flag else "")


def _rows(scored: Sequence[Scored], start: dt.date) -> list[list[str]]:
    return [[textwrap.shorten(s.forecast.name, 40, placeholder="...")
             + (" *" if s.event.note else ""),
             format_estimate(s.forecast.estimate, "plot"), _happened(s, start), f"{s.brier:.3f}",
             f"{s.log_score:.2f}", _timing(s)] for s in scored]


def _signed(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.2f}"


def skill_lines(sk: Skill, what: str) -> list[str]:
    """Mean Brier and the skill scores in words."""
    if sk.n == 0:
        return [f"No {what} judged."]
    base = ("n/a: every one went the same way, so the base rate is a perfect forecast"
            if sk.skill_base is None else _signed(sk.skill_base))
    return [line for text in [
        f"Mean Brier {sk.mean_brier:.3f} over {sk.n} {what} (from {sk.mean_brier_low:.3f} "
        f"to {sk.mean_brier_high:.3f} across the model's 95% intervals); mean log score "
        f"{sk.mean_log:.2f}.",
        f"Skill (1 - Brier / reference Brier; above 0 beats it): vs 50% for everything "
        f"{_signed(sk.skill_half)}; vs the base rate ({sk.base_rate:.0%} happened) {base}.",
    ] for line in textwrap.wrap(text, 92)]


def _timing_line(scored: Sequence[Scored]) -> str:
    timed = [s for s in scored if s.timing is not None]
    flagged = [s for s in timed if s.timing is not None and s.timing.flag]
    never = [s for s in scored if s.event.happened and s.timing is None]
    tail = (1 - CENTRAL) / 2
    text = (f"Timing: {len(flagged)} of {len(timed)} real dates outside the model's central "
            f"{CENTRAL:.0%} (percentile below {tail:.2f} or above {1 - tail:.2f})")
    if flagged:
        text += ": " + ", ".join(f"{s.forecast.name} ({s.timing.flag})" for s in flagged
                                 if s.timing is not None)
    if never:
        text += f"; {len(never)} happened but never in the model: " + ", ".join(
            s.forecast.name for s in never)
    return "\n".join(textwrap.wrap(text + ".", 92))


def case_table(case: Case) -> str:
    """The table of one case: every judged outcome and rung with its scores."""
    fc = case.forecasts
    end = fc.start + dt.timedelta(days=int(fc.horizon))
    header = ["Outcome", "Model P [95%]", "Happened", "Brier", "Log", "Timing"]
    tail = (1 - CENTRAL) / 2
    parts = [f"{fc.title} ({fc.scenario})",
             f"{fc.runs:,} runs from {_date(fc.start, 0)} to {end.day} {end:%b %Y} "
             f"({fc.horizon:g} days); judged by {case.events.file}", "",
             grid(header, _rows(case.outcomes, fc.start), right=6), "",
             *textwrap.wrap(f"Happened: its date, or no. Timing: the real date's percentile "
                            "among the runs in which it happened; EARLY below "
                            f"{tail:.2f}, LATE above {1 - tail:.2f}.", 92),
             "", *skill_lines(case.skill, "outcomes"), _timing_line(case.outcomes)]
    if case.rungs:
        parts += ["", grid(["Rung (scored apart)", *header[1:]], _rows(case.rungs, fc.start),
                           right=6), "", *skill_lines(case.rung_skill, "rungs")]
    notes = [s for s in (*case.outcomes, *case.rungs) if s.event.note]
    if notes:
        parts += ["", "* judgement calls (the events file's notes):"]
        for s in notes:
            parts += textwrap.wrap(f"{s.forecast.name}: {s.event.note}", 92,
                                   initial_indent="  - ", subsequent_indent="    ")
    if case.unjudged:
        parts += ["", "Not judged: " + ", ".join(case.unjudged) + "."]
    return "\n".join(parts)


def pooled_table(pooled: Pooled) -> str:
    """Every case's headline scores, the pooled skill and the reliability bins, in words."""
    rows = [[c.forecasts.scenario, str(c.skill.n), f"{c.skill.mean_brier:.3f}",
             _signed(c.skill.skill_half), _signed(c.skill.skill_base),
             f"{sum(1 for s in c.outcomes if s.timing and s.timing.flag)}"
             f"/{sum(1 for s in c.outcomes if s.timing)}"] for c in pooled.cases]
    table = grid(["Case", "Outcomes", "Mean Brier", "Skill vs 50%", "Skill vs base rate",
                  "Timing flags"], rows, right=1)
    bins = [[f"{b.low:.0%}-{b.high:.0%}", str(b.n),
             "" if b.n == 0 else f"{b.mean_forecast:.0%}",
             "" if b.n == 0 else format_estimate(b.observed)] for b in pooled.bins]
    n, k = pooled.skill.n, len(pooled.cases)
    return "\n".join([
        ("One case" if k == 1 else f"All {k} cases together"), "", table, "",
        *skill_lines(pooled.skill, "outcomes from all cases"),
        f"Timing: {pooled.flagged} of {pooled.timed} real dates outside the central "
        f"{CENTRAL:.0%}.", "",
        grid(["Model said", "Outcomes", "Mean forecast", "Share that happened [95%]"], bins),
        "",
        *textwrap.wrap(
            f"How far to trust this: {n} outcomes from {crises(k)}. Outcomes of one crisis "
            "are not independent (one decision settles several), so the real evidence is "
            "closer to the number of crises than to the number of outcomes. The intervals "
            "of the reliability bins are wide for that reason and are still too narrow, "
            "since they treat the outcomes as independent. Read the diagram as a check for "
            "gross over- or under-confidence, not as a calibration.", 92),
    ])


def backtest_page(texts: Sequence[str], images: Sequence[tuple[str, bytes]]) -> str:
    """A self-contained HTML page: the tables (escaped) and the plots (embedded PNGs)."""
    import html
    blocks = "".join(f"<pre>{html.escape(t)}</pre>" for t in texts)
    imgs = "".join(f"<figure>{png_img(png, name)}</figure>" for name, png in images)
    return ("<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport "
            "content='width=device-width,initial-scale=1'><title>Backtest</title><style>"
            "body{font:20px/1.5 system-ui,sans-serif;max-width:1200px;margin:2em auto;"
            "padding:0 1em;color:#111}pre{font-size:15px;background:#f4f4f4;padding:1em;"
            "overflow:auto}img{max-width:100%}</style><h1>Backtest against history</h1>"
            "<p><strong>A teaching and exploration model, not a forecast.</strong> Scores "
            "compare the scenario's probabilities with what really happened; a handful of "
            "crises is thin evidence (see docs/backtest.md).</p>"
            f"{blocks}{imgs}</html>")

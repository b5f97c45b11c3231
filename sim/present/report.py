"""Text and HTML renderings of a Summary: the terminal table and the self-contained report.

Pure: functions return strings; only the CLI prints or writes files. Every piece of
scenario text (titles, names, descriptions, sources, expressions) is user input and goes
through :func:`html.escape` before it reaches the page.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..results.stats import Estimate
from ..results.summary import Line, Summary
from ..spec.model import Choice, Model
from .numbers import interval, percent, probability_decimals, value_text

NOT_A_FORECAST = ("This is a teaching and exploration model, not a forecast: its numbers "
                  "follow from the stated assumptions.")
NAME_WIDTH = 46
CITATION = re.compile(r"\[([A-Za-z0-9_\-]+)\]")

# How to read each standard figure, shown under it in the report.
CAPTIONS = {
    "rung_probabilities": (
        "How likely is each rung of the ladder to be reached within the horizon?",
        "Each bar is the share of simulated runs that reached the rung or went beyond it (a "
        "ladder is climbed rung by rung, so reaching a higher rung counts as passing this one; "
        "for rungs below the start, settling at least that far); the "
        "whisker and the numbers in brackets are its 95% interval. The grey hatched bar is "
        "the starting rung; blue rungs lie below it (settling), yellow to red rungs above "
        "it (escalation)."),
    "incidence": (
        "When is each rung first reached?",
        "Each line rises as more runs reach the rung; its height on a date is the share of "
        "runs that had reached the rung by then, with a shaded 95% band. Dashed lines are "
        "rungs below the start."),
    "fan_chart": (
        "Where does the crisis stand on each day?",
        "Each coloured layer is a rung; its thickness on a date is the share of runs "
        "standing on that rung at the end of that day. The layers add up to 100%."),
    "incidence_log": (
        "When is each rung first reached? (log scale)",
        "The same curves on a logarithmic axis, on which each gridline is ten times the one "
        "below: rare rungs, invisible on the linear chart, show here."),
    "outcomes": (
        "How likely is each named outcome?",
        "Each bar is the share of runs in which the outcome happened by the horizon, with "
        "its 95% interval."),
    "comparison": (
        "What changes when the levers move?",
        "The base case against each variant, run on the same random numbers so that the "
        "difference measures the lever, not chance."),
}

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: #111111;
  font: 20px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 2.1rem; line-height: 1.2; margin: 0.5rem 0 0.4rem; }
h2 { font-size: 1.6rem; margin: 2.6rem 0 0.8rem; padding-bottom: 0.25rem;
  border-bottom: 3px solid #111111; }
h3 { font-size: 1.25rem; margin: 1.6rem 0 0.5rem; }
p { margin: 0.5rem 0 0.9rem; max-width: 62em; }
a { color: #0047a3; }
a:focus, a:hover { outline: 2px solid #0047a3; }
.subtitle { font-size: 1.15rem; color: #333333; margin-top: 0; }
.note { border: 3px solid #111111; border-left-width: 12px; background: #fff4c2;
  padding: 0.8rem 1.1rem; margin: 1.2rem 0; font-size: 1.1rem; font-weight: 600; }
.warnings { border-left: 12px solid #b00020; background: #fdecee; padding: 0.6rem 1.1rem;
  margin: 1rem 0; }
.warnings li { margin: 0.3rem 0; }
nav ol { columns: 2; padding-left: 1.4rem; margin: 0.4rem 0; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0 1.2rem; }
th, td { border: 1px solid #8c8c8c; padding: 0.35rem 0.6rem; text-align: left;
  vertical-align: top; }
th { background: #e8e8e8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
tr.start td { font-weight: 700; background: #f2f2f2; }
code { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 0.9em;
  background: #f0f0f0; padding: 0.05em 0.25em; border-radius: 3px;
  overflow-wrap: anywhere; }
figure { margin: 1.2rem 0 2.2rem; }
figure img { width: 100%; height: auto; border: 1px solid #bfbfbf; display: block; }
figcaption { margin-top: 0.5rem; }
figcaption strong { display: block; font-size: 1.15rem; }
dl.manifest { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dl.manifest dt { font-weight: 700; }
dl.manifest dd { margin: 0; overflow-wrap: anywhere; }
ol.sources li { margin: 0.4rem 0; }
ol.sources li:target { background: #fff4c2; }
.muted { color: #444444; }
@media print { body { font-size: 12pt; } main { max-width: none; } }
"""


# -- numbers -------------------------------------------------------------------------------
def format_estimate(est: Estimate, style: str = "text") -> str:
    """A probability with its 95% interval at the precision the interval supports.

    ``style="text"`` gives ``12.3% [11.4%, 13.3%]``, ``style="plot"`` the compact
    ``12.3% [11.4–13.3]`` and ``style="point"`` only ``12.3%``. The point is
    :func:`sim.present.numbers.percent` (``0%`` or ``100%`` when the event happened in no
    run or in every run, never for a share strictly between), as in every table.
    """
    if est.n <= 0 or not math.isfinite(est.p):
        return "n/a (no runs)"
    d = probability_decimals(est.p, est.half_width)
    if style == "point":
        return percent(est)
    if style == "plot":
        return (f"{percent(est)} [{est.low * 100:.{d}f}\N{EN DASH}"
                f"{est.high * 100:.{d}f}]")
    return f"{percent(est)} {interval(est)}"


def _parts(est: Estimate) -> tuple[str, str]:
    """(point, interval) strings for a table cell pair."""
    if est.n <= 0 or not math.isfinite(est.p):
        return "n/a", "(no runs)"
    return percent(est), interval(est)


def _horizon_end(summary: Summary) -> str:
    try:
        start = dt.date.fromisoformat(summary.start)
    except ValueError:
        return ""
    return (start + dt.timedelta(days=int(summary.horizon))).isoformat()


def _variant_text(summary: Summary) -> str:
    if summary.variant == "base" and not summary.levers:
        return "base case"
    changed = ", ".join(f"{k} = {value_text(v)}" for k, v in summary.levers)
    name = "base case" if summary.variant == "base" else f"variant {summary.variant}"
    return f"{name} ({changed})" if changed else name


def _unique(texts: Iterable[str]) -> list[str]:
    """Texts in order without repeats (a rung and an outcome may share a name)."""
    return list(dict.fromkeys(texts))


# -- the terminal table --------------------------------------------------------------------
def format_table(summary: Summary) -> str:
    """A plain-text table of rung and outcome probabilities with 95% intervals, then warnings.

    Rungs are listed in ladder order (lowest first) with the starting rung marked; each
    percentage shows as many decimals as its interval supports.
    """
    rung_names = [line.name + (" (start)" if i == summary.initial_rung else "")
                  for i, line in enumerate(summary.rungs)]
    names = rung_names + [line.name for line in summary.outcomes]
    # Names longer than NAME_WIDTH wrap onto continuation lines, so rows fit 80 columns.
    width = min(NAME_WIDTH, max([len("Rung (lowest first)"), *(len(n) for n in names)]))
    cells = [_parts(line.estimate) for line in (*summary.rungs, *summary.outcomes)]
    pw = max([len("P(reach)"), *(len(p) for p, _ in cells)])
    end = _horizon_end(summary)
    out = [f"{summary.title} - {_variant_text(summary)}",
           f"{summary.n:,} runs, horizon {summary.horizon:g} days"
           + (f" ({summary.start} to {end})" if end else "") + ", 95% Wilson intervals",
           ""]

    def block(header: str, pheader: str, lines: Sequence[Line], labels: Sequence[str]) -> None:
        out.append(f"{header:<{width}}  {pheader:>{pw}}  95% interval")
        for line, label in zip(lines, labels, strict=True):
            p, interval = _parts(line.estimate)
            parts = textwrap.wrap(label, width, subsequent_indent="  ") or [""]
            out.append(f"{parts[0]:<{width}}  {p:>{pw}}  {interval}")
            out.extend(parts[1:])

    block("Rung (lowest first)", "P(reach)", summary.rungs, rung_names)
    out += ["P(reach): share of runs at this rung or beyond it by the horizon",
            "(for rungs below the start: settled at least that far)."]
    if summary.outcomes:
        out.append("")
        block("Outcome", "P", summary.outcomes, [line.name for line in summary.outcomes])
    if summary.warnings:
        out += ["", "Warnings:"]
        for warning in _unique(summary.warnings):
            out += textwrap.wrap(warning, 96, initial_indent="  - ",
                                 subsequent_indent="    ")
    return "\n".join(line.rstrip() for line in out)


# -- HTML ----------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _anchor(key: str) -> str:
    """A safe fragment id for a source key."""
    if CITATION.fullmatch(f"[{key}]"):
        return f"source-{key}"
    return "source-" + "".join(f"{ord(c):x}" for c in key)[:60]


def _cite(text: str, keys: Iterable[str]) -> str:
    """Escape ``text`` and turn each ``[key]`` of a known source into a link to it."""
    known = set(keys)

    def link(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in known:
            return match.group(0)
        return f'<a href="#{_anchor(key)}">[{key}]</a>'

    return CITATION.sub(link, _e(text))


def _code(text: str) -> str:
    return f"<code>{_e(text)}</code>" if text else ""


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]],
           numeric: Sequence[int] = (), row_classes: Sequence[str] | None = None) -> str:
    """A table; headers are escaped here, cells must already be HTML."""
    num = ' class="num"'
    head = "".join(f'<th{num if i in numeric else ""} scope="col">{_e(h)}</th>'
                   for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(f'<td{num if i in numeric else ""}>{c}</td>'
                        for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    if not body:
        return '<p class="muted">None.</p>'
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            "</table>")


def _choice(model: Model, choice: Choice) -> str:
    names = [model.actions[i].id for i in choice.actions]
    if choice.single:
        return _code(names[0])
    return "<br>".join(f"{_code(n)} weight {_code(w.text)}"
                       for n, w in zip(names, choice.weights, strict=True))


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    lo = "" if low is None else f"{low:g}"
    hi = "" if high is None else f"{high:g}"
    return _e(f"{lo} to {hi}" if lo and hi else (f"at least {lo}" if lo else f"at most {hi}"))


def _results(model: Model, summary: Summary) -> str:
    end = _horizon_end(summary)
    rows, classes = [], []
    for i, line in enumerate(summary.rungs):
        p, interval = _parts(line.estimate)
        note = ("starting rung" if i == summary.initial_rung
                else "below the start" if i < summary.initial_rung else "escalation")
        rows.append([_e(line.name), _code(line.id), p, interval, _e(note)])
        classes.append("start" if i == summary.initial_rung else "")
    parts = [f"<p>{summary.n:,} simulated runs; horizon {summary.horizon:g} days, from "
             f"{_e(summary.start)}{f' to {_e(end)}' if end else ''}. Every probability is "
             "followed by its 95% interval (Wilson), shown at the precision the interval "
             "supports.</p>",
             "<h3>Probability of reaching each rung (ladder order, lowest first)</h3>",
             _table(["Rung", "Id", f"P(reach by {end or 'horizon'})", "95% interval", ""],
                    rows, numeric=(2, 3), row_classes=classes)]
    parts.append("<h3>Outcomes</h3>")
    orow = []
    for line in summary.outcomes:
        p, interval = _parts(line.estimate)
        orow.append([_e(line.name), _code(line.id), p, interval])
    parts.append(_table(["Outcome", "Id", "Probability", "95% interval"], orow,
                        numeric=(2, 3)))
    if summary.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in _unique(summary.warnings))
        parts.append(f'<div class="warnings" role="alert"><h3>Warnings</h3><ul>{items}</ul>'
                     "</div>")
    else:
        parts.append('<p class="muted">No precision warnings for this run.</p>')
    return "".join(parts)


def png_img(png: bytes, alt: str, style: str = "") -> str:
    """An ``<img>`` embedding a PNG as a data URI (the page loads nothing from elsewhere)."""
    data = base64.b64encode(png).decode("ascii")
    styled = f' style="{style}"' if style else ""
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}"{styled}>'


def _figures(images: Mapping[str, bytes]) -> str:
    order = [k for k in CAPTIONS if k in images] + [k for k in images if k not in CAPTIONS]
    parts = []
    for stem in order:
        title, how = CAPTIONS.get(stem, (stem.replace("_", " ").capitalize(), ""))
        parts.append(figure_html(stem, images[stem], title, how))
    return "".join(parts) or '<p class="muted">Plots were not produced for this run.</p>'


def figure_html(stem: str, png: bytes, title: str, caption: str) -> str:
    """A figure embedded as a base64 PNG, with its (escaped) title and caption."""
    return (f'<figure id="figure-{_e(stem)}">{png_img(png, title)}'
            f"<figcaption><strong>{_e(title)}</strong>"
            f"{_e(caption)}</figcaption></figure>")


def analysis_section(body: str, images: Sequence[tuple[str, bytes]]) -> str:
    """An analysis as a report section: its table preformatted, its PNGs embedded."""
    imgs = "".join(f"<figure>{png_img(png, name, 'max-width:100%')}</figure>"
                   for name, png in images)
    return f'<pre style="overflow:auto">{_e(body)}</pre>{imgs}'


def analysis_page(title: str, body: str, images: Sequence[tuple[str, bytes]],
                  manifest: Mapping[str, Any]) -> str:
    """A short self-contained page for an analysis that has no base-case report."""
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{_e(title)}"
            "</title><style>body{font:20px/1.5 system-ui,sans-serif;max-width:1200px;"
            "margin:2em auto;padding:0 1em;color:#111}pre{font-size:16px;background:#f4f4f4;"
            "padding:1em;overflow:auto}img{max-width:100%}.warnings{border-left:12px solid "
            "#b00020;background:#fdecee;padding:.6rem 1.1rem}</style>"
            f"<h1>{_e(title)}</h1><p><strong>A teaching and exploration model, not a "
            "forecast: the numbers follow from the scenario's stated assumptions.</strong></p>"
            f"{stopped_banner(manifest)}{analysis_section(body, images)}<h2>Manifest</h2>"
            f"<pre>{_e(json.dumps(dict(manifest), indent=2, default=str))}</pre></html>")


def _ladder(model: Model, keys: Sequence[str]) -> str:
    rows = [[str(r.index), _e(r.name) + (" <strong>(start)</strong>"
                                         if r.index == model.initial_rung else ""),
             _code(r.id), _cite(r.description, keys), _cite(r.framework, keys)]
            for r in model.rungs]
    actors = [[_e(a.name), _code(a.id), _cite(a.description, keys)] for a in model.actors]
    return (_table(["#", "Rung", "Id", "Description", "Framework"], rows, numeric=(0,))
            + "<h3>Actors</h3>" + _table(["Actor", "Id", "Description"], actors))


def _levers(model: Model, keys: Sequence[str]) -> str:
    changed = dict(model.applied)
    rows = []
    for lv in model.levers:
        value = _e(value_text(lv.value))
        if lv.id in changed:
            value = f"<strong>{value}</strong> (changed for this run)"
        rows.append([_code(lv.id), value, _e(lv.unit),
                     "on / off" if lv.is_bool else _range(lv.low, lv.high),
                     _cite(lv.description, keys), _cite(lv.source, keys)])
    return _table(["Lever", "Value", "Unit", "Range", "Description", "Source"], rows)


def _parameters(model: Model, keys: Sequence[str]) -> str:
    rows = [[_code(p.id), _code(p.dist.describe()), f"{p.dist.mean:.4g}",
             _cite(p.description, keys), _cite(p.source, keys)] for p in model.parameters]
    return _table(["Parameter", "Distribution", "Mean", "Description", "Source"], rows,
                  numeric=(2,))


def _state_actions(model: Model, keys: Sequence[str]) -> str:
    state = [[_code(v.id), _code(v.initial.text), _range(v.low, v.high),
              _cite(v.description, keys), _cite(v.source, keys)] for v in model.state]
    actors = {a.id: a.name for a in model.actors}
    actions = []
    for a in model.actions:
        rung = ""
        if a.rung is not None:
            verb = "sets the rung to" if a.rung_mode == "set" else "raises the rung to"
            rung = f"{_e(verb)} {_e(model.rungs[a.rung].name)}"
        effects = "<br>".join(f"{_code(f.var)} = {_code(f.expr.text)}" for f in a.effects)
        actions.append([_code(a.id), _e(actors.get(a.actor, a.actor)), rung, effects,
                        "yes" if a.ends_run else "", _cite(a.description or a.narrative, keys)])
    return ("<h3>State variables</h3>"
            + _table(["Variable", "Initial value", "Range", "Description", "Source"], state)
            + "<h3>Actions</h3>"
            + _table(["Action", "Actor", "Rung", "Effects", "Ends the run", "Description"],
                     actions))


def _behaviour(model: Model, keys: Sequence[str]) -> str:
    procs = []
    for p in model.processes:
        if p.rate is not None:
            how = f"rate per day {_code(p.rate.text)}"
        else:
            how = _e(f"every {p.every:g} days")
        if p.when is not None:
            how += f"<br>while {_code(p.when.text)}"
        procs.append([_code(p.id), _choice(model, p.choice), how, _e(f"from day {p.start:g}"),
                      _cite(p.description, keys), _cite(p.source, keys)])
    rules = []
    for r in model.rules:
        on = ", ".join(_code(model.actions[i].id) for i in r.on)
        prob = _code(r.probability.text)
        if r.when is not None:
            prob += f"<br>if {_code(r.when.text)}"
        rules.append([_code(r.id), on, _choice(model, r.choice), prob,
                      _code(r.delay.describe()) + _e(f" (mean {r.delay.mean:g} days)"),
                      _cite(r.description, keys), _cite(r.source, keys)])
    return ("<h3>Processes (recurring behaviour)</h3>"
            + _table(["Process", "Action", "Rate or cadence", "Delay / start", "Description",
                      "Source"], procs)
            + "<h3>Rules (reactions)</h3>"
            + _table(["Rule", "When this happens", "Response", "Probability", "Delay (days)",
                      "Description", "Source"], rules))


def _schedule(model: Model, keys: Sequence[str]) -> str:
    rows = []
    for ev in model.schedule:
        cond = []
        if ev.probability is not None:
            cond.append(f"probability {_code(ev.probability.text)}")
        if ev.when is not None:
            cond.append(f"if {_code(ev.when.text)}")
        rows.append([_e(model.date_of(ev.day).isoformat()), _e(f"{ev.day:g}"), _code(ev.id),
                     _choice(model, ev.choice), "<br>".join(cond) or "always",
                     _cite(ev.description, keys), _cite(ev.source, keys)])
    return _table(["Date", "Day", "Event", "Action", "Condition", "Description", "Source"],
                  rows, numeric=(1,))


def _sources(model: Model, keys: Sequence[str]) -> str:
    cutoff = _cutoff_note(model)
    if not model.sources:
        return f'{cutoff}<p class="muted">The scenario lists no sources.</p>'
    dates = dict(model.source_dates)
    items = "".join(f'<li id="{_anchor(key)}"><strong>[{_e(key)}]</strong> '
                    f"{_linkify(_cite(text, keys))}"
                    + (f" <span class=muted>(dated {_e(dates[key].isoformat())})</span>"
                       if key in dates else "") + "</li>" for key, text in model.sources)
    return f'{cutoff}<ol class="sources">{items}</ol>'


def _cutoff_note(model: Model) -> str:
    """The information cutoff: what the numbers were allowed to know."""
    if model.information_cutoff is None:
        return ""
    return (f"<p><strong>Information cutoff: {_e(model.information_cutoff.isoformat())}"
            "</strong>. Every number rests on what was known by then; later events appear "
            "only as out-of-sample checks.</p>")


URL = re.compile(r"https?://[^\s<>&\"']+[^\s<>&\"'.,;:)\]]")


def _linkify(escaped: str) -> str:
    """Make http(s) addresses in already escaped text clickable."""
    return URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def _manifest(manifest: Mapping[str, Any]) -> str:
    if not manifest:
        return '<p class="muted">No manifest.</p>'
    return _dl(manifest)


def _dl(mapping: Mapping[str, Any]) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_manifest_value(v)}</dd>"
                    for k, v in mapping.items())
    return f'<dl class="manifest">{items}</dl>'


def _manifest_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return _dl(value) if value else '<span class="muted">none</span>'
    if isinstance(value, (list, tuple)):
        return ", ".join(_manifest_value(v) for v in value)
    if value is None:
        return '<span class="muted">none</span>'
    if isinstance(value, bool):
        return _e(value_text(value))
    return _code(str(value)) if isinstance(value, str) and len(value) > 24 else _e(value)


def stopped_banner(manifest: Mapping[str, Any]) -> str:
    """A banner for an interrupted results folder: how many runs, and why it stopped."""
    if manifest.get("status") != "interrupted":
        return ""
    done, asked = manifest.get("runs_completed"), manifest.get("runs_requested")
    runs = f"{done:,} of {asked:,} runs" if isinstance(done, int) and isinstance(
        asked, int) else "part of the runs"
    reason = manifest.get("reason") or "interrupted"
    return (f'<div class="warnings" role="alert"><strong>Interrupted: these results cover '
            f"{_e(runs)}.</strong> {_e(reason)}</div>")


def render_html(model: Model, summary: Summary, images: dict[str, bytes],
                manifest: dict[str, Any],
                extra_sections: list[tuple[str, str]] | None = None) -> str:
    """A self-contained HTML report: results, plots, assumptions, sources and manifest.

    Images are embedded as base64 PNG data URIs; the CSS is inline; nothing is loaded from
    elsewhere. All scenario text is escaped. ``extra_sections`` are ``(title, html)`` pairs
    appended before the sources: the title is escaped, the HTML is inserted as given, so
    callers must build it from escaped text.
    """
    keys = [key for key, _ in model.sources]
    sections: list[tuple[str, str, str]] = [
        ("results", "Key results", _results(model, summary)),
        ("plots", "Plots", _figures(images)),
        ("ladder", "Escalation ladder and actors", _ladder(model, keys)),
        ("levers", "Levers", _levers(model, keys)),
        ("parameters", "Uncertain parameters",
         "<p>Each is drawn once per run from its distribution, so the spread of results "
         "includes this uncertainty.</p>" + _parameters(model, keys)),
        ("state", "State variables and actions", _state_actions(model, keys)),
        ("behaviour", "Processes and rules", _behaviour(model, keys)),
        ("schedule", "Schedule", _schedule(model, keys)),
    ]
    for i, (title, body) in enumerate(extra_sections or []):
        sections.append((f"extra-{i + 1}", title, body))
    sections.append(("sources", "Sources", _sources(model, keys)))
    sections.append(("manifest", "How this was produced",
                     "<p>Running the same command on the same scenario file (same hash) with "
                     "the same seed gives the same numbers.</p>" + _manifest(manifest)))
    nav = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>'
                   for sid, title, content in sections)
    variant = _variant_text(summary)
    heading = variant[:1].upper() + variant[1:]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(model.title)} ({_e(variant)})</title><style>{CSS}</style></head>"
        "<body><main>"
        f"<header><h1>{_e(model.title)}</h1>"
        f'<p class="subtitle">{_e(heading)} · scenario {_code(model.id)} · '
        f"{summary.n:,} runs · start {_e(summary.start)}, {summary.horizon:g} days"
        + (f" · information cutoff {_e(model.information_cutoff.isoformat())}"
           if model.information_cutoff else "") + "</p>"
        f"<p>{_e(model.description)}</p></header>"
        f'<div class="note" role="note">{_e(NOT_A_FORECAST)}</div>'
        + stopped_banner(manifest) +
        f'<nav aria-label="Contents"><strong>Contents</strong><ol>{nav}</ol></nav>'
        f"{body}</main></body></html>\n")

"""Role briefs: a printable one-page brief per actor of a scenario, for a crisis game.

Each brief says who you are, the situation on the start date, the ladder, your levers and
your decisions (each with its source), what you will not learn of, who else is at the table,
and how a turn works. Generated from the scenario only, so it is the same for every class.
Pure: functions return strings; scenario text is escaped in HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from ..analyses.moves import decisions, fmt_value, levers_of, start_only
from ..spec.model import Action, Lever, Model
from .report import CITATION, NOT_A_FORECAST

SOURCE_CHARS = 150
BRIEF_CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #111; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto,
  Arial, sans-serif; background: #fff; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.2rem; }
h1 { font-size: 1.6em; margin: 0 0 0.2em; }
h2 { font-size: 1.15em; margin: 0.8em 0 0.3em; border-bottom: 2px solid #111; }
p { margin: 0.25rem 0; }
.sub { color: #333; margin: 0 0 0.4rem; }
.note { border-left: 8px solid #111; background: #fff4c2; padding: 0.3rem 0.6rem;
  font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #999; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }
th { background: #eee; }
ul.decisions { columns: 2; margin: 0.2rem 0; padding-left: 1.1rem; font-size: 0.9em; }
ul.decisions li { break-inside: avoid; }
.cite { color: #444; }
ol.ladder { margin: 0.2rem 0; padding-left: 1.4rem; columns: 2; font-size: 0.9em; }
li.start { font-weight: 700; }
.sources { font-size: 0.78em; color: #333; }
@media print { body { font-size: 8.5pt; line-height: 1.3; } main { padding: 0; }
  .brief { break-after: page; } th, td { padding: 0.1rem 0.3rem; }
  h2 { margin-top: 0.5em; } }
"""


@dataclass(frozen=True)
class RoleBrief:
    """The content of one actor's brief."""

    actor: str
    name: str
    description: str
    levers: tuple[tuple[Lever, str], ...]  # lever, when it can be set
    decisions: tuple[tuple[Action, str], ...]  # action, sources
    unseen: tuple[Action, ...]  # other actors' actions this actor does not learn of
    others: tuple[tuple[str, str], ...]  # name, what they control
    sources: tuple[tuple[str, str], ...]  # key, text (shortened), cited in this brief


def role_brief(model: Model, actor: str) -> RoleBrief:
    """The brief of ``actor`` (an actor id of the scenario)."""
    known = {a.id: a for a in model.actors}
    if actor not in known:
        raise KeyError(actor)
    fixed = start_only(model)
    levers = tuple((lv, "at the first turn only" if lv.id in fixed else "any turn")
                   for lv in levers_of(model, actor))
    moves = decisions(model, actor)
    unseen = tuple(a for a in model.actions if not a.seen(actor))
    others = []
    for a in model.actors:
        if a.id == actor:
            continue
        parts = [f"{len(levers_of(model, a.id))} lever(s)"] if levers_of(model, a.id) else []
        if decisions(model, a.id):
            parts.append(f"{len(decisions(model, a.id))} decision(s)")
        others.append((a.name, ", ".join(parts) or "acts only through the model"))
    texts = [lv.source for lv, _ in levers] + [src for _, src in moves]
    cited = dict.fromkeys(key for text in texts for key in CITATION.findall(text))
    table = dict(model.sources)
    sources = tuple((key, _short(table[key])) for key in cited if key in table)
    return RoleBrief(actor, known[actor].name, known[actor].description, levers, moves,
                     unseen, tuple(others), sources)


def _short(text: str, chars: int = SOURCE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    return text[:chars - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def cites(text: str) -> str:
    """A source as its citation keys (listed in full at the foot), plus 'assumption' when it
    states one; the text itself, shortened, when it cites nothing."""
    keys = list(dict.fromkeys(CITATION.findall(text)))
    if not keys:
        return _short(text, 90)
    return " ".join(f"[{k}]" for k in keys) + ("; assumption" if "ssumption" in text else "")


def _range(lever: Lever) -> str:
    if lever.is_bool:
        return "on/off"
    if lever.low is not None and lever.high is not None:
        return f"{lever.low:g} to {lever.high:g}" + (f" {lever.unit}" if lever.unit else "")
    return "a number"


def _e(text: object) -> str:
    return html.escape(str(text))


def brief_html(model: Model, actor: str, every: float | None = None) -> str:
    """One actor's brief as the body of a printable page (an ``<article>``)."""
    b = role_brief(model, actor)
    end = model.date_of(model.horizon).isoformat()
    ladder = "".join(
        f"<li{' class=start' if r.index == model.initial_rung else ''} value={r.index}>"
        f"{_e(r.name)}{' (now)' if r.index == model.initial_rung else ''}</li>"
        for r in model.rungs)
    lever_rows = "".join(
        f"<tr><td><strong>{_e(lv.id)}</strong><br>{_e(lv.description)}</td>"
        f"<td>{_e(fmt_value(lv.value))}</td><td>{_e(_range(lv))}</td><td>{_e(when)}</td>"
        f"<td>{_e(cites(lv.source))}</td></tr>" for lv, when in b.levers)
    levers = (f"<table><thead><tr><th>Lever</th><th>Now</th><th>Range</th><th>Set</th>"
              f"<th>Source</th></tr></thead><tbody>{lever_rows}</tbody></table>"
              if b.levers else "<p>You control no lever.</p>")
    items = "".join(
        f"<li><strong>{_e(a.name)}</strong>"
        f"{' (to ' + _e(model.rungs[a.rung].name) + ')' if a.rung is not None else ''}"
        f"{': ' + _e(a.description) if a.description else ''} "
        f"<span class=cite>{_e(cites(src))}</span></li>" for a, src in b.decisions)
    acts = (f'<ul class="decisions">{items}</ul>'
            if b.decisions else "<p>No action of yours can be taken as a decision.</p>")
    turn = f"{every:g} simulated days" if every else "a set number of simulated days"
    unseen = ("<h2>What you will not learn of</h2><p>" + _e(", ".join(
        f"{a.name} ({_actor_name(model, a.actor)})" for a in b.unseen)) + "</p>"
        if b.unseen else "")
    sources = "".join(f"<li><strong>[{_e(k)}]</strong> {_e(t)}</li>" for k, t in b.sources)
    return (
        f'<article class="brief" id="brief-{_e(actor)}"><h1>{_e(b.name)}: role brief</h1>'
        f'<p class="sub">{_e(model.title)} · {_e(model.start.isoformat())} to {_e(end)}</p>'
        + (f"<p>{_e(b.description)}</p>" if b.description else "")
        + f"<h2>The situation</h2><p>{_e(model.description)}</p><ol class=ladder start=0>"
        f"{ladder}</ol><h2>Your levers</h2>{levers}<h2>Your decisions</h2>{acts}{unseen}"
        "<h2>Others at the table</h2><p>"
        + _e("; ".join(f"{n}: {what}" for n, what in b.others)) + "</p>"
        f"<h2>How a turn works</h2><p>Each turn covers {_e(turn)}. Read your briefing, "
        "then submit lever changes and at most one decision before the deadline. If you do "
        "not, the model's default policy plays you for that turn: your levers stay as they "
        "are and you take no decision. Actors no team plays are played by the model.</p>"
        f'<p class="note">{_e(NOT_A_FORECAST)}</p>'
        + (f'<ol class="sources">{sources}</ol>' if sources else "") + "</article>")


def _actor_name(model: Model, actor_id: str) -> str:
    return next((a.name for a in model.actors if a.id == actor_id), actor_id)


def briefs_page(model: Model, actors: Sequence[str], every: float | None = None) -> str:
    """A self-contained printable page with one brief per actor (one per printed page)."""
    body = "".join(brief_html(model, actor, every) for actor in actors)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Role briefs: {_e(model.title)}</title><style>{BRIEF_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def brief_markdown(model: Model, actor: str, every: float | None = None) -> str:
    """One actor's brief as Markdown."""
    b = role_brief(model, actor)
    out = [f"# {b.name}: role brief", "", f"{model.title} · {model.start.isoformat()} to "
           f"{model.date_of(model.horizon).isoformat()}", ""]
    out += [b.description, ""] if b.description else []
    out += ["## The situation", "", " ".join(model.description.split()), ""]
    out += [f"{r.index}. {r.name}" + (" **(now)**" if r.index == model.initial_rung else "")
            for r in model.rungs] + [""]
    out += ["## Your levers", ""]
    out += [f"- `{lv.id}` = {fmt_value(lv.value)} ({_range(lv)}; {when}): {lv.description} "
            f"Source: {lv.source}" for lv, when in b.levers] or ["You control no lever."]
    out += ["", "## Your decisions", ""]
    out += [f"- {a.name}" + (f" (to '{model.rungs[a.rung].name}')" if a.rung is not None
                              else "") + f". Source: {src}" for a, src in b.decisions] or \
        ["No action of yours can be taken as a decision."]
    if b.unseen:
        out += ["", "## What you will not learn of", "",
                ", ".join(f"{a.name} ({_actor_name(model, a.actor)})" for a in b.unseen)]
    out += ["", "## Others at the table", ""] + [f"- {n}: {w}" for n, w in b.others]
    turn = f"{every:g} simulated days" if every else "a set number of simulated days"
    out += ["", "## How a turn works", "", f"Each turn covers {turn}. Submit lever changes and "
            "at most one decision before the deadline; if you do not, the model's default "
            "policy plays you for that turn.", "", f"> {NOT_A_FORECAST}", ""]
    out += [f"- [{k}] {t}" for k, t in b.sources]
    return "\n".join(out) + "\n"

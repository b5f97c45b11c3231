"""The debrief of a crisis game as Markdown and as printable, self-contained HTML.

Both renderings show the same things in the same order: how the game ended, where it falls
among the simulated crises, the figures (HTML only), the turning points with their
intervals, the full transcript turn by turn, and the moves file that replays the game.
Pure: functions return strings; scenario and player text is escaped in HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from ..analyses.debrief import Debrief, Risk
from ..analyses.game import CrisisGame, moves_yaml, replay_command
from ..analyses.moves import fmt_value
from ..analyses.play import ending
from ..analyses.story import end_line
from ..results.stats import Difference
from .report import CSS, NOT_A_FORECAST, figure_html, format_estimate

FIGURES = {
    "game_fan": ("Your crisis against the simulated ones",
                 "The coloured layers are the share of default-policy runs on each rung, day "
                 "by day; the black line is this game, drawn through the layer of the rung it "
                 "stood on."),
    "game_incidence": ("When this game reached each rung",
                       "Each curve is the share of simulated runs that had reached a rung by "
                       "a date; a black ring marks when this game got there."),
    "game_risk": ("The turning points",
                  "The model's risk of the top rungs, re-estimated from the game's state "
                  "just before and just after each turn's moves."),
}
DEBRIEF_CSS = CSS + """
.transcript li { font-family: ui-monospace, Consolas, monospace; font-size: 0.85em;
  list-style: none; white-space: pre-wrap; }
.transcript ul { padding-left: 0.5rem; }
.moves li { margin: 0.2rem 0; }
td.turning { font-weight: 700; }
pre { background: #f4f4f4; padding: 0.8rem; overflow-x: auto; font-size: 0.85em; }
@media print { figure { break-inside: avoid; } section { break-before: auto; } }
"""


TURNING = ' class="turning"'


class TurnText(NamedTuple):
    """One turn of the transcript: heading, who did what, what happened."""

    heading: str
    moves: tuple[str, ...]
    lines: tuple[str, ...]


def transcript(game: CrisisGame) -> list[TurnText]:
    """The game turn by turn: each team's move (or the default policy), the facilitator's
    injections, then the narrative up to the next turn."""
    model, out = game.model, []
    for turn in game.turns:
        moves = [f"{game.name(team)}: " + (move.words(model) if move is not None else
                                            "did not submit; the default policy played")
                 for team, move in turn.moves]
        moves += [f"Facilitator: {i.note}" + (
            f" (injects '{model.actions[model.action_index(i.action)].name}')"
            if i.action else "") + (
            f" (sets {', '.join(f'{k}={fmt_value(v)}' for k, v in i.levers)})"
            if i.levers else "") for i in turn.injects]
        date = model.date_of(turn.day).isoformat()
        lines = game.board.narrative(turn.number, turn.number + 1)
        if game.over and turn is game.turns[-1]:
            lines += (end_line(model, game.record()),)
        out.append(TurnText(f"Turn {turn.number + 1}: {date} (day {turn.day:g})",
                            tuple(moves), lines))
    return out


def verdict(game: CrisisGame, debrief: Debrief) -> list[str]:
    """The debrief's sentences: ending, peak, place in the distribution, first passages."""
    model, rec = game.model, game.record()
    st = debrief.standing
    peak = model.rungs[rec.peak].name
    lines = [f"Outcome: {ending(model, rec)}.",
             f"Peak rung: '{peak}' (rung {rec.peak} of {len(model.rungs) - 1}).",
             f"Your crisis vs {st.runs:,} simulated ones (default policy, seed {st.seed}): "
             f"the crisis peaks at '{peak}' or higher in {format_estimate(st.at_least)} of "
             f"them, and higher than yours in {format_estimate(st.above)}."]
    for rung, day, share in debrief.first_reach:
        lines.append(f"You reached '{model.rungs[rung].name}' on "
                     f"{model.date_of(day).isoformat()} (day {day:.0f}); by then "
                     f"{format_estimate(share)} of the simulated crises had.")
    played = ", ".join(game.name(a) for a in game.model_played()) or "none"
    lines.append(f"Played by the model's default policy: {played}.")
    return lines


def path_rows(game: CrisisGame) -> list[tuple[float, str, int, str]]:
    """The game's path: (day, date, rung index, rung name) at the start and every change."""
    model = game.model
    return [(day, model.date_of(day).isoformat(), rung, model.rungs[rung].name)
            for day, rung in game.record().rung_path]


def _change(d: Difference) -> str:
    if not math.isfinite(d.diff):
        return "n/a"
    return (f"{d.diff * 100:+.1f} points [{d.low * 100:+.1f}, {d.high * 100:+.1f}]")


def risk_rows(game: CrisisGame, debrief: Debrief) -> list[tuple[str, str, str, str, str, bool]]:
    """(turn, moves, before, after, change, is a turning point) per turn."""
    texts = transcript(game)
    rows = []
    for risk, text in zip(debrief.risks, texts, strict=False):
        rows.append((text.heading, "; ".join(text.moves), format_estimate(risk.before),
                     format_estimate(risk.after), _change(risk.change),
                     risk.turn in debrief.turning))
    return rows


def turning_sentences(game: CrisisGame, debrief: Debrief) -> list[str]:
    """One sentence per turning point, biggest first."""
    texts = transcript(game)
    out = []
    for rank, turn in enumerate(debrief.turning):
        risk: Risk = debrief.risks[turn]
        out.append(f"{rank + 1}. {texts[turn].heading}: {'; '.join(texts[turn].moves)}. The "
                   f"risk went from {format_estimate(risk.before, 'point')} to "
                   f"{format_estimate(risk.after, 'point')} ({_change(risk.change)})"
                   + ("; the interval includes no change, so this may be noise."
                      if risk.change.low <= 0 <= risk.change.high else "."))
    return out or [f"In {debrief.continuations} continuations per turn, no move changed the "
                   "model's risk of the top rungs: what happened was the dice."]


def to_markdown(game: CrisisGame, debrief: Debrief, moves_file: str = "MOVES.yaml") -> str:
    """The debrief as Markdown (no figures)."""
    model = game.model
    top = model.rungs[debrief.rung].name
    out = [f"# Debrief: {model.title}", "",
           f"Teams: {', '.join(game.name(t) for t in game.setup.teams)} · "
           f"{len(game.turns)} turns of {game.setup.every:g} days · seed {game.setup.seed}, "
           f"replication {game.setup.replication}", "", f"> {NOT_A_FORECAST}", ""]
    out += [f"- {line}" for line in verdict(game, debrief)] + [""]
    out += ["## Turning points", "",
            f"The model's risk of reaching '{top}' or higher by the horizon, from "
            f"{debrief.continuations} continuations of the game's state just before and just "
            "after each turn's moves (95% intervals; the change is paired).", ""]
    out += turning_sentences(game, debrief) + [""]
    out += ["| Turn | Moves | Risk before | Risk after | Change |", "|---|---|---|---|---|"]
    out += [f"| {t}{' **(turning point)**' if tp else ''} | {m} | {b} | {a} | {c} |"
            for t, m, b, a, c, tp in risk_rows(game, debrief)]
    out += ["", "## The path", "", "| Day | Date | Rung |", "|---:|---|---|"]
    out += [f"| {day:.2f} | {date} | {name} |" for day, date, _, name in path_rows(game)]
    out += ["", "## Transcript", ""]
    for text in transcript(game):
        out += [f"### {text.heading}", ""] + [f"- {m}" for m in text.moves] + [""]
        out += ["```text", *text.lines, "```", ""] if text.lines else []
    out += ["## Replay", "", f"`{replay_command(model, game.setup, moves_file)}`", "",
            "```yaml", moves_yaml(game, moves_file).rstrip(), "```", ""]
    return "\n".join(out)


def _e(text: object) -> str:
    return html.escape(str(text))


def to_html(game: CrisisGame, debrief: Debrief, images: Mapping[str, bytes],
            moves_file: str = "MOVES.yaml") -> str:
    """The debrief as one self-contained, printable HTML page (figures embedded)."""
    model = game.model
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Debrief: {_e(model.title)}</title><style>{DEBRIEF_CSS}</style></head>"
            f"<body><main>{body_html(game, debrief, images, moves_file)}</main></body>"
            "</html>\n")


def body_html(game: CrisisGame, debrief: Debrief, images: Mapping[str, bytes],
              moves_file: str = "MOVES.yaml") -> str:
    """The debrief's content (escaped), for a page of its own or inside a web page."""
    model = game.model
    top = model.rungs[debrief.rung].name
    figures = "".join(figure_html(stem, images[stem], *FIGURES[stem])
                      for stem in FIGURES if stem in images)
    rows = "".join(
        f"<tr><td{TURNING if tp else ''}>{_e(t)}{' (turning point)' if tp else ''}</td>"
        f"<td>{_e(m)}</td><td class='num'>{_e(b)}</td><td class='num'>{_e(a)}</td>"
        f"<td class='num'>{_e(c)}</td></tr>"
        for t, m, b, a, c, tp in risk_rows(game, debrief))
    return (
        f"<header><h1>Debrief: {_e(model.title)}</h1>"
        f'<p class="subtitle">Teams: {_e(", ".join(game.name(t) for t in game.setup.teams))}'
        f" · {len(game.turns)} turns of {game.setup.every:g} days · seed "
        f"{game.setup.seed}, replication {game.setup.replication}</p></header>"
        f'<div class="note" role="note">{_e(NOT_A_FORECAST)}</div>'
        f'<section id="outcome"><h2>How it ended</h2><ul>'
        + "".join(f"<li>{_e(line)}</li>" for line in verdict(game, debrief))
        + f"</ul>{figures}</section>"
        f'<section id="turning"><h2>Turning points</h2><p>The model\'s risk of reaching '
        f"'{_e(top)}' or higher by the horizon, from {debrief.continuations} continuations "
        "of the game's state just before and just after each turn's moves (95% intervals; "
        "the change is paired).</p>" + _turning_html(game, debrief) +
        "<table><thead><tr><th>Turn</th><th>Moves</th><th class=\"num\">Risk before</th>"
        "<th class=\"num\">Risk after</th><th class=\"num\">Change</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
        + _path_html(game) +
        '<section id="transcript" class="transcript"><h2>Transcript</h2>'
        + _transcript_html(transcript(game)) + "</section>"
        f'<section id="replay"><h2>Replay</h2><p>Save the block below as '
        f"<code>{_e(moves_file)}</code> and run <code>"
        f"{_e(replay_command(model, game.setup, moves_file))}</code>.</p>"
        f"<pre>{_e(moves_yaml(game, moves_file))}</pre></section>")


def _turning_html(game: CrisisGame, debrief: Debrief) -> str:
    sentences = turning_sentences(game, debrief)
    if not debrief.turning:
        return f"<p>{_e(sentences[0])}</p>"
    return "<ol>" + "".join(f"<li>{_e(s.split('. ', 1)[-1])}</li>" for s in sentences) + "</ol>"


def _path_html(game: CrisisGame) -> str:
    rows = "".join(f'<tr data-day="{day!r}" data-rung="{rung}"><td class="num">{day:.2f}</td>'
                   f"<td>{_e(date)}</td><td>{_e(name)}</td></tr>"
                   for day, date, rung, name in path_rows(game))
    return ('<section id="path"><h2>The path</h2><p>The rung at the start and at every '
            "change.</p><table><thead><tr><th class='num'>Day</th><th>Date</th><th>Rung</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></section>")


def _transcript_html(texts: Sequence[TurnText]) -> str:
    parts = []
    for text in texts:
        parts.append(f"<h3>{_e(text.heading)}</h3><ul class=\"moves\">"
                     + "".join(f"<li>{_e(m)}</li>" for m in text.moves) + "</ul><ul>"
                     + "".join(f"<li>{_e(line)}</li>" for line in text.lines) + "</ul>")
    return "".join(parts)

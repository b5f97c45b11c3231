"""Histories as stories: dated timelines of single replications, and the common paths.

Pure: functions return text or data; the CLI prints.
"""

from __future__ import annotations

import html
import math
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import UsageError
from ..faults import Stop
from ..run.engine import Plan
from ..run.record import Record, TraceEvent
from ..spec import expr as ex
from ..spec.metric import outcomes, rungs
from ..spec.model import DAY, PEAK, RUNG, Model

MAX_SEARCH = 200_000


def render(template: str, values: dict[str, Any], model: Model, action_index: int) -> str:
    """Fill a narrative template. Only plain {name} fields exist (the loader checked),
    so no attribute or index lookup can ever run."""
    action = model.actions[action_index]
    actor = next((a.name for a in model.actors if a.id == action.actor), action.actor)
    fields: dict[str, Any] = {"actor": actor, "action": action.name,
                              "date": model.date_of(values.get(DAY, 0.0)).isoformat()}
    for rung in model.rungs:
        fields[rung.id] = rung.name
    for key, value in values.items():
        if key in (RUNG, PEAK):
            fields[key] = model.rungs[int(value)].name
        elif isinstance(value, float) and value.is_integer():
            fields[key] = int(value)
        elif isinstance(value, float):
            fields[key] = round(value, 2)
        else:
            fields[key] = value
    out = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            value = fields.get(name, "?")
            try:
                out.append(format(value, spec) if spec else str(value))
            except (ValueError, TypeError):
                out.append(str(value))
    return "".join(out)


def timeline(model: Model, record: Record, short: bool = False) -> list[str]:
    """Dated lines of one traced replication, with rung changes marked.

    ``short`` keeps only the key events (see :func:`key_events`) and ends with a count of
    the routine events left out."""
    return [item_line(item) for item in story_items(model, record, short)] + \
        ([_left_out(model, record)] if short else [])


class Item(NamedTuple):
    """One line of a story: its date, day, text, and the rung it moved to (if it did)."""

    date: str
    day: float
    text: str
    moved_to: str | None
    up: bool


def story_items(model: Model, record: Record, short: bool = False) -> list[Item]:
    """The story as data (the terminal, Markdown and HTML forms all read this)."""
    keep = key_events(model, record) if short else set(range(len(record.events)))
    items = [Item(model.start.isoformat(), 0.0,
                  f"Start: {model.rungs[model.initial_rung].name}.", None, False)]
    rung = model.initial_rung
    for k, event in enumerate(record.events):
        if k in keep:
            items.append(event_item(model, event, rung))
        rung = int(event.values[RUNG])
    items.append(end_item(model, record))
    return items


def event_item(model: Model, event: TraceEvent, rung: int) -> Item:
    """The story line of one traced action; ``rung`` is the rung just before it."""
    action = model.actions[event.action]
    text = render(action.narrative, event.values, model, event.action) if \
        action.narrative else f"{_actor(model, action.actor)}: {action.name}."
    new_rung = int(event.values[RUNG])
    moved = model.rungs[new_rung].name if new_rung != rung else None
    return Item(model.date_of(event.day).isoformat(), event.day, text, moved, new_rung > rung)


def end_item(model: Model, record: Record) -> Item:
    """The last story line: the horizon reached, or the action that ended the run."""
    if record.terminal == "horizon":
        text = f"Horizon reached; the crisis stands at '{model.rungs[record.final_rung].name}'."
    else:
        text = f"The run ends: {model.actions[model.action_index(record.terminal)].name}."
    return Item(model.date_of(record.end_day).isoformat(), record.end_day, text, None, False)


def event_lines(model: Model, event: TraceEvent, rung: int) -> list[str]:
    """The terminal lines of one traced action (a second line if it moved the rung)."""
    return item_line(event_item(model, event, rung)).split("\n")


def dated(model: Model, day: float, text: str) -> str:
    """A terminal story line for any text at a day (a start line, a facilitator's note)."""
    return item_line(Item(model.date_of(day).isoformat(), day, text, None, False))


def end_line(model: Model, record: Record) -> str:
    """The terminal form of :func:`end_item`."""
    return item_line(end_item(model, record))


def key_events(model: Model, record: Record) -> set[int]:
    """Indices of the events a short story keeps: every change of rung and the first time
    each action happens. Repeats of an action that move nothing are routine."""
    seen: set[int] = set()
    keep: set[int] = set()
    rung = model.initial_rung
    for k, event in enumerate(record.events):
        new_rung = int(event.values[RUNG])
        if new_rung != rung or event.action not in seen:
            keep.add(k)
        seen.add(event.action)
        rung = new_rung
    return keep


def item_line(item: Item) -> str:
    """A story line as the terminal shows it (the rung change on a second line)."""
    line = f"{item.date}  (day {item.day:5.1f})  {item.text}"
    if item.moved_to is None:
        return line
    arrow = "UP" if item.up else "DOWN"
    return line + f"\n{'':12}{'':13}  [{arrow}] the crisis is now at '{item.moved_to}'"


def _left_out(model: Model, record: Record) -> str:
    keep = key_events(model, record)
    counts = Counter(model.actions[e.action].name for k, e in enumerate(record.events)
                     if k not in keep)
    if not counts:
        return "(No routine events were left out.)"
    listed = "; ".join(f"{name} x{n}" for name, n in counts.most_common())
    return (f"(Left out: {sum(counts.values())} repeats of routine events - {listed}. "
            "The full story lists them.)")


def story_html(model: Model, stories: Sequence[tuple[str, Record]], title: str,
               short: bool = False) -> str:
    """A self-contained HTML page of stories (heading, record), for a projector or a phone."""
    sections = []
    for heading, record in stories:
        rows = []
        for item in story_items(model, record, short):
            moved = "" if item.moved_to is None else (
                f'<div class="{"up" if item.up else "down"}">'
                f'{"&#9650;" if item.up else "&#9660;"} now at '
                f"<strong>{html.escape(item.moved_to)}</strong></div>")
            cls = ' class="moved"' if item.moved_to else ""
            rows.append(f"<li{cls}><time>{html.escape(item.date)}</time> "
                        f'<span class="day">day {math.floor(item.day)}</span>'
                        f"<p>{html.escape(item.text)}</p>{moved}</li>")
        foot = f"<p class=muted>{html.escape(_left_out(model, record))}</p>" if short else ""
        sections.append(f"<section><h2>{html.escape(heading)}</h2>"
                        f"<ol class=story>{''.join(rows)}</ol>{foot}</section>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8>"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STORY_CSS}</style><main>"
            f"<h1>{html.escape(title)}</h1><p><strong>A teaching and exploration model, not a "
            "forecast: one replication is one possible history under the scenario's "
            f"assumptions.</strong></p>{''.join(sections)}</main></html>")


STORY_CSS = (
    "body{font:20px/1.5 system-ui,sans-serif;color:#111;margin:0;background:#fff}"
    "main{max-width:1000px;margin:0 auto;padding:1rem}h1{font-size:1.6rem;line-height:1.25}"
    "h2{font-size:1.25rem;margin-top:2rem}"
    "ol.story{list-style:none;padding:0;border-left:4px solid #bbb;margin-left:.5rem}"
    "ol.story li{padding:.4rem 0 .4rem 1rem;position:relative}"
    "ol.story li p{margin:.1rem 0}time{font-weight:700}"
    ".day{color:#444;margin-left:.5rem;font-size:.9em}"
    "li.moved{background:#fff4e5}.up{color:#a33a00;font-weight:600}"
    ".down{color:#005a9c;font-weight:600}.muted{color:#444}"
    "@media (max-width:600px){body{font-size:17px}}")


def _actor(model: Model, actor_id: str) -> str:
    return next((a.name for a in model.actors if a.id == actor_id), actor_id)


def compile_where(model: Model, text: str) -> ex.Expr:
    """A --where condition over final values, peak, rung and outcome ids (true/false)."""
    names: dict[str, str] = {lv.id: (ex.BOOL if lv.is_bool else ex.NUM) for lv in model.levers}
    names.update({p.id: ex.NUM for p in model.parameters})
    names.update({s.id: ex.NUM for s in model.state})
    names.update({RUNG: ex.NUM, PEAK: ex.NUM, DAY: ex.NUM})
    for outcome in model.outcomes:
        names.setdefault(outcome.id, ex.BOOL)
    constants = model.constants()
    try:
        return ex.compile_expr(text, ex.BOOL, names, constants)
    except ex.ExprError as exc:
        raise UsageError(f"condition {text!r}: {exc}") from None


def final_values(model: Model, record: Record) -> dict[str, Any]:
    """The names a --where condition can read, at the end of a replication."""
    values: dict[str, Any] = {lv.id: lv.number for lv in model.levers}
    values.update({p.id: v for p, v in zip(model.parameters, record.parameters, strict=True)})
    values.update({s.id: v for s, v in zip(model.state, record.final_state, strict=True)})
    values.update({RUNG: float(record.final_rung), PEAK: float(record.peak),
                   DAY: record.end_day})
    for outcome in outcomes(model):
        values.setdefault(outcome.id, outcome.happened(record))
    return values


def find(model: Model, seed: int, where: str | None = None, start: int = 0,
         count: int = 1, limit: int = MAX_SEARCH,
         progress: Callable[[int, int], None] | None = None) -> Iterator[Record]:
    """Traced replications start, start+1, ... that meet ``where`` (all if None), searching
    at most ``limit`` replications; ``progress(searched, limit)`` is called every 500."""
    plan = Plan(model)
    condition = compile_where(model, where) if where else None
    found = 0
    for i in range(start, start + limit):
        if progress is not None and (i - start) % 500 == 0:
            progress(i - start, limit)
        if condition is None:
            yield plan.run(seed, i, trace=True)
            found += 1
        else:
            rec = plan.run(seed, i)  # untraced search is faster; trace only the hits
            if condition(final_values(model, rec)):
                yield plan.run(seed, i, trace=True)
                found += 1
        if found >= count:
            return


@dataclass(frozen=True)
class RungPath:
    """A sequence of rungs a replication moved through, and how often it occurred."""

    rungs: tuple[str, ...]
    count: int
    share: float


def _path_to(model: Model, rec: Record, target: int) -> tuple[str, ...]:
    """The rungs (ids, repeats folded) a replication moved through until it reached
    ``target`` (at or beyond it: above the start upwards, below the start downwards)."""
    seq: list[str] = []
    for _, rung in rec.rung_path:
        name = model.rungs[rung].id
        if not seq or seq[-1] != name:
            seq.append(name)
        if (rung >= target) if target > model.initial_rung else (rung <= target):
            break
    return tuple(seq)


class PathTally:
    """Counts of the rung paths to every rung, folded replication by replication: memory
    depends on how many different paths occur, not on how many runs are read, and tallies
    of separate chunks merge (so many runs can be read in parallel, in chunks)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.runs = 0
        self.targets = tuple(r for r in rungs(model) if r.index != model.initial_rung)
        targets = [r.index for r in self.targets]
        self.reached: dict[int, int] = dict.fromkeys(targets, 0)
        self.paths: dict[int, Counter[tuple[str, ...]]] = {t: Counter() for t in targets}
        self.before: dict[int, Counter[int]] = {t: Counter() for t in targets}

    def add(self, records: Sequence[Record]) -> PathTally:
        """Fold in replications; returns self."""
        model = self.model
        for rec in records:
            self.runs += 1
            for metric in self.targets:
                if not metric.happened(rec):
                    continue
                reached, target = metric.day(rec), metric.index
                self.reached[target] += 1
                self.paths[target][_path_to(model, rec, target)] += 1
                self.before[target].update({rung for day, rung in rec.rung_path
                                            if day <= reached
                                            and model.initial_rung < rung < target})
        return self

    def merge(self, other: PathTally) -> None:
        """Add another tally of the same model (other replications)."""
        self.runs += other.runs
        for target in self.reached:
            self.reached[target] += other.reached[target]
            self.paths[target].update(other.paths[target])
            self.before[target].update(other.before[target])

    def common(self, rung_id: str, top: int = 5) -> tuple[int, list[RungPath]]:
        """(replications that reached ``rung_id``, their most common paths)."""
        target = self.model.rung_index(rung_id)
        n = self.reached[target]
        return n, [RungPath(p, c, c / n) for p, c in self.paths[target].most_common(top)]

    def stood_on_before(self, rung_id: str) -> list[tuple[str, int]]:
        """Of the replications that reached ``rung_id``: how many stood on each other rung
        (above the start, below the target) before first reaching it, in ladder order."""
        target = self.model.rung_index(rung_id)
        counts = self.before[target]
        return [(self.model.rungs[k].id, counts[k])
                for k in range(self.model.initial_rung + 1, target)]


def common_paths(model: Model, records: list[Record], rung_id: str, top: int = 5
                 ) -> tuple[int, list[RungPath]]:
    """Most common rung sequences among replications that reached ``rung_id``."""
    return PathTally(model).add(records).common(rung_id, top)


def stood_on_before(model: Model, records: list[Record], rung_id: str) -> list[tuple[str, int]]:
    """Of the replications that reached ``rung_id``: how many stood on each other rung
    (above the start, below the target) before first reaching it, in ladder order."""
    return PathTally(model).add(records).stood_on_before(rung_id)


class PathsTask:
    """The chunk task of :func:`tally_paths`: a PathTally of replications [start, stop)."""

    def __init__(self, model: Model, seed: int) -> None:
        self.model, self.seed = model, seed
        self._plan: Plan | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_plan": None}

    def __call__(self, start: int, stop: int) -> PathTally:
        if self._plan is None:
            self._plan = Plan(self.model)
        return PathTally(self.model).add([self._plan.run(self.seed, i)
                                          for i in range(start, stop)])


def tally_paths(model: Model, runs: int, seed: int, workers: int | None = None,
                progress: Callable[[int, int], None] | None = None
                ) -> tuple[PathTally, Stop | None]:
    """The paths of replications 0..runs-1, read in chunks on worker processes (memory
    does not grow with ``runs``), and why the reading stopped early (or None)."""
    from ..run import runner
    tally = PathTally(model)

    def take(part: PathTally) -> bool:
        tally.merge(part)
        if progress is not None:
            progress(tally.runs, runs)
        return False
    stop = runner.map_chunks(PathsTask(model, seed), runs, workers, take)
    return tally, stop

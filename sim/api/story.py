"""The ``story`` workflows: replications told as dated timelines, and the common paths
by which runs reach each rung."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..analyses.story import MAX_SEARCH, RungPath, find, story_html, tally_paths, timeline
from ..faults import Stop, Stopped
from ..run.record import Record
from ..spec.model import Model, Rung
from .basics import Progress, Scenario, prepare


@dataclass(frozen=True)
class Story:
    """One traced replication and its dated lines."""

    record: Record
    lines: tuple[str, ...]


class StorySearch:
    """The replications from ``start`` on that meet ``where`` (all if None), up to
    ``count`` of them among ``search`` replications. Iterate to get each :class:`Story`
    as it is found (a Ctrl-C raised while iterating keeps those already taken)."""

    def __init__(self, model: Model, seed: int, where: str | None, start: int, count: int,
                 search: int, short: bool, progress: Progress | None) -> None:
        self.model, self.seed, self.where = model, seed, where
        self.start, self.count, self.search, self.short = start, count, search, short
        self._progress = progress
        if where:
            from ..analyses.story import compile_where
            compile_where(model, where)  # a bad condition fails now, not while iterating

    def __iter__(self) -> Iterator[Story]:
        for record in find(self.model, self.seed, self.where, self.start, self.count,
                           self.search, self._progress):
            yield Story(record, tuple(timeline(self.model, record, self.short)))

    def heading(self, story: Story) -> str:
        """A story's heading: scenario, replication, seed and the condition."""
        return (f"{self.model.title} | replication {story.record.replication}, seed "
                f"{self.seed}" + (f" | where {self.where}" if self.where else ""))

    def html(self, stories: Sequence[Story]) -> str:
        """Stories found by this search as one self-contained web page."""
        title = self.model.title + (f": runs where {self.where}" if self.where else "")
        shown = [(f"Replication {s.record.replication}, seed {self.seed}", s.record)
                 for s in stories]
        return story_html(self.model, shown, title, self.short)


def stories(scenario: Scenario, *, seed: int | None = None, where: str | None = None,
            start: int = 0, count: int = 1, search: int = MAX_SEARCH, short: bool = False,
            variant: str | None = None, settings: Iterable[str] | dict[str, Any] = (),
            progress: Progress | None = None) -> StorySearch:
    """Up to ``count`` replications from ``start`` on meeting ``where`` (a condition over
    final values, ``peak``, ``rung``, rung and outcome ids), each as a dated timeline;
    ``short``: key events only (changes of rung, the first of each kind of event);
    ``progress(searched, search)`` while a condition is searched for."""
    model = prepare(scenario, variant, settings)
    seed = model.seed if seed is None else seed
    return StorySearch(model, seed, where, start, count, search, short, progress)


@dataclass(frozen=True)
class PathsTo:
    """How runs reached one rung: in how many of them, and the commonest rung paths."""

    rung: Rung
    reached: int
    paths: tuple[RungPath, ...]
    before: tuple[tuple[str, int], ...]  # (rung id, runs that stood on it before), in order


@dataclass(frozen=True)
class Paths:
    """The common paths to every rung above the start, over ``runs`` replications read
    (``stop``: why the reading ended early, None if it did not)."""

    model: Model
    requested: int
    runs: int
    rungs: tuple[PathsTo, ...]
    stop: Stop | None

    def name(self, rung_id: str) -> str:
        """A rung's name from its id."""
        return self.model.rungs[self.model.rung_index(rung_id)].name


def paths(scenario: Scenario, runs: int, *, seed: int | None = None,
          workers: int | None = None, variant: str | None = None,
          settings: Iterable[str] | dict[str, Any] = (), progress: Progress | None = None
          ) -> Paths:
    """The most common rung sequences among ``runs`` replications that reached each rung
    above the start (read in chunks: memory stays flat)."""
    model = prepare(scenario, variant, settings)
    seed = model.seed if seed is None else seed
    tally, stop = tally_paths(model, runs, seed, workers, progress)
    if tally.runs == 0 and stop is not None:
        raise Stopped(stop)
    found = []
    for rung in model.rungs:
        if rung.index <= model.initial_rung:
            continue
        n, common = tally.common(rung.id)
        found.append(PathsTo(rung, n, tuple(common), tuple(tally.stood_on_before(rung.id))))
    return Paths(model, runs, tally.runs, tuple(found), stop)

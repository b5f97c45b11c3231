"""The flat result of one replication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class TraceEvent(NamedTuple):
    """One action in a traced replication, with every named value just after it."""

    day: float
    action: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Record:
    """Everything one replication produced; times are days, ``inf`` when never (censored).

    ``rung_path`` holds (day, rung) at the start and at every change of the current rung;
    ``events`` holds a TraceEvent for every action and is filled only when traced.
    """

    replication: int
    peak: int
    final_rung: int
    end_day: float
    terminal: str
    first_reach: tuple[float, ...]
    outcome_days: tuple[float, ...]
    action_counts: tuple[int, ...]
    final_state: tuple[float, ...]
    parameters: tuple[float, ...]
    rung_path: tuple[tuple[float, int], ...]
    events: tuple[TraceEvent, ...] = ()
    n_events: int = 0

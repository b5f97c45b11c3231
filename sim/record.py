"""The flat result of one replication."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """Everything one replication produced; times are days, ``inf`` when never (censored).

    ``rung_path`` holds (day, rung) at the start and at every change of the current rung;
    ``events`` holds (day, action index) of every action and is filled only when traced.
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
    events: tuple[tuple[float, int], ...] = ()
    n_events: int = 0

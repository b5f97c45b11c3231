"""What a classroom server needs to know, fixed at start."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

DEFAULT_RUNS = 4000
MAX_RUNS = 100_000
MAX_POLICIES = 10


class ServeConfig(NamedTuple):
    """Where the database and the shipped scenarios are, and how runs are made.

    ``workers`` is the number of processes a run uses (None: all cores); ``job_nice``
    lowers the run's priority as far as it goes, so that the server (at normal priority)
    answers at once while a run uses every core: measured with scripts/classroom_load.py,
    this kept the p95 lower than nice 10 or leaving a core free."""

    db: Path
    scenarios: Path
    workers: int | None = None
    job_nice: int = 19


def shipped_scenarios(folder: Path) -> dict[str, Path]:
    """The ``*.yaml`` files directly in ``folder``, by file name (the only ones offered)."""
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.glob("*.yaml")) if p.is_file()}

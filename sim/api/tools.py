"""The small workflows: validate scenario files, solve one exactly, benchmark the engine."""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analyses import bench as bench_defaults
from ..errors import Problem, UsageError
from ..spec.loader import check_file, load
from ..spec.model import Model
from .basics import Scenario, prepare

if TYPE_CHECKING:
    from ..analyses.bench import BenchResult
    from ..analyses.exact import ExactResult
    from ..spec.events import Events


@dataclass(frozen=True)
class Check:
    """One file checked: the model (or, for an events file in an ``events`` folder, the
    events) if valid, every problem, every warning."""

    path: str
    model: Model | None
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    events: Events | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and (self.model is not None or self.events is not None)


def validate(paths: Iterable[str | Path]) -> list[Check]:
    """Check scenario files without running them; every problem of every file. A file in
    a folder ``events`` beside its scenario is checked as that scenario's events file."""
    from ..analyses.backtest import check_events_file, scenario_of_events
    out = []
    for path in paths:
        scenario = scenario_of_events(path)
        if scenario is not None and scenario.is_file():
            events, problems = check_events_file(path)
            out.append(Check(str(path), None, tuple(problems), (), events))
            continue
        model, problems, warnings = check_file(path)
        out.append(Check(str(path), model, tuple(problems), tuple(warnings)))
    return out


def exact(scenario: Scenario, *, variant: str | None = None,
          settings: Iterable[str] | dict[str, Any] = ()) -> tuple[Model, ExactResult]:
    """The exact answer of a Markovian scenario (a continuous-time Markov chain)."""
    from ..analyses.exact import solve
    model = prepare(scenario, variant, settings)
    return model, solve(model)


def bench(scenario: str | Path, memory_scenario: str | Path, *,
          seconds: float = bench_defaults.SECONDS, workers: int = bench_defaults.WORKERS,
          speed_runs: int = bench_defaults.SPEED_RUNS,
          memory_runs: tuple[int, ...] = bench_defaults.MEMORY_RUNS,
          rounds: int = bench_defaults.ROUNDS, repeats: int = bench_defaults.REPEATS,
          rare: Sequence[str] | None = None,
          rare_runs: int = bench_defaults.RARE_RUNS) -> BenchResult:
    """Measure bare SimPy and the model in one run (see :mod:`sim.analyses.bench`).

    ``rare``: outcomes for the rare-event figures (default: the flagship's nuclear use and
    strategic exchange, those the scenario has; empty for none)."""
    import math

    from ..analyses.bench import RARE_TARGETS, run_bench
    if not memory_runs or min(memory_runs) < 1:
        raise UsageError(f"memory run counts must be whole numbers >= 1 (got {memory_runs})")
    if not 0 < seconds < math.inf:
        raise UsageError(f"the seconds to measure must be > 0 (got {seconds})")
    model = load(scenario)
    if rare is None:
        rare = [o for o in RARE_TARGETS if o in {x.id for x in model.outcomes}]
    return run_bench(model, load(memory_scenario), seconds, workers, speed_runs,
                     memory_runs, rounds, repeats, rare, rare_runs)


def schema_text() -> str:
    """The JSON Schema of the scenario format, as text (for editors' completion)."""
    import json

    from ..spec.schema import scenario_schema
    return json.dumps(scenario_schema(), indent=2) + "\n"


def write_schema(path: str | Path) -> Path:
    """Write the JSON Schema of the scenario format to ``path`` (whole or not at all)."""
    from ..present.output import write_file
    write_file(Path(path), schema_text())
    return Path(path)


@dataclass(frozen=True)
class NewScenario:
    """A scenario file written to start from, and the schema beside it if it was new."""

    path: Path
    schema: Path | None


def new_scenario(name: str, *, force: bool = False) -> NewScenario:
    """Write a small, valid, commented scenario ``name``(.yaml) and, if there is none
    beside it yet, the format's JSON Schema for editor completion. An existing scenario
    file is replaced only with ``force`` (else FileExistsError)."""
    from ..present.output import write_file
    from ..spec.template import SCHEMA_FILE
    from ..spec.template import new_scenario as template
    text = template(Path(name).name)
    path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if path.exists() and not force:
        raise FileExistsError(errno.EEXIST, "the scenario file exists", str(path))
    write_file(path, text)
    schema = path.parent / SCHEMA_FILE
    if schema.exists():
        return NewScenario(path, None)
    write_file(schema, schema_text())
    return NewScenario(path, schema)

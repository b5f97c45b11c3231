"""Check a parsed scenario and compile it into an immutable Model: the loader's entry points.

:func:`compile_source` walks the sections in the order of docs/scenario-format.md, each
compiled by its own function in :mod:`sim.spec.sections` (the names one section defines
reach the next through a ``Scope``), then builds the Model and checks the ranges of its
probabilities and rates (:mod:`sim.spec.bounds`). Every problem is collected (never stop at
the first), each located by file, line and YAML path, saying what was expected and what was
given. Provenance gaps are warnings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import Problem, ScenarioError
from . import sections as sec
from .checker import SpecChecker
from .model import Model
from .yamlsrc import Source, parse_text, read_file

SECTIONS = ("scenario", "ladder", "actors", "levers", "parameters", "state", "actions",
            "schedule", "processes", "rules", "outcomes", "variants")
REQUIRED_SECTIONS = ("scenario", "ladder", "actors", "actions")


def compile_source(src: Source, digest: str = "") -> tuple[Model | None, list[Problem],
                                                           list[Problem]]:
    """Check a parsed scenario; return (model or None, problems, warnings)."""
    ck = SpecChecker(src)
    optional_sections = tuple(s for s in SECTIONS if s not in REQUIRED_SECTIONS)
    top = ck.mapping(src.data, "", REQUIRED_SECTIONS, optional_sections,
                     what="a scenario mapping with sections " + ", ".join(SECTIONS)) or {}
    scope = sec.Scope()
    header = sec.compile_scenario(ck, top, scope)
    rungs, initial_rung = sec.compile_ladder(ck, top, scope)
    actors = sec.compile_actors(ck, top, scope)
    levers = sec.compile_levers(ck, top, scope)
    parameters = sec.compile_parameters(ck, top, scope)
    state = sec.compile_state(ck, top, scope)
    sec.add_run_names(scope)
    actions = sec.compile_actions(ck, top, scope)
    schedule = sec.compile_schedule(ck, top, scope)
    processes = sec.compile_processes(ck, top, scope)
    rules = sec.compile_rules(ck, top, scope)
    outcomes = sec.compile_outcomes(ck, top, scope)
    variants = sec.compile_variants(ck, top, scope)
    sec.check_grid(ck, scope, len(rungs), len(outcomes))
    if ck.problems:
        return None, ck.problems, ck.warnings
    model = Model(
        id=header.id, title=header.title, description=header.description, seed=header.seed,
        start=scope.start, horizon=scope.horizon, sources=tuple(header.sources.items()),
        rungs=tuple(rungs), initial_rung=initial_rung, actors=tuple(actors),
        levers=tuple(levers), parameters=tuple(parameters), state=tuple(state),
        actions=tuple(actions), schedule=tuple(schedule), processes=tuple(processes),
        rules=tuple(rules), outcomes=tuple(outcomes), variants=tuple(variants),
        path=src.file, digest=digest, information_cutoff=header.information_cutoff,
        source_dates=tuple(header.source_dates.items()))
    ranged = _range_problems(src, model)
    return (None, ranged, ck.warnings) if ranged else (model, [], ck.warnings)


def _range_problems(src: Source, model: Model) -> list[Problem]:
    """Probabilities, rates and weights that bounded names can push out of range."""
    from .bounds import message, out_of_range
    items = src.data.get("schedule") if isinstance(src.data, dict) else None
    order = {e.get("id"): k for k, e in enumerate(items or []) if isinstance(e, dict)}
    out = []
    for found in out_of_range(model):
        path = found.path
        if path.startswith("schedule."):
            _, sid, rest = path.split(".", 2)
            path = f"schedule[{order.get(sid, 0)}].{rest}"
        out.append(src.problem(path, message(found)))
    return out


def check_file(path: str | Path) -> tuple[Model | None, list[Problem], list[Problem]]:
    """Read and check one scenario file: (model or None, problems, warnings)."""
    src, problems = read_file(path)
    if src is None or problems:
        return None, problems, []
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return compile_source(src, digest)


def load(path: str | Path) -> Model:
    """Load a scenario file into a Model; raise ScenarioError listing every problem."""
    model, problems, _ = check_file(path)
    if model is None:
        raise ScenarioError(problems)
    return model


def load_text(text: str, name: str = "<text>") -> Model:
    """Load a scenario from YAML text (tests, notebooks)."""
    src, problems = parse_text(text, name)
    if src is None or problems:
        raise ScenarioError(problems)
    model, problems, _ = compile_source(src, hashlib.sha256(text.encode()).hexdigest())
    if model is None:
        raise ScenarioError(problems)
    return model

"""The bad-input corpus: every file in tests/corpus/bad gives exactly the expected problems.

Each ``NAME.yaml`` differs from a valid teaching-style base by one kind of problem (except
``many_problems.yaml``); ``NAME.expected`` holds the exact ``str(problem)`` lines with the
file's path written as ``{file}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import cpu_limit

from sim.errors import Problem
from sim.spec.loader import check_file

ROOT = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "corpus" / "bad"
BAD_FILES = sorted(BAD.glob("*.yaml"))
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

# Corpus files whose .expected states what the loader *should* say; it does not yet.
KNOWN_BUGS: dict[str, str] = {}
LINE_BUGS: dict[str, str] = {}


def _param(path: Path, bugs: dict[str, str]) -> Any:
    """A corpus file as a test parameter, marked xfail when listed in ``bugs``."""
    marks = [pytest.mark.xfail(reason=bugs[path.stem], strict=True)] if path.stem in bugs else []
    return pytest.param(path, id=path.stem, marks=marks)


_CACHE: dict[Path, list[Problem]] = {}


def _problems(path: Path) -> list[Problem]:
    """The problems check_file reports for ``path`` (checked once per session)."""
    if path not in _CACHE:
        model, problems, _ = check_file(str(path))
        assert model is None, f"{path.name} compiled although it is invalid"
        _CACHE[path] = problems
    return _CACHE[path]


def test_corpus_is_complete():
    """Every bad file has an .expected file and vice versa, and the corpus is not tiny."""
    yamls = {p.stem for p in BAD_FILES}
    expected = {p.stem for p in BAD.glob("*.expected")}
    assert yamls == expected
    assert len(yamls) >= 40


@pytest.mark.parametrize("path", [_param(p, KNOWN_BUGS) for p in BAD_FILES])
def test_bad_file_gives_expected_problems(path: Path):
    """check_file reports exactly the lines in NAME.expected, in order."""
    want = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    got = [str(p).replace(str(path), "{file}") for p in _problems(path)]
    assert got == want


@pytest.mark.parametrize("path", [_param(p, LINE_BUGS) for p in BAD_FILES])
def test_bad_file_problems_have_lines(path: Path):
    """Each problem names this file and a line > 0 that exists in it (line 1 if empty)."""
    problems = _problems(path)
    n_lines = max(1, len(path.read_text(encoding="utf-8").splitlines()))
    assert problems
    for problem in problems:
        assert problem.file == str(path)
        assert 0 < problem.line <= n_lines, str(problem)


def test_many_problems_all_reported_in_file_order():
    """A file with nine independent problems reports all nine, in order of their lines."""
    problems = _problems(BAD / "many_problems.yaml")
    assert len(problems) == 9
    lines = [p.line for p in problems]
    assert lines == sorted(lines)
    assert [p.path for p in problems] == [
        "scenario.horizon_days", "ladder.initial", "levers.aid_level.value",
        "actions.deep_strike.actor", "processes.strike_campaign.rate", "rules.red_answers.on",
        "rules.red_answers.probability", "outcomes.war.when",
        "variants.no_strikes.set.strikes_authorized"]


def test_alias_bomb_fails_fast():
    """A billion-laughs file fails within 2 s of CPU time (about a tenth of that is needed;
    expanding it would take hours) with the 'expands to more than' message."""
    with cpu_limit(2.0):
        model, problems, _ = check_file(str(BAD / "alias_bomb.yaml"))
    assert model is None
    assert len(problems) == 1
    assert "expands to more than 100000 values" in problems[0].message


def test_deep_nesting_fails_cleanly():
    """10000 opening brackets give one nesting problem, not a crash."""
    with cpu_limit(5.0):
        model, problems, _ = check_file(str(BAD / "deep_nesting.yaml"))
    assert model is None
    assert [p.message for p in problems] == ["nesting deeper than 40 levels"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_are_clean(path: Path):
    """Every scenario in scenarios/ loads with no problems and no warnings."""
    model, problems, warnings = check_file(str(path))
    assert [str(p) for p in problems] == []
    assert [str(w) for w in warnings] == []
    assert model is not None
    assert model.path == str(path)
    assert len(model.digest) == 64

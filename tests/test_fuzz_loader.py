"""Fuzzing the reader and the validator: whatever the input, a Model or located Problems.

Inputs: random bytes, random text, random YAML documents (recursive dicts, lists and
scalars, with keys drawn mostly from the format's own vocabulary so that the validator is
exercised deeply), and mutations of the shipped scenarios (a key deleted, a value's type
changed, two values swapped, an unknown key inserted, a key duplicated, the file truncated,
random characters inserted). The answer must always be either a Model with no problems or
a non-empty list of Problems each with a non-empty message, in under 2 s: never an
exception, never a hang. Every example is deterministic (``derandomize=True``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import cpu_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.errors import Problem
from sim.spec.loader import SECTIONS, check_file, compile_source
from sim.spec.model import Model
from sim.spec.yamlsrc import parse_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {p.name: p.read_text(encoding="utf-8")
           for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
LIMIT = 2.0  # seconds of CPU time per call
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # same output, ten times faster
SETTINGS = {"deadline": None, "derandomize": True, "database": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture]}

VOCABULARY = [
    *SECTIONS, "id", "title", "start", "horizon_days", "description", "sources", "seed",
    "rungs", "initial", "name", "framework", "value", "range", "unit", "actor", "source",
    "dist", "low", "high", "mode", "a", "b", "median", "sigma", "mean", "sd", "min", "max",
    "rung", "rung_mode", "effects", "ends_run", "narrative", "at", "day", "action",
    "choose", "when", "probability", "rate", "every", "on", "delay", "set", "fixed",
    "uniform", "exponential", "lognormal", "normal", "beta", "triangular", "raise"]


# -- checking one answer ------------------------------------------------------------------


def timed(call: Callable[[], Any]) -> Any:
    """Run ``call`` and assert it answered within LIMIT seconds of CPU time (an endless
    loop is stopped there; a loaded machine cannot make it fail)."""
    with cpu_limit(LIMIT):
        return call()


def assert_problems(problems: list[Problem]) -> None:
    """Each problem is a located Problem with a non-empty message."""
    for p in problems:
        assert isinstance(p, Problem)
        assert isinstance(p.message, str) and p.message.strip()
        assert isinstance(p.line, int) and p.line >= 0
        assert str(p)


def assert_answer(answer: tuple[Model | None, list[Problem], list[Problem]]) -> Model | None:
    """(model, problems, warnings): a model and no problems, or no model and some problems."""
    model, problems, warnings = answer
    assert_problems(problems)
    assert_problems(warnings)
    if model is None:
        assert problems, "no model and no problem"
    else:
        assert isinstance(model, Model)
        assert problems == []
    return model


def check_text(text: str, name: str = "<fuzz>") -> Model | None:
    """parse_text, then the validator if it parsed cleanly; assert the answer's shape."""
    src, problems = timed(lambda: parse_text(text, name))
    assert_problems(problems)
    if src is None:
        assert problems, "unparsed and no problem"
        return None
    if problems:  # parsed, but e.g. a duplicate key: the loader stops there too
        return None
    return assert_answer(timed(lambda: compile_source(src)))


def check_path(path: Path) -> Model | None:
    """check_file on a path; assert the answer's shape."""
    answer = timed(lambda: check_file(path))
    for p in answer[1]:
        assert p.file == str(path)
    return assert_answer(answer)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder shared by the examples of this module."""
    return tmp_path_factory.mktemp("fuzz")


# -- random input -----------------------------------------------------------------------
@settings(max_examples=150, **SETTINGS)
@given(st.binary(max_size=3000))
def test_random_bytes_give_problems_not_exceptions(workdir: Path, data: bytes) -> None:
    """Random bytes in a file: check_file answers with a model or problems, promptly."""
    path = workdir / "bytes.yaml"
    path.write_bytes(data)
    model = check_path(path)
    assert model is None  # random bytes are never a complete scenario


@pytest.mark.slow
@settings(max_examples=150, **SETTINGS)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=1500))
def test_random_text_gives_problems_not_exceptions(text: str) -> None:
    """Random text: parse_text and the validator answer with problems, promptly."""
    assert check_text(text) is None


SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) |
           st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30) |
           st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)) |
           st.sampled_from(["0.1 * x", "rung >= war", "1/0", "min(1, 2)", "__import__('os')",
                            "{x}", "[1, 2]", "day", "peak", "true", "exponential"]))
KEYS = st.sampled_from(VOCABULARY) | st.text(min_size=1, max_size=12)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(KEYS, children, max_size=5),
    max_leaves=40)


@pytest.mark.slow
@settings(max_examples=250, **SETTINGS)
@given(st.dictionaries(st.sampled_from(SECTIONS), DOCUMENTS, min_size=1, max_size=8),
       st.booleans())
def test_random_yaml_documents_give_model_or_problems(doc: dict[str, Any], flow: bool) -> None:
    """Random documents with the format's sections and keys: a model or problems."""
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    check_text(text)


@pytest.mark.slow
@settings(max_examples=100, **SETTINGS)
@given(DOCUMENTS)
def test_random_yaml_values_at_top_level_give_problems(doc: Any) -> None:
    """A document that is a list, a scalar or an arbitrary mapping is reported, not raised."""
    assert check_text(yaml.safe_dump(doc, allow_unicode=True)) is None


# -- mutations of the shipped scenarios ----------------------------------------------------
def _data(name: str) -> Any:
    """The plain data of a shipped scenario (as the loader's reader gives it)."""
    src, problems = parse_text(SHIPPED[name], name)
    assert src is not None and not problems
    return src.data


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indices) to a value below ``node``."""
    out = []
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return out
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


OTHER_TYPES = [None, True, 0, -1, 2.5, 1e300, "text", "1/0", [], [1, "a"], {},
               {"dist": "fixed"}, dt.date(2025, 1, 1), 10**30, float("nan")]


def mutate(text: str, data: Any, kind: str, rnd: random.Random) -> str:
    """One mutation of a scenario, as YAML text."""
    if kind == "truncate":
        return text[:rnd.randrange(len(text) + 1)]
    if kind == "insert_chars":
        at = rnd.randrange(len(text) + 1)
        junk = "".join(rnd.choice(":{}[]-#&*!|>'\"%@`,? \t\n\\x0aé\u2028") for _ in
                       range(rnd.randint(1, 6)))
        return text[:at] + junk + text[at:]
    if kind == "duplicate_key":
        lines = text.splitlines(keepends=True)
        keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[A-Za-z_]\w*:", line)]
        i = rnd.choice(keyed)
        indent = re.match(r"^\s*", lines[i]).group(0)  # type: ignore[union-attr]
        key = lines[i].split(":", 1)[0].strip()
        return "".join(lines[:i + 1]) + f"{indent}{key}: 1\n" + "".join(lines[i + 1:])
    data = _copy(data)
    paths = _paths(data)
    path = rnd.choice(paths)
    parent = _get(data, path[:-1])
    if kind == "delete_key":
        del parent[path[-1]]
    elif kind == "change_type":
        old = parent[path[-1]]
        parent[path[-1]] = rnd.choice([v for v in OTHER_TYPES if type(v) is not type(old)])
    elif kind == "swap_values":
        other = rnd.choice(paths)
        if other[:len(path)] != path and path[:len(other)] != other:
            a, b = _get(data, path), _get(data, other)
            parent[path[-1]] = b
            _get(data, other[:-1])[other[-1]] = a
    elif kind == "unknown_key":
        mappings = [p for p in [(), *paths] if isinstance(_get(data, p), dict)]
        target = _get(data, rnd.choice(mappings))
        target[rnd.choice(["colour", "rates", "on_", "Rung", "x" * 70, "sources"])] = \
            rnd.choice(OTHER_TYPES)
    else:
        raise AssertionError(kind)
    return yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=10**6)


KINDS = ["delete_key", "change_type", "swap_values", "unknown_key", "duplicate_key",
         "truncate", "insert_chars"]
DATA = {name: _data(name) for name in SHIPPED}


@pytest.mark.slow
@settings(max_examples=200, **SETTINGS)
@given(st.sampled_from(sorted(SHIPPED)), st.sampled_from(KINDS), st.integers(0, 2**32 - 1))
def test_mutated_scenarios_give_model_or_problems(name: str, kind: str, seed: int) -> None:
    """A shipped scenario with one mutation: a model or located problems, within 2 s."""
    text = mutate(SHIPPED[name], DATA[name], kind, random.Random(seed))
    check_text(text, name)


@pytest.mark.slow
def test_mutations_produce_both_answers() -> None:
    """The mutations are neither all harmless nor all fatal (the fuzzing has teeth)."""
    rnd = random.Random(2025)
    models = problems = 0
    for i in range(63):  # every (scenario, mutation) pair three times
        name = sorted(SHIPPED)[i % len(SHIPPED)]
        kind = KINDS[i % len(KINDS)]
        if check_text(mutate(SHIPPED[name], DATA[name], kind, rnd), name) is None:
            problems += 1
        else:
            models += 1
    assert models >= 5 and problems >= 20, (models, problems)


def test_shipped_scenarios_are_valid() -> None:
    """The unmutated shipped scenarios load (the baseline of the mutations)."""
    assert set(SHIPPED) >= {"atacms.yaml", "markov.yaml", "teaching.yaml"}
    for name, text in SHIPPED.items():
        model = check_text(text, name)
        assert model is not None and len(model.actions) >= 3


@pytest.mark.slow
def test_truncation_at_every_line_of_the_teaching_scenario() -> None:
    """Every prefix of teaching.yaml cut at a line end gives a model or problems."""
    lines = SHIPPED["teaching.yaml"].splitlines(keepends=True)
    valid = 0
    for k in range(len(lines) + 1):
        if check_text("".join(lines[:k]), "teaching.yaml") is not None:
            valid += 1
    # Only prefixes that already hold every required section and reference can be valid.
    assert 1 <= valid < len(lines) // 2


# -- the CLI on mutated files ------------------------------------------------------------------
CLI_CASES = [(name, kind, seed) for seed, (name, kind) in enumerate(
    [("teaching.yaml", k) for k in KINDS] + [("markov.yaml", "change_type"),
                                             ("atacms.yaml", "truncate"),
                                             ("atacms.yaml", "swap_values")])]


@pytest.mark.parametrize(("name", "kind", "seed"), CLI_CASES,
                         ids=[f"{n.split('.')[0]}-{k}" for n, k, _ in CLI_CASES])
def test_cli_validate_on_mutated_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       name: str, kind: str, seed: int) -> None:
    """`sim validate` exits 0 (printing OK) or 2 (printing problems), never a traceback."""
    path = tmp_path / name
    path.write_text(mutate(SHIPPED[name], DATA[name], kind, random.Random(seed)),
                    encoding="utf-8")
    code = timed(lambda: main(["validate", str(path)]))
    out, err = capsys.readouterr()
    assert code in (0, 2)
    assert "Traceback" not in out + err
    if code == 0:
        assert f"{path}: OK" in out
    else:
        assert f"{path}: " in err and "problem(s)" in err


def test_cli_validate_on_random_bytes(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`sim validate` on binary junk and on a missing file: exit 2 with a message."""
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(bytes(random.Random(1).randrange(256) for _ in range(500)))
    assert main(["validate", str(junk), str(tmp_path / "missing.yaml")]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "junk.yaml" in err and "missing.yaml: cannot read file" in err



# -- regressions found by this fuzzing ------------------------------------------------------
CONTROL_CHARACTERS = ["\x00", "\x07", "\x1b", "\x7f", "\x9f", "\ufffe"]


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in
                                                          CONTROL_CHARACTERS])
def test_control_character_is_a_located_problem(char: str) -> None:
    """A control character is a problem on its line (it once escaped as a ReaderError)."""
    src, problems = parse_text(f"scenario:\n  id: x{char}\n", "ctrl.yaml")
    assert src is None and len(problems) == 1
    assert_problems(problems)
    assert problems[0].line == 2
    assert "control character" in problems[0].message
    assert f"{ord(char):#06x}" in problems[0].message


def test_cli_validate_on_a_control_character(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`sim validate` on a file ending in a NUL byte exits 2 with a problem, no traceback."""
    path = tmp_path / "nul.yaml"
    text = SHIPPED["teaching.yaml"]
    path.write_bytes(text.encode("utf-8") + b"\x00\n")
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert f"nul.yaml:{text.count(chr(10)) + 1}: not valid YAML" in err


@pytest.mark.parametrize("value", ["[uniform]", "{uniform: 1}"])
def test_non_text_dist_is_a_problem(value: str) -> None:
    """`dist: [uniform]` is reported at parameters.red_resolve.dist (it once raised TypeError)."""
    text = SHIPPED["teaching.yaml"].replace("    dist: uniform", f"    dist: {value}", 1)
    src, problems = parse_text(text, "teaching.yaml")
    assert src is not None and not problems
    model, problems, _ = compile_source(src)
    assert model is None
    assert [p.path for p in problems] == ["parameters.red_resolve.dist"]
    assert "unknown distribution" in problems[0].message

"""The safe YAML reader: values, line map, duplicate keys, limits and unreadable files."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import cpu_limit

from sim.errors import Problem
from sim.spec.yamlsrc import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    Source,
    is_date,
    join,
    parse_text,
    read_file,
)

TEXT = """\
# comment
scenario:
  id: demo
  start: 2025-01-01
ladder:
  rungs:
    - id: a
      name: A
    - {id: b, name: B}
rules:
  r1:
    on: x
    no: y
    delay:
      dist: fixed
      value: 2
list: [1, 2,
  3]
"""


def parse(text: str) -> tuple[Source | None, list[Problem]]:
    """parse_text under the name f.yaml."""
    return parse_text(text, "f.yaml")


def test_values_are_plain_python():
    """The document becomes plain dicts, lists, strings, numbers and dates."""
    src, problems = parse(TEXT)
    assert problems == []
    assert src is not None
    assert src.file == "f.yaml"
    assert src.data == {
        "scenario": {"id": "demo", "start": dt.date(2025, 1, 1)},
        "ladder": {"rungs": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]},
        "rules": {"r1": {"on": "x", "no": "y", "delay": {"dist": "fixed", "value": 2}}},
        "list": [1, 2, 3],
    }


def test_line_of_every_path():
    """Every mapping key and sequence item is located on its own line."""
    src, _ = parse(TEXT)
    assert src is not None
    assert src.lines == {
        "": 2, "scenario": 2, "scenario.id": 3, "scenario.start": 4,
        "ladder": 5, "ladder.rungs": 6,
        "ladder.rungs[0]": 7, "ladder.rungs[0].id": 7, "ladder.rungs[0].name": 8,
        "ladder.rungs[1]": 9, "ladder.rungs[1].id": 9, "ladder.rungs[1].name": 9,
        "rules": 10, "rules.r1": 11, "rules.r1.on": 12, "rules.r1.no": 13,
        "rules.r1.delay": 14, "rules.r1.delay.dist": 15, "rules.r1.delay.value": 16,
        "list": 17, "list[0]": 17, "list[1]": 17, "list[2]": 18,
    }


def test_line_falls_back_to_nearest_ancestor():
    """An unrecorded path takes the line of its closest recorded ancestor."""
    src, _ = parse(TEXT)
    assert src is not None
    assert src.line("rules.r1.delay.mean") == 14
    assert src.line("ladder.rungs[1].framework") == 9
    assert src.line("ladder.rungs[5]") == 6
    assert src.line("nowhere.at.all") == 2
    assert src.line("") == 2
    assert Source("g.yaml", {}).line("a.b") == 0


def test_problem_is_located():
    """Source.problem builds a Problem at the path's line, formatted FILE:LINE: 'path' msg."""
    src, _ = parse(TEXT)
    assert src is not None
    problem = src.problem("rules.r1.delay.value", "must be > 0")
    assert problem == Problem("f.yaml", 16, "rules.r1.delay.value", "must be > 0")
    assert str(problem) == "f.yaml:16: 'rules.r1.delay.value' must be > 0"
    assert str(Problem("f.yaml", 0, "", "cannot read")) == "f.yaml: cannot read"


def test_join_builds_paths():
    """join() extends a path with keys (dotted) and indices (bracketed)."""
    assert join("", "rules") == "rules"
    assert join("rules", "r1") == "rules.r1"
    assert join("ladder.rungs", 2) == "ladder.rungs[2]"
    assert join("", 0) == "[0]"


@pytest.mark.parametrize("key", ["on", "off", "no", "yes", "y", "n", "true", "false", "True",
                                 "NO", "null", "~", "1", "1.5", "2025-01-01"])
def test_keys_stay_as_typed(key):
    """YAML 1.1 would turn on:/no:/... keys into booleans; they are kept as strings."""
    src, problems = parse(f"{key}: 1\nother: 2\n")
    assert problems == []
    assert src is not None
    assert src.data == {key: 1, "other": 2}
    assert src.lines[key] == 1


def test_values_follow_safe_yaml_types():
    """Values still get YAML types: ints, floats, bools, null, dates, quoted text."""
    src, _ = parse("a: 3\nb: 0.5\nc: true\nd: null\ne: 2025-02-03\nf: '3'\ng: 1.0e+3\n")
    assert src is not None
    assert src.data == {"a": 3, "b": 0.5, "c": True, "d": None, "e": dt.date(2025, 2, 3),
                        "f": "3", "g": 1000.0}
    assert isinstance(src.data["a"], int)
    assert is_date(src.data["e"])
    assert not is_date(dt.datetime(2025, 2, 3, 10, 0))
    assert not is_date("2025-02-03")


def test_duplicate_keys_are_reported():
    """A repeated key is a problem at its second line naming the first; the first value wins."""
    src, problems = parse("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\na: 4\n")
    assert [str(p) for p in problems] == [
        "f.yaml:5: 'b.c' duplicate key (first given on line 3)",
        "f.yaml:6: 'a' duplicate key (first given on line 1)",
    ]
    assert src is not None
    assert src.data == {"a": 1, "b": {"c": 1, "d": 2}}


def test_complex_keys_are_reported():
    """A mapping key that is not a scalar is a problem, and the rest is still read."""
    src, problems = parse("? [a, b]\n: 1\nc: 2\n")
    assert [str(p) for p in problems] == ["f.yaml:1: mapping keys must be plain names"]
    assert src is not None
    assert src.data == {"c": 2}


def test_unreadable_value_is_reported():
    """A scalar that cannot be constructed (bad date) is a located problem, value None."""
    src, problems = parse("start: 2025-13-01\n")
    assert [str(p) for p in problems] == [
        "f.yaml:1: 'start' cannot read value '2025-13-01': month must be in 1..12"]
    assert src is not None
    assert src.data == {"start": None}


def test_python_tags_are_never_constructed():
    """Python object tags do not run: a tagged sequence is refused (located), not built."""
    src, problems = parse("a: !!python/object/apply:os.system [echo hacked]\n")
    assert [(p.line, p.path) for p in problems] == [(1, "a")]
    assert "are not allowed" in problems[0].message
    assert src is not None and src.data == {"a": None}
    src, problems = parse("a: !!python/name:os.system ''\n")
    assert len(problems) == 1
    assert problems[0].line == 1
    assert problems[0].path == "a"
    assert "could not determine a constructor" in problems[0].message


def test_problem_messages_are_one_line():
    """A problem printed as FILE:LINE: 'path' message stays on one line."""
    _, problems = parse("a: !!python/name:os.system ''\n")
    assert "\n" not in str(problems[0])


def test_empty_and_comment_only_files():
    """An empty or comment-only document is one problem on line 1."""
    for text in ("", "# only a comment\n", "\n\n"):
        src, problems = parse(text)
        assert src is None
        assert [str(p) for p in problems] == [
            "f.yaml:1: the file is empty; expected a scenario mapping"]


@pytest.mark.parametrize(("text", "expected"), [
    ("a: [1, 2\n", "f.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>' "
                     "(while parsing a flow sequence on line 1)"),
    ("a:\n\tb: 1\n", "f.yaml:2: not valid YAML: a tab at column 1: YAML indents with spaces "
                     "only; replace the tab with spaces (set your editor to insert spaces)"),
    ("a: 'open\n", "f.yaml:2: not valid YAML: found unexpected end of stream (while "
                      "scanning a quoted scalar on line 1)"),
    ("a: *missing\n", "f.yaml:1: not valid YAML: found undefined alias 'missing'"),
])
def test_invalid_yaml(text, expected):
    """Syntax errors are one located problem and no Source."""
    src, problems = parse(text)
    assert src is None
    assert [str(p) for p in problems] == [expected]


def test_multiple_documents_message():
    """Two documents in one file are reported with a readable sentence."""
    _, problems = parse("a: 1\n---\nb: 2\n")
    assert problems[0].message != "not valid YAML: but found another document"


def test_nesting_limit_is_located():
    """Nesting just past MAX_DEPTH is one problem on the offending line."""
    deep = "a:\n  b: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    src, problems = parse(deep)
    assert src is None
    assert [str(p) for p in problems] == [f"f.yaml:2: nesting deeper than {MAX_DEPTH} levels"]
    ok, problems = parse("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert problems == []
    assert ok is not None


def test_very_deep_nesting_does_not_crash():
    """10000 nested brackets give the nesting problem quickly instead of a RecursionError."""
    with cpu_limit(5.0):
        src, problems = parse("a: " + "[" * 10000 + "]" * 10000 + "\n")
    assert src is None
    assert [p.message for p in problems] == [f"nesting deeper than {MAX_DEPTH} levels"]


def test_alias_bomb_is_bounded():
    """Aliases that multiply past MAX_VALUES fail fast with the 'expands to' message."""
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    with cpu_limit(2.0):  # 10**9 values if expanded; the bound stops at 100,000
        src, problems = parse("\n".join(lines) + "\n")
    assert src is None
    assert len(problems) == 1
    assert problems[0].message == (f"the file expands to more than {MAX_VALUES} values "
                                   "(are aliases multiplying it?)")
    assert problems[0].line > 0


def test_small_aliases_are_fine():
    """Modest alias use is expanded, each copy located at its own path."""
    src, problems = parse("base: &b {x: 1}\nother: *b\n")
    assert problems == []
    assert src is not None
    assert src.data == {"base": {"x": 1}, "other": {"x": 1}}
    assert src.lines["other"] == 2
    assert src.lines["other.x"] == 1


def test_text_too_large():
    """parse_text refuses text over MAX_FILE_BYTES without parsing it."""
    src, problems = parse("a: " + "x" * MAX_FILE_BYTES + "\n")
    assert src is None
    assert [str(p) for p in problems] == [f"f.yaml: file is larger than {MAX_FILE_BYTES} bytes"]


def test_file_too_large(tmp_path):
    """read_file refuses a file over MAX_FILE_BYTES with a problem without a line."""
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    src, problems = read_file(path)
    assert src is None
    assert [str(p) for p in problems] == [f"{path}: file is larger than {MAX_FILE_BYTES} bytes"]


def test_non_utf8_file(tmp_path):
    """A file that is not UTF-8 is one problem naming the decoding failure."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Caf\u00e9\n".encode("latin-1"))
    src, problems = read_file(path)
    assert src is None
    assert [str(p) for p in problems] == [f"{path}: file is not UTF-8 text (invalid continuation "
                                          "byte)"]


def test_missing_file(tmp_path):
    """A missing file is a problem, not an exception."""
    path = tmp_path / "nope.yaml"
    src, problems = read_file(path)
    assert src is None
    assert [str(p) for p in problems] == [f"{path}: cannot read file: no such file"]


def test_directory_instead_of_file(tmp_path):
    """A directory path is a problem, not an exception."""
    src, problems = read_file(tmp_path)
    assert src is None
    assert [str(p) for p in problems] == [f"{tmp_path}: cannot read file: a folder"]


def test_read_file_good(tmp_path):
    """read_file gives the same Source as parse_text, named by the path; a BOM is ignored."""
    path = tmp_path / "ok.yaml"
    path.write_bytes("\ufeffa: 1\nb: [x, y]\n".encode())
    src, problems = read_file(path)
    assert problems == []
    assert src is not None
    assert src.file == str(path)
    assert src.data == {"a": 1, "b": ["x", "y"]}
    assert src.lines["b[1]"] == 2


def test_exponent_floats_are_numbers():
    """Floats written in exponent form without a dot are numbers."""
    src, _ = parse("a: 1e-3\nb: 5E2\n")
    assert src is not None
    assert src.data == {"a": 0.001, "b": 500.0}


def test_no_yaml11_number_surprises():
    """1:30 and 010 are not silently read as base-60 and octal numbers."""
    src, _ = parse("a: 1:30\nb: 010\n")
    assert src is not None
    assert src.data != {"a": 90, "b": 8}

"""Read a YAML file safely into plain Python values plus a map of where each value came from.

This is the only module that parses YAML. It uses PyYAML's *safe* composer (no Python
object tags) and then builds the values itself so that it can

* report duplicate keys (PyYAML silently keeps the last one),
* keep every mapping key as the string the author typed (YAML 1.1 would turn ``on:`` or
  ``no:`` into booleans, which silently breaks ``rules.x.on``),
* bound nesting depth, the number of values produced and the text they expand to, so
  alias bombs ("billion laughs") and hostile nesting fail fast with a clear message,
* refuse YAML tags (``!foo``, ``!!set``, ``!!omap``) on mappings and lists as on values,
  located, and
* record the line of every value under its YAML path (``rules.retaliate.delay.mean``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem

MAX_FILE_BYTES = 2_000_000
MAX_DEPTH = 40
MAX_VALUES = 100_000
# Aliases can repeat a long text: bound what the values expand to, not only their count
# (a 1.5 MB text repeated 1,000 times would be 1.5 GB in memory and in every report).
MAX_EXPANDED_CHARS = 2 * MAX_FILE_BYTES
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
EMPTY = "the file is empty; expected a scenario mapping"


@dataclass
class Source:
    """A parsed YAML document: its plain data and the line of each YAML path."""

    file: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, path: str) -> int:
        """Line of ``path`` or of its nearest located ancestor (0 when unknown)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 0)

    def problem(self, path: str, message: str) -> Problem:
        """A Problem located at ``path`` in this file."""
        return Problem(self.file, self.line(path), path, message)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 numbers: '5e-1' and '1e400' are floats (1.1 reads them as
    text), '1:30' is text (not 90 sexagesimal), '010' is ten (not octal 8)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$"),
    list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    return int(text, 0) if text.lower().lstrip("+-").startswith(("0x", "0o")) else int(text)


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith("inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text.endswith("nan"):
        return math.nan
    return float(text)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _flow_depth(text: str) -> tuple[int, int]:
    """(deepest bracket nesting, its line): a cheap pre-check, because PyYAML slows down
    sharply on deeply nested flow collections before any limit of ours could apply."""
    depth = deepest = 0
    line = deep_line = 1
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, deep_line = depth, line
        elif ch in "]}":
            depth -= 1
        elif ch == "\n":
            line += 1
    return deepest, deep_line


class _TooBig(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def join(path: str, key: str | int) -> str:
    """Extend a YAML path by a mapping key or a sequence index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.chars = 0

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig(line, f"the file expands to more than {MAX_VALUES} values "
                                "(are aliases multiplying it?)")
        if depth > MAX_DEPTH:
            raise _TooBig(line, f"nesting deeper than {MAX_DEPTH} levels")
        self.lines.setdefault(path, line)
        if isinstance(node, yaml.ScalarNode):
            self._grow(len(node.value), line)
        elif node.tag not in _PLAIN_TAGS:
            self.problems.append(Problem(self.file, line, path, f"YAML tags such as "
                                         f"{node.tag!r} are not allowed; remove the tag"))
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(Problem(self.file, key_node.start_mark.line + 1, path,
                                                 "mapping keys must be plain names"))
                    continue
                key = str(key_node.value)
                self._grow(len(key), key_node.start_mark.line + 1)
                sub = join(path, key)
                if key in out:
                    first = self.lines.get(sub, 0)
                    self.problems.append(Problem(
                        self.file, key_node.start_mark.line + 1, sub,
                        f"duplicate key (first given on line {first})"))
                    continue
                self.lines[sub] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, sub, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, join(path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.problems.append(Problem(self.file, line, path, f"cannot read value: {what}"))
            return None
        except (ValueError, OverflowError) as exc:
            why = "a number with too many digits" if "digits" in str(exc) else str(exc)
            self.problems.append(Problem(self.file, line, path,
                                         f"cannot read value {str(node.value)[:40]!r}: {why}"))
            return None

    def _grow(self, chars: int, line: int) -> None:
        self.chars += chars
        if self.chars > MAX_EXPANDED_CHARS:
            raise _TooBig(line, f"the file expands to more than {MAX_EXPANDED_CHARS:,} "
                                "characters of text (are aliases repeating a long text?)")


def parse_text(text: str, file: str) -> tuple[Source | None, list[Problem]]:
    """Parse YAML text; return the Source (None if unreadable) and the problems found."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        return None, [Problem(file, 0, "", f"file is larger than {MAX_FILE_BYTES} bytes")]
    deepest, line = _flow_depth(text)
    if deepest > MAX_DEPTH:
        return None, [Problem(file, line, "", f"nesting deeper than {MAX_DEPTH} levels")]
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader rejects control characters at once
        return None, [_yaml_problem(exc, file, text)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(file, 1, "", EMPTY)]
        builder = _Builder(loader, file)
        data = builder.build(node, "", 0)
        return Source(file, data, builder.lines), builder.problems
    except _TooBig as exc:
        return None, [Problem(file, exc.line, "", exc.message)]
    except RecursionError:
        return None, [Problem(file, 1, "", f"nesting deeper than {MAX_DEPTH} levels")]
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(exc, file, text)]
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, file: str, text: str) -> Problem:
    """One located problem for a PyYAML error."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return Problem(file, line, "", f"not valid YAML: the file holds a control "
                                       f"character (code {exc.character:#06x}) that YAML "
                                       "does not allow")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or str(exc)
        if "another document" in what:
            what = "the file holds more than one YAML document ('---'); keep one scenario " \
                   "per file"
        elif "'\\t'" in what and mark is not None:
            what = (f"a tab at column {mark.column + 1}: YAML indents with spaces only; "
                    "replace the tab with spaces (set your editor to insert spaces)")
        elif exc.context and exc.context_mark and exc.context_mark is not mark:
            what = f"{what} ({exc.context} on line {exc.context_mark.line + 1})"
        return Problem(file, line, "", f"not valid YAML: {what}")
    return Problem(file, 0, "", f"not valid YAML: {str(exc).splitlines()[0]}")


def read_file(path: str | Path) -> tuple[Source | None, list[Problem]]:
    """Read and parse a YAML file; unreadable files are problems, not exceptions."""
    name = str(path)
    try:
        if not Path(path).is_file():
            what = "a folder" if Path(path).is_dir() else "not a regular file" \
                if Path(path).exists() else "no such file"
            return None, [Problem(name, 0, "", f"cannot read file: {what}")]
        with open(path, "rb") as stream:  # bounded read: never slurp a huge file
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Problem(name, 0, "", f"cannot read file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [Problem(name, 0, "", f"file is larger than {MAX_FILE_BYTES} bytes")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, 0, "", f"file is not UTF-8 text ({exc.reason})")]
    return parse_text(text, name)


def not_a_date(value: Any, what: str = "") -> str:
    """The message for a value that should be a date; a quoted date says to drop the quotes
    (YAML reads "2025-01-20" in quotes as text, 2025-01-20 without them as a date)."""
    text = f"must be a date written YYYY-MM-DD ({what}got {given(value)})"
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", value):
        text += f": remove the quotes, write {value.strip()} (in quotes YAML reads it as text)"
    return text


def given(value: Any) -> str:
    """A read value as an error message shows it: 'nothing', 'a mapping', 'x', 2.5."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def is_date(value: Any) -> bool:
    """True for a YAML date (not a datetime)."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)

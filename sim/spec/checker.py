"""The loader's checker: collects every problem while walking the parsed YAML.

It holds the checks every section shares (a mapping with these keys, an identifier, text, a
number in range, an expression, a reference to a known name, a source citation) and the
section prologue, :meth:`SpecChecker.entries`. A check reports what it finds, located by
file, line and YAML path, and never stops the walk: the loader reports every problem at
once. Provenance gaps are warnings.

Pure: no printing, no files.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from ..errors import Problem
from . import expr as ex
from .model import DAY, PEAK, RUNG
from .yamlsrc import Source, join
from .yamlsrc import given as _given

RESERVED = {RUNG, PEAK, DAY, "actor", "date", "action", "true", "false", "True", "False",
            *ex.FUNCTIONS}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_NUMBER = 1e12


class Entry(NamedTuple):
    """One entry of a keyed section that passed the prologue: its id, YAML path and keys."""

    key: str
    path: str
    item: dict[str, Any]


class SpecChecker:
    """Collects problems (and warnings) while walking one parsed scenario."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def err(self, path: str, message: str) -> None:
        self.problems.append(self.src.problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(self.src.problem(path, message))

    # -- shapes -------------------------------------------------------------------------
    def mapping(self, value: Any, path: str, required: Iterable[str] = (),
                optional: Iterable[str] = (), what: str = "a mapping") -> dict[str, Any] | None:
        """``value`` if it is a mapping (its unknown and missing keys reported), else None."""
        if not isinstance(value, dict):
            self.err(path, f"must be {what} (got {_given(value)})")
            return None
        required, optional = tuple(required), tuple(optional)
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed:
                self.err(join(path, key), f"unknown key{ex.suggest(key, allowed)}; "
                                          f"expected one of: {', '.join(allowed)}")
        for key in required:
            if key not in value:
                self.err(path, f"missing required key '{key}'")
        return value

    def items(self, value: Any, path: str) -> list[tuple[str, Any]]:
        """(key, value) pairs of a keyed section (none when absent); reports a non-mapping."""
        if value is None:
            return []
        if not isinstance(value, dict):
            self.err(path, f"must be a mapping of id to definition (got {_given(value)})")
            return []
        return list(value.items())

    def entries(self, value: Any, section: str, required: Iterable[str] = (),
                optional: Iterable[str] = (), *, taken: dict[str, str] | None = None,
                what: str = "", refused: Mapping[str, str] | None = None) -> Iterator[Entry]:
        """The section prologue: each entry of a keyed section (``actors``, ``rules``, ...)
        that is a mapping of allowed keys under an identifier; what is not is reported.

        ``taken`` and ``what`` (``"lever"``) register the id among the names that must all
        differ; ``refused`` maps ids the section may not use to the reason. Entries are
        checked one at a time, so each entry's problems come before the next entry's.
        """
        for key, raw in self.items(value, section):
            path = join(section, key)
            item = self.mapping(raw, path, required, optional)
            if refused and key in refused:
                self.err(path, refused[key])
                continue
            if self.ident(key, path, taken, f"{what} {key}") and item is not None:
                yield Entry(key, path, item)

    def ident(self, key: Any, path: str, taken: dict[str, str] | None = None,
              what: str = "") -> bool:
        """Whether ``key`` is a usable id (and, given ``taken``, a new name: then taken)."""
        if not isinstance(key, str) or not IDENTIFIER.match(key) or keyword.iskeyword(key):
            self.err(path, "must be an identifier: a letter or '_' then letters, digits or "
                           f"'_', at most 64 characters, not a Python keyword (got {_given(key)})")
            return False
        if key in RESERVED:
            self.err(path, f"'{key}' is a reserved name; choose another id")
            return False
        if taken is not None:
            if key in taken:
                self.err(path, f"'{key}' is already used by {taken[key]}; names of rungs, "
                               "levers, parameters and state variables must all differ")
                return False
            taken[key] = what
        return True

    def text(self, value: Any, path: str, default: str = "") -> str:
        """``value`` if it is text; ``default`` when absent or (reported) not text."""
        if value is None:
            return default
        if not isinstance(value, str):
            self.err(path, f"must be text (got {_given(value)})")
            return default
        return value

    def number(self, value: Any, path: str, low: float | None = None,
               high: float | None = None, *, integer: bool = False, strict_low: bool = False,
               default: float = 0.0) -> float:
        """:meth:`checked_number`, or ``default`` where it reported a problem."""
        checked = self.checked_number(value, path, low, high, integer=integer,
                                      strict_low=strict_low)
        return default if checked is None else checked

    def checked_number(self, value: Any, path: str, low: float | None = None,
                       high: float | None = None, *, integer: bool = False,
                       strict_low: bool = False) -> float | None:
        """``value`` as a float if it is a finite number in bounds, else None (reported)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.err(path, f"must be {'a whole number' if integer else 'a number'} "
                           f"(got {_given(value)})")
            return None
        if isinstance(value, int) and abs(value) > MAX_NUMBER:
            self.err(path, f"must be a finite number of magnitude at most {MAX_NUMBER:g} "
                           f"(got a {len(str(abs(value)))}-digit number)")
            return None
        if not math.isfinite(float(value)) or abs(value) > MAX_NUMBER:
            self.err(path, f"must be a finite number of magnitude at most {MAX_NUMBER:g} "
                           f"(got {_given(float(value))})")
            return None
        if integer and float(value) != int(value):
            self.err(path, f"must be a whole number (got {_given(value)})")
            return None
        if low is not None and (value <= low if strict_low else value < low):
            bound = f"> {low:g}" if strict_low else f">= {low:g}"
            self.err(path, f"must be {bound} (got {_given(value)})")
            return None
        if high is not None and value > high:
            self.err(path, f"must be <= {high:g} (got {_given(value)})")
            return None
        return float(value)

    def expr(self, value: Any, path: str, kind: str, names: dict[str, str],
             constants: dict[str, float], forbidden: Mapping[str, str] | None = None
             ) -> ex.Expr | None:
        """The compiled expression, located for errors while the model runs; None if bad."""
        try:
            compiled = ex.compile_expr(value, kind, names, constants, forbidden)
        except ex.ExprError as exc:
            self.err(path, str(exc))
            return None
        at = self.src.problem(path, "")  # located, for errors while the model runs
        where = f"{at.file}:{at.line}" if at.line else at.file
        return dataclasses.replace(compiled, where=f"{where} '{path}'")

    def ref(self, value: Any, path: str, known: dict[str, int], what: str) -> int | None:
        """The index of the ``what`` that ``value`` names, or None (reported)."""
        if not isinstance(value, str):
            self.err(path, f"must name {what} (got {_given(value)})")
            return None
        if value not in known:
            listed = ", ".join(list(known)[:12])
            self.err(path, f"unknown {what} '{value}'{ex.suggest(value, known)}; "
                           f"known: {listed or 'none'}")
            return None
        return known[value]

    def source(self, value: Any, path: str, sources: dict[str, str], needed: bool) -> str:
        """A ``source`` text; warns when a needed one is missing, reports unknown [keys]."""
        text = self.text(value, path)
        if not text and needed:
            self.warn(path.rsplit(".source", 1)[0],
                      "no 'source' given: say where this number comes from "
                      "(an article, a publication, or 'Assumption: ...' with the reasoning)")
        for key in re.findall(r"\[([A-Za-z0-9_\-]+)\]", text):
            if key not in sources:
                self.err(path, f"cites [{key}], which is not in scenario.sources"
                               f"{ex.suggest(key, sources)}")
        return text

"""The loader's checker: the section prologue (``SpecChecker.entries``) and number checks.

The golden corpus (tests/test_corpus.py) pins every message end to end; these tests pin the
prologue's own contract: what it yields, what it reports, and in which order.
"""

from __future__ import annotations

from typing import Any

from sim.spec.checker import SpecChecker
from sim.spec.yamlsrc import Source


def _checker(data: Any = None) -> SpecChecker:
    return SpecChecker(Source("f.yaml", data, {}))


def _said(ck: SpecChecker) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in ck.problems]


def test_entries_yields_good_entries_and_reports_the_rest_in_order():
    ck = _checker()
    section = {"ok": {"name": "A"}, "flat": 3, "2bad": {"name": "B"},
               "extra": {"name": "C", "colour": "red"}, "bare": {}}
    got = [(e.key, e.path, e.item) for e in ck.entries(section, "actors", ("name",),
                                                      ("description",))]
    assert got == [("ok", "actors.ok", {"name": "A"}),
                   ("extra", "actors.extra", {"name": "C", "colour": "red"}),
                   ("bare", "actors.bare", {})]
    assert [path for path, _ in _said(ck)] == ["actors.flat", "actors.2bad",
                                               "actors.extra.colour", "actors.bare"]
    messages = [m for _, m in _said(ck)]
    assert messages[0] == "must be a mapping (got 3)"
    assert messages[1].startswith("must be an identifier")
    assert messages[2] == "unknown key; expected one of: name, description"
    assert messages[3] == "missing required key 'name'"


def test_entries_checks_each_entry_before_the_next():
    """Problems a caller reports for an entry come before the next entry's prologue."""
    ck = _checker()
    for entry in ck.entries({"a": {}, "b": 1}, "rules"):
        ck.err(entry.path, "from the body")
    assert _said(ck) == [("rules.a", "from the body"),
                         ("rules.b", "must be a mapping (got 1)")]


def test_entries_of_a_missing_or_wrong_section():
    ck = _checker()
    assert list(ck.entries(None, "rules")) == []
    assert ck.problems == []
    assert list(ck.entries([1, 2], "rules")) == []
    assert _said(ck) == [("rules", "must be a mapping of id to definition (got a list)")]


def test_entries_registers_taken_names_and_refuses_ids():
    ck = _checker()
    taken = {"war": "rung war"}
    got = [e.key for e in ck.entries({"war": {}, "budget": {}}, "levers", taken=taken,
                                     what="lever")]
    assert got == ["budget"]
    assert taken == {"war": "rung war", "budget": "lever budget"}
    assert _said(ck) == [("levers.war", "'war' is already used by rung war; names of rungs, "
                                        "levers, parameters and state variables must all "
                                        "differ")]
    ck = _checker()
    refused = {"base": "'base' names the unchanged scenario"}
    got = [e.key for e in ck.entries({"base": 1, "calm": {}}, "variants", refused=refused)]
    assert got == ["calm"]
    assert _said(ck) == [("variants.base", "must be a mapping (got 1)"),
                         ("variants.base", "'base' names the unchanged scenario")]


def test_checked_number_returns_none_on_a_problem_and_number_a_default():
    ck = _checker()
    assert ck.checked_number(2, "x", 0, 5) == 2.0
    assert ck.checked_number(7, "x", 0, 5) is None
    assert ck.checked_number(True, "x") is None
    assert ck.number("many", "x", default=-1.0) == -1.0
    assert [m for _, m in _said(ck)] == ["must be <= 5 (got 7)", "must be a number (got true)",
                                         "must be a number (got 'many')"]

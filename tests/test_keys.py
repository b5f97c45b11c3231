"""The exercise keys say what the tool shows: every claim in docs/exercises/keys.md is
checked against the command output printed above it (read here with parsers of its own,
not make_keys.py's), and one command is rerun to check the output is the CLI's own."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
KEYS = (ROOT / "docs" / "exercises" / "keys.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```text\n\$ (python -m sim [^\n]*)\n(.*?)\n```", re.S)
CLAIM = re.compile(r"<!-- claim: (\{.*?\}) -->")


def claims() -> list[tuple[dict[str, Any], str, str, str]]:
    """(claim, its sentence, the command and output block above it), in order."""
    out = []
    previous_end = 0
    for m in CLAIM.finditer(KEYS):
        before = KEYS[:m.start()]
        blocks = list(BLOCK.finditer(before))
        assert blocks, f"claim without an output above it: {m.group(1)}"
        sentence = KEYS[max(previous_end, blocks[-1].end()):m.start()]
        out.append((json.loads(m.group(1)), sentence, blocks[-1].group(1), blocks[-1].group(2)))
        previous_end = m.end()
    return out


CLAIMS = claims()


def compare_rows(text: str) -> dict[str, dict[str, tuple[str, str, str, str, bool]]]:
    """variant -> metric name -> (value, diff, low, high, clear) from `sim compare` output."""
    tables: dict[str, dict[str, tuple[str, str, str, str, bool]]] = {}
    variant = ""
    for line in text.splitlines():
        if re.match(r"^\w+  \(", line):
            variant = line.split()[0]
            tables[variant] = {}
            continue
        cells = re.split(r"\s{2,}", line.strip())
        if variant and len(cells) == 6 and cells[5] in ("yes", "no"):
            low, high = cells[4].strip("[]").split(", ")
            tables[variant][cells[0]] = (cells[2], cells[3].removesuffix(" pts"), low, high,
                                         cells[5] == "yes")
    return tables


def test_the_keys_make_claims_about_every_kind_of_output():
    kinds = {c["kind"] for c, *_ in CLAIMS}
    assert kinds >= {"row", "clear_set", "values", "sweep", "stories", "texts", "dates"}
    assert len(CLAIMS) >= 20


@pytest.mark.parametrize("item", CLAIMS, ids=[f"{i}-{c['kind']}" for i, (c, *_)
                                              in enumerate(CLAIMS)])
def test_each_claim_holds_in_the_output_above_it(item):
    claim, sentence, command, text = item
    check = CHECKS[claim["kind"]]
    check(claim, sentence, command, text)


def _row(claim, sentence, command, text):
    value, diff, low, high, clear = compare_rows(text)[claim["variant"]][claim["name"]]
    assert (diff, low, high, clear) == (claim["diff"], claim["low"], claim["high"],
                                        claim["clear"])
    assert f"{low} to {high}" in sentence
    assert ("a clear change" in sentence) == clear and ("no clear change" in sentence) != clear
    if clear:
        assert ("rises" in sentence) == diff.startswith("+")


def _clear_set(claim, sentence, command, text):
    rows = compare_rows(text)[claim["variant"]]
    marked = [name for name, (*_, clear) in rows.items() if clear]
    assert claim["names"] == marked  # every row the terminal marks clear, and only those
    for name in marked:
        assert name in sentence
    assert ("nothing" in sentence) == (not marked)
    # "clear" is what the printed interval shows
    for name, (_v, _d, low, high, clear) in rows.items():
        assert clear == (float(low) > 0 or float(high) < 0), name


def _word(claim, sentence, command, text):
    rows = compare_rows(text)[claim["variant"]]
    names = [n for n, (*_, clear) in rows.items() if clear and claim["word"] in n.lower()]
    assert claim["names"] == names
    assert ("none of the clear changes" in sentence) == (not names)
    for name in names:
        assert name in sentence


def _values(claim, sentence, command, text):
    rows = compare_rows(text)[claim["variant"]]
    for name, value in claim["values"].items():
        assert rows[name][0] == value
        assert value in sentence


def _sweep(claim, sentence, command, text):
    clear, signs = [], set()
    first = None
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 4 and re.fullmatch(r"\S+%", cells[1] or ""):
            if cells[3] == "-":
                first = cells[1]
            elif cells[-1] == "yes":
                clear.append(cells[0])
                signs.add("up" if cells[3].startswith("+") else "down")
    assert claim["first"] == first and first in sentence
    assert claim["clear"] == clear and sorted(signs) == claim["signs"]
    for value in clear:
        assert value in sentence
    if not clear:
        assert "no other point differs clearly" in sentence
    else:
        word = "higher" if signs == {"up"} else "lower" if signs == {"down"} else "higher at"
        assert f"clearly {word}" in sentence
    assert "steadily" not in sentence  # the printed column says where, not "steadily"
    if clear:  # one step bigger than all others together, from the printed changes?
        changes = [0.0] + [float(re.split(r"\s{2,}", line.strip())[3])
                           for line in text.splitlines()
                           if re.match(r"^\S+\s+\S+%\s+\[", line) and " - " not in line
                           and not line.rstrip().endswith("-")]
        steps = [b - a for a, b in zip(changes, changes[1:], strict=False)]
        big = max(range(len(steps)), key=lambda i: abs(steps[i]))
        jumps = abs(steps[big]) > sum(abs(s) for i, s in enumerate(steps) if i != big)
        assert (claim["jump"] is not None) == jumps
        assert ("one step" in sentence) == jumps and ("straight line" in sentence)


def _story_dates(text: str) -> list[list[str]]:
    stories: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("== "):
            stories.append([])
        elif re.match(r"^\d{4}-\d\d-\d\d  ", line):
            stories[-1].append(line)
    return stories


def _days(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def _stories(claim, sentence, command, text):
    stories = _story_dates(text)
    assert len(stories) == len(claim["stories"])
    for story, lines in zip(claim["stories"], stories, strict=True):
        use = next(line[:10] for line in lines if "detonates" in line)
        assert story["use"] == use
        assert story["days"] == _days(story["first_signal"], use) >= 0
        assert story["salvos"] == sum(1 for line in lines
                                      if "ATACMS salvo" in line and line[:10] <= use)
        row = f"| {story['replication']} | {story['first_signal']} | {use} | {story['days']} |"
        assert row in KEYS


def _texts(claim, sentence, command, text):
    for fragment in claim["texts"]:
        assert fragment in text
    n, total = re.search(r"reached in (\d+) of (\d+)", claim["texts"][0]).groups()
    assert f"{n} of {total} runs" in sentence


def _dates(claim, sentence, command, text):
    lines = _story_dates(text)[0]
    agreed = next(line[:10] for line in lines if "agree a ceasefire" in line)
    broke = next(line[:10] for line in lines if "ceasefire collapses" in line)
    assert (claim["agreed"], claim["broke"]) == (agreed, broke)
    assert claim["days"] == _days(agreed, broke)
    assert f"{agreed} and collapses on {broke}, {claim['days']} days later" in sentence


CHECKS = {"row": _row, "clear_set": _clear_set, "word": _word, "values": _values,
          "sweep": _sweep,
          "stories": _stories, "texts": _texts, "dates": _dates}


def test_an_output_in_the_keys_is_what_the_cli_prints_today():
    """The Ex3 story (cheap to rerun) is byte for byte what the command prints."""
    command, text = next((c, t) for c, t in BLOCK.findall(KEYS)
                         if "story" in c and "ceasefire_collapse" in c)
    argv = [w.strip('"') for w in re.findall(r'"[^"]*"|\S+', command)][3:]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv) == 0
    assert buffer.getvalue().rstrip() == text.rstrip()

"""The documentation stays true: README commands parse, generated keys match the scenario."""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

import pytest

from sim.cli.commands import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()
            if line.strip().startswith("python -m sim ")]


def test_readme_shows_the_two_setup_commands():
    """The README gives the install+run and install+test commands."""
    text = (ROOT / "README.md").read_text()
    assert "python3 -m pip install -e . && python3 -m sim run scenarios/atacms.yaml" in text
    assert "python3 -m pip install -e '.[test]' && python3 -m pytest" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_commands_parse(command: str):
    """Every `python -m sim ...` line of the README is accepted by the argument parser."""
    words = shlex.split(command.split("#")[0])[3:]
    args = build_parser().parse_args(words)
    assert callable(args.func)
    for word in words:
        if word.startswith("scenarios/"):
            assert (ROOT / word).exists() or "*" in word, word


def test_exercise_keys_match_the_flagship_scenario():
    """keys.md was generated from the current atacms.yaml (rerun make_keys.py if not)."""
    keys = (ROOT / "docs" / "exercises" / "keys.md").read_text()
    digest = hashlib.sha256((ROOT / "scenarios" / "atacms.yaml").read_bytes()).hexdigest()
    shown = re.search(r"sha256 `([0-9a-f]+)`", keys)
    assert shown is not None and digest.startswith(shown.group(1)), (
        "scenarios/atacms.yaml changed: run python docs/exercises/make_keys.py")

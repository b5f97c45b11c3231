"""The documentation stays true: README commands parse, generated keys match the scenario."""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

import pytest

from sim.cli.parser import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()
            if line.strip().startswith("python -m sim ")]


RUN_COMMAND = ("python3 -m venv .venv && .venv/bin/python -m pip install -e . && "
               ".venv/bin/python -m sim run scenarios/atacms.yaml")
TEST_COMMAND = ("python3 -m venv .venv && .venv/bin/python -m pip install -e '.[test]' && "
                ".venv/bin/python -m pytest")


def test_readme_shows_the_two_setup_commands():
    """The README gives the install+run and install+test commands, each one line."""
    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert RUN_COMMAND in lines
    assert TEST_COMMAND in lines


def test_setup_never_installs_into_the_system_python():
    """Every pip of the README runs inside the project's venv: a Python that refuses
    system-wide installs (PEP 668: Debian, Ubuntu, Homebrew) accepts the commands."""
    text = (ROOT / "README.md").read_text()
    for match in re.finditer(r"(\S+) -m pip install", text):
        assert match.group(1) in {".venv/bin/python", ".venv\\Scripts\\python"}, match.group(0)
    assert "sudo" not in text and "--break-system-packages" not in text


def test_ci_runs_the_readme_test_command():
    """.ci/run runs the README's test command word for word."""
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert TEST_COMMAND in [line.strip() for line in ci]


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

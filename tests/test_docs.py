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


# -- docs/backtest.md quotes what `sim backtest` prints ------------------------------------
BACKTEST_DOC = (ROOT / "docs" / "backtest.md").read_text(encoding="utf-8")
BACKTEST_COMMAND = "python -m sim backtest scenarios/history/*.yaml scenarios/atacms.yaml"


def documented_backtest() -> list[str]:
    """The tables the command the doc states prints, with the runs it states (the API
    behind the command, on one worker: results do not depend on the count): one per case,
    then the pooled one."""
    from sim import api
    stated = re.search(r"Run with `([^`]+)` \(([\d,]+) runs\s+per case, each scenario's own "
                       r"seed\)", BACKTEST_DOC)
    assert stated is not None and stated.group(1) == BACKTEST_COMMAND
    runs = int(stated.group(2).replace(",", ""))
    inputs = [path.relative_to(ROOT) for word in shlex.split(BACKTEST_COMMAND)[4:]
              for path in sorted(ROOT.glob(word))]
    assert len(inputs) == 4
    with pytest.MonkeyPatch.context() as patch:  # the tables name the paths as typed
        patch.chdir(ROOT)
        return list(api.backtest(inputs, runs=runs, workers=1).texts)


@pytest.mark.slow
def test_backtest_doc_quotes_what_the_tool_prints():
    """Every output block of docs/backtest.md's results is the start of the table the tool
    prints for that case (the doc leaves out the rungs and notes), and the pooled block is
    the pooled table whole: numbers and their spelling ("100%", not "100.00%") alike. The
    prose's flagship figures are those of its block."""
    printed = {text.splitlines()[0]: text for text in documented_backtest()}
    section = BACKTEST_DOC.split("## The cases and their results")[1]
    blocks = [m.group(1) for m in re.finditer(r"^```\n(.*?)\n```$", section, re.S | re.M)]
    assert sorted(block.splitlines()[0] for block in blocks) == sorted(printed)  # every case
    for block in blocks:
        text = printed[block.splitlines()[0]]
        assert (text + "\n").startswith(block + "\n"), (
            f"{block.splitlines()[0]}: rerun `{BACKTEST_COMMAND}` and update the doc")
    flagship = next(text for first, text in printed.items() if first.endswith("(atacms)"))
    brier = re.search(r"^Mean Brier (\S+) over", flagship, re.M)
    skill = re.search(r"vs 50% for everything (\S+);", flagship)
    assert brier is not None and skill is not None
    assert f"moves the mean Brier from\n  {brier.group(1)} to" in section
    assert f"(skill {skill.group(1)} against 50%)" in section

"""Every command's --help reads as written: no doubled percent signs, no format leftovers."""

from __future__ import annotations

import argparse

from sim.cli.parser import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_help_text_shows_single_percent_signs():
    """argparse formats help strings (so 50% is written 50%% there) but not descriptions;
    a %% copied into a description is printed as it stands."""
    commands = _commands()
    assert {"run", "backtest", "bench", "compare"} <= set(commands)
    for name, command in commands.items():
        text = command.format_help()
        assert "%%" not in text, name
        assert "%(" not in text, name

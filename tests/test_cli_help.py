"""Every command's --help reads as written: no doubled percent signs, no format leftovers."""

from __future__ import annotations

from helpers import subcommands


def test_every_help_text_shows_single_percent_signs():
    """argparse formats help strings (so 50% is written 50%% there) but not descriptions;
    a %% copied into a description is printed as it stands."""
    commands = subcommands()
    assert {"run", "backtest", "bench", "compare"} <= set(commands)
    for name, command in commands.items():
        text = command.format_help()
        assert "%%" not in text, name
        assert "%(" not in text, name

"""The argument parser: the program's options and every command's sub-parser.

Shared options are parent parsers in :mod:`.options`; each command module registers its
own sub-parser with ``add(sub)``.
"""

from __future__ import annotations

import argparse

from .. import __version__
from . import analyses, backtest, play, run, serve, story, tools
from . import options as opt


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sim", description="Escalation-risk scenario simulator: run YAML crisis "
                                "scenarios as SimPy Monte Carlo and report probabilities "
                                "with 95% intervals.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in (tools, run, analyses, story, play, backtest):
        module.add(sub)
    serve.add_parser(sub, opt.POSITIVE)
    return parser

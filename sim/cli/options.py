"""Options shared by several commands, declared once (as SALib's ``common_args``).

Each is a parent parser (``add_help=False``) that a command lists in ``parents=``; a
command declares only the options that are its own.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def count(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} (got {value})")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (got {value:,})")
        return value
    parse.__name__ = f"whole number >= {minimum}"
    return parse


POSITIVE, NON_NEGATIVE = count(1), count(0)


def positive_finite(text: str) -> float:
    """An argparse type: a number > 0 that is not infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be > 0 and finite (got {text})")
    return value


positive_finite.__name__ = "number > 0"


def counts(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated whole numbers >= 1."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"takes comma-separated whole numbers >= 1 (got {text!r})")
    return values


counts.__name__ = "comma-separated whole numbers"


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def scenario() -> argparse.ArgumentParser:
    """The scenario file, the first positional argument."""
    p = _parent()
    p.add_argument("scenario", metavar="SCENARIO", help="a scenario YAML file")
    return p


def runs(default: int, what: str = "replications") -> argparse.ArgumentParser:
    """--runs/-n with a command's own default."""
    p = _parent()
    p.add_argument("--runs", "-n", type=POSITIVE, default=default,
                   help=f"{what} (default {default})")
    return p


def seed(default: int | None = None) -> argparse.ArgumentParser:
    """--seed; by default the scenario's own seed."""
    p = _parent()
    p.add_argument("--seed", type=NON_NEGATIVE, default=default,
                   help="random seed (default: the scenario's seed, else 1)" if default is None
                   else f"random seed (default {default})")
    return p


def workers() -> argparse.ArgumentParser:
    """--workers/-w."""
    p = _parent()
    p.add_argument("--workers", "-w", type=POSITIVE, default=None,
                   help="worker processes (default: all cores); results do not depend on it")
    return p


def variant() -> argparse.ArgumentParser:
    """--variant/-v."""
    p = _parent()
    p.add_argument("--variant", "-v", help="a variant defined in the scenario")
    return p


def settings() -> argparse.ArgumentParser:
    """--set, repeatable."""
    p = _parent()
    p.add_argument("--set", action="append", metavar="LEVER=VALUE",
                   help="set a lever (repeatable), e.g. --set nk_troops=20000")
    return p


def output() -> argparse.ArgumentParser:
    """--out/-o, --force and --no-plots: where a results folder goes and what it holds."""
    p = _parent()
    p.add_argument("--out", "-o", help="results folder (default results/<scenario>-...-<time>)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --out folder (only a results folder)")
    p.add_argument("--no-plots", action="store_true", help="skip PNG plots")
    return p


def quiet() -> argparse.ArgumentParser:
    """--quiet/-q."""
    p = _parent()
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def metric() -> argparse.ArgumentParser:
    """--metric: an outcome or rung id."""
    p = _parent()
    p.add_argument("--metric", required=True,
                   help="an outcome id or a rung id (an id naming both means the outcome)")
    return p

"""The command line: the only layer that parses arguments and prints."""

from .commands import main

__all__ = ["main"]

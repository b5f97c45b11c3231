"""The command line: the only layer that parses arguments and prints.

``main`` (the ``sim`` entry point) in :mod:`.main`; the parser and the shared options in
:mod:`.parser` and :mod:`.options`; one module per command (or family of commands), each
only parsing input, calling :mod:`sim.api` and presenting what it returns.
"""

from .main import main

__all__ = ["main"]
